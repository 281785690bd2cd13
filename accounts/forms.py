from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import UserCreationForm

from .models import ApiToken, Profile


class SignupForm(UserCreationForm):
    email = forms.EmailField(
        help_text="We mail a confirmation link here, then pre-releases and verification results."
    )
    display_name = forms.CharField(
        max_length=100,
        required=False,
        help_text="How the public download page credits you, e.g. your full name.",
    )

    class Meta(UserCreationForm.Meta):
        model = get_user_model()
        fields = ("username", "email")

    def clean_email(self):
        email = self.cleaned_data["email"].strip()
        if get_user_model().objects.filter(email__iexact=email).exists():
            raise forms.ValidationError(
                "An account with this address exists. Log in, or reset its password."
            )
        return email


class ProfileForm(forms.ModelForm):
    class Meta:
        model = Profile
        fields = ("display_name",)


class TokenForm(forms.ModelForm):
    class Meta:
        model = ApiToken
        fields = ("name",)

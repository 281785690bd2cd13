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

    # Whether the address has an account is not said here: sign-up answers
    # alike and mails the owner (accounts.services.account_signup). A taken
    # username is said, by UserCreationForm: usernames are public anyway.
    def clean_email(self):
        return self.cleaned_data["email"].strip()


class ProfileForm(forms.ModelForm):
    class Meta:
        model = Profile
        fields = ("display_name",)


class TokenForm(forms.ModelForm):
    class Meta:
        model = ApiToken
        fields = ("name",)

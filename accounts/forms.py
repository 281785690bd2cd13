from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm, UserCreationForm

from .models import ApiToken, Profile


class LoginForm(AuthenticationForm):
    """Django's log-in form, which also tells someone who gave the right password
    for an account whose address is not confirmed yet (and only them) that it is
    not confirmed: `unconfirmed` is then that account."""

    unconfirmed = None

    def clean(self):
        try:
            return super().clean()
        except forms.ValidationError:
            self.unconfirmed = self._unconfirmed_account()
            if self.unconfirmed is None:
                raise
            raise forms.ValidationError(
                "You have not confirmed your address yet: open the link mailed to "
                f"{self.unconfirmed.email} when you signed up, then log in.",
                code="unconfirmed",
            ) from None

    def _unconfirmed_account(self):
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if not username or not password:
            return None
        user = (
            get_user_model()
            .objects.filter(
                **{get_user_model().USERNAME_FIELD: username},
                is_active=False,
                profile__confirmed_at__isnull=True,
            )
            .first()
        )
        if user is None or not user.check_password(password):
            return None
        return user


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
    # alike and mails the owner (accounts.services.account_signup).
    #
    # A taken username IS said ("A user with that username already exists.",
    # UserCreationForm), on purpose, as PyPI does. A username is not a secret:
    # the public download page, feed and JSON credit a maintainer by it when
    # they give no display name, and the audit and staff pages show it. Hiding
    # it would cost every newcomer a mail round-trip to learn that their name
    # is taken, and protect nothing: knowing a name does not help to log in as
    # it (log-ins are locked per name and address, accounts/throttling.py), and
    # sign-up is limited per address (SIGNUPS_PER_HOUR), so the form is no
    # faster a way to list names than reading the public pages. The address,
    # which is private, is what sign-up never reveals.
    def clean_email(self):
        return self.cleaned_data["email"].strip()


class ProfileForm(forms.ModelForm):
    class Meta:
        model = Profile
        fields = ("display_name",)


class OpenPGPKeyForm(forms.Form):
    key = forms.CharField(
        required=False,
        label="Public key (armored)",
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="The output of gpg --armor --export YOUR-FINGERPRINT. Never the secret key.",
    )
    key_file = forms.FileField(required=False, label="…or the key as a file")
    proof = forms.CharField(
        required=False,
        label="The challenge, signed with the key",
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="All that gpg --clearsign printed for the challenge above, BEGIN to END.",
    )

    def clean(self):
        data = super().clean()
        upload = data.get("key_file")
        if upload is not None:
            if upload.size > 64 * 1024:
                raise forms.ValidationError("That file is too large to be a public key.")
            data["key"] = upload.read().decode("utf-8", "replace")
        if not (data.get("key") or "").strip():
            raise forms.ValidationError("Paste your public key, or choose its file.")
        return data


class TokenForm(forms.ModelForm):
    class Meta:
        model = ApiToken
        fields = ("name",)

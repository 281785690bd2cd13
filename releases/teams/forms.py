"""Asking for a new project; inviting a member; changing a member's role."""

from __future__ import annotations

import re

from django import forms

from releases.models import Project, ProjectMember, ProjectRequest
from releases.policies import MAX_TEXT_CHARS, policy_or_starter

SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,49}")


class ProjectRequestForm(forms.ModelForm):
    homepage = forms.URLField(required=False, assume_scheme="https")
    repository = forms.URLField(
        label="Source repository",
        assume_scheme="https",
        max_length=500,
        help_text="Where the project's source is kept, e.g. https://git.example.org/tern.git",
    )
    policy_text = forms.CharField(
        label="Packaging policy (TOML)",
        strip=False,
        max_length=MAX_TEXT_CHARS,
        required=False,
        widget=forms.Textarea(attrs={"rows": 16, "spellcheck": "false", "class": "code"}),
        help_text="Left empty, the starter policy: one top-level directory named after "
        "the project, each distro's work under packaging/$DISTRO/. The owners edit it later.",
    )

    class Meta:
        model = ProjectRequest
        fields = ["name", "slug", "homepage", "repository"]
        help_texts = {
            "slug": "Lower-case letters, digits and hyphens, used in the project's addresses."
        }

    def clean_slug(self):
        slug = self.cleaned_data["slug"]
        if not SLUG.fullmatch(slug):
            raise forms.ValidationError(
                "A short name is lower-case letters, digits and hyphens, starting with a "
                "letter or digit, e.g. tern."
            )
        return slug

    def clean_policy_text(self):
        return policy_or_starter(
            self.cleaned_data["policy_text"],
            slug=self.cleaned_data.get("slug", ""),
            name=self.cleaned_data.get("name", ""),
        )


class DeclineForm(forms.Form):
    reason = forms.CharField(
        max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class InviteForm(forms.Form):
    who = forms.CharField(
        label="Username or address",
        max_length=254,
        help_text="The person must have an account on this portal.",
    )
    role = forms.ChoiceField(choices=ProjectMember.Role.choices, initial="reviewer")


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=ProjectMember.Role.choices)


class SecretKeyForm(forms.Form):
    secret_key = forms.CharField(
        label="Secret key (armored)",
        max_length=64 * 1024,
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false", "class": "code"}),
        help_text="From `gpg --armor --export-secret-keys FINGERPRINT`. Stored encrypted; "
        "no page shows it again.",
    )
    passphrase = forms.CharField(required=False, widget=forms.PasswordInput, strip=False)


class PublicKeyForm(forms.Form):
    public_key = forms.CharField(
        label="A release manager's public key (armored)",
        max_length=64 * 1024,
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false", "class": "code"}),
        help_text="From `gpg --armor --export FINGERPRINT`: their offline signatures are "
        "checked against it.",
    )


class SigningForm(forms.Form):
    signing = forms.ChoiceField(
        label="Who signs releases", choices=Project.Signing.choices, widget=forms.RadioSelect
    )

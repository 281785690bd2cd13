"""The policy editor's form: the TOML, a change note, and the version it started from."""

from __future__ import annotations

from django import forms

from releases.policies import MAX_TEXT_CHARS


class PolicyForm(forms.Form):
    text = forms.CharField(
        label="Policy (TOML)",
        strip=False,
        max_length=MAX_TEXT_CHARS,
        widget=forms.Textarea(
            attrs={"rows": 30, "spellcheck": "false", "class": "code"}
        ),
        help_text="The rules every upload is checked against.",
        error_messages={
            "max_length": "A policy holds at most %(limit_value)d characters "
            "(this one has %(show_value)d): keep only the rules, not data.",
        },
    )
    note = forms.CharField(
        label="What changed, and why",
        max_length=200,
        required=False,
        help_text="Shown in the version history and the audit log, and mailed to maintainers "
        "whose verdict changes.",
    )
    base = forms.IntegerField(widget=forms.HiddenInput, min_value=0)
    reverify = forms.BooleanField(
        label="Re-verify the live submissions against the new version",
        required=False,
        initial=True,
    )

"""Forms of the maintainers' pages: claiming a distro, and staff deciding on a claim."""

from __future__ import annotations

from django import forms

from releases.models import Distro, Project

from . import selectors


class ClaimForm(forms.Form):
    project = forms.ModelChoiceField(queryset=Project.objects.all(), empty_label=None)
    distro = forms.ModelChoiceField(
        queryset=Distro.objects.all(),
        required=False,
        empty_label="— a distro not listed yet —",
        help_text="The distro you package for.",
    )
    new_distro_slug = forms.CharField(
        required=False,
        max_length=50,
        label="New distro's directory name",
        help_text="Lower case: the name of your distro's directory in the project's "
        "source package, e.g. ubuntu.",
    )
    new_distro_name = forms.CharField(
        required=False, max_length=100, label="New distro's name", help_text="e.g. Ubuntu"
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["distro"].queryset = selectors.distros_offered(user)

    def clean(self):
        data = super().clean()
        if not data.get("distro") and not data.get("new_distro_slug"):
            raise forms.ValidationError("Choose a distro, or name a new one.")
        return data


class DecisionForm(forms.Form):
    reason = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=2000
    )

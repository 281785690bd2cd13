"""Forms of the release dashboard: a new release, a respin, a decision's comment."""

from __future__ import annotations

from django import forms

from releases.models import Release, WebhookEndpoint
from releases.submissions.uploads import BUNDLE_SUFFIXES, suffix_problem


class ReleaseForm(forms.Form):
    version = forms.CharField(max_length=50, help_text="e.g. 2.0")
    tarball = forms.FileField(
        label="Pre-release tarball", help_text="The source package as .tar.gz"
    )
    submission_deadline = forms.DateTimeField(
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text="UTC. Submissions close then.",
    )
    release_date = forms.DateTimeField(
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text="UTC.",
    )
    open_now = forms.BooleanField(
        required=False, initial=True, label="Open it now (mail the maintainers their link)"
    )

    def clean_version(self):
        value = self.cleaned_data["version"].strip()
        Release._meta.get_field("version").run_validators(value)
        return value

    def clean_tarball(self):
        tarball = self.cleaned_data["tarball"]
        problem = suffix_problem(tarball.name, BUNDLE_SUFFIXES, "The pre-release tarball")
        if problem:
            raise forms.ValidationError(problem)
        return tarball


class RespinForm(forms.Form):
    tarball = ReleaseForm.base_fields["tarball"]
    submission_deadline = forms.DateTimeField(
        required=False,
        label="New submission deadline",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text="UTC. Leave empty to keep the current one.",
    )
    clean_tarball = ReleaseForm.clean_tarball


class WithdrawForm(forms.Form):
    reason = forms.CharField(
        max_length=2000,
        label="Reason, shown publicly",
        help_text="The download page shows it beside the release.",
    )


class CommentForm(forms.Form):
    comment = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=4000
    )


class WebhookForm(forms.Form):
    url = forms.URLField(max_length=1000, label="Endpoint URL", assume_scheme="https")
    events = forms.MultipleChoiceField(
        choices=[(event, event) for event in WebhookEndpoint.EVENTS],
        widget=forms.CheckboxSelectMultiple,
        initial=list(WebhookEndpoint.EVENTS),
    )

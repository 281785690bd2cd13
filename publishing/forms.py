"""Forms of the public side's staff pages: a project's webhook endpoints."""

from __future__ import annotations

from django import forms

from portal import outbound
from releases.events import WEBHOOK_EVENTS


class WebhookForm(forms.Form):
    # Judged by the outbound client's own rule: what it cannot send is refused here.
    url = forms.CharField(
        max_length=1000,
        label="Endpoint URL",
        help_text="http:// or https://, on a public address, with no user name or password.",
    )
    events = forms.MultipleChoiceField(
        choices=[(event.value, event.value) for event in WEBHOOK_EVENTS],
        widget=forms.CheckboxSelectMultiple,
        initial=[event.value for event in WEBHOOK_EVENTS],
    )

    def clean_url(self):
        url = self.cleaned_data["url"].strip()
        problem = outbound.url_problem(url)
        if problem:
            raise forms.ValidationError(problem)
        return url

"""Forms of the public side's staff pages: a project's webhook endpoints."""

from __future__ import annotations

from django import forms

from releases.events import WEBHOOK_EVENTS


class WebhookForm(forms.Form):
    url = forms.URLField(max_length=1000, label="Endpoint URL", assume_scheme="https")
    events = forms.MultipleChoiceField(
        choices=[(event.value, event.value) for event in WEBHOOK_EVENTS],
        widget=forms.CheckboxSelectMultiple,
        initial=[event.value for event in WEBHOOK_EVENTS],
    )

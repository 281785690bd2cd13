from __future__ import annotations

from django import forms

from releases.models import PatchAnswer


class AnswerForm(forms.Form):
    decision = forms.ChoiceField(choices=PatchAnswer.Decision.choices, label="Answer")
    comment = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Comment for the carriers",
    )

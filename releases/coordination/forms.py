"""Forms of the release dashboard: a new project, a new release, a respin, a decision's comment."""

from __future__ import annotations

import re

from bundlecheck.gitsource import tag_problem
from django import forms

from releases import publication, rules
from releases.models import Project, Release
from releases.policies import MAX_TEXT_CHARS, policy_or_starter
from releases.sourceproof.rules import repository_problem
from releases.submissions.uploads import BUNDLE_SUFFIXES, suffix_problem


class ProjectForm(forms.ModelForm):
    homepage = forms.URLField(required=False, assume_scheme="https")
    policy_text = forms.CharField(
        label="Packaging policy (TOML)",
        strip=False,
        max_length=MAX_TEXT_CHARS,
        required=False,
        widget=forms.Textarea(
            attrs={"rows": 20, "spellcheck": "false", "class": "code"}
        ),
        help_text="Left empty, a starter policy is written for you: one top-level directory "
        "named after the project, each distro's work under packaging/$DISTRO/. "
        "Edit it later from the project's policy page.",
    )

    class Meta:
        model = Project
        fields = ["name", "slug", "homepage", "source_repository"]
        labels = {"slug": "Short name", "source_repository": "Source repository (git)"}
        help_texts = {
            "slug": "Lower-case letters, digits and hyphens, used in the project's addresses.",
            "source_repository": "The git URL each pre-release is proved against, tag by tag "
            "(https://...). Optional.",
        }
        error_messages = {
            "slug": {"unique": "A project with this short name exists already: choose another."}
        }

    def clean_slug(self):
        slug = self.cleaned_data["slug"]
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,49}", slug):
            raise forms.ValidationError(
                "A short name is lower-case letters, digits and hyphens, starting with a "
                "letter or digit, e.g. tern."
            )
        return slug

    def clean_source_repository(self):
        value = self.cleaned_data["source_repository"].strip()
        problem = repository_problem(value)
        if problem:
            raise forms.ValidationError(problem)
        return value

    def clean_policy_text(self):
        return policy_or_starter(
            self.cleaned_data["policy_text"],
            slug=self.cleaned_data.get("slug", ""),
            name=self.cleaned_data.get("name", ""),
        )


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
    source_tag = forms.CharField(
        required=False,
        max_length=200,
        label="Tag",
        help_text="The tag of the project's source repository this tarball is made from, e.g. "
        "v2.0. Given, the tarball is compared with it file by file before the release can open.",
    )
    open_now = forms.BooleanField(
        required=False,
        initial=False,
        label="Open it now and mail the maintainers their link",
        help_text="Left unticked, the release stays a draft: check it on its dashboard, "
        "then open it from there.",
    )

    def clean_version(self):
        value = self.cleaned_data["version"].strip()
        Release._meta.get_field("version").run_validators(value)
        return value

    def clean(self):
        cleaned = super().clean()
        refused = rules.dates_refusal(
            cleaned.get("submission_deadline"), cleaned.get("release_date")
        )
        if refused:
            self.add_error("submission_deadline", refused)
        return cleaned

    def clean_source_tag(self):
        tag = self.cleaned_data["source_tag"].strip()
        problem = tag_problem(tag) if tag else None
        if problem:
            raise forms.ValidationError(problem)
        return tag

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
    source_tag = ReleaseForm.base_fields["source_tag"]
    clean_tarball = ReleaseForm.clean_tarball
    clean_source_tag = ReleaseForm.clean_source_tag


class SourceOverrideForm(forms.Form):
    reason = forms.CharField(
        min_length=10,
        max_length=2000,
        label="Why the release may open anyway",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Kept in the audit trail and shown to the maintainers with the proof.",
    )


class WithdrawForm(forms.Form):
    reason = forms.CharField(
        max_length=2000,
        label="Reason, shown publicly",
        help_text="The download page, the feed and downloads.json show it beside the release.",
    )
    files = forms.ChoiceField(
        label="Its files",
        # Left out (a script's post), the files stay: the choice that loses nothing.
        required=False,
        widget=forms.RadioSelect,
        initial="keep",
        choices=[
            ("keep", publication.withdraw_files_consequence(compromised=False)),
            ("compromised", publication.withdraw_files_consequence(compromised=True)),
        ],
    )

    def clean_reason(self):
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError("Say why the release is withdrawn; the public sees it.")
        return reason

    @property
    def compromised(self) -> bool:
        return self.cleaned_data.get("files") == "compromised"


class CommentForm(forms.Form):
    comment = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=4000
    )

"""Forms of the distro page: the upload and its package links."""

from __future__ import annotations

import re

from django import forms
from django.core.validators import URLValidator

from .uploads import BUNDLE_SUFFIXES, PACKAGE_SUFFIXES, suffix_problem

SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")
# PackageLink.url holds 1000 characters; a page lists at most this many links.
URL_MAX_LENGTH = 1000
MAX_LINKS = 20
_url = URLValidator(schemes=["http", "https"])
BUNDLE_HELP = (
    "A .tar, .tar.gz, .tar.bz2 or .tar.xz: the whole revised source package, or only {what}."
)


def parse_package_links(lines: list[str]) -> list[tuple[str, str]]:
    """`URL` or `URL SHA256`, one a line; raises ValidationError naming the bad line."""
    links = []
    if sum(1 for line in lines if line.strip()) > MAX_LINKS:
        raise forms.ValidationError(f"Give at most {MAX_LINKS} links at a time.")
    for number, line in enumerate(lines, 1):
        parts = line.split()
        if not parts:
            continue
        url, sha = parts[0], (parts[1] if len(parts) > 1 else "")
        if len(parts) > 2:
            raise forms.ValidationError(
                f"Line {number}: give a URL and at most one sha256, separated by a space."
            )
        if len(url) > URL_MAX_LENGTH:
            raise forms.ValidationError(
                f"Line {number}: the address is {len(url)} characters long; "
                f"at most {URL_MAX_LENGTH} are kept."
            )
        try:
            _url(url)
        except forms.ValidationError:
            raise forms.ValidationError(
                f"Line {number}: {url!r} is not an http:// or https:// address."
            ) from None
        if sha and not SHA256.match(sha):
            raise forms.ValidationError(
                f"Line {number}: {sha!r} is not a sha256 (64 hexadecimal digits)."
            )
        links.append((url, sha.lower()))
    return links


class UploadForm(forms.Form):
    bundle = forms.FileField(
        label="Revised source package or distro bundle",
        help_text=BUNDLE_HELP.format(what="your distro's own directories"),
    )
    sha256 = forms.CharField(
        required=False,
        label="sha256 of the file (optional)",
        help_text="If given, the upload is refused unless the file received has this digest.",
    )
    package = forms.FileField(
        required=False,
        label="Binary package for upstream to host (optional)",
        help_text="A .deb or .rpm that the release manager stages on the download page.",
    )
    signature = forms.FileField(
        required=False,
        label="OpenPGP signature of the bundle (optional)",
        help_text="The .asc from gpg --armor --detach-sign on the file above, by a key on your profile.",
    )
    package_links = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Links to your packages (optional)",
        help_text="One a line: the URL, then optionally a space and its sha256.",
    )
    note = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=2000
    )

    def __init__(self, *args, roots: tuple[str, ...] = (), **kwargs):
        """`roots`: the distro's contribution roots in this project's policy, named in the
        help text (the API, which shows no help text, gives none)."""
        super().__init__(*args, **kwargs)
        if roots:
            self.fields["bundle"].help_text = BUNDLE_HELP.format(
                what=f"your files under {' and '.join(roots)}"
            )

    def clean_bundle(self):
        bundle = self.cleaned_data["bundle"]
        problem = suffix_problem(bundle.name, BUNDLE_SUFFIXES, "The bundle")
        if problem:
            raise forms.ValidationError(problem)
        return bundle

    def clean_package(self):
        package = self.cleaned_data.get("package")
        if package:
            problem = suffix_problem(package.name, PACKAGE_SUFFIXES, "The binary package")
            if problem:
                raise forms.ValidationError(problem)
        return package

    def clean_signature(self):
        signature = self.cleaned_data.get("signature")
        if not signature:
            return ""
        if signature.size > 64 * 1024:
            raise forms.ValidationError(
                f"The signature file is {signature.size:,} bytes; a detached signature is a "
                "few hundred. Send the .asc that gpg --armor --detach-sign writes."
            )
        return signature.read().decode("ascii", "replace")

    def clean_sha256(self):
        value = self.cleaned_data["sha256"].strip().lower()
        if value and not SHA256.match(value):
            raise forms.ValidationError("A sha256 is 64 hexadecimal digits.")
        return value

    def clean_package_links(self):
        return parse_package_links(self.cleaned_data["package_links"].splitlines())


class PackageLinkForm(forms.Form):
    """One link changed in place: its address and, optionally, its sha256."""

    url = forms.CharField(max_length=URL_MAX_LENGTH, label="Address")
    sha256 = forms.CharField(max_length=64, required=False, label="sha256 (optional)")

    def clean(self):
        data = super().clean()
        if "url" in data:
            line = f"{data['url']} {data.get('sha256', '')}".strip()
            data["link"] = parse_package_links([line])[0]
        return data


class PackageLinksForm(forms.Form):
    package_links = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        label="More package links",
        help_text="One a line: the URL, then optionally a space and its sha256.",
    )

    def clean_package_links(self):
        links = parse_package_links(self.cleaned_data["package_links"].splitlines())
        if not links:
            raise forms.ValidationError("Give at least one link.")
        return links

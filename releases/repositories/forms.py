from __future__ import annotations

import re

from django import forms

from portal import outbound
from releases.models import DistroRepository

_BRANCH = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$")
_PACKAGE = re.compile(r"^[a-z0-9][a-z0-9.+_-]{0,127}$")
_ENDINGS = {
    "deb-sources": ("Sources", "Sources.gz", "Sources.xz"),
    "deb-packages": ("Packages", "Packages.gz", "Packages.xz"),
    "rpm-md": ("repodata/repomd.xml",),
    "arch-db": (".db", ".db.tar.gz", ".db.tar.xz", ".db.tar.zst"),
    "apk-index": ("APKINDEX.tar.gz",),
}


class RepositoryForm(forms.Form):
    branch = forms.CharField(
        max_length=64, help_text="The suite or branch as your distro names it: trixie, 42, v3.20."
    )
    format = forms.ChoiceField(choices=DistroRepository.Format.choices)
    url = forms.CharField(
        label="Index address", max_length=1000,
        help_text="The index file itself, e.g. https://deb.debian.org/debian/dists/trixie/main/"
                  "source/Sources.xz or https://…/repodata/repomd.xml.",
    )
    package_names = forms.CharField(
        label="Package names", max_length=500,
        help_text="The project's package names in this repository, separated by spaces.",
    )
    legacy = forms.BooleanField(
        required=False, label="This branch keeps an older release on purpose",
        help_text="A stable or long-term branch: an older version here is legacy, not outdated.",
    )
    page_url = forms.URLField(
        required=False, max_length=500, assume_scheme="https", label="Package page",
        help_text="Where people see the package, linked from the download page (optional).",
    )

    def clean_branch(self):
        branch = self.cleaned_data["branch"].strip()
        if not _BRANCH.match(branch):
            raise forms.ValidationError(
                "A branch name is letters, digits and . _ + - (at most 64), starting with a "
                "letter or digit."
            )
        return branch

    def clean_package_names(self):
        names = self.cleaned_data["package_names"].split()
        bad = [n for n in names if not _PACKAGE.match(n)]
        if bad:
            raise forms.ValidationError(
                f"{bad[0][:60]!r} is not a package name: lower-case letters, digits and . + _ -."
            )
        if not names or len(names) > 10:
            raise forms.ValidationError("Give between one and ten package names.")
        return list(dict.fromkeys(names))

    def clean(self):
        data = super().clean()
        url, fmt = data.get("url", "").strip(), data.get("format")
        if not url or not fmt:
            return data
        problem = outbound.url_problem(url, allow_file=True)
        if problem:
            self.add_error("url", problem)
        elif not url.split("?", 1)[0].endswith(_ENDINGS[fmt]):
            shown = " or ".join(_ENDINGS[fmt])
            self.add_error("url", f"An index of this format ends with {shown}; give the "
                                  "address of the index file itself.")
        data["url"] = url
        return data

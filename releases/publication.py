"""What a release publishes, defined once.

Assembly writes these files and removes them after a failed run; the page,
`downloads.json` and the feed link them; the public file view serves only
these, and only while the release's state says so; withdrawing a release
changes what is served by the rule below, and every page that speaks of a
withdrawal says it with `withdraw_consequences`.

Withdrawing is a yank, as on PyPI: the release leaves the listing of current
releases and shows its reason, but its files stay at their exact addresses,
so that anyone who pinned a checksum or a signature can still verify what
they have. A release withdrawn as *compromised* is different: its files
must not be trusted, and they answer 410 Gone with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass

from .models import Release


@dataclass(frozen=True)
class PublishedFile:
    """One file a published release has, under `<project>/<version>/` (or the project's
    folder, for KEYS)."""

    role: str
    label: str
    # The name, from the tarball's name (companions) or fixed (the folder's files).
    suffix: str = ""
    name: str = ""
    signed_only: bool = False
    per_project: bool = False

    def key(self, slug: str, version: str) -> str:
        """Its storage key for version `version` of the project `slug`."""
        if self.per_project:
            return f"{slug}/{self.name}"
        if self.name:
            return f"{slug}/{version}/{self.name}"
        return f"{slug}/{version}/{slug}-{version}.tar.gz{self.suffix}"


TARBALL = PublishedFile("tarball", "source tarball")
FILES: tuple[PublishedFile, ...] = (
    TARBALL,
    PublishedFile("sha256", "sha256 checksum", suffix=".sha256"),
    PublishedFile("sha512", "sha512 checksum", suffix=".sha512"),
    PublishedFile("signature", "OpenPGP signature", suffix=".asc", signed_only=True),
    PublishedFile("provenance", "in-toto provenance", suffix=".intoto.json"),
    # The same statement in a DSSE envelope signed with the project's key.
    PublishedFile(
        "attestation", "in-toto attestation (DSSE)", suffix=".intoto.jsonl", signed_only=True
    ),
    PublishedFile("sums", "SHA256SUMS", name="SHA256SUMS"),
    PublishedFile(
        "sums_signature", "SHA256SUMS signature", name="SHA256SUMS.asc", signed_only=True
    ),
    # Lists every key that signed one of the project's releases; it belongs to
    # the project, not to one release, and is never taken down.
    PublishedFile("keys", "KEYS", name="KEYS", per_project=True),
)
BY_ROLE = {file.role: file for file in FILES}


def release_keys(slug: str, version: str, *, signed: bool = True) -> dict[str, str]:
    """Each file's storage key for a release, by role (unsigned: no signatures)."""
    return {f.role: f.key(slug, version) for f in FILES if signed or not f.signed_only}


def keys_of(release: Release, *, signed: bool = True) -> dict[str, str]:
    return release_keys(release.project.slug, release.version, signed=signed)


def written_by_assembly(release: Release) -> list[str]:
    """What an assembly run writes for this release: what a failed run must remove.
    (KEYS is the project's and stays.)"""
    return [f.key(release.project.slug, release.version) for f in FILES if not f.per_project]


def file_of(project_slug: str, key: str) -> tuple[str, str | None] | None:
    """Which published file `key` is: (role, version), version None for the project's
    own files; None when it is no file a release publishes."""
    parts = key.split("/")
    if len(parts) == 2 and parts[0] == project_slug:
        per_project = [f for f in FILES if f.per_project and f.name == parts[1]]
        return (per_project[0].role, None) if per_project else None
    if len(parts) != 3 or parts[0] != project_slug:
        return None
    _, version, name = parts
    tarball = f"{project_slug}-{version}.tar.gz"
    for file in FILES:
        if file.per_project:
            continue
        if (file.name and name == file.name) or (not file.name and name == tarball + file.suffix):
            return file.role, version
    return None


# Whether a release's files are served, by its state (and `compromised`).
SERVED_STATES = (Release.State.RELEASED, Release.State.WITHDRAWN)


def files_served(release: Release) -> bool:
    """Whether the public may download the release's files (and staged packages) now."""
    return release.state in SERVED_STATES and not release.compromised


def files_gone(release: Release) -> bool:
    """Whether the release's files were taken down for good (410 rather than 404)."""
    return release.state == Release.State.WITHDRAWN and release.compromised


WITHDRAW_COMMON = (
    "The release leaves the list of current releases; the download page, the feed and "
    "downloads.json show it as withdrawn, with your reason.",
    "Webhooks receive release.withdrawn. This cannot be undone.",
)


def withdraw_files_consequence(*, compromised: bool) -> str:
    """What withdrawing does to the release's files, said before the choice is made."""
    if compromised:
        return (
            "The files must not be trusted: its source tarball, checksums, signatures, "
            "provenance and the packages upstream hosted stop being served, and their "
            "addresses answer 410 Gone with your reason."
        )
    return (
        "The files stay at their addresses, marked withdrawn, so that anyone who pinned a "
        "checksum or signature can still verify what they have (like a yanked release on "
        "PyPI)."
    )


def withdraw_consequences(*, compromised: bool) -> list[str]:
    """What withdrawing does, in the words the confirmation page and the API use."""
    return [*WITHDRAW_COMMON, withdraw_files_consequence(compromised=compromised)]


def withdrawn_notice(*, state: str, compromised: bool) -> str | None:
    """What withdrawing did to the files, said after the fact (page, feed, API)."""
    if state != Release.State.WITHDRAWN:
        return None
    if compromised:
        return (
            "Its files were taken down because they must not be trusted: their addresses "
            "answer 410 Gone."
        )
    return (
        "Its files stay at their addresses so that anyone who pinned a checksum can still "
        "verify what they have; do not install it anew."
    )

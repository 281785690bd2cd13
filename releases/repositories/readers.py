"""Fetch a repository's index through the one outbound client and read it with the engine.

The body goes to a spooled temporary file (memory up to a few MB, then disk) under the
client's deadline and byte cap; the engine then reads it as a stream. Whatever goes
wrong ends as RepositoryUnreadable with the sentence shown beside *unknown*.
"""

from __future__ import annotations

import tempfile
from urllib.parse import urljoin

from bundlecheck.indexes import INDEX_LIMITS, IndexProblem, IndexRead, read_index, repomd_primary
from django.conf import settings

from portal import outbound

from ..models import DistroRepository

SPOOL_IN_MEMORY = 8 * 1024 * 1024
REPOMD_MAX_BYTES = 1024 * 1024


class RepositoryUnreadable(Exception):
    """Why the branch's status is unknown, in a sentence."""


def _purpose(max_bytes: int | None = None) -> outbound.Purpose:
    return outbound.Purpose(
        "distro repositories",
        seconds=float(settings.REPOSITORY_FETCH_SECONDS),
        max_bytes=max_bytes or settings.REPOSITORY_MAX_BYTES,
        max_redirects=3,
    )


def _fetch(url: str, max_bytes: int | None = None):
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115 - returned open
    try:
        response = outbound.fetch(url, purpose=_purpose(max_bytes), sink=spool.write,
                                  allow_file=True)
    except outbound.Inward:
        spool.close()
        raise RepositoryUnreadable(
            "The address, or a redirect from it, leads to a private or local network; only "
            "public addresses are read."
        ) from None
    except outbound.Refused as exc:
        spool.close()
        raise RepositoryUnreadable(f"The address is refused: {exc}") from None
    except outbound.TooLarge as exc:
        spool.close()
        raise RepositoryUnreadable(f"The index is too large: {exc}.") from None
    except outbound.Failed as exc:
        spool.close()
        raise RepositoryUnreadable(f"The repository could not be reached: {exc}.") from None
    if response.status != 200:
        spool.close()
        raise RepositoryUnreadable(f"The server answered {response.status} for {url}.")
    spool.seek(0)
    return spool


def primary_url(repomd_url: str, href: str) -> str:
    """repodata/repomd.xml's primary location, from the repository's root."""
    return urljoin(urljoin(repomd_url, "."), "../" + href)


def repository_read(repository: DistroRepository, *, max_entries: int | None = None) -> IndexRead:
    """The versions the repository's index lists for the project's package names."""
    url = repository.url
    try:
        if repository.format == DistroRepository.Format.RPM_MD:
            with _fetch(url, REPOMD_MAX_BYTES) as repomd:
                url = primary_url(url, repomd_primary(repomd.read()))
        with _fetch(url) as index:
            return read_index(
                repository.format, index, repository.package_names, limits=INDEX_LIMITS,
                max_entries=max_entries or settings.REPOSITORY_MAX_ENTRIES,
            )
    except IndexProblem as exc:
        text = str(exc)
        raise RepositoryUnreadable(text[:1].upper() + text[1:] + ".") from None

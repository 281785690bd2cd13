"""The status rules: what a branch's package version says, against the project's releases.

In Repology's words, per distro and branch:

- newest: the branch ships the newest published release (or something later that is
  not a pre-release, such as a snapshot);
- devel: it ships a pre-release of a version later than the newest release;
- legacy: it ships an older release, and the maintainer marked the branch as one
  that keeps an older release on purpose (a stable suite, an LTS branch). Marking is
  per branch, so bookworm can be legacy while trixie is newest (parallel branches
  are never confused with lagging ones);
- outdated: it ships an older version, on a branch that should follow releases;
- missing: the index was read, and no package has any of the names given;
- unknown: the index could not be read, or its version is not one the family's
  rules accept; the reason says which.

Pure: the readings and releases come in, a Judgement comes out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import cmp_to_key

from bundlecheck.versions import (
    package_compare,
    rpmvercmp,
    upstream_part,
    version_invalid,
)

from ..models import RepositoryStatus

# Pre-release markers as the families write them: 2.1~rc1 (Debian, RPM), 2.1_rc1 (Alpine),
# 2.1rc1, 2.1-beta2, 2.1.dev3. A bare letter is not one: 1.0.2a is OpenSSL's first fix.
_PRERELEASE = re.compile(r"~|alpha|beta|(?:^|[0-9._-])(?:rc|pre|dev)[0-9]*(?:$|[._-])",
                         re.IGNORECASE)


@dataclass(frozen=True)
class Published:
    """A published release, as the rules need it."""

    pk: int
    version: str
    published_at: datetime | None


@dataclass(frozen=True)
class Judgement:
    status: str
    version: str = ""  # the package version the branch shows
    upstream_version: str = ""
    release: Published | None = None  # the release that version packages
    reason: str = ""


def is_prerelease(version: str) -> bool:
    return bool(_PRERELEASE.search(version))


def _upstream_compare(family: str, a: str, b: str) -> int:
    """Two upstream versions, by the family's rules where they accept both."""
    try:
        return package_compare(family, a, b)
    except ValueError:
        return rpmvercmp(a, b)


def status_judge(*, family: str, found: dict[str, list[str]], names: list[str],
                 releases: list[Published], legacy: bool) -> Judgement:
    versions = [v for name in names for v in found.get(name, [])]
    if not versions:
        shown = ", ".join(names)
        return Judgement(RepositoryStatus.MISSING,
                         reason=f"The repository answers but lists no package named {shown}.")
    valid = [v for v in versions if version_invalid(family, v) is None]
    if not valid:
        return Judgement(RepositoryStatus.UNKNOWN, version=versions[0][:256],
                         reason=f"The version {version_invalid(family, versions[0])}.")
    best = valid[0]
    for v in valid[1:]:
        if package_compare(family, v, best) > 0:
            best = v
    upstream = upstream_part(family, best)
    ordered = sorted(releases, key=_key(family), reverse=True)
    matched = next((r for r in ordered if _upstream_compare(family, upstream, r.version) == 0),
                   None)
    if not ordered:
        return Judgement(RepositoryStatus.UNKNOWN, best, upstream, None,
                         "The project has no published release to compare with.")
    newest = ordered[0]
    c = _upstream_compare(family, upstream, newest.version)
    if c > 0:
        if is_prerelease(upstream):
            return Judgement(RepositoryStatus.DEVEL, best, upstream, matched,
                             f"{best} is a pre-release after {newest.version}.")
        return Judgement(RepositoryStatus.NEWEST, best, upstream, matched,
                         f"{best} is later than the newest release, {newest.version}.")
    if c == 0:
        return Judgement(RepositoryStatus.NEWEST, best, upstream, matched or newest, "")
    if legacy and not is_prerelease(upstream):
        return Judgement(RepositoryStatus.LEGACY, best, upstream, matched,
                         f"{best} on a branch that keeps an older release; the newest is "
                         f"{newest.version}.")
    return Judgement(RepositoryStatus.OUTDATED, best, upstream, matched,
                     f"{best} is older than the newest release, {newest.version}.")


def _key(family: str):
    return cmp_to_key(lambda a, b: _upstream_compare(family, a.version, b.version))

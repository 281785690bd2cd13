"""Reads: what each branch shows, when each release reached each distro."""

from __future__ import annotations

from dataclasses import dataclass

from releases.models import DistroRepository, DistroVersionSeen, Project, Release


def project_repositories(project: Project, distro=None):
    rows = DistroRepository.objects.filter(project=project).select_related("distro")
    if distro is not None:
        rows = rows.filter(distro=distro)
    return rows.order_by("distro__name", "branch")


@dataclass(frozen=True)
class Availability:
    """One branch as the pages show it: "Debian trixie 2.0-1", with its status."""

    distro: str
    branch: str
    version: str
    status: str
    reason: str
    url: str  # the package page, or ""

    @property
    def label(self) -> str:
        return f"{self.distro} {self.branch} {self.version}".strip()

    @property
    def flagged(self) -> bool:
        """Shown with its status in brackets: anything but newest."""
        return self.status != "newest"


def availability(project: Project) -> list[Availability]:
    """Every followed branch that shows a version (missing and unknown ones are left out),
    those with the newest release first."""
    rows = [
        Availability(r.distro.name, r.branch, r.version, r.status, r.reason, r.page_url)
        for r in project_repositories(project)
        if r.version and r.status not in ("missing", "unknown", "")
    ]
    return sorted(rows, key=lambda a: a.status != "newest")


@dataclass(frozen=True)
class Reach:
    distro: str
    branch: str
    release: str
    days: int


def reach_days(project: Project) -> list[Reach]:
    """For each release and branch: days from publishing to the first reading that
    showed it (the first reading after the branch was followed, for older ones)."""
    first: dict[tuple[int, int], DistroVersionSeen] = {}
    rows = (
        DistroVersionSeen.objects.filter(repository__project=project, release__isnull=False)
        .select_related("repository__distro", "release").order_by("seen_at", "pk")
    )
    for seen in rows:
        first.setdefault((seen.repository_id, seen.release_id), seen)
    out = []
    for seen in first.values():
        published = seen.release.published_at
        if published is None:
            continue
        out.append(Reach(seen.repository.distro.name, seen.repository.branch,
                         seen.release.version, max((seen.seen_at - published).days, 0)))
    return out


def release_availability(release: Release) -> dict[int, list[str]]:
    """Per distro id: "trixie 2.0-1 (newest)" for each branch, for the staff matrix."""
    out: dict[int, list[str]] = {}
    for r in project_repositories(release.project):
        if r.status:
            shown = f"{r.branch} {r.version} ({r.status})" if r.version else f"{r.branch} ({r.status})"
            out.setdefault(r.distro_id, []).append(shown)
    return out


def project_changes(project: Project, limit: int = 50):
    return (
        DistroVersionSeen.objects.filter(repository__project=project)
        .select_related("repository__distro", "release").order_by("-seen_at", "-pk")[:limit]
    )

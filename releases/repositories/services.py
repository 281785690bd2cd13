"""Distro repositories: named by a distro's maintainer, read by a worker, each change an event.

`repository_refresh` reads one branch's index (outside any transaction: it waits on
another server), judges its status, and records a `DistroVersionSeen` row and a
`distro.version_seen` event when the version or the status changed.
"""

from __future__ import annotations

from datetime import timedelta

from bundlecheck.indexes import FAMILY
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from portal.errors import BadInput
from releases.events import Event, event_record
from releases.models import (
    Distro,
    DistroRepository,
    DistroVersionSeen,
    Project,
    Release,
    RepositoryStatus,
)

from .readers import RepositoryUnreadable, repository_read
from .statuses import Judgement, Published, status_judge
from .tasks import repository_refresh_task


def _lease() -> timedelta:
    return timedelta(seconds=3 * settings.REPOSITORY_FETCH_SECONDS + 60)


@transaction.atomic
def repository_add(*, project: Project, distro: Distro, actor, branch: str, url: str, fmt: str,
                   package_names: list[str], legacy: bool = False, page_url: str = ""
                   ) -> DistroRepository:
    if DistroRepository.objects.filter(project=project, distro=distro, branch=branch).exists():
        raise BadInput(
            f"{distro.name} {branch} is already followed; remove it first to change its address."
        )
    repository = DistroRepository.objects.create(
        project=project, distro=distro, branch=branch, url=url, format=fmt,
        package_names=package_names, legacy=legacy, page_url=page_url, added_by=actor,
    )
    event_record(Event.DISTRO_REPOSITORY_ADDED, actor=actor, target=repository, url=url,
                 format=fmt, branch=branch, packages=package_names)
    repository_refresh_task.delay(repository.pk)
    return repository


@transaction.atomic
def repository_remove(*, repository: DistroRepository, actor) -> None:
    event_record(Event.DISTRO_REPOSITORY_REMOVED, actor=actor, target=repository,
                 branch=repository.branch, url=repository.url)
    repository.delete()


def published_releases(project_id: int) -> list[Published]:
    rows = Release.objects.filter(
        project_id=project_id, state=Release.State.RELEASED, published_at__isnull=False
    ).values_list("pk", "version", "published_at")
    return [Published(pk, version, at) for pk, version, at in rows]


def repository_judge(repository: DistroRepository, releases: list[Published]) -> Judgement:
    """Read the index and judge it; an unreadable index is *unknown* with its reason."""
    try:
        read = repository_read(repository)
    except RepositoryUnreadable as exc:
        return Judgement(RepositoryStatus.UNKNOWN, reason=str(exc))
    return status_judge(family=FAMILY[repository.format], found=read.found,
                        names=list(repository.package_names), releases=releases,
                        legacy=repository.legacy)


def repository_refresh(*, repository_id: int, now=None) -> DistroVersionSeen | None:
    """Read one repository and record what changed; None when nothing did (or another
    worker holds it)."""
    now = now or timezone.now()
    claimed = DistroRepository.objects.filter(
        Q(refresh_claimed_at__isnull=True) | Q(refresh_claimed_at__lt=now - _lease()),
        pk=repository_id,
    ).update(refresh_claimed_at=now)
    if not claimed:
        return None
    repository = DistroRepository.objects.select_related("distro", "project").get(pk=repository_id)
    try:
        judgement = repository_judge(repository, published_releases(repository.project_id))
    except Exception:
        DistroRepository.objects.filter(pk=repository_id).update(refresh_claimed_at=None)
        raise
    return repository_judgement_save(repository_id=repository_id, judgement=judgement)


def repository_give_up(*, repository_id: int, reason: str) -> DistroVersionSeen | None:
    return repository_judgement_save(
        repository_id=repository_id, judgement=Judgement(RepositoryStatus.UNKNOWN, reason=reason)
    )


@transaction.atomic
def repository_judgement_save(*, repository_id: int, judgement: Judgement
                              ) -> DistroVersionSeen | None:
    repository = (
        DistroRepository.objects.select_for_update(no_key=True)
        .select_related("distro", "project").filter(pk=repository_id).first()
    )
    if repository is None:
        return None
    now = timezone.now()
    previous_status, previous_version = repository.status, repository.version
    changed = (judgement.status, judgement.version) != (previous_status, previous_version)
    repository.status, repository.version = judgement.status, judgement.version
    repository.reason, repository.checked_at = judgement.reason, now
    repository.refresh_claimed_at = None
    repository.save(update_fields=["status", "version", "reason", "checked_at",
                                   "refresh_claimed_at"])
    if not changed:
        return None
    release = judgement.release
    reached = release is not None and not DistroVersionSeen.objects.filter(
        repository=repository, release_id=release.pk).exists()
    seen = DistroVersionSeen.objects.create(
        repository=repository, version=judgement.version,
        upstream_version=judgement.upstream_version,
        release_id=release.pk if release is not None else None,
        status=judgement.status, reason=judgement.reason, seen_at=now,
    )
    detail = {
        "distro": repository.distro.slug, "branch": repository.branch,
        "version": judgement.version, "status": judgement.status, "reason": judgement.reason,
        "previous_version": previous_version, "previous_status": previous_status,
    }
    if release is not None:
        detail["release"] = release.version
        if reached and release.published_at is not None:
            detail["days_to_reach"] = max((now - release.published_at).days, 0)
    event_record(Event.DISTRO_VERSION_SEEN, actor=None, target=repository, **detail)
    return seen


def repositories_refresh_all(*, project_id: int | None = None) -> int:
    """Queue a reading of every repository (of one project): one task each, so a slow
    server holds one outbound process until its deadline and delays nothing else."""
    rows = DistroRepository.objects.all()
    if project_id is not None:
        rows = rows.filter(project_id=project_id)
    count = 0
    for pk in rows.values_list("pk", flat=True):
        repository_refresh_task.delay(pk)
        count += 1
    return count

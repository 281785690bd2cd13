"""Writes of the public side: publish, assemble, withdraw, regenerate the page.

Each service takes keyword arguments, runs in one transaction with its audit
event, and queues its follow-up work with `transaction.on_commit`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import tempfile
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import storages
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone

from releases.models import Artifact, Project, Release, Submission
from releases.services import audit_record

from . import page
from .storage import CHUNK, atomic_write

log = logging.getLogger(__name__)

# Between "publish" and "released" a worker assembles the tarball. The model's
# State has no member for it yet (see the report); the column is free text.
PUBLISHING = "publishing"
PUBLISHABLE_STATES = (Release.State.PRERELEASE, Release.State.FROZEN)


class ReleaseStateError(ValueError):
    """The release is not in a state that allows this; the message says why."""


class ClaimedElsewhere(Exception):
    """Another run holds the assembly claim; retry once its lease has run out."""

    def __init__(self, retry_in: float):
        super().__init__(f"assembly claimed by another run; retry in {retry_in:.0f} s")
        self.retry_in = retry_in


def _claim_lease() -> timedelta:
    # Past the hard time limit, the run that claimed is certainly dead.
    return timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 60)


# --- The public page --------------------------------------------------------


def public_page_schedule(*, project: Project) -> None:
    """Regenerate the project's public page once the current transaction commits."""
    from releases.tasks import queue_on_commit

    from .tasks import page_regenerate

    Project.objects.filter(pk=project.pk).update(page_stale_since=timezone.now())
    queue_on_commit(page_regenerate, project.pk)


def public_page_render(*, project: Project) -> tuple[bytes, bytes]:
    """The page and its JSON twin, rendered from the database."""
    data = page.page_data(project=project)
    html = render_to_string("public/downloads.html", {"page": data})
    # Compact: scripts read it, and indenting costs a third of a large page's render.
    payload = json.dumps(page.json_data(data), sort_keys=True, separators=(",", ":")) + "\n"
    return html.encode("utf-8"), payload.encode("utf-8")


def public_page_regenerate(*, project: Project) -> None:
    """Render both files first, then replace each atomically: a failed render
    leaves the old page served, and the names never change.

    Regenerations of one project take turns (a row lock on the project), so
    a slow run that read the database earlier can never overwrite the page a
    later run wrote.
    """
    with transaction.atomic():
        project = Project.objects.select_for_update().get(pk=project.pk)
        stale_since = project.page_stale_since
        html, payload = public_page_render(project=project)
        public = storages["public"]
        atomic_write(public, page.json_key(project), payload)
        atomic_write(public, page.page_key(project), html)
        # Caught up with every change marked before this render began.
        Project.objects.filter(pk=project.pk, page_stale_since=stale_since).update(
            page_stale_since=None
        )


# --- Publish and assemble ---------------------------------------------------


@transaction.atomic
def release_publish(*, release: Release, actor) -> Release:
    """Mark a pre-release or frozen release as publishing and queue its assembly."""
    if release.prerelease_id is None:
        raise ReleaseStateError(f"{release} has no pre-release tarball to publish from.")
    claimed = Release.objects.filter(pk=release.pk, state__in=PUBLISHABLE_STATES).update(
        state=PUBLISHING, published_at=None
    )
    if not claimed:
        current = Release.objects.filter(pk=release.pk).values_list("state", flat=True).first()
        raise ReleaseStateError(
            f"Only a pre-release or frozen release can be published; {release} is {current}."
        )
    release.refresh_from_db()
    audit_record(actor=actor, verb="release.publish", target=release)
    from releases.tasks import queue_on_commit

    from .tasks import release_assemble

    # The sweeper queues it again if the broker is down now.
    queue_on_commit(release_assemble, release.pk)
    return release


def _claim_assembly(release_id: int):
    """The conditional UPDATE that makes a duplicate delivery do nothing.

    The claim is the time it was taken, kept in `published_at` while the
    release is publishing; a run that dies keeps it until its lease is over.
    Returns the claim's token, or None when there is nothing to do.
    """
    now = timezone.now()
    lease = _claim_lease()
    claimed = (
        Release.objects.filter(pk=release_id, state=PUBLISHING)
        .filter(Q(published_at__isnull=True) | Q(published_at__lt=now - lease))
        .update(published_at=now)
    )
    if claimed:
        return now
    row = Release.objects.filter(pk=release_id).values("state", "published_at").first()
    if row is None or row["state"] != PUBLISHING:
        return None
    remaining = (row["published_at"] + lease - now).total_seconds()
    raise ClaimedElsewhere(max(remaining, 1.0))


def _write_checksum(public, key: str, algorithm: str, digest: str) -> None:
    name = key.rsplit("/", 1)[-1]
    atomic_write(public, f"{key}.{algorithm}", f"{digest}  {name}\n".encode("ascii"))


def _hash_file(fileobj) -> tuple[str, str, int]:
    sha256, sha512, size = hashlib.sha256(), hashlib.sha512(), 0
    fileobj.seek(0)
    while chunk := fileobj.read(CHUNK):
        sha256.update(chunk)
        sha512.update(chunk)
        size += len(chunk)
    fileobj.seek(0)
    return sha256.hexdigest(), sha512.hexdigest(), size


def assembly_mtime(release: Release) -> int:
    """The one mtime every member of the public tarball gets: fixed per release."""
    return int(release.created_at.timestamp())


def source_tarball_build(*, release: Release, out) -> dict:
    """Stream the pre-release plus every accepted distro's contribution into `out`."""
    import bundlecheck

    uploads = storages["uploads"]
    accepted = (
        Submission.objects.filter(release=release, state=Submission.State.ACCEPTED)
        .select_related("distro", "artifact")
        .order_by("distro__slug")
    )
    with contextlib.ExitStack() as stack:
        prerelease = stack.enter_context(uploads.open(release.prerelease.key, "rb"))
        contributions = [
            (submission.distro.slug, stack.enter_context(uploads.open(submission.artifact.key)))
            for submission in accepted
        ]
        return bundlecheck.assemble(
            prerelease,
            contributions,
            out,
            policy=release.project.policy,
            mtime=assembly_mtime(release),
        )


def release_assemble(*, release_id: int) -> str:
    """Build and publish the source tarball of a publishing release; idempotent.

    Returns what happened, in words. Storage errors propagate, after the claim
    is given back, so that the task retries.
    """
    token = _claim_assembly(release_id)
    if token is None:
        return "nothing to do"
    try:
        release = Release.objects.select_related("project", "prerelease").get(pk=release_id)
        public = storages["public"]
        key = page.tarball_key(release)
        with tempfile.TemporaryFile() as spool:
            result = source_tarball_build(release=release, out=spool)
            spool.flush()
            sha256, sha512, size = _hash_file(spool)
            if result.get("sha256", sha256) != sha256:
                raise RuntimeError("assembled tarball changed while being spooled")
            atomic_write(public, key, spool)
        _write_checksum(public, key, "sha256", sha256)
        _write_checksum(public, key, "sha512", sha512)
        with transaction.atomic():
            artifact, _ = Artifact.objects.update_or_create(
                storage=Artifact.Storage.PUBLIC,
                key=key,
                defaults={
                    "kind": Artifact.Kind.SOURCE_RELEASE,
                    "size": size,
                    "sha256": sha256,
                    "sha512": sha512,
                    "original_name": key.rsplit("/", 1)[-1],
                },
            )
            done = Release.objects.filter(pk=release_id, state=PUBLISHING, published_at=token)
            if not done.update(
                state=Release.State.RELEASED, source_tarball=artifact, published_at=timezone.now()
            ):
                raise ReleaseStateError(f"{release} left the publishing state while assembling")
            release.refresh_from_db()
            audit_record(
                actor=None,
                verb="release.released",
                target=release,
                sha256=sha256,
                sha512=sha512,
                size=size,
                distros=list(
                    Submission.objects.filter(
                        release=release, state=Submission.State.ACCEPTED
                    ).values_list("distro__slug", flat=True)
                ),
            )
            public_page_schedule(project=release.project)
        return f"released {release} ({size} bytes, sha256 {sha256})"
    except BaseException:
        # Give the claim back so the retry can take it at once.
        Release.objects.filter(pk=release_id, state=PUBLISHING, published_at=token).update(
            published_at=None
        )
        raise


@transaction.atomic
def release_publish_fail(*, release_id: int, error: str) -> None:
    """Assembly gave up: back to frozen, so staff can fix and publish again."""
    release = Release.objects.filter(pk=release_id, state=PUBLISHING).first()
    if release is None:
        return
    Release.objects.filter(pk=release_id, state=PUBLISHING).update(
        state=Release.State.FROZEN, published_at=None
    )
    # Whatever the failed assembly wrote must not stay downloadable.
    public, key = storages["public"], page.tarball_key(release)
    for name in (key, f"{key}.sha256", f"{key}.sha512"):
        with contextlib.suppress(OSError):
            public.delete(name)
    audit_record(actor=None, verb="release.publish_failed", target=release, error=error[:2000])


# --- Withdraw ---------------------------------------------------------------


@transaction.atomic
def release_withdraw(*, release: Release, actor, reason: str) -> Release:
    """Withdraw a released release; the public page shows it marked, with the reason."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why the release is withdrawn; the public sees it."})
    changed = Release.objects.filter(pk=release.pk, state=Release.State.RELEASED).update(
        state=Release.State.WITHDRAWN, withdrawn_reason=reason
    )
    if not changed:
        current = Release.objects.filter(pk=release.pk).values_list("state", flat=True).first()
        raise ReleaseStateError(
            f"Only a released release can be withdrawn; {release} is {current}."
        )
    release.refresh_from_db()
    audit_record(actor=actor, verb="release.withdraw", target=release, reason=reason)
    public_page_schedule(project=release.project)
    return release


__all__ = [
    "PUBLISHING",
    "ClaimedElsewhere",
    "ReleaseStateError",
    "public_page_regenerate",
    "public_page_render",
    "public_page_schedule",
    "release_assemble",
    "release_publish",
    "release_publish_fail",
    "release_withdraw",
    "source_tarball_build",
]

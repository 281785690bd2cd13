"""The sweeper: queue again the work a lost task or a dead worker left stuck.

Tasks are acknowledged late, so a task whose worker dies is handed to another
worker; but with Redis that happens only once the broker's visibility timeout
(hours) has passed, and a task published while the broker was down, or held
by a broker restarted empty, is never delivered at all. Beat runs this every
`SWEEPER_INTERVAL_SECONDS`:

- a submission still `received` `SWEEPER_RECEIVED_SECONDS` after its upload
  (or its last attempt, or its last re-queue) is queued again;
- a submission `verifying` for longer than `SWEEPER_VERIFYING_SECONDS` (more
  than the hard time limit: its worker is certainly dead) goes back to
  `received`, by a conditional update, and is queued again;
- a release `publishing` whose assembly was never claimed, or whose claim's
  lease ran out, has its assembly queued again;
- a re-verification item still open `SWEEPER_VERIFYING_SECONDS` after its
  re-verification started (its task was lost) is queued again.

Every re-queue writes an audit event in the transaction that decides it, and
the task is published once that commits. Running the sweeper twice at once,
or while the original task finally arrives, is harmless: tasks claim their
work with a conditional update, so only one of them does it.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.files.storage import storages
from django.db import transaction
from django.db.models import CharField, F, OuterRef, Q, Subquery
from django.db.models.functions import Cast, Coalesce, Greatest
from django.utils import timezone

from portal.errors import Conflict
from publishing.storage import partial_writes_remove
from publishing.tasks import page_regenerate_task, release_assemble_task
from releases.audit import audit_record
from releases.coordination.lifecycle import assembly_lease, release_freeze
from releases.models import (
    AuditEvent,
    Maintainership,
    PrereleaseInvitation,
    Project,
    Release,
    ReverificationItem,
    Submission,
)
from releases.prereleases.tasks import release_deliver_prerelease_task
from releases.rules import OPEN_STATES
from releases.submissions.services import uploads_expire
from releases.verification.services import submission_fail
from releases.verification.tasks import submission_reverify_task, submission_verify_task

logger = logging.getLogger(__name__)

BATCH = 500


def _last_event(verbs: tuple[str, ...]) -> Subquery:
    """When one of `verbs` (each names its kind of object) was last recorded for the outer row."""
    return Subquery(
        AuditEvent.objects.filter(
            object_id=Cast(OuterRef("pk"), CharField()),
            verb__in=verbs,
        )
        .order_by("-created_at")
        .values("created_at")[:1]
    )


def submissions_requeue_lost(*, now: datetime | None = None) -> list[int]:
    """Queue again the `received` submissions whose task seems lost."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.SWEEPER_RECEIVED_SECONDS)
    candidates = (
        Submission.objects.filter(state=Submission.State.RECEIVED)
        .annotate(
            last_queued=Greatest(
                F("created_at"),
                Coalesce(F("verification_started_at"), F("created_at")),
                Coalesce(_last_event(("submission.requeue",)), F("created_at")),
            )
        )
        .filter(last_queued__lte=cutoff)
        .order_by("created_at")
        .values_list("pk", flat=True)[:BATCH]
    )
    queued = []
    for pk in list(candidates):
        with transaction.atomic():
            row = (
                Submission.objects.select_for_update(skip_locked=True)
                .filter(pk=pk, state=Submission.State.RECEIVED)
                .first()
            )
            if row is None:  # claimed meanwhile, or another sweeper has it
                continue
            audit_record(actor=None, verb="submission.requeue", target=row, reason="task lost")
            submission_verify_task.delay(pk)
        queued.append(pk)
    return queued


def _stalls(submission_id: int) -> int:
    return AuditEvent.objects.filter(
        object_type="releases.submission",
        object_id=str(submission_id),
        verb="submission.requeue",
        detail__reason="verification stalled",
    ).count()


def submissions_requeue_stalled(*, now: datetime | None = None) -> list[int]:
    """Hand back to `received`, and queue again, verifications whose worker died."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.SWEEPER_VERIFYING_SECONDS)
    stalled = (
        Submission.objects.filter(state=Submission.State.VERIFYING)
        .filter(Q(verification_started_at__lte=cutoff) | Q(verification_started_at__isnull=True))
        .order_by("verification_started_at")
        .values_list("pk", "verification_started_at")[:BATCH]
    )
    queued = []
    for pk, started in list(stalled):
        if _stalls(pk) >= settings.SWEEPER_MAX_STALLS:
            # A bundle that kills its worker every time must not loop forever.
            submission_fail(
                submission_id=pk,
                error=f"Verification stopped {settings.SWEEPER_MAX_STALLS} times without "
                "finishing (the worker ran out of time or memory). Upload a smaller bundle, "
                "only your distro's own directories, or ask the release manager.",
            )
            continue
        with transaction.atomic():
            # Conditional: only if no one claimed it again since it was read.
            reset = Submission.objects.filter(
                pk=pk, state=Submission.State.VERIFYING, verification_started_at=started
            ).update(state=Submission.State.RECEIVED, progress=0)
            if not reset:
                continue
            row = Submission.objects.get(pk=pk)
            audit_record(
                actor=None,
                verb="submission.requeue",
                target=row,
                reason="verification stalled",
                started=started.isoformat() if started else None,
            )
            submission_verify_task.delay(pk)
        queued.append(pk)
    return queued


def releases_requeue_stuck(*, now: datetime | None = None) -> list[int]:
    """Queue the assembly again of releases left `publishing`."""
    now = now or timezone.now()
    unclaimed_cutoff = now - timedelta(seconds=settings.SWEEPER_RECEIVED_SECONDS)
    # Past the assembly claim's lease, the run that claimed is dead and a new
    # run may take the claim.
    lease_cutoff = now - assembly_lease()
    stuck = (
        Release.objects.filter(state=Release.State.PUBLISHING)
        .annotate(
            last_queued=Coalesce(
                _last_event(("release.publish", "release.requeue")),
                F("created_at"),
            )
        )
        .filter(
            Q(assembly_claimed_at__isnull=True, last_queued__lte=unclaimed_cutoff)
            | Q(assembly_claimed_at__lte=lease_cutoff, last_queued__lte=unclaimed_cutoff)
        )
        .values_list("pk", flat=True)[:BATCH]
    )
    queued = []
    for pk in list(stuck):
        with transaction.atomic():
            row = (
                Release.objects.select_for_update(skip_locked=True)
                .filter(pk=pk, state=Release.State.PUBLISHING)
                .first()
            )
            if row is None:
                continue
            audit_record(actor=None, verb="release.requeue", target=row, reason="assembly stuck")
            release_assemble_task.delay(pk)
        queued.append(pk)
    return queued


def deliveries_requeue_missing(*, now: datetime | None = None) -> list[int]:
    """Queue the pre-release delivery again where an approved maintainer was never mailed.

    Covers a delivery task lost with its broker; the delivery itself mails
    only those not yet invited to the current tarball.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.SWEEPER_RECEIVED_SECONDS)
    queued = []
    releases = Release.objects.filter(
        state__in=OPEN_STATES,
        prerelease__isnull=False,
        prerelease_date__lte=cutoff,
    ).annotate(
        last_queued=_last_event(("release.open", "release.respin", "release.deliver_requeue"))
    )
    for release in releases[:BATCH]:
        if release.last_queued and release.last_queued > cutoff:
            continue
        maintainers = set(
            Maintainership.objects.filter(
                project=release.project_id,
                state=Maintainership.State.APPROVED,
                user__is_active=True,
            ).values_list("user_id", flat=True)
        )
        invited = set(
            PrereleaseInvitation.objects.filter(
                release=release, artifact=release.prerelease_id
            ).values_list("user_id", flat=True)
        )
        if maintainers - invited:
            with transaction.atomic():
                audit_record(
                    actor=None,
                    verb="release.deliver_requeue",
                    target=release,
                    missing=sorted(maintainers - invited),
                )
                release_deliver_prerelease_task.delay(release.pk)
            queued.append(release.pk)
    return queued


def pages_requeue_stale(*, now: datetime | None = None) -> list[int]:
    """Queue again the regeneration of public pages left stale (the task was lost)."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.SWEEPER_RECEIVED_SECONDS)
    stale = list(
        Project.objects.filter(page_stale_since__lte=cutoff).values_list("pk", flat=True)[:BATCH]
    )
    for pk in stale:
        page_regenerate_task.delay(pk)
    return stale


def reverifications_requeue_lost(*, now: datetime | None = None) -> list[int]:
    """Queue again the re-verification items whose task was lost (each runs once)."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.SWEEPER_VERIFYING_SECONDS)
    lost = list(
        ReverificationItem.objects.filter(
            done_at__isnull=True, reverification__started_at__lte=cutoff
        ).values_list("pk", flat=True)[:BATCH]
    )
    for pk in lost:
        submission_reverify_task.delay(pk)
    return lost


def partial_writes_clean() -> list[str]:
    """Remove what a page write killed midway left in local public storage."""
    return partial_writes_remove(storages["public"], older_than=settings.CELERY_TASK_TIME_LIMIT)


def releases_freeze_due(*, now: datetime | None = None) -> list[int]:
    """Freeze each open release whose submission deadline has passed, once.

    A release staff reopened after the deadline (it has a freeze in its
    history) stays open: that was their decision.
    """
    now = now or timezone.now()
    due = Release.objects.filter(
        state=Release.State.PRERELEASE, submission_deadline__lte=now
    ).annotate(frozen_before=_last_event(("release.freeze",)))
    frozen = []
    for release in due.filter(frozen_before__isnull=True)[:BATCH]:
        try:
            release_freeze(release=release, actor=None)
        except Conflict:  # staff moved it meanwhile
            continue
        frozen.append(release.pk)
    return frozen


def sweep() -> dict[str, list]:
    """One round of the sweeper; returns what it queued again."""
    now = timezone.now()
    result = {
        "stalled_verifications": submissions_requeue_stalled(now=now),
        "lost_verifications": submissions_requeue_lost(now=now),
        "stuck_releases": releases_requeue_stuck(now=now),
        "missing_deliveries": deliveries_requeue_missing(now=now),
        "stale_pages": pages_requeue_stale(now=now),
        "lost_reverifications": reverifications_requeue_lost(now=now),
        "frozen_at_deadline": releases_freeze_due(now=now),
        "partial_writes_removed": partial_writes_clean(),
        "upload_bytes_removed": uploads_expire(now=now),
    }
    if any(result.values()):
        logger.warning("sweeper queued again: %s", result)
    return result

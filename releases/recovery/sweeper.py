"""The sweeper: queue again the work a lost task or a dead worker left stuck.

Tasks are acknowledged late, so a task whose worker dies is handed to another
worker; but with Redis that happens only once the broker's visibility timeout
(hours) has passed, and a task published while the broker was down, or held
by a broker restarted empty, is never delivered at all. Beat runs this every
`SWEEPER_INTERVAL_SECONDS`:

- a submission still `received` `SWEEPER_RECEIVED_SECONDS` after it was last
  queued, or `verifying` for longer than `SWEEPER_VERIFYING_SECONDS` (more
  than the hard time limit: its worker is certainly dead), is handed back
  and queued again, through the Submission lifecycle's `requeue`; one that
  killed its worker `SWEEPER_MAX_STALLS` times fails instead;
- a release `publishing` whose assembly was never claimed, or whose claim's
  lease ran out, has its assembly queued again (`release.assembly_requeued`);
- an open release with an approved maintainer never invited to its current
  pre-release has its delivery queued again;
- a re-verification item still open long after its re-verification started
  (its task was lost) is queued again;
- an open release whose submission deadline passed is frozen, once per deadline;
- an event whose subscribers never ran (its process died after the commit)
  is dispatched again;
- and what other apps register with `sweep_part` (the public side's stale
  pages and half-written files).

It decides from the rows' own state (when each thing was last queued,
claimed or frozen), never by reading the audit back. Every re-queue is an
event recorded in the transaction that decides it, and the task is published
once that commits. Running the sweeper twice at once, or while the original
task finally arrives, is harmless: tasks claim their work with a
conditional update, so only one of them does it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from portal.errors import Conflict
from releases.coordination.lifecycle import assembly_lease, release_freeze
from releases.events import Event, event_record, events_dispatch_lost
from releases.models import (
    Maintainership,
    PrereleaseInvitation,
    Release,
    ReverificationItem,
    SourceProof,
    Submission,
)
from releases.prereleases.services import prerelease_delivery_queue
from releases.rules import OPEN_STATES
from releases.sourceproof.tasks import source_proof_compute_task
from releases.submission_lifecycle import submission_requeue
from releases.submissions.services import uploads_expire
from releases.verification.services import submission_fail
from releases.verification.tasks import submission_reverify_task, submission_verify_task

logger = logging.getLogger(__name__)

BATCH = 500


def submissions_requeue(*, now: datetime | None = None) -> dict[str, list[int]]:
    """Queue again the verifications whose task was lost (`received` too long since it
    was last queued) or whose worker died (`verifying` past the hard time limit)."""
    now = now or timezone.now()
    lost_cutoff = now - timedelta(seconds=settings.SWEEPER_RECEIVED_SECONDS)
    stalled_cutoff = now - timedelta(seconds=settings.SWEEPER_VERIFYING_SECONDS)
    candidates = list(
        Submission.objects.filter(
            Q(state=Submission.State.RECEIVED, queued_at__lte=lost_cutoff)
            | Q(
                state=Submission.State.RECEIVED, queued_at__isnull=True, created_at__lte=lost_cutoff
            )
            | Q(state=Submission.State.VERIFYING, verification_started_at__lte=stalled_cutoff)
            | Q(state=Submission.State.VERIFYING, verification_started_at__isnull=True)
        )
        .order_by("created_at")
        .values_list("pk", "state", "verification_started_at", "stalls")[:BATCH]
    )
    queued: dict[str, list[int]] = {"lost": [], "stalled": []}
    for pk, state, started, stalls in candidates:
        stalled = state == Submission.State.VERIFYING
        if stalled and stalls >= settings.SWEEPER_MAX_STALLS:
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
            row = submission_requeue(
                submission_id=pk,
                reason="verification stalled" if stalled else "task lost",
                seen=(state, started),
                stalled=stalled,
            )
            if row is None:  # claimed meanwhile, or another sweeper has it
                continue
            submission_verify_task.delay(pk)
        queued["stalled" if stalled else "lost"].append(pk)
    return queued


def releases_requeue_stuck(*, now: datetime | None = None) -> list[int]:
    """Queue the assembly again of releases left `publishing`."""
    now = now or timezone.now()
    queued_cutoff = now - timedelta(seconds=settings.SWEEPER_RECEIVED_SECONDS)
    # Past the assembly claim's lease, the run that claimed is dead and a new
    # run may take the claim.
    lease_cutoff = now - assembly_lease()
    stuck = (
        Release.objects.filter(state=Release.State.PUBLISHING)
        .filter(
            Q(assembly_queued_at__lte=queued_cutoff)
            | Q(assembly_queued_at__isnull=True, created_at__lte=queued_cutoff)
        )
        .filter(Q(assembly_claimed_at__isnull=True) | Q(assembly_claimed_at__lte=lease_cutoff))
        .values_list("pk", flat=True)[:BATCH]
    )
    queued = []
    for pk in list(stuck):
        with transaction.atomic():
            row = (
                Release.objects.select_for_update(skip_locked=True, no_key=True)
                .filter(pk=pk, state=Release.State.PUBLISHING)
                .first()
            )
            if row is None:
                continue
            row.assembly_queued_at = now
            row.save(update_fields=["assembly_queued_at"])
            # The public side's subscriber queues the assembly itself.
            event_record(
                Event.RELEASE_ASSEMBLY_REQUEUED, actor=None, target=row, reason="assembly stuck"
            )
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
    ).filter(Q(delivery_queued_at__lte=cutoff) | Q(delivery_queued_at__isnull=True))
    for release in releases[:BATCH]:
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
                prerelease_delivery_queue(release)
                release.save(update_fields=["delivery_queued_at"])
                event_record(
                    Event.RELEASE_DELIVERY_REQUEUED,
                    actor=None,
                    target=release,
                    missing=sorted(maintainers - invited),
                )
            queued.append(release.pk)
    return queued


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


def source_proofs_requeue_lost(*, now: datetime | None = None) -> list[int]:
    """Queue again the source proofs still pending whose task was lost (never started)
    or whose worker died (started past the hard time limit): the release waits on them."""
    now = now or timezone.now()
    lost = list(
        SourceProof.objects.filter(state=SourceProof.State.PENDING)
        .filter(
            Q(started_at__isnull=True, created_at__lte=now - timedelta(seconds=settings.SWEEPER_RECEIVED_SECONDS))
            | Q(started_at__lte=now - timedelta(seconds=settings.SWEEPER_VERIFYING_SECONDS))
        )
        .values_list("pk", flat=True)[:BATCH]
    )
    for pk in lost:
        source_proof_compute_task.delay(pk)
    return lost


def releases_freeze_due(*, now: datetime | None = None) -> list[int]:
    """Freeze each open release whose submission deadline has passed, once per deadline.

    A release staff reopened after the sweeper froze it at its deadline stays
    open: that was their decision, until a new deadline passes.
    """
    now = now or timezone.now()
    due = Release.objects.filter(
        state=Release.State.PRERELEASE, submission_deadline__lte=now
    ).filter(
        Q(deadline_frozen_at__isnull=True) | ~Q(deadline_frozen_at=models.F("submission_deadline"))
    )
    frozen = []
    for release in due[:BATCH]:
        try:
            release_freeze(release=release, actor=None, at_deadline=True)
        except Conflict:  # staff moved it meanwhile
            continue
        frozen.append(release.pk)
    return frozen


def events_redispatch(*, now: datetime | None = None) -> list[int]:
    """Run the subscribers of events whose process died between commit and subscribers."""
    now = now or timezone.now()
    return events_dispatch_lost(
        older_than=now - timedelta(seconds=settings.SWEEPER_RECEIVED_SECONDS)
    )


# Parts other apps add to the sweep (their `AppConfig.ready()`): name -> function(now=).
_parts: dict[str, Callable[..., list]] = {}


def sweep_part(name: str):
    """Register a function (taking `now=`) as a part of every sweep, under `name`."""

    def register(function):
        _parts[name] = function
        return function

    return register


def sweep() -> dict[str, list]:
    """One round of the sweeper; returns what it queued again, by kind."""
    now = timezone.now()
    submissions = submissions_requeue(now=now)
    result = {
        "stalled_verifications": submissions["stalled"],
        "lost_verifications": submissions["lost"],
        "stuck_releases": releases_requeue_stuck(now=now),
        "missing_deliveries": deliveries_requeue_missing(now=now),
        "lost_reverifications": reverifications_requeue_lost(now=now),
        "lost_source_proofs": source_proofs_requeue_lost(now=now),
        "frozen_at_deadline": releases_freeze_due(now=now),
        "upload_bytes_removed": uploads_expire(now=now),
        "events_redispatched": events_redispatch(now=now),
    }
    for name, part in _parts.items():
        result[name] = part(now=now)
    if any(result.values()):
        logger.warning("sweeper queued again: %s", result)
    return result

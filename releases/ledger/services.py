"""The patch ledger of a release: computed by a worker from the latest verified bundle of
each distro and the pre-release, answered entry by entry by upstream."""

from __future__ import annotations

from bundlecheck.patchapply import ledger_status
from bundlecheck.patches import build_ledger, find_patches, status_changes
from django.db import transaction
from django.utils import timezone

from releases.artifacts import artifact_open
from releases.events import Event, event_record
from releases.models import PatchAnswer, PatchLedger, Release, Submission
from releases.policies import rules_for

from .tasks import patch_ledger_compute_task

#: The submissions whose bundles the ledger reads: verified ones, and those a respin made stale
#: (their patches are exactly what the new pre-release must be tried against).
LEDGER_STATES = (Submission.State.PASSED, Submission.State.ACCEPTED, Submission.State.STALE)
#: At most this many status changes are kept in one event (and its mail).
MAX_CHANGES = 500


def patch_ledger_queue(*, release: Release) -> None:
    """Ask a worker to compute the release's ledger again (after the transaction commits)."""
    transaction.on_commit(lambda: patch_ledger_compute_task.delay(release.pk))


def ledger_submissions(release: Release) -> list[Submission]:
    """The latest verified (or stale) submission of each distro."""
    latest: dict[int, Submission] = {}
    rows = (
        Submission.objects.filter(release=release, state__in=LEDGER_STATES)
        .select_related("distro", "artifact")
        .order_by("distro__slug", "-created_at", "-pk")
    )
    for submission in rows:
        latest.setdefault(submission.distro_id, submission)
    return list(latest.values())


def patch_ledger_compute(*, release_id: int) -> PatchLedger | None:
    """Read every distro's patches and try them on the pre-release; save; say what changed."""
    release = Release.objects.select_related("project", "prerelease").filter(pk=release_id).first()
    if release is None:
        return None
    policy = rules_for(release.project)
    found = []
    for submission in ledger_submissions(release):
        with artifact_open(submission.artifact) as stored:
            found.append(
                find_patches(
                    stored, bundle=f"{submission.distro.slug} upload {submission.pk}", policy=policy
                )
            )
    ledger = build_ledger(found)
    if release.prerelease_id:
        with artifact_open(release.prerelease) as stored:
            name = release.prerelease.original_name or f"{release.version} pre-release"
            ledger_status(ledger, stored, name=name, policy=policy)
    sha256 = release.prerelease.sha256 if release.prerelease_id else ""
    return patch_ledger_save(release=release, data=ledger.to_dict(), prerelease_sha256=sha256)


@transaction.atomic
def patch_ledger_save(*, release: Release, data: dict, prerelease_sha256: str) -> PatchLedger:
    """Store the ledger; when a carried patch's status changed, record `patches.changed`."""
    PatchLedger.objects.get_or_create(release=release)
    row = PatchLedger.objects.select_for_update(no_key=True).get(release=release)
    previous = row.data if row.computed_at is not None else None
    changes = [c for c in status_changes(previous, data) if c["before"] is not None]
    row.data, row.prerelease_sha256 = data, prerelease_sha256
    row.computed_at = timezone.now()
    row.save()
    if changes:
        event_record(
            Event.PATCHES_CHANGED,
            actor=None,
            target=release,
            changes=changes[:MAX_CHANGES],
            omitted=max(0, len(changes) - MAX_CHANGES),
            prerelease_sha256=prerelease_sha256,
        )
    return row


@transaction.atomic
def patch_answer(
    *, release: Release, fingerprint: str, decision: str, comment: str, actor
) -> PatchAnswer:
    """Upstream's answer to an entry ("planned upstream" or "won't take"), which its carriers read."""
    answer, _ = PatchAnswer.objects.update_or_create(
        release=release,
        fingerprint=fingerprint,
        defaults={"decision": decision, "comment": comment, "decided_by": actor},
    )
    event_record(
        Event.PATCHES_DECIDED,
        actor=actor,
        target=release,
        fingerprint=fingerprint,
        decision=decision,
        comment=comment,
    )
    return answer

"""The Release lifecycle: every transition of a release, in one table.

`TRANSITIONS` says, for each (state, action), the state the release moves to;
a pair that is not in it is refused. `GUARDS` add the conditions a state
alone cannot express (a release needs its pre-release tarball before it can
be opened or published). Views, the API and the sweeper all move a release
through the functions below, which lock the row, consult the table, write
the audit event in the same transaction and queue what follows once it
commits. A refused move raises `TransitionRefused` (a 409) with the sentence
a release manager reads.

    draft ──open──> prerelease <──unfreeze── frozen
      │               │  └────────freeze───────>│ (reopen a distro: stays frozen)
      │ respin        │ respin, publish          │ publish
      v               v                          │ respin: back to prerelease
    draft          publishing ──assembly failed──> frozen
                      │ assembly done
                      v
                   released ──withdraw──> withdrawn
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from portal.errors import BadInput, Conflict
from publishing.tasks import release_assemble_task
from publishing.webhooks import release_event
from releases.audit import audit_record
from releases.models import Artifact, Distro, Release, Submission
from releases.notifications import mail_on_commit, maintainer_addresses
from releases.prereleases.services import prerelease_store
from releases.prereleases.tasks import release_deliver_prerelease_task
from releases.public import public_changed

State = Release.State


class Action(models.TextChoices):
    """What can happen to a release; the label completes "it cannot be ..."."""

    OPEN = "open", "opened"
    FREEZE = "freeze", "frozen"
    UNFREEZE = "unfreeze", "reopened for submissions"
    REOPEN_DISTRO = "reopen_distro", "reopened for a distro"
    RESPIN = "respin", "respun"
    PUBLISH = "publish", "published"
    ASSEMBLY_DONE = "assembly_done", "marked released"
    ASSEMBLY_FAILED = "assembly_failed", "put back after a failed assembly"
    WITHDRAW = "withdraw", "withdrawn"


TRANSITIONS: dict[tuple[str, str], str] = {
    (State.DRAFT, Action.OPEN): State.PRERELEASE,
    # Opening again mails the maintainers who were not invited yet.
    (State.PRERELEASE, Action.OPEN): State.PRERELEASE,
    (State.PRERELEASE, Action.FREEZE): State.FROZEN,
    (State.FROZEN, Action.UNFREEZE): State.PRERELEASE,
    (State.FROZEN, Action.REOPEN_DISTRO): State.FROZEN,
    (State.DRAFT, Action.RESPIN): State.DRAFT,
    (State.PRERELEASE, Action.RESPIN): State.PRERELEASE,
    # A new pre-release needs new submissions: a frozen release opens again.
    (State.FROZEN, Action.RESPIN): State.PRERELEASE,
    (State.PRERELEASE, Action.PUBLISH): State.PUBLISHING,
    (State.FROZEN, Action.PUBLISH): State.PUBLISHING,
    (State.PUBLISHING, Action.ASSEMBLY_DONE): State.RELEASED,
    (State.PUBLISHING, Action.ASSEMBLY_FAILED): State.FROZEN,
    (State.RELEASED, Action.WITHDRAW): State.WITHDRAWN,
}


def _has_prerelease(release: Release) -> str | None:
    if release.prerelease_id is None:
        return f"{release} has no pre-release tarball yet: attach it before opening or publishing."
    return None


GUARDS = {Action.OPEN: _has_prerelease, Action.PUBLISH: _has_prerelease}


class TransitionRefused(Conflict):
    """A move the lifecycle does not allow from the release's current state."""

    def __init__(self, message: str, *, release: Release, action: str):
        super().__init__(message)
        self.release, self.action = release, action


def refusal(release: Release, action: str) -> str | None:
    """Why `action` cannot happen to `release` now, or None when it can."""
    if (release.state, action) not in TRANSITIONS:
        return f"{release} is {release.get_state_display()}; it cannot be {Action(action).label}."
    guard = GUARDS.get(action)
    return guard(release) if guard else None


def allowed_actions(release: Release) -> set[str]:
    """The actions the table (and its guards) allow now: what pages offer."""
    return {action for action in Action.values if refusal(release, action) is None}


def _take(release: Release | int, action: str) -> tuple[Release, str]:
    """Lock the release and return it with the state `action` moves it to, or refuse."""
    pk = release if isinstance(release, int) else release.pk
    locked = Release.objects.select_for_update(of=("self",)).select_related("project").get(pk=pk)
    sentence = refusal(locked, action)
    if sentence:
        raise TransitionRefused(sentence, release=locked, action=action)
    return locked, TRANSITIONS[(locked.state, action)]


def _move(locked: Release, target: str, *fields: str) -> None:
    locked.state = target
    locked.save(update_fields=["state", *fields])


# --- Collecting submissions --------------------------------------------------


@transaction.atomic
def release_open(*, release: Release, actor) -> Release:
    """Open a release for submissions: index its pre-release and mail the maintainers."""
    locked, target = _take(release, Action.OPEN)
    locked.prerelease_date = locked.prerelease_date or timezone.now()
    _move(locked, target, "prerelease_date")
    audit_record(actor=actor, verb="release.open", target=locked)
    release_event(locked, "release.opened")
    release_deliver_prerelease_task.delay(locked.pk)
    release.refresh_from_db()
    return release


def _close_reopened(locked: Release, target: str, *, actor, verb: str) -> Release:
    _move(locked, target)
    # Reopened distros belong to one freeze; freezing or unfreezing ends it.
    locked.reopened_distros.clear()
    audit_record(actor=actor, verb=verb, target=locked)
    return locked


@transaction.atomic
def release_freeze(*, release: Release, actor) -> Release:
    """Close submissions (the deadline); staff may reopen single distros."""
    locked, target = _take(release, Action.FREEZE)
    _close_reopened(locked, target, actor=actor, verb="release.freeze")
    release_event(locked, "release.frozen")
    return locked


@transaction.atomic
def release_unfreeze(*, release: Release, actor) -> Release:
    locked, target = _take(release, Action.UNFREEZE)
    return _close_reopened(locked, target, actor=actor, verb="release.unfreeze")


@transaction.atomic
def release_reopen_distro(*, release: Release, distro: Distro, actor) -> Release:
    """Let one distro upload again while the release stays frozen for the rest."""
    locked, target = _take(release, Action.REOPEN_DISTRO)
    _move(locked, target)
    locked.reopened_distros.add(distro)
    audit_record(actor=actor, verb="release.reopen_distro", target=locked, distro=distro.slug)
    mail_on_commit(
        to=maintainer_addresses(locked.project, distro),
        subject=f"[{locked}] reopened for {distro} uploads",
        template="mail/reopened.txt",
        context={"release": locked, "distro": distro},
    )
    return locked


@transaction.atomic
def release_respin(*, release: Release, actor, tarball, deadline=None) -> Release:
    """Replace the pre-release tarball: live submissions go stale, a frozen release
    opens again (until `deadline`, when given), maintainers learn what changed."""
    locked, target = _take(release, Action.RESPIN)
    old_manifest = locked.manifest
    manifest, artifact = prerelease_store(tarball, locked.project)
    stale = Submission.objects.filter(release=locked, state__in=Submission.LIVE_STATES)
    stale_ids = list(stale.values_list("pk", flat=True))
    stale.update(state=Submission.State.STALE)
    locked.prerelease, locked.manifest, locked.replaced_manifest = artifact, manifest, old_manifest
    fields = ["prerelease", "manifest", "replaced_manifest"]
    if deadline is not None:
        locked.submission_deadline = deadline
        fields.append("submission_deadline")
    _move(locked, target, *fields)
    # Distros reopened one by one belonged to the freeze the respin ends.
    locked.reopened_distros.clear()
    audit_record(
        actor=actor,
        verb="release.respin",
        target=locked,
        sha256=artifact.sha256,
        stale_submissions=stale_ids,
        deadline=locked.submission_deadline.isoformat() if locked.submission_deadline else None,
    )
    release_event(locked, "release.respun", prerelease_sha256=artifact.sha256)
    if locked.state != State.DRAFT:
        # Indexing the new tarball and mailing fresh links with the changes is the
        # same delivery as at opening; every maintainer is invited to the new file.
        release_deliver_prerelease_task.delay(locked.pk)
    public_changed(locked.project)
    return locked


# --- Publishing ---------------------------------------------------------------


class ClaimedElsewhere(Exception):
    """Another run holds the assembly claim; retry once its lease has run out."""

    def __init__(self, retry_in: float):
        super().__init__(f"assembly claimed by another run; retry in {retry_in:.0f} s")
        self.retry_in = retry_in


def assembly_lease() -> timedelta:
    """How long an assembly claim holds: past the hard time limit, its run is certainly dead."""
    return timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 60)


@transaction.atomic
def release_publish(*, release: Release, actor) -> Release:
    """Mark a pre-release or frozen release as publishing and queue its assembly."""
    locked, target = _take(release, Action.PUBLISH)
    locked.assembly_claimed_at = None
    _move(locked, target, "assembly_claimed_at")
    audit_record(actor=actor, verb="release.publish", target=locked)
    # The sweeper queues it again if the broker is down now.
    release_assemble_task.delay(locked.pk)
    release.refresh_from_db()
    return release


def assembly_claim(release_id: int):
    """The conditional UPDATE that makes a duplicate delivery of the assembly do nothing.

    Returns the claim's token (the time it was taken), or None when the
    release is not publishing any more. A run that dies keeps its claim until
    the lease is over; meanwhile another run gets `ClaimedElsewhere`.
    """
    now = timezone.now()
    lease = assembly_lease()
    claimed = (
        Release.objects.filter(pk=release_id, state=State.PUBLISHING)
        .filter(Q(assembly_claimed_at__isnull=True) | Q(assembly_claimed_at__lt=now - lease))
        .update(assembly_claimed_at=now)
    )
    if claimed:
        return now
    row = Release.objects.filter(pk=release_id).values("state", "assembly_claimed_at").first()
    if row is None or row["state"] != State.PUBLISHING:
        return None
    remaining = (row["assembly_claimed_at"] + lease - now).total_seconds()
    raise ClaimedElsewhere(max(remaining, 1.0))


def assembly_claim_release(*, release_id: int, token) -> None:
    """Give the claim back so that a retry can take it at once."""
    Release.objects.filter(pk=release_id, state=State.PUBLISHING, assembly_claimed_at=token).update(
        assembly_claimed_at=None
    )


@transaction.atomic
def release_assembly_done(*, release_id: int, token, source_tarball: Artifact, **detail) -> Release:
    """The assembly that holds the claim finished: the release is released."""
    locked, target = _take(release_id, Action.ASSEMBLY_DONE)
    if locked.assembly_claimed_at != token:
        raise TransitionRefused(
            f"{locked}: another assembly run holds the claim; this one's result is dropped.",
            release=locked,
            action=Action.ASSEMBLY_DONE,
        )
    locked.source_tarball, locked.published_at = source_tarball, timezone.now()
    locked.assembly_claimed_at = None
    _move(locked, target, "source_tarball", "published_at", "assembly_claimed_at")
    accepted = Submission.objects.filter(release=locked, state=Submission.State.ACCEPTED)
    audit_record(
        actor=None,
        verb="release.released",
        target=locked,
        distros=list(accepted.values_list("distro__slug", flat=True)),
        **detail,
    )
    public_changed(locked.project)
    release_event(locked, "release.published", sha256=source_tarball.sha256)
    return locked


@transaction.atomic
def release_assembly_failed(*, release_id: int, error: str) -> Release | None:
    """Assembly gave up: back to frozen, so staff can fix and publish again."""
    try:
        locked, target = _take(release_id, Action.ASSEMBLY_FAILED)
    except (TransitionRefused, Release.DoesNotExist):
        return None  # it is not publishing any more: nothing to undo
    locked.assembly_claimed_at = None
    _move(locked, target, "assembly_claimed_at")
    audit_record(actor=None, verb="release.publish_failed", target=locked, error=error[:2000])
    return locked


@transaction.atomic
def release_withdraw(*, release: Release, actor, reason: str) -> Release:
    """Withdraw a released release; the public page shows it marked, with the reason."""
    reason = (reason or "").strip()
    if not reason:
        raise BadInput("Say why the release is withdrawn; the public sees it.", field="reason")
    locked, target = _take(release, Action.WITHDRAW)
    locked.withdrawn_reason, locked.withdrawn_at = reason, timezone.now()
    _move(locked, target, "withdrawn_reason", "withdrawn_at")
    audit_record(actor=actor, verb="release.withdraw", target=locked, reason=reason)
    release_event(locked, "release.withdrawn", reason=reason)
    public_changed(locked.project)
    release.refresh_from_db()
    return release

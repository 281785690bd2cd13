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
from releases import rules
from releases.events import Event, event_record
from releases.models import Artifact, Distro, Project, Release, Submission
from releases.prereleases.services import prerelease_delivery_queue, prerelease_store
from releases.sourceproof.selectors import source_proof_refusal
from releases.sourceproof.services import source_proof_request
from releases.submission_lifecycle import Action as SubmissionAction
from releases.submission_lifecycle import submissions_move_all

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


def _may_open(release: Release) -> str | None:
    # A release given a tag opens once its pre-release is proved against it (or an
    # owner overrode a failed proof with a written reason).
    return _has_prerelease(release) or source_proof_refusal(release)


def _publishable(release: Release) -> str | None:
    """A pre-release, and for a project whose release managers sign offline, their
    signature verified against the project's KEYS."""
    refused = _has_prerelease(release)
    offline = release.project.signing == Project.Signing.RELEASE_MANAGER
    if refused is None and offline and not release.offline_signature:
        return (
            f"{release.project} is signed offline by a release manager: assemble the "
            "tarball for signing, sign it and upload the signature before publishing."
        )
    return refused


GUARDS = {Action.OPEN: _may_open, Action.PUBLISH: _publishable}

# The one event each move ends with.
EVENTS = {
    Action.OPEN: Event.RELEASE_OPENED,
    Action.FREEZE: Event.RELEASE_FROZEN,
    Action.UNFREEZE: Event.RELEASE_UNFROZEN,
    Action.REOPEN_DISTRO: Event.RELEASE_DISTRO_REOPENED,
    Action.RESPIN: Event.RELEASE_RESPUN,
    Action.PUBLISH: Event.RELEASE_PUBLISHING,
    Action.ASSEMBLY_DONE: Event.RELEASE_PUBLISHED,
    Action.ASSEMBLY_FAILED: Event.RELEASE_PUBLISH_FAILED,
    Action.WITHDRAW: Event.RELEASE_WITHDRAWN,
}

# What a person may do to a release; the rest is the portal's own doing.
STAFF_ACTIONS = frozenset(Action) - {Action.ASSEMBLY_DONE, Action.ASSEMBLY_FAILED}


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
    """What staff may do to the release now (the table and its guards): the buttons
    pages show, the moves the API takes."""
    return {action for action in STAFF_ACTIONS if refusal(release, action) is None}


def _take(release: Release | int, action: str) -> tuple[Release, str]:
    """Lock the release and return it with the state `action` moves it to, or refuse."""
    pk = release if isinstance(release, int) else release.pk
    locked = (
        Release.objects.select_for_update(of=("self",), no_key=True)
        .select_related("project")
        .get(pk=pk)
    )
    sentence = refusal(locked, action)
    if sentence:
        raise TransitionRefused(sentence, release=locked, action=action)
    return locked, TRANSITIONS[(locked.state, action)]


def _move(locked: Release, action: str, target: str, *fields: str, actor, **detail) -> None:
    """Save the new state (and `fields`), and record the move's one event."""
    locked.state = target
    locked.save(update_fields=["state", *fields])
    event_record(EVENTS[action], actor=actor, target=locked, **detail)


# --- Collecting submissions --------------------------------------------------


@transaction.atomic
def release_open(*, release: Release, actor) -> Release:
    """Open a release for submissions: index its pre-release and mail the maintainers."""
    locked, target = _take(release, Action.OPEN)
    locked.prerelease_date = locked.prerelease_date or timezone.now()
    prerelease_delivery_queue(locked)
    _move(locked, Action.OPEN, target, "prerelease_date", "delivery_queued_at", actor=actor)
    release.refresh_from_db()
    return release


@transaction.atomic
def release_freeze(*, release: Release, actor, at_deadline: bool = False) -> Release:
    """Close submissions: its deadline passed (the sweeper), or staff froze it.
    Staff may reopen single distros while it is frozen."""
    locked, target = _take(release, Action.FREEZE)
    # Reopened distros belong to one freeze; freezing or unfreezing ends it.
    locked.reopened_distros.clear()
    fields = ["frozen_reason"]
    if at_deadline:
        locked.frozen_reason = Release.FreezeReason.DEADLINE
        locked.deadline_frozen_at = locked.submission_deadline
        fields.append("deadline_frozen_at")
    else:
        locked.frozen_reason = Release.FreezeReason.STAFF
    _move(locked, Action.FREEZE, target, *fields, actor=actor, reason=locked.frozen_reason)
    return locked


@transaction.atomic
def release_unfreeze(*, release: Release, actor) -> Release:
    locked, target = _take(release, Action.UNFREEZE)
    locked.reopened_distros.clear()
    locked.frozen_reason = ""
    _move(locked, Action.UNFREEZE, target, "frozen_reason", actor=actor)
    return locked


@transaction.atomic
def release_reopen_distro(*, release: Release, distro: Distro, actor) -> Release:
    """Let one distro upload again while the release stays frozen for the rest."""
    locked, target = _take(release, Action.REOPEN_DISTRO)
    locked.reopened_distros.add(distro)
    _move(locked, Action.REOPEN_DISTRO, target, actor=actor, distro=distro.slug)
    return locked


@transaction.atomic
def release_respin(*, release: Release, actor, tarball, deadline=None, source_tag: str = "") -> Release:
    """Replace the pre-release tarball: live submissions go stale, a frozen release
    opens again (until `deadline`, when given), maintainers learn what changed.
    With `source_tag` (or the release's tag, when it has one), the new tarball is
    proved against that tag."""
    locked, target = _take(release, Action.RESPIN)
    if deadline is not None:
        refused = rules.dates_refusal(deadline, locked.release_date)
        if refused:
            raise BadInput(refused, field="submission_deadline")
    old_manifest = locked.manifest
    manifest, artifact = prerelease_store(tarball, locked.project)
    stale_ids = submissions_move_all(
        Submission.objects.filter(release=locked), SubmissionAction.STALE, actor=actor
    )
    locked.prerelease, locked.manifest, locked.replaced_manifest = artifact, manifest, old_manifest
    locked.frozen_reason = ""
    # A signature made offline was of a tarball from the old pre-release.
    locked.signing_sha256 = locked.signing_key = ""
    locked.offline_signature = locked.offline_signed_by = ""
    fields = [
        "prerelease",
        "manifest",
        "replaced_manifest",
        "frozen_reason",
        "signing_sha256",
        "signing_key",
        "offline_signature",
        "offline_signed_by",
    ]
    if deadline is not None:
        locked.submission_deadline = deadline
        fields.append("submission_deadline")
    # Distros reopened one by one belonged to the freeze the respin ends.
    locked.reopened_distros.clear()
    # The new tarball is proved against the tag given, or the one the release had.
    proof = source_proof_request(release=locked, tag=source_tag or locked.source_tag)
    if target != State.DRAFT:
        # Indexing the new tarball and mailing fresh links with the changes is the
        # same delivery as at opening; every maintainer is invited to the new file.
        prerelease_delivery_queue(locked)
        fields.append("delivery_queued_at")
    _move(
        locked,
        Action.RESPIN,
        target,
        *fields,
        actor=actor,
        prerelease_sha256=artifact.sha256,
        stale_submissions=stale_ids,
        deadline=locked.submission_deadline,
        source_tag=proof.tag if proof is not None else "",
    )
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
    # The assembly is queued by the event's subscriber; the sweeper queues it
    # again if that message is lost.
    locked.assembly_queued_at = timezone.now()
    locked.frozen_reason = ""
    _move(
        locked,
        Action.PUBLISH,
        target,
        "assembly_claimed_at",
        "assembly_queued_at",
        "frozen_reason",
        actor=actor,
    )
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
    accepted = Submission.objects.filter(release=locked, state=Submission.State.ACCEPTED)
    _move(
        locked,
        Action.ASSEMBLY_DONE,
        target,
        "source_tarball",
        "published_at",
        "assembly_claimed_at",
        actor=None,
        distros=list(accepted.values_list("distro__slug", flat=True)),
        **detail,
    )
    return locked


@transaction.atomic
def release_assembly_failed(*, release_id: int, error: str) -> Release | None:
    """Assembly gave up: back to frozen, so staff can fix and publish again."""
    try:
        locked, target = _take(release_id, Action.ASSEMBLY_FAILED)
    except (TransitionRefused, Release.DoesNotExist):
        return None  # it is not publishing any more: nothing to undo
    locked.assembly_claimed_at = None
    locked.frozen_reason = Release.FreezeReason.STAFF
    _move(
        locked,
        Action.ASSEMBLY_FAILED,
        target,
        "assembly_claimed_at",
        "frozen_reason",
        actor=None,
        error=error[:2000],
    )
    return locked


@transaction.atomic
def release_withdraw(*, release: Release, actor, reason: str, compromised: bool = False) -> Release:
    """Withdraw a released release: it leaves the listing with its reason shown.

    Its files stay at their addresses, so that whoever pinned a checksum can
    still verify what they have, unless the release is `compromised`: then
    they stop being served (410). `releases.publication` says it in words.
    """
    reason = (reason or "").strip()
    if not reason:
        raise BadInput("Say why the release is withdrawn; the public sees it.", field="reason")
    locked, target = _take(release, Action.WITHDRAW)
    locked.withdrawn_reason, locked.withdrawn_at = reason, timezone.now()
    locked.compromised = bool(compromised)
    _move(
        locked,
        Action.WITHDRAW,
        target,
        "withdrawn_reason",
        "withdrawn_at",
        "compromised",
        actor=actor,
        reason=reason,
        compromised=locked.compromised,
    )
    release.refresh_from_db()
    return release

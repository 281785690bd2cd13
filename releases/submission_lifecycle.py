"""The Submission lifecycle: every way a submission's state changes, in one table.

`TRANSITIONS` says, for each (state, action), the state the submission moves
to and the event that says so; a pair not in it is refused. `GUARDS` add what
a state alone cannot say (a decision needs its release still open). Every
module that changes a submission's state does it through the functions
below, so the staged package link, the public page and the mails follow the
submission the same way on every path:

- entering `accepted` stages the package the maintainer asked upstream to
  host; leaving it, by any path (rejected, failed again under a new policy,
  made stale by a respin, replaced by a new upload), stops hosting it;
- each move records its event, whose subscribers mail and regenerate.

Some moves are caused by another object's event and record no event of
their own: a new upload supersedes the live one (`submission.created`), a
respin makes the live ones stale (`release.respun`), a publish or withdraw
changes what an accepted submission's staged package is (`release.published`,
`release.withdrawn`). The table names that event too.

    received ──claim──> verifying ──pass──> passed ──accept──> accepted
       ^                  │  │                 ^ │                │
       └─────requeue──────┘  └──fail──> failed ┘ └─reverify fail─>│ (to failed)
                                 (reverify pass: failed -> passed)
    passed, failed, accepted ──reject──> rejected
    any live state ──supersede──> superseded     ──stale──> stale
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models, transaction
from django.utils import timezone

from portal.errors import Conflict
from releases.events import Event, event_record
from releases.models import PackageLink, Release, Submission
from releases.rules import OPEN_STATES

State = Submission.State


class Action(models.TextChoices):
    """What can happen to a submission; the label completes "it cannot be ..."."""

    CLAIM = "claim", "taken for verification"
    REQUEUE = "requeue", "queued for verification again"
    PASS = "pass", "given a passing verdict"
    FAIL = "fail", "given a failing verdict"
    ACCEPT = "accept", "accepted"
    REJECT = "reject", "rejected"
    REVERIFY_PASS = "reverify_pass", "judged again as passing"
    REVERIFY_FAIL = "reverify_fail", "judged again as failing"
    SUPERSEDE = "supersede", "replaced by a new upload"
    STALE = "stale", "made stale by a new pre-release"
    EXPIRE = "expire", "cleaned up after the retention period"
    RELEASE_PUBLISHED = "release_published", "published with its release"
    RELEASE_WITHDRAWN = "release_withdrawn", "withdrawn with its release"


@dataclass(frozen=True)
class Move:
    target: str
    event: Event
    # Recorded by the object that caused the move (the new upload, the
    # release), once, rather than once per submission it moves.
    caused_by_other: bool = False


LIVE = tuple(State(s) for s in Submission.LIVE_STATES)
VERDICTS = (State.PASSED, State.FAILED, State.ACCEPTED)
EXPIRING = (State.FAILED, State.REJECTED, State.SUPERSEDED, State.STALE)

TRANSITIONS: dict[tuple[str, str], Move] = {
    (State.RECEIVED, Action.CLAIM): Move(State.VERIFYING, Event.SUBMISSION_VERIFICATION_STARTED),
    (State.VERIFYING, Action.REQUEUE): Move(State.RECEIVED, Event.SUBMISSION_REQUEUED),
    # The sweeper queues again a submission whose task was lost.
    (State.RECEIVED, Action.REQUEUE): Move(State.RECEIVED, Event.SUBMISSION_REQUEUED),
    (State.VERIFYING, Action.PASS): Move(State.PASSED, Event.SUBMISSION_VERIFIED),
    (State.VERIFYING, Action.FAIL): Move(State.FAILED, Event.SUBMISSION_VERIFIED),
    (State.PASSED, Action.ACCEPT): Move(State.ACCEPTED, Event.SUBMISSION_ACCEPTED),
    **{
        (state, Action.REJECT): Move(State.REJECTED, Event.SUBMISSION_REJECTED)
        for state in VERDICTS
    },
    # A new policy version: a verdict is replaced; an accepted submission
    # that now fails goes back to failed, one that still passes stays accepted.
    (State.PASSED, Action.REVERIFY_PASS): Move(State.PASSED, Event.SUBMISSION_REVERIFIED),
    (State.FAILED, Action.REVERIFY_PASS): Move(State.PASSED, Event.SUBMISSION_REVERIFIED),
    (State.ACCEPTED, Action.REVERIFY_PASS): Move(State.ACCEPTED, Event.SUBMISSION_REVERIFIED),
    **{
        (state, Action.REVERIFY_FAIL): Move(State.FAILED, Event.SUBMISSION_REVERIFIED)
        for state in VERDICTS
    },
    **{
        (state, Action.SUPERSEDE): Move(State.SUPERSEDED, Event.SUBMISSION_CREATED, True)
        for state in LIVE
    },
    **{(state, Action.STALE): Move(State.STALE, Event.RELEASE_RESPUN, True) for state in LIVE},
    **{(state, Action.EXPIRE): Move(state, Event.SUBMISSION_BYTES_REMOVED) for state in EXPIRING},
    # Its staged package is served while the release is out, and no longer
    # once it is withdrawn (publishing/views.py asks the release's state).
    (State.ACCEPTED, Action.RELEASE_PUBLISHED): Move(State.ACCEPTED, Event.RELEASE_PUBLISHED, True),
    (State.ACCEPTED, Action.RELEASE_WITHDRAWN): Move(State.ACCEPTED, Event.RELEASE_WITHDRAWN, True),
}


def _release_open(submission: Submission, release: Release) -> str | None:
    if release.state not in OPEN_STATES:
        # What is accepted goes into the source tarball; once publishing
        # starts, that tarball is being (or has been) built.
        return (
            f"{release} is {release.get_state_display()}: submissions can no "
            "longer be accepted or rejected."
        )
    return None


GUARDS = {Action.ACCEPT: _release_open, Action.REJECT: _release_open}

# What a person may do to a submission; the rest is the portal's own doing.
STAFF_ACTIONS = frozenset({Action.ACCEPT, Action.REJECT})


class SubmissionMoveRefused(Conflict):
    """A move the lifecycle does not allow from the submission's current state."""

    def __init__(self, message: str, *, submission: Submission, action: str):
        super().__init__(message)
        self.submission, self.action = submission, action


def refusal(submission: Submission, action: str, release: Release | None = None) -> str | None:
    """Why `action` cannot happen to `submission` now, or None when it can."""
    if (submission.state, action) not in TRANSITIONS:
        able = [s.label for s in State if (s, action) in TRANSITIONS]
        return f"Submission {submission.pk} is {submission.state}; " + (
            f"only a {' or '.join(able)} submission can be {Action(action).label}."
            if able
            else f"it cannot be {Action(action).label}."
        )
    guard = GUARDS.get(action)
    return guard(submission, release or submission.release) if guard else None


def allowed_actions(submission: Submission, release: Release | None = None) -> set[str]:
    """What staff may do to the submission now: what pages and the API offer."""
    return {action for action in STAFF_ACTIONS if refusal(submission, action, release) is None}


def from_states(action: str) -> list[str]:
    """The states `action` may start from: for conditional updates."""
    return [state for (state, act) in TRANSITIONS if act == action]


def _follow(submission: Submission, was: str, now: str, *, actor) -> None:
    """What follows a submission's state on every path: upstream hosts the package
    it staged while, and only while, the submission is accepted."""
    if not submission.package_id or was == now:
        return
    if now == State.ACCEPTED:
        if not PackageLink.objects.filter(staged=submission.package_id).exists():
            package = submission.package
            PackageLink.objects.create(
                release_id=submission.release_id,
                distro_id=submission.distro_id,
                staged=package,
                sha256=package.sha256,
                added_by=actor,
                health=PackageLink.Health.OK,
            )
    elif was == State.ACCEPTED:
        PackageLink.objects.filter(staged=submission.package_id).delete()


def submission_move(
    submission: Submission, action: str, *, actor, release: Release | None = None, **detail
) -> Submission:
    """Move a locked submission by `action`, with what follows and its event.

    The caller holds the row lock (and the release's, for a decision) and
    sets the other fields the move changes on the instance; this saves them
    with the state.
    """
    sentence = refusal(submission, action, release)
    if sentence:
        raise SubmissionMoveRefused(sentence, submission=submission, action=action)
    move = TRANSITIONS[(submission.state, action)]
    was = submission.state
    submission.state = move.target
    submission.save()
    _follow(submission, was, move.target, actor=actor)
    if not move.caused_by_other:
        event_record(move.event, actor=actor, target=submission, was=was, **detail)
    return submission


def submissions_move_all(queryset, action: str, *, actor) -> list[int]:
    """Move every submission of `queryset` that may take `action` (supersede, stale);
    the caller records the one event that caused it. Returns their ids."""
    moved = []
    for submission in (
        queryset.filter(state__in=from_states(action))
        .select_for_update(of=("self",), no_key=True)
        .select_related("package")
    ):
        move = TRANSITIONS[(submission.state, action)]
        was = submission.state
        Submission.objects.filter(pk=submission.pk).update(state=move.target)
        submission.state = move.target
        _follow(submission, was, move.target, actor=actor)
        moved.append(submission.pk)
    return moved


@transaction.atomic
def submission_claim(*, submission_id: int) -> bool:
    """Take a received submission for verification: a conditional update, so a
    second delivery of the same task finds nothing to do."""
    claimed = Submission.objects.filter(
        pk=submission_id, state__in=from_states(Action.CLAIM)
    ).update(state=State.VERIFYING, verification_started_at=timezone.now(), progress=0)
    if claimed:
        event_record(
            Event.SUBMISSION_VERIFICATION_STARTED,
            actor=None,
            target=Submission.objects.get(pk=submission_id),
        )
    return bool(claimed)


@transaction.atomic
def submission_requeue(
    *, submission_id: int, reason: str, seen: tuple | None = None, stalled: bool = False
):
    """Hand a submission back for verification (a retry, a lost task, a dead worker);
    with `seen` (state, verification_started_at), only if it is still as the caller
    saw it. Returns it, or None. The caller queues the task."""
    rows = Submission.objects.filter(pk=submission_id, state__in=from_states(Action.REQUEUE))
    if seen is not None:
        rows = rows.filter(state=seen[0], verification_started_at=seen[1])
    row = rows.select_for_update(skip_locked=True, no_key=True).first()
    if row is None:
        return None
    row.progress, row.queued_at = 0, timezone.now()
    if stalled:
        row.stalls += 1
    return submission_move(row, Action.REQUEUE, actor=None, reason=reason)

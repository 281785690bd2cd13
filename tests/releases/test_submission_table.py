"""The Submission table, walked whole: every state x every action.

For each pair the table allows, the submission reaches the table's state,
the move records its event exactly once (or none, when another object's
event caused it), and the staged package link exists exactly while the
submission is accepted. Every other pair is refused and changes nothing.
"""

import itertools

import pytest

from releases.models import Artifact, AuditEvent, PackageLink, Release, Submission
from releases.submission_lifecycle import (
    STAFF_ACTIONS,
    TRANSITIONS,
    Action,
    SubmissionMoveRefused,
    allowed_actions,
    refusal,
    submission_move,
)
from tests.factories import ArtifactFactory, ReleaseFactory, SubmissionFactory

pytestmark = pytest.mark.django_db

STATES = list(Submission.State)
ACTIONS = list(Action)


def test_every_state_and_action_is_named_and_the_table_uses_only_them():
    assert {state for state, _ in TRANSITIONS} <= set(STATES)
    assert {action for _, action in TRANSITIONS} <= set(ACTIONS)
    assert all(Action(action).label for action in ACTIONS)
    # Re-verification, retention and the release's moves are in the table.
    for action in (Action.REVERIFY_FAIL, Action.EXPIRE, Action.RELEASE_WITHDRAWN):
        assert any(act == action for _, act in TRANSITIONS)


@pytest.mark.parametrize(("state", "action"), list(itertools.product(STATES, ACTIONS)))
def test_the_whole_table(state, action, staff, django_capture_on_commit_callbacks):
    release = ReleaseFactory(state=Release.State.PRERELEASE)
    package = ArtifactFactory(kind=Artifact.Kind.STAGED_PACKAGE)
    submission = SubmissionFactory(release=release, state=state, package=package)
    if state == Submission.State.ACCEPTED:
        # An accepted submission's staged package is hosted: the invariant's start.
        PackageLink.objects.create(
            release=release, distro=submission.distro, staged=package, sha256=package.sha256
        )
    allowed = (state, action) in TRANSITIONS
    assert (refusal(submission, action) is None) == allowed
    assert (action in allowed_actions(submission)) == (allowed and action in STAFF_ACTIONS)
    events = AuditEvent.objects.count()

    if not allowed:
        with pytest.raises(SubmissionMoveRefused) as refused:
            submission_move(submission, action, actor=staff)
        submission.refresh_from_db()
        assert submission.state == state  # nothing moved
        assert f"Submission {submission.pk} is {state}" in refused.value.message
        assert AuditEvent.objects.count() == events
        return

    move = TRANSITIONS[(state, action)]
    with django_capture_on_commit_callbacks(execute=False):
        submission_move(submission, action, actor=staff)
    submission.refresh_from_db()
    assert submission.state == move.target
    recorded = AuditEvent.objects.count() - events
    if move.caused_by_other:
        assert recorded == 0  # the upload or the release recorded the cause, once
    else:
        assert recorded == 1
        assert AuditEvent.objects.latest("pk").verb == move.event
    # Upstream hosts the staged package while, and only while, it is accepted.
    hosted = PackageLink.objects.filter(staged=package).exists()
    assert hosted == (submission.state == Submission.State.ACCEPTED)


def test_a_decision_waits_for_an_open_release(staff):
    release = ReleaseFactory(state=Release.State.PUBLISHING)
    submission = SubmissionFactory(release=release, state=Submission.State.PASSED)
    assert allowed_actions(submission) == set()
    with pytest.raises(SubmissionMoveRefused, match="can no longer be accepted"):
        submission_move(submission, Action.ACCEPT, actor=staff)

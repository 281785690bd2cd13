"""The Release lifecycle, walked whole: every state x every action, allowed or refused."""

import itertools

import pytest

from portal.errors import Conflict
from releases.coordination import lifecycle
from releases.coordination.lifecycle import TRANSITIONS, Action, TransitionRefused
from releases.models import Artifact, AuditEvent, Release
from tests.factories import ArtifactFactory, DistroFactory, ReleaseFactory
from tests.helpers import Upload, prerelease_bytes

pytestmark = pytest.mark.django_db

STATES = Release.State.values
ACTIONS = Action.values


def _perform(release, action, staff):
    """Take `action` on `release` through the lifecycle's own function for it."""
    if action == Action.OPEN:
        return lifecycle.release_open(release=release, actor=staff)
    if action == Action.FREEZE:
        return lifecycle.release_freeze(release=release, actor=staff)
    if action == Action.UNFREEZE:
        return lifecycle.release_unfreeze(release=release, actor=staff)
    if action == Action.REOPEN_DISTRO:
        distro = DistroFactory(slug="ubuntu", name="Ubuntu")
        return lifecycle.release_reopen_distro(release=release, distro=distro, actor=staff)
    if action == Action.RESPIN:
        tarball = Upload(prerelease_bytes(), "convirt-2.0.tar.gz")
        return lifecycle.release_respin(release=release, actor=staff, tarball=tarball)
    if action == Action.PUBLISH:
        return lifecycle.release_publish(release=release, actor=staff)
    if action == Action.ASSEMBLY_DONE:
        token = lifecycle.assembly_claim(release.pk)
        tarball = release.prerelease  # any artifact stands in for the built tarball
        return lifecycle.release_assembly_done(
            release_id=release.pk, token=token, source_tarball=tarball
        )
    if action == Action.ASSEMBLY_FAILED:
        moved = lifecycle.release_assembly_failed(release_id=release.pk, error="boom")
        if moved is None:
            raise TransitionRefused("not publishing", release=release, action=action)
        return moved
    if action == Action.WITHDRAW:
        return lifecycle.release_withdraw(release=release, actor=staff, reason="a broken build")
    raise AssertionError(f"no function for {action}")


def test_every_action_has_a_label_and_every_pair_is_decided():
    assert {action for _, action in TRANSITIONS} <= set(ACTIONS)
    assert {state for state, _ in TRANSITIONS} <= set(STATES)
    assert all(Action(action).label for action in ACTIONS)


@pytest.mark.parametrize(("state", "action"), list(itertools.product(STATES, ACTIONS)))
def test_the_whole_table(state, action, staff, django_capture_on_commit_callbacks):
    release = ReleaseFactory(
        state=state,
        prerelease=ArtifactFactory(kind=Artifact.Kind.PRERELEASE),
        withdrawn_reason="an old reason" if state == Release.State.WITHDRAWN else "",
    )
    allowed = (state, action) in TRANSITIONS
    assert (lifecycle.refusal(release, action) is None) == allowed
    # Pages offer what staff may do; the assembly's moves are the portal's own.
    offered = allowed and action in lifecycle.STAFF_ACTIONS
    assert (action in lifecycle.allowed_actions(release)) == offered
    events = AuditEvent.objects.count()
    if allowed:
        with django_capture_on_commit_callbacks(execute=False):
            _perform(release, action, staff)
        release.refresh_from_db()
        assert release.state == TRANSITIONS[(state, action)]
        # Every move ends with exactly one event, its own.
        assert AuditEvent.objects.count() == events + 1
        assert AuditEvent.objects.latest("pk").verb == lifecycle.EVENTS[action]
    else:
        with pytest.raises(Conflict) as refused:
            _perform(release, action, staff)
        release.refresh_from_db()
        assert release.state == state  # nothing moved
        if action != Action.ASSEMBLY_FAILED:
            # The sentence a release manager reads names the release and the state.
            assert str(release) in refused.value.message
            assert release.get_state_display() in refused.value.message


def test_open_and_publish_need_the_prerelease_tarball(staff):
    release = ReleaseFactory(state=Release.State.DRAFT, prerelease=None)
    with pytest.raises(TransitionRefused, match="no pre-release tarball"):
        lifecycle.release_open(release=release, actor=staff)
    assert Action.OPEN not in lifecycle.allowed_actions(release)

"""Withdrawing a release: a reason the public reads, an audit event, the page regenerated."""

import pytest

from portal.errors import BadInput
from releases.coordination import lifecycle as services
from releases.models import AuditEvent, Release
from tests.factories import UserFactory, released

pytestmark = pytest.mark.django_db


def test_withdraw_records_reason_audits_and_regenerates(
    project, django_capture_on_commit_callbacks
):
    release = released(project, "2.0")
    staff = UserFactory(username="release-manager", is_staff=True)

    with django_capture_on_commit_callbacks(execute=False) as queued:
        services.release_withdraw(
            release=release, actor=staff, reason="  Corrupts images on save.  "
        )

    release.refresh_from_db()
    assert release.state == Release.State.WITHDRAWN
    assert release.withdrawn_reason == "Corrupts images on save."
    event = AuditEvent.objects.get(verb="release.withdrawn")
    assert event.actor == staff and event.detail == {
        "reason": "Corrupts images on save.",
        "state": "withdrawn",
        "compromised": False,
    }
    assert len(queued) == 1  # the event's dispatch (the page regeneration), after commit


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_a_reason_is_required(project, reason):
    release = released(project, "2.0")
    with pytest.raises(BadInput):
        services.release_withdraw(release=release, actor=None, reason=reason)
    release.refresh_from_db()
    assert release.state == Release.State.RELEASED


def test_only_a_released_release_can_be_withdrawn(project):
    release = released(project, "2.0", state=Release.State.FROZEN)
    with pytest.raises(services.TransitionRefused, match="frozen"):
        services.release_withdraw(release=release, actor=None, reason="oops")
    assert not AuditEvent.objects.exists()

"""Withdrawing a release: a reason the public reads, an audit event, the page regenerated."""

import html
import json

import pytest
from django.urls import reverse

from portal.errors import BadInput
from publishing.services import public_page_regenerate
from releases import publication
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


# What each door promises about a withdrawn release's files is what serving does.

TARBALL = "/downloads/convirt/2.0/convirt-2.0.tar.gz"


def _published_files(project):
    from django.core.files.storage import storages

    from publishing.storage import atomic_write

    release = released(project, "2.0")
    for key in publication.written_by_assembly(release):
        atomic_write(storages["public"], key, b"bytes of " + key.encode())
    return release


@pytest.mark.parametrize("choice", ["keep", "compromised"])
def test_the_confirmation_page_says_what_serving_then_does(client, project, staff, choice):
    release = _published_files(project)
    client.force_login(staff)
    url = reverse("staff-release-withdraw", args=[release.pk])
    compromised = choice == "compromised"
    promise = publication.withdraw_files_consequence(compromised=compromised)

    page = client.get(url).content.decode()
    assert html.escape(promise, quote=False) in page  # both choices are offered, in words

    response = client.post(url, {"confirmed": "yes", "reason": "Bad build", "files": choice})
    assert response.status_code == 302
    release.refresh_from_db()
    assert release.state == Release.State.WITHDRAWN and release.compromised is compromised

    served = client.get(TARBALL).status_code
    if compromised:
        assert "410 Gone" in promise and served == 410
    else:
        assert "stay at their addresses" in promise and served == 200
    public_page_regenerate(project=project)  # what the worker does once the event is out
    public = client.get("/downloads/convirt/downloads.json")
    entry = json.loads(b"".join(public.streaming_content))["releases"][0]
    assert entry["withdraw_consequence"] == publication.withdrawn_notice(
        state="withdrawn", compromised=compromised
    )
    feed = client.get("/downloads/convirt/feed.atom").content.decode()
    assert html.escape(entry["withdraw_consequence"], quote=False) in feed


def test_the_api_withdraws_as_compromised_and_says_so(client, project, staff):
    from tests.releases.test_staff_api import post_json, token

    _published_files(project)
    answer = post_json(
        client,
        reverse("api-release-withdraw", args=["convirt", "2.0"]),
        token(staff),
        {"reason": "Signing key leaked", "compromised": True},
    )
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["compromised"] is True and "410" in body["files_notice"]
    assert body["actions"] == []  # a withdrawn release takes no more moves
    assert client.get(TARBALL).status_code == 410

"""A packager's home across projects, and their deadlines as an iCalendar feed."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar

from releases.models import PackagerCalendar, Release
from tests.factories import (
    ArtifactFactory,
    DistroFactory,
    MaintainershipFactory,
    ProjectFactory,
    ReleaseFactory,
    SubmissionFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def packager(db):
    """Packages ConVirt for Ubuntu and Tern for Fedora."""
    now = timezone.now()
    user = UserFactory(username="both-packager")
    convirt, tern = (
        ProjectFactory(slug="convirt", name="ConVirt"),
        ProjectFactory(slug="tern", name="Tern"),
    )
    ubuntu, fedora = DistroFactory(slug="ubuntu"), DistroFactory(slug="fedora", name="Fedora")
    MaintainershipFactory(user=user, project=convirt, distro=ubuntu)
    MaintainershipFactory(user=user, project=tern, distro=fedora)
    later = ReleaseFactory(
        project=convirt, version="2.1", submission_deadline=now + timedelta(days=3)
    )
    sooner = ReleaseFactory(
        project=tern, version="0.5", submission_deadline=now + timedelta(days=1)
    )
    SubmissionFactory(
        release=sooner, distro=fedora, submitter=user, state="failed", artifact=ArtifactFactory()
    )
    out = ReleaseFactory(project=convirt, version="2.0", state=Release.State.RELEASED)
    SubmissionFactory(
        release=out, distro=ubuntu, submitter=user, state="accepted", artifact=ArtifactFactory()
    )
    ReleaseFactory(project=ProjectFactory(slug="other", name="Other"), version="9")
    return user, {"sooner": sooner, "later": later, "out": out}


def test_one_page_lists_every_project_and_distro_by_what_is_due_next(client, packager):
    user, releases = packager
    client.force_login(user)
    page = client.get(reverse("packager-home")).content.decode()
    rows = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0].split("<tr>")[1:]
    assert ["Tern" in rows[0], "ConVirt" in rows[1] and "2.1" in rows[1]] == [True, True]
    assert "your last upload failed" in rows[0]
    assert "pre-release not downloaded yet" in rows[1] and "nothing uploaded yet" in rows[1]
    assert "2.0" in rows[2] and "add the link to your package" in rows[2]
    assert "Other" not in page


def test_the_deadlines_feed_parses_and_its_address_can_be_reset(client, packager):
    user, releases = packager
    client.force_login(user)
    client.get(reverse("packager-home"))
    token = PackagerCalendar.objects.get(user=user).token
    url = reverse("packager-calendar", args=[token])
    client.logout()  # calendar programs do not log in: the address is the secret
    answer = client.get(url)
    assert answer.status_code == 200 and answer["Content-Type"].startswith("text/calendar")
    calendar = Calendar.from_ical(answer.content)
    events = sorted(calendar.walk("VEVENT"), key=lambda e: e.decoded("dtend"))
    assert [str(e["summary"]) for e in events] == [
        "Tern 0.5: Fedora deadline",
        "ConVirt 2.1: Ubuntu deadline",
    ]
    assert events[0].decoded("dtend") == releases["sooner"].submission_deadline.replace(
        microsecond=0
    )
    assert "your last upload failed" in str(events[0]["description"])
    assert str(events[1]["url"]).endswith("/projects/convirt/releases/2.1/distros/ubuntu/")

    client.force_login(user)
    assert client.post(reverse("packager-calendar-reset")).status_code == 302
    client.logout()
    assert client.get(url).status_code == 404
    fresh = PackagerCalendar.objects.get(user=user).token
    assert (
        fresh != token and client.get(reverse("packager-calendar", args=[fresh])).status_code == 200
    )

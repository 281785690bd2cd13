"""The audit log page for staff: every change, filterable, paginated, linked."""

import pytest
from django.urls import reverse

from releases.coordination import lifecycle
from releases.events import event_record
from tests.factories import DistroFactory, ReleaseFactory, SubmissionFactory

pytestmark = pytest.mark.django_db


def test_the_audit_log_is_for_staff_and_filters_by_release_distro_actor_and_verb(
    client, release, ubuntu, maintainer, staff
):
    fedora = DistroFactory(slug="fedora", name="Fedora")
    mine = SubmissionFactory(release=release, distro=ubuntu, submitter=maintainer)
    theirs = SubmissionFactory(release=release, distro=fedora, submitter=maintainer)
    other_release = ReleaseFactory(version="9.9")
    event_record("submission.created", actor=maintainer, target=mine)
    event_record("submission.created", actor=maintainer, target=theirs)
    event_record("release.frozen", actor=staff, target=other_release)
    lifecycle.release_freeze(release=release, actor=staff)

    url = reverse("staff-audit")
    client.force_login(maintainer)
    assert client.get(url).status_code == 404  # the project's team only
    client.force_login(staff)

    def shown(**query):
        page = client.get(url, query).content.decode()
        return page.count("<tr><td>")

    assert shown() == 4
    assert shown(release=release.pk) == 3  # its own freeze and both submissions
    assert shown(distro="ubuntu") == 1
    assert shown(actor="release-boss") == 2
    assert shown(verb="release.frozen", release=release.pk) == 1
    page = client.get(url, {"distro": "ubuntu"}).content.decode()
    assert reverse("submission-detail", args=[mine.pk]) in page  # linked to its object


def test_the_audit_log_pages(client, release, staff):
    for n in range(60):
        event_record("release.reminded", actor=staff, target=release, n=n)
    client.force_login(staff)
    first = client.get(reverse("staff-audit"), {"verb": "release.reminded"}).content.decode()
    assert first.count("<tr><td>") == 50 and "page 1 of 2" in first
    assert "verb=release.reminded&amp;page=2" in first
    second = client.get(reverse("staff-audit"), {"verb": "release.reminded", "page": 2})
    assert second.content.decode().count("<tr><td>") == 10

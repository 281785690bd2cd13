"""Where the distros' branches show: the maintainer's form, the public page, the feed."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import feedparser
import pytest
from django.utils import timezone

from publishing.services import public_page_render
from releases.coordination import services as coordination
from releases.models import AuditEvent, DistroRepository, DistroVersionSeen, Release
from releases.repositories.services import repository_judgement_save
from releases.repositories.statuses import Judgement, Published
from tests.factories import DistroFactory, released

PAGE = "/maintain/projects/{}/distros/ubuntu/repositories/"
GOOD = {
    "branch": "noble", "format": "deb-packages",
    "url": "https://archive.ubuntu.com/ubuntu/dists/noble/main/binary-amd64/Packages.xz",
    "package_names": "tern tern-doc", "page_url": "https://packages.ubuntu.com/noble/tern",
}


def test_a_maintainer_follows_a_repository(client, maintainer, release):
    client.force_login(maintainer)
    url = PAGE.format(release.project.slug)
    response = client.post(url, GOOD)
    assert response.status_code == 302
    repository = DistroRepository.objects.get()
    assert (repository.branch, repository.package_names) == ("noble", ["tern", "tern-doc"])
    assert AuditEvent.objects.filter(verb="distro_repository.added").count() == 1
    page = client.get(url).content.decode()
    assert "noble" in page and "not read yet" in page


@pytest.mark.parametrize(("field", "value", "message"), [
    ("url", "ftp://mirror.example.org/Packages.xz", "Only http:// and https://"),
    ("url", "https://archive.ubuntu.com/ubuntu/dists/noble/Release", "ends with Packages"),
    ("url", "file:///etc/passwd", "Only http:// and https://"),
    ("package_names", "Tern!", "is not a package name"),
    ("branch", "../x", "A branch name is"),
])
def test_bad_input_is_named(client, maintainer, release, settings, field, value, message):
    settings.OUTBOUND_ALLOW_FILE_URLS = False
    client.force_login(maintainer)
    response = client.post(PAGE.format(release.project.slug), {**GOOD, field: value})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not DistroRepository.objects.exists()


def test_another_distros_maintainer_sees_nothing(client, other_maintainer, release):
    client.force_login(other_maintainer)
    assert client.get(PAGE.format(release.project.slug)).status_code == 404
    assert client.post(PAGE.format(release.project.slug), GOOD).status_code == 404


def _seen(project, slug, name, branch, version, status, reason="", page_url=""):
    distro = DistroFactory(slug=slug, name=name)
    repository = DistroRepository.objects.create(
        project=project, distro=distro, branch=branch, url="https://x.example.org/Sources.xz",
        format="deb-sources", package_names=["tern"], page_url=page_url)
    repository_judgement_save(repository_id=repository.pk,
                              judgement=Judgement(status, version, reason=reason))
    return repository


def test_public_page_and_feed_say_where_it_is_available(db, client, project):
    released(project, "2.0", days_ago=2)
    _seen(project, "debian", "Debian", "trixie", "2.0-1", "newest",
          page_url="https://tracker.debian.org/pkg/tern")
    _seen(project, "fedora", "Fedora", "42", "2.0-2", "newest")
    _seen(project, "arch", "Arch", "extra", "1.9-3", "outdated", reason="1.9-3 is older")
    _seen(project, "alpine", "Alpine", "edge", "", "unknown", reason="timed out")
    html = public_page_render(project=project)[0].decode()
    block = re.search(r'<p class="available-in">(.*?)</p>', html, re.S).group(1)
    text = " ".join(re.sub(r"<[^>]+>", "", block).split())
    assert text == ("Available in: Debian trixie 2.0-1, Fedora 42 2.0-2, "
                    "Arch extra 1.9-3 (outdated)")
    assert '<a href="https://tracker.debian.org/pkg/tern" rel="nofollow noopener">' in block
    data = json.loads(public_page_render(project=project)[1])
    assert [a["label"] for a in data["available_in"]] == [
        "Debian trixie 2.0-1", "Fedora 42 2.0-2", "Arch extra 1.9-3"]
    assert data["distros_feed_url"].endswith(f"/downloads/{project.slug}/distros.atom")
    feed = feedparser.parse(client.get(f"/downloads/{project.slug}/distros.atom").content)
    assert not feed.bozo
    assert {e.title for e in feed.entries} >= {"Arch extra: 1.9-3 (outdated)",
                                               "Alpine edge: no package (unknown)"}
    assert DistroVersionSeen.objects.count() == 4


def test_nothing_is_listed_before_a_release_is_published(db, project):
    Release.objects.create(project=project, version="2.0", state=Release.State.PRERELEASE)
    _seen(project, "debian", "Debian", "trixie", "1.0-1", "unknown")
    assert "Available in" not in public_page_render(project=project)[0].decode()


def test_reaching_a_release_is_recorded_once(db, project):
    release = released(project, "2.0", days_ago=5)
    published = Published(release.pk, "2.0", release.published_at)
    repository = _seen(project, "debian", "Debian", "trixie", "1.9-1", "outdated")
    repository_judgement_save(repository_id=repository.pk,
                              judgement=Judgement("newest", "2.0-1", "2.0", published))
    repository_judgement_save(repository_id=repository.pk,
                              judgement=Judgement("newest", "2.0-2", "2.0", published))
    events = [e.detail for e in AuditEvent.objects.filter(verb="distro.version_seen")
              .order_by("pk")]
    assert [e.get("days_to_reach") for e in events] == [None, 5, None]


def test_staff_matrix_and_picture_after_publishing(client, staff, release, maintainer, ubuntu):
    Release.objects.filter(pk=release.pk).update(state="released",
                                                 published_at=timezone.now() - timedelta(days=9))
    release.refresh_from_db()
    published = Published(release.pk, "2.0", release.published_at)
    noble = DistroRepository.objects.create(
        project=release.project, distro=ubuntu, branch="noble", format="deb-packages",
        url="https://archive.example.org/Packages.xz", package_names=["convirt"])
    jammy = DistroRepository.objects.create(
        project=release.project, distro=ubuntu, branch="jammy", format="deb-packages",
        url="https://archive.example.org/j/Packages.xz", package_names=["convirt"], legacy=True)
    repository_judgement_save(repository_id=noble.pk,
                              judgement=Judgement("newest", "2.0-1", "2.0", published))
    repository_judgement_save(repository_id=jammy.pk,
                              judgement=Judgement("legacy", "1.9-1", "1.9", None, "kept"))
    client.force_login(staff)
    page = client.get(f"/staff/releases/{release.pk}/").content.decode()
    assert '<th scope="col">Available in</th>' in page
    assert "jammy 1.9-1 (legacy), noble 2.0-1" in page
    picture = client.get(f"/staff/projects/{release.project.slug}/distros/").content.decode()
    assert 'role="img"' in picture
    assert "Ubuntu, 2.0: 9 days after publishing" in picture
    assert '<th scope="row">Ubuntu</th><td>9 d</td>' in picture
    # A maintainer is not on the project's team: the same 404 as for no project.
    client.force_login(maintainer)
    assert client.get(f"/staff/projects/{release.project.slug}/distros/").status_code == 404


def test_before_publishing_the_matrix_has_no_availability(client, staff, release, ubuntu):
    DistroRepository.objects.create(
        project=release.project, distro=ubuntu, branch="noble", format="deb-packages",
        url="https://archive.example.org/Packages.xz", package_names=["convirt"])
    client.force_login(staff)
    assert "Available in" not in client.get(f"/staff/releases/{release.pk}/").content.decode()


def test_maintainers_are_told_their_repository_still_shows_an_old_version(
    release, maintainer, ubuntu, staff, mailoutbox, django_capture_on_commit_callbacks
):
    noble = DistroRepository.objects.create(
        project=release.project, distro=ubuntu, branch="noble", format="deb-packages",
        url="https://archive.example.org/Packages.xz", package_names=["convirt"])
    with django_capture_on_commit_callbacks(execute=True):
        repository_judgement_save(repository_id=noble.pk, judgement=Judgement(
            "outdated", "1.9-3", "1.9", None, "1.9-3 is older than the newest release, 2.0."))
    assert [m.subject for m in mailoutbox] == ["[ConVirt] Ubuntu noble still shows 1.9-3"]
    assert "your repository still shows 1.9-3" in mailoutbox[0].body
    assert mailoutbox[0].to == [maintainer.email]
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        coordination.release_remind(release=release, actor=staff, distros=[ubuntu])
    assert "Your repository noble still shows 1.9-3 (outdated)." in mailoutbox[0].body

"""The Atom feed is valid Atom (RFC 4287): read by feedparser without complaint,
with the elements the RFC requires, the tarball, the credits, and an
`updated` that moves when a release is withdrawn."""

import xml.etree.ElementTree as ET
from datetime import timedelta

import feedparser
import pytest
from django.utils import timezone

from releases.coordination import lifecycle
from releases.models import Release
from tests.factories import accepted, approve, packager, released

pytestmark = pytest.mark.django_db
ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def feed_release(project, ubuntu):
    release = released(project, "2.0", days_ago=3)
    maintainer = packager("ubuntu-dev", "Ada Lovelace")
    approve(maintainer, project, ubuntu)
    accepted(release, ubuntu, maintainer)
    return release


def _feed(client):
    response = client.get("/downloads/convirt/feed.atom")
    assert response.status_code == 200
    return response.content


def test_the_feed_is_valid_atom_with_the_tarball_and_the_credits(client, feed_release):
    content = _feed(client)
    parsed = feedparser.parse(content)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    assert parsed.feed.author == "The ConVirt release team"
    entry = parsed.entries[0]
    assert entry.title == "ConVirt 2.0"
    assert "It is packaged for Ubuntu by Ada Lovelace." in entry.summary
    enclosure = next(link for link in entry.links if link.rel == "enclosure")
    assert enclosure.href.startswith("http") and enclosure.href.endswith("convirt-2.0.tar.gz")
    assert enclosure.length == "123456" and enclosure.type == "application/gzip"
    # RFC 4287 4.1.1 and 4.1.2: what a feed and each entry must carry.
    root = ET.fromstring(content)
    for element in ("id", "title", "updated", "author"):
        assert root.find(f"{ATOM}{element}") is not None, element
    for node in root.findall(f"{ATOM}entry"):
        for element in ("id", "title", "updated"):
            assert node.find(f"{ATOM}{element}") is not None, element
        assert any(
            link.get("rel", "alternate") == "alternate" for link in node.findall(f"{ATOM}link")
        )


def test_an_entry_reads_as_sentences(client, feed_release, fedora):
    from tests.factories import approve, packager

    for username, name in (("fedora-dev", "Grace Hopper"), ("fedora-two", "")):
        approve(packager(username, name), feed_release.project, fedora)
    accepted(feed_release, fedora, packager("fedora-three", "Edsger Dijkstra"))
    summary = feedparser.parse(_feed(client)).entries[0].summary
    day = f"{feed_release.published_at:%Y-%m-%d}"
    assert summary.startswith(f"ConVirt 2.0 was released on {day}. The source tarball is convirt-2.0.tar.gz (")
    assert summary.endswith(
        "It is packaged for Fedora by Edsger Dijkstra, Grace Hopper and fedora-two"
        " and for Ubuntu by Ada Lovelace."
    ), summary
    # Sentences, not a run of names: each credit is part of one sentence.
    assert "Packaged for" not in summary and ".." not in summary


def test_a_withdrawal_moves_updated_so_readers_show_it(client, feed_release):
    before = feedparser.parse(_feed(client))
    Release.objects.filter(pk=feed_release.pk).update(
        published_at=timezone.now() - timedelta(days=3)
    )
    lifecycle.release_withdraw(release=feed_release, actor=None, reason="The installer wipes /etc")
    after = feedparser.parse(_feed(client))
    assert not after.bozo
    entry = after.entries[0]
    assert entry.title == "ConVirt 2.0 (withdrawn)"
    assert entry.updated_parsed > before.entries[0].updated_parsed
    assert after.feed.updated_parsed >= entry.updated_parsed
    assert not [link for link in entry.links if link.rel == "enclosure"]  # no longer offered


LINK = '<a href="https://evil.example/">click</a>'
IMAGE = '<img src="x" onerror="alert(1)">'


def _live_tags(html: str) -> list[str]:
    """The elements a browser or feed reader would make of `html`."""
    from html.parser import HTMLParser

    found: list[str] = []

    class Collect(HTMLParser):
        def handle_starttag(self, tag, attrs):
            found.append(tag)

    Collect().feed(html)
    return [tag for tag in found if tag in ("a", "img", "script")]


def test_what_people_typed_is_never_live_markup(client, project, ubuntu, staff):
    """Markup in a display name, a withdraw reason and a decision comment: shown as
    written in the feed (read with feedparser) and on the public page."""
    release = released(project, "2.0", days_ago=3)
    maintainer = packager("ubuntu-dev", f"Ubu {LINK}")
    approve(maintainer, project, ubuntu)
    submission = accepted(release, ubuntu, maintainer)
    submission.decision_comment = f"thanks {LINK}"
    submission.save(update_fields=["decision_comment"])
    lifecycle.release_withdraw(release=release, actor=staff, reason=f"bad {IMAGE}")

    parsed = feedparser.parse(_feed(client))
    assert not parsed.bozo, parsed.get("bozo_exception")
    entry = parsed.entries[0]
    for detail in (entry.summary_detail, entry.title_detail, parsed.feed.subtitle_detail):
        assert detail.type == "text/plain", detail
    # Shown as typed, inert: a reader displays the characters.
    assert f"Ubu {LINK}" in entry.summary and f"bad {IMAGE}" in entry.summary
    for detail in (entry.summary_detail, entry.title_detail):
        if detail.type != "text/plain":
            assert _live_tags(detail.value) == []

    from publishing.services import public_page_regenerate

    public_page_regenerate(project=project)
    page = client.get("/downloads/convirt/")
    html = b"".join(page.streaming_content if page.streaming else [page.content]).decode()
    assert "evil.example" in html and _live_tags(html.split("<main", 1)[-1]).count("img") == 0
    assert 'href="https://evil.example/"' not in html

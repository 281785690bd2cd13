"""The public download page: what it says, how it escapes, how few queries it takes."""

import json

import pytest

from publishing import page
from publishing.services import public_page_regenerate, public_page_render
from releases.models import PackageLink, Release
from tests.factories import (
    DistroFactory,
    ProjectFactory,
    accepted,
    approve,
    link,
    packager,
    released,
)

pytestmark = pytest.mark.django_db


def render(project):
    html, payload = public_page_render(project=project)
    return html.decode(), json.loads(payload)


def test_current_release_first_with_tarball_checksums_and_credits(project, ubuntu, fedora):
    old = released(project, "1.9", days_ago=30)
    current = released(project, "2.0", days_ago=1)
    ada = packager("ada", "Ada Lovelace")
    bob = packager("bob")  # no chosen name: credited by username
    cy = packager("cy", "Cy Twombly")
    accepted(current, ubuntu, ada)
    approve(bob, project, ubuntu)
    approve(ada, project, ubuntu)  # both submitter and maintainer: credited once
    accepted(current, fedora, cy)
    link(current, ubuntu, "https://ppa.example.org/convirt_2.0_all.deb", health="ok")
    accepted(old, ubuntu, bob)

    html, data = render(project)

    assert html.index("ConVirt 2.0") < html.index("Older releases") < html.index("ConVirt 1.9")
    assert "Packaged for Ubuntu by Ada Lovelace and bob" in html
    assert "Packaged for Fedora by Cy Twombly" in html
    assert 'href="https://ppa.example.org/convirt_2.0_all.deb"' in html
    assert 'href="/downloads/convirt/2.0/convirt-2.0.tar.gz"' in html
    assert current.source_tarball.sha256 in html
    assert "/downloads/convirt/2.0/convirt-2.0.tar.gz.sha512" in html
    versions = [r["version"] for r in data["releases"]]
    assert versions == ["2.0", "1.9"]
    first = data["releases"][0]
    assert first["current"] is True
    assert first["source"][
        "url"
    ] == "http://testserver/downloads/convirt/2.0/convirt-2.0.tar.gz" or (
        first["source"]["url"].endswith("/downloads/convirt/2.0/convirt-2.0.tar.gz")
    )
    ubuntu_row = next(d for d in first["distros"] if d["slug"] == "ubuntu")
    assert ubuntu_row["packagers"] == ["Ada Lovelace", "bob"]
    assert ubuntu_row["in_source_tarball"] is True
    assert ubuntu_row["links"][0]["health"] == "ok"


def test_names_and_urls_are_escaped_and_only_http_links_are_links(project, ubuntu):
    release = released(project, "2.0")
    evil = packager("mallory", "<script>alert('name')</script>")
    accepted(release, ubuntu, evil)
    PackageLink.objects.bulk_create(
        [
            PackageLink(release=release, distro=ubuntu, url="javascript:alert(1)"),
            PackageLink(
                release=release, distro=ubuntu, url='https://x.example/"><script>alert(2)</script>'
            ),
        ]
    )
    Release.objects.filter(pk=release.pk).update(withdrawn_reason="")

    html, data = render(project)

    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#x27;name&#x27;)&lt;/script&gt;" in html
    assert 'href="javascript:' not in html
    assert "javascript:alert(1)" in html  # shown as text, not as a link
    assert 'href="https://x.example/&quot;&gt;&lt;script&gt;' in html
    links = data["releases"][0]["distros"][0]["links"]
    assert [entry["url"] for entry in links][0] is None


def test_withdrawn_release_is_marked_with_its_reason(project, ubuntu):
    released(project, "1.9", days_ago=10)
    released(
        project,
        "2.0",
        state=Release.State.WITHDRAWN,
        withdrawn_reason="Data loss when <b>saving</b> images; use 1.9.",
    )

    html, data = render(project)

    assert "withdrawn" in html
    assert "Data loss when &lt;b&gt;saving&lt;/b&gt; images; use 1.9." in html
    # The current release is the newest one not withdrawn.
    assert data["releases"][0]["version"] == "1.9"
    assert data["releases"][1]["withdrawn"] is True
    assert data["releases"][1]["withdrawn_reason"].startswith("Data loss")


def test_unpublished_releases_are_not_public(project, ubuntu):
    from tests.factories import ReleaseFactory

    ReleaseFactory(project=project, version="3.0-pre", state=Release.State.PRERELEASE)
    html, data = render(project)
    assert "3.0-pre" not in html
    assert data["releases"] == []
    assert "has not published a release here yet" in html


def test_page_is_phone_friendly_and_has_no_javascript(project, ubuntu):
    released(project, "2.0")
    html, _ = render(project)
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert "<script" not in html.lower()
    # Long checksums and URLs wrap rather than push the page sideways.
    assert "overflow-wrap:anywhere" in html and "word-break:break-all" in html


def test_rendering_takes_a_bounded_number_of_queries(django_assert_max_num_queries):
    project = ProjectFactory(slug="bench", name="Bench")
    distros = [DistroFactory(slug=f"distro{n}", name=f"Distro {n}") for n in range(6)]
    people = [packager(f"p{n}", f"Person {n}") for n in range(6)]
    for n, distro in enumerate(distros):
        approve(people[n], project, distro)
    for version in range(8):
        release = released(project, f"1.{version}", days_ago=version)
        for n, distro in enumerate(distros):
            accepted(release, distro, people[(n + 1) % 6])
            link(release, distro, f"https://pkgs.example.org/{distro.slug}/1.{version}.pkg")

    with django_assert_max_num_queries(7):  # 7: the distros' branches (Available in)
        html, payload = public_page_render(project=project)

    assert html.count(b"Packaged for Distro") == 8 * 6


def test_regenerate_writes_page_and_json_at_fixed_names(project, ubuntu, public_dir):
    released(project, "2.0")
    public_page_regenerate(project=project)

    assert (public_dir / "convirt" / "index.html").read_bytes().startswith(b"<!doctype html>")
    data = json.loads((public_dir / "convirt" / "downloads.json").read_text())
    assert data["releases"][0]["version"] == "2.0"
    assert sorted(p.name for p in (public_dir / "convirt").iterdir()) == [
        "downloads.json",
        "index.html",
    ]


def test_a_failed_render_leaves_the_old_page(project, ubuntu, public_dir, monkeypatch, client):
    released(project, "2.0")
    public_page_regenerate(project=project)
    old_page = (public_dir / "convirt" / "index.html").read_bytes()
    old_json = (public_dir / "convirt" / "downloads.json").read_bytes()
    released(project, "2.1")

    def crash(**kwargs):
        raise RuntimeError("renderer crashed")

    monkeypatch.setattr(page, "page_data", crash)
    with pytest.raises(RuntimeError):
        public_page_regenerate(project=project)

    served = b"".join(client.get("/downloads/convirt/").streaming_content)
    assert served == old_page
    assert (public_dir / "convirt" / "downloads.json").read_bytes() == old_json
    assert sorted(p.name for p in (public_dir / "convirt").iterdir()) == [
        "downloads.json",
        "index.html",
    ]


def test_a_failed_write_leaves_the_old_bytes_and_no_temp_file(project, public_dir, monkeypatch):
    from publishing import storage as publishing_storage

    released(project, "2.0")
    public_page_regenerate(project=project)
    old_page = (public_dir / "convirt" / "index.html").read_bytes()
    released(project, "2.1")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(publishing_storage.os, "replace", broken_replace)
    with pytest.raises(OSError):
        public_page_regenerate(project=project)

    assert (public_dir / "convirt" / "index.html").read_bytes() == old_page
    assert not [p for p in (public_dir / "convirt").iterdir() if p.name.startswith(".tmp-")]


def test_page_key_is_the_project_folder(project):
    assert page.page_key(project) == "convirt/index.html"
    assert page.json_key(project) == "convirt/downloads.json"


def test_100_releases_by_50_distros_in_a_bounded_number_of_queries(
    django_assert_max_num_queries, capsys
):
    """The issue's acceptance figure: the query count does not grow with the page."""
    import hashlib
    import time

    from django.utils import timezone

    from releases.models import Artifact, Distro, Maintainership, Submission
    from tests.factories import UserFactory

    project = ProjectFactory(slug="big", name="Big")
    distros = Distro.objects.bulk_create(
        [Distro(slug=f"d{n:02d}", name=f"Distro {n:02d}") for n in range(50)]
    )
    people = [UserFactory(username=f"big{n}") for n in range(50)]
    Maintainership.objects.bulk_create(
        Maintainership(user=people[n], project=project, distro=distros[n], state="approved")
        for n in range(50)
    )
    now = timezone.now()
    tarballs = Artifact.objects.bulk_create(
        Artifact(
            kind="source_release",
            storage="public",
            key=f"big/1.{v}/big-1.{v}.tar.gz",
            size=1000 + v,
            sha256=hashlib.sha256(str(v).encode()).hexdigest(),
        )
        for v in range(100)
    )
    releases = Release.objects.bulk_create(
        Release(
            project=project,
            version=f"1.{v}",
            state="released",
            source_tarball=tarballs[v],
            published_at=now - timezone.timedelta(days=v),
        )
        for v in range(100)
    )
    bundles = Artifact.objects.bulk_create(
        Artifact(kind="submission", key=f"submission/big/{n}", size=1, sha256="0" * 64)
        for n in range(100 * 50)
    )
    Submission.objects.bulk_create(
        Submission(
            release=release,
            distro=distro,
            submitter=people[d],
            artifact=bundles[r * 50 + d],
            state="accepted",
        )
        for r, release in enumerate(releases)
        for d, distro in enumerate(distros)
    )
    PackageLink.objects.bulk_create(
        PackageLink(release=release, distro=distro, url=f"https://pkgs.example/{distro.slug}/{r}")
        for r, release in enumerate(releases)
        for distro in distros
    )

    started = time.perf_counter()
    with django_assert_max_num_queries(7):  # 7: the distros' branches (Available in)
        html, payload = public_page_render(project=project)
    elapsed = time.perf_counter() - started

    assert html.count(b"Packaged for Distro") == 100 * 50
    with capsys.disabled():
        print(
            f"\n[page 100 releases x 50 distros: {elapsed:.2f} s, "
            f"{len(html) // 1024} KiB html, {len(payload) // 1024} KiB json]"
        )


def test_a_lost_regeneration_is_queued_again_by_the_sweeper(
    project, settings, django_capture_on_commit_callbacks
):
    from datetime import timedelta

    from django.utils import timezone

    from publishing import sweeper as recovery
    from publishing.services import public_page_regenerate, public_page_stale

    with django_capture_on_commit_callbacks(execute=False):
        public_page_stale(project_id=project.pk)  # its task is lost: never runs
    project.refresh_from_db()
    assert project.page_stale_since is not None
    later = timezone.now() + timedelta(seconds=settings.SWEEPER_RECEIVED_SECONDS + 1)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        assert recovery.pages_requeue_stale(now=later) == [project.pk]
    assert len(queued) == 1
    public_page_regenerate(project=project)
    project.refresh_from_db()
    assert project.page_stale_since is None
    assert recovery.pages_requeue_stale(now=later) == []


def test_the_sweeper_removes_old_partial_writes_only(settings):
    import os
    import time

    from django.core.files.storage import storages

    from publishing.storage import partial_writes_remove

    public = storages["public"]
    folder = os.path.join(public.location, "sweep-test")
    os.makedirs(folder, exist_ok=True)
    old, fresh, page_file = (
        os.path.join(folder, n) for n in (".tmp-old.part", ".tmp-new.part", "index.html")
    )
    for path in (old, fresh, page_file):
        with open(path, "wb") as out:
            out.write(b"x")
    long_ago = time.time() - 7200
    os.utime(old, (long_ago, long_ago))
    os.utime(page_file, (long_ago, long_ago))
    assert partial_writes_remove(public, older_than=3600) == ["sweep-test/.tmp-old.part"]
    assert os.path.exists(fresh) and os.path.exists(page_file) and not os.path.exists(old)

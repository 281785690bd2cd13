"""Distro repositories read over loopback in all four formats, made by the real tools.

Every status (newest, outdated, legacy on an older branch beside a newest one, devel,
missing, unknown) is reached through the one outbound client, and each change is one
`distro.version_seen` event reaching the project's webhooks.
"""

from __future__ import annotations

import functools
import shutil
import threading
import time
import uuid
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.db import transaction

from demo import repositories as build
from portal.celery import app
from releases.models import (
    AuditEvent,
    DistroRepository,
    DistroVersionSeen,
    WebhookDelivery,
    WebhookEndpoint,
)
from releases.repositories.services import repository_add, repository_refresh
from tests.factories import DistroFactory, ProjectFactory, released
from tests.processes import wait_for

pytestmark = pytest.mark.skipif(
    any(shutil.which(tool) is None for tool in
        ("dpkg-deb", "apt-ftparchive", "dpkg-scansources", "rpmbuild", "createrepo_c", "repo-add")),
    reason="the distributions' repository tools are not installed",
)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The demo's repositories under one folder, served on 127.0.0.1."""
    root = tmp_path_factory.mktemp("repositories")
    build.debian_sources(root / "debian", "trixie", [("tern", "2.0-1"), ("other", "5.0-1")])
    build.debian_sources(root / "debian", "bookworm", [("tern", "1.9-3")])
    build.debian_packages(root / "ubuntu", "noble", [("tern", "1.9-1ubuntu1")])
    build.rpm_repository(root / "fedora42", [("tern", "2.0", "2.fc42")])
    build.rpm_repository(root / "rawhide", [("tern", "2.1~rc1", "0.1.fc43")])
    build.arch_repository(root / "arch", "extra", [("tern", "1.9-3"), ("tern-docs", "2.0-1")])
    build.alpine_index(root / "alpine", [("ternlib", "2.0-r0")])
    (root / "odd").mkdir()
    build.alpine_index(root / "odd", [("tern", "2.0-beta")])

    class Handler(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            if self.path == "/inward":
                self.send_response(302)
                self.send_header("Location", f"http://127.0.0.2:{self.server.server_address[1]}/x")
                self.end_headers()
                return
            if self.path == "/trickle":
                self.send_response(200)
                self.end_headers()
                for _ in range(30):
                    self.wfile.write(b"P")
                    self.wfile.flush()
                    time.sleep(0.2)
                return
            super().do_GET()

    server = ThreadingHTTPServer(("127.0.0.1", 0),
                                 functools.partial(Handler, directory=str(root)))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    server.base = f"http://127.0.0.1:{server.server_address[1]}"
    server.root = root
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def tern(db, project, settings):
    settings.OUTBOUND_ALLOW_PRIVATE = True  # the repositories are on loopback
    released(project, "1.9", days_ago=120)
    released(project, "2.0", days_ago=3)
    return project


def follow(project, slug, branch, url, fmt, names=("tern",), legacy=False):
    distro = DistroFactory(slug=slug, name=slug.capitalize())
    return DistroRepository.objects.create(
        project=project, distro=distro, branch=branch, url=url, format=fmt,
        package_names=list(names), legacy=legacy,
    )


CASES = [
    # slug, branch, path, format, names, legacy -> status, version
    ("debian", "trixie", "/debian/dists/trixie/main/source/Sources.xz", "deb-sources", ("tern",),
     False, "newest", "2.0-1"),
    ("debian", "bookworm", "/debian/dists/bookworm/main/source/Sources.xz", "deb-sources",
     ("tern",), True, "legacy", "1.9-3"),
    ("debian", "bookworm", "/debian/dists/bookworm/main/source/Sources.xz", "deb-sources",
     ("tern",), False, "outdated", "1.9-3"),
    ("ubuntu", "noble", "/ubuntu/dists/noble/main/binary-amd64/Packages.xz", "deb-packages",
     ("tern",), False, "outdated", "1.9-1ubuntu1"),
    ("fedora", "42", "/fedora42/packages/repodata/repomd.xml", "rpm-md", ("tern",), False,
     "newest", "2.0-2.fc42"),
    ("fedora", "rawhide", "/rawhide/packages/repodata/repomd.xml", "rpm-md", ("tern",), False,
     "devel", "2.1~rc1-0.1.fc43"),
    ("arch", "extra", "/arch/extra.db.tar.gz", "arch-db", ("tern",), False, "outdated", "1.9-3"),
    ("alpine", "v3.20", "/alpine/APKINDEX.tar.gz", "apk-index", ("tern",), False, "missing", ""),
    ("alpine", "v3.21", "/alpine/APKINDEX.tar.gz", "apk-index", ("ternlib",), False, "newest",
     "2.0-r0"),
    ("alpine", "edge", "/odd/APKINDEX.tar.gz", "apk-index", ("tern",), False, "unknown",
     "2.0-beta"),
    ("gentle", "1", "/nowhere/Sources.xz", "deb-sources", ("tern",), False, "unknown", ""),
]


@pytest.mark.parametrize(("slug", "branch", "path", "fmt", "names", "legacy", "status",
                          "version"), CASES, ids=[f"{c[0]}-{c[1]}-{c[6]}" for c in CASES])
def test_each_format_and_status_over_loopback(served, tern, slug, branch, path, fmt, names,
                                              legacy, status, version):
    repository = follow(tern, slug, branch, served.base + path, fmt, names, legacy)
    repository_refresh(repository_id=repository.pk)
    repository.refresh_from_db()
    assert (repository.status, repository.version) == (status, version), repository.reason
    if status in ("unknown", "missing", "legacy", "outdated", "devel"):
        assert repository.reason


def test_parallel_branches_legacy_beside_newest(served, tern, django_capture_on_commit_callbacks):
    """bookworm keeps 1.9 on purpose while trixie ships 2.0: legacy, not outdated; and
    reaching 2.0 is recorded with the days since publishing."""
    debian = DistroFactory(slug="debian", name="Debian")
    base = served.base + "/debian/dists/{}/main/source/Sources.xz"
    trixie = DistroRepository.objects.create(project=tern, distro=debian, branch="trixie",
                                             url=base.format("trixie"), format="deb-sources",
                                             package_names=["tern"])
    bookworm = DistroRepository.objects.create(project=tern, distro=debian, branch="bookworm",
                                               url=base.format("bookworm"), format="deb-sources",
                                               package_names=["tern"], legacy=True)
    endpoint = WebhookEndpoint.objects.create(project=tern, url="https://hooks.example.org/",
                                              events=["distro.version_seen"], secret="whsec_x")
    with django_capture_on_commit_callbacks(execute=True):
        for repository in (trixie, bookworm):
            repository_refresh(repository_id=repository.pk)
    events = AuditEvent.objects.filter(verb="distro.version_seen").order_by("pk")
    assert [(e.detail["branch"], e.detail["status"]) for e in events] == [
        ("trixie", "newest"), ("bookworm", "legacy")]
    assert events[0].detail["release"] == "2.0"
    assert events[0].detail["days_to_reach"] == 3
    # 1.9 was there before the branch was followed: its first reading is the bound known.
    assert events[1].detail["release"] == "1.9"
    assert events[1].detail["days_to_reach"] == 120
    payloads = [d.payload for d in WebhookDelivery.objects.filter(endpoint=endpoint)]
    assert sorted(p["data"]["branch"] for p in payloads) == ["bookworm", "trixie"]
    assert {p["type"] for p in payloads} == {"distro.version_seen"}
    # Nothing changed: no new row, no new event.
    assert repository_refresh(repository_id=trixie.pk) is None
    assert DistroVersionSeen.objects.filter(repository=trixie).count() == 1


def test_a_redirect_to_a_private_address_is_unknown_with_a_reason(served, tern, settings):
    settings.OUTBOUND_ALLOW_PRIVATE = False
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    repository = follow(tern, "sly", "1", served.base + "/inward", "deb-sources")
    repository_refresh(repository_id=repository.pk)
    repository.refresh_from_db()
    assert repository.status == "unknown"
    assert "private or local network" in repository.reason


def test_a_trickling_server_is_cut_at_the_deadline(served, tern, settings):
    settings.REPOSITORY_FETCH_SECONDS = 1
    repository = follow(tern, "slow", "1", served.base + "/trickle", "deb-sources")
    started = time.monotonic()
    repository_refresh(repository_id=repository.pk)
    assert time.monotonic() - started < 3
    repository.refresh_from_db()
    assert repository.status == "unknown"
    assert "timed out after 1 s" in repository.reason


def test_an_index_over_the_byte_cap_is_unknown(served, tern, settings):
    settings.REPOSITORY_MAX_BYTES = 100
    repository = follow(tern, "big", "1", served.base + "/arch/extra.db.tar.gz", "arch-db")
    repository_refresh(repository_id=repository.pk)
    repository.refresh_from_db()
    assert (repository.status, repository.reason) == (
        "unknown", "The index is too large: the answer is larger than 100 bytes.")


@pytest.mark.parametrize("allowed", [True, False])
def test_file_addresses_only_where_the_setting_allows(served, tern, settings, allowed):
    settings.OUTBOUND_ALLOW_FILE_URLS = allowed
    url = (Path(served.root) / "arch" / "extra.db.tar.gz").as_uri()
    repository = follow(tern, "local", "1", url, "arch-db")
    repository_refresh(repository_id=repository.pk)
    repository.refresh_from_db()
    if allowed:
        assert (repository.status, repository.version) == ("outdated", "1.9-3")
    else:
        assert repository.status == "unknown"
        assert "Only http:// and https://" in repository.reason


def test_reading_runs_on_the_outbound_queue_every_few_hours(settings):
    default = settings.CELERY_TASK_DEFAULT_QUEUE
    for task in ("repository_refresh_task", "repositories_refresh_task"):
        route = app.amqp.router.route({}, f"releases.repositories.tasks.{task}")
        assert route["queue"].name == f"{default}.outbound"
    schedule = settings.CELERY_BEAT_SCHEDULE["repositories-refresh"]
    assert schedule["task"] == "releases.repositories.tasks.repositories_refresh_task"


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_worker_reads_a_repository_once_it_is_followed(worker, served):
    """Through the real parts: the maintainer's service queues the reading on commit; a
    Celery worker reads the file:// index (the demo's and tests' setting) and records it."""
    project = ProjectFactory(slug=f"w-{uuid.uuid4().hex[:8]}", name="Worker Tern")
    released(project, "1.9", days_ago=30)
    distro = DistroFactory(slug=f"arch-{uuid.uuid4().hex[:6]}", name="Arch")
    url = (Path(served.root) / "arch" / "extra.db.tar.gz").as_uri()
    with transaction.atomic():
        repository = repository_add(project=project, distro=distro, actor=None, branch="extra",
                                    url=url, fmt="arch-db", package_names=["tern"])

    def read():
        repository.refresh_from_db()
        return repository.status

    wait_for(read, timeout=60, what="the worker read the Arch database")
    assert (repository.status, repository.version) == ("newest", "1.9-3")
    assert "releases.repositories.tasks.repository_refresh_task" in worker.log()

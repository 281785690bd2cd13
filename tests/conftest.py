import importlib
import io
import pkgutil
import uuid
from datetime import timedelta
from pathlib import Path

import hypothesis
import pytest
import schemathesis
from django.conf import settings as django_settings

from releases.artifacts import artifact_create
from releases.models import Artifact, Release
from tests import settings as test_settings
from tests.factories import (
    DistroFactory,
    MaintainershipFactory,
    ProjectFactory,
    ProjectMemberFactory,
    UserFactory,
)
from tests.helpers import prerelease_bytes
from tests.processes import S3Server, WorkerProcess


def _import_every_part(*packages) -> None:
    """Hypothesis and schemathesis import some of their parts only when a run first
    needs them, deep in a test's call stack, and pytest rewrites the assertions of
    those imports (they are plugins): on CPython 3.11.7 parsing a module that deep
    fails ("SystemError: AST constructor recursion depth mismatch", fixed in
    3.11.8). So every part they have is imported here, at the top of the stack."""
    for package in packages:
        for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if ".extra." in module.name or module.name.endswith(".extra"):
                continue  # optional parts for other libraries (numpy, django's TestCase...)
            try:
                importlib.import_module(module.name)
            except Exception:  # noqa: BLE001, S112 - an optional part whose library is absent
                continue


_import_every_part(hypothesis, schemathesis)


def pytest_report_header(config):
    return "services: " + ", ".join(test_settings.SERVICES_USED)


@pytest.fixture(scope="session")
def process_log_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("process-logs")


@pytest.fixture(scope="session")
def worker_process(django_db_setup, django_db_blocker, process_log_dir):
    """One real Celery worker process for the session, on the configured broker."""
    with django_db_blocker.unblock():
        process = WorkerProcess(process_log_dir).start()
    yield process
    process.stop()


@pytest.fixture
def worker(worker_process):
    """The session's worker; when the test ends, it is let finish what the test set
    off (a page regenerated, an event sent) before the database is emptied, so
    no task of one test still holds rows while the next test's flush truncates."""
    yield worker_process
    worker_process.wait_idle()


@pytest.fixture(scope="session")
def s3_server(process_log_dir):
    server = S3Server(process_log_dir).start()
    yield server
    server.stop()


@pytest.fixture
def s3_storages(s3_server, settings):
    """Point the `uploads` and `public` storages at fresh buckets on the S3 server."""
    client = s3_server.client()
    names = {}
    for alias in ("uploads", "public"):
        bucket = f"{alias}-{uuid.uuid4().hex[:10]}"
        client.create_bucket(Bucket=bucket)
        names[alias] = bucket
    settings.STORAGES = {
        **django_settings.STORAGES,
        "uploads": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {**s3_server.storage_options(names["uploads"]), "default_acl": "private"},
        },
        "public": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {**s3_server.storage_options(names["public"]), "querystring_auth": False},
        },
    }
    return names


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate-limit counters live in the cache; no test inherits another's."""
    from django.core.cache import cache

    cache.clear()


# --- One set of domain fixtures for every test -------------------------------


@pytest.fixture
def release(db):
    project = ProjectFactory()
    artifact = artifact_create(
        kind=Artifact.Kind.PRERELEASE,
        content=io.BytesIO(prerelease_bytes()),
        original_name="convirt-2.0.tar.gz",
    )
    return Release.objects.create(
        project=project, version="2.0", state=Release.State.PRERELEASE, prerelease=artifact
    )


@pytest.fixture
def ubuntu(db):
    return DistroFactory(slug="ubuntu", name="Ubuntu")


@pytest.fixture
def fedora(db):
    return DistroFactory(slug="fedora", name="Fedora")


@pytest.fixture
def maintainer(release, ubuntu):
    return MaintainershipFactory(
        user=UserFactory(username="ubuntu-dev"), project=release.project, distro=ubuntu
    ).user


@pytest.fixture
def other_maintainer(release, fedora):
    return MaintainershipFactory(
        user=UserFactory(username="fedora-dev"), project=release.project, distro=fedora
    ).user


@pytest.fixture
def revoked_maintainer(release, ubuntu):
    return MaintainershipFactory(
        user=UserFactory(username="gone-dev"),
        project=release.project,
        distro=ubuntu,
        state="revoked",
        reason="left",
    ).user


@pytest.fixture
def staff(db):
    """The release team: an owner of the project the tests work on (ConVirt), and
    no site administrator: running a project's releases needs its role only."""
    return ProjectMemberFactory(
        user=UserFactory(username="release-boss"), project=ProjectFactory()
    ).user


@pytest.fixture
def site_admin(db):
    """A site administrator (`is_staff`) on no project's team."""
    return UserFactory(username="site-admin", is_staff=True)


@pytest.fixture
def project():
    return ProjectFactory(slug="convirt", name="ConVirt", homepage="https://convirt.example.org/")


class Clock:
    """The portal's idea of now, set and moved by a test."""

    def __init__(self, now):
        self.now = now

    def advance(self, **delta):
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock(monkeypatch):
    """Freeze `django.utils.timezone.now` at the real now; `clock.advance(hours=2)` moves it."""
    from django.utils import timezone

    frozen = Clock(timezone.now())
    monkeypatch.setattr(timezone, "now", lambda: frozen.now)
    return frozen


@pytest.fixture
def tasks_queued(monkeypatch):
    """The tasks published while the test runs, as (task name, args), instead of
    being sent to the broker: what a change queued, whatever path queued it."""
    from portal.celery import PortalTask

    sent: list[tuple[str, tuple]] = []

    def record(self, args, kwargs, options):
        sent.append((self.name.rsplit(".", 1)[-1], tuple(args or ())))

    monkeypatch.setattr(PortalTask, "_publish", record)
    return sent

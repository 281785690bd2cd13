"""Builders for the publishing tests: each test makes exactly the rows it needs."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Profile
from releases.models import Artifact, Maintainership, PackageLink, Release, Submission
from tests.factories import (
    ArtifactFactory,
    DistroFactory,
    ProjectFactory,
    ReleaseFactory,
    SubmissionFactory,
    UserFactory,
)


def packager(username: str, display_name: str = ""):
    user = UserFactory(username=username)
    if display_name:
        Profile.objects.update_or_create(user=user, defaults={"display_name": display_name})
    return user


def approve(user, project, distro) -> Maintainership:
    return Maintainership.objects.create(
        user=user, project=project, distro=distro, state=Maintainership.State.APPROVED
    )


def released(project, version: str, *, days_ago: int = 0, state=Release.State.RELEASED, **kw):
    """A release as the assembly leaves it: released, with a public source tarball."""
    key = f"{project.slug}/{version}/{project.slug}-{version}.tar.gz"
    tarball = ArtifactFactory(
        kind=Artifact.Kind.SOURCE_RELEASE,
        storage=Artifact.Storage.PUBLIC,
        key=key,
        size=123456,
        sha256=hashlib.sha256(key.encode()).hexdigest(),
    )
    return ReleaseFactory(
        project=project,
        version=version,
        state=state,
        source_tarball=tarball,
        published_at=timezone.now() - timedelta(days=days_ago),
        **kw,
    )


def accepted(release, distro, submitter) -> Submission:
    return SubmissionFactory(
        release=release, distro=distro, submitter=submitter, state=Submission.State.ACCEPTED
    )


def link(release, distro, url: str, **kw) -> PackageLink:
    return PackageLink.objects.create(release=release, distro=distro, url=url, **kw)


@pytest.fixture
def project():
    return ProjectFactory(slug="convirt", name="ConVirt", homepage="https://convirt.example.org/")


@pytest.fixture
def ubuntu():
    return DistroFactory(slug="ubuntu", name="Ubuntu")


@pytest.fixture
def fedora():
    return DistroFactory(slug="fedora", name="Fedora")


@pytest.fixture(autouse=True)
def fresh_local_storages(request, settings, tmp_path):
    """Each test gets its own local `uploads` and `public` folders: no leftovers.

    Not with a worker process: it reads the storages of the settings it started with.
    """
    if "worker" in request.fixturenames:
        return None
    storages = dict(settings.STORAGES)
    for alias in ("uploads", "public"):
        if storages[alias]["BACKEND"].endswith("FileSystemStorage"):
            options = {**storages[alias]["OPTIONS"], "location": str(tmp_path / alias)}
            storages[alias] = {**storages[alias], "OPTIONS": options}
    settings.STORAGES = storages
    return tmp_path


@pytest.fixture
def public_dir(fresh_local_storages):
    return fresh_local_storages / "public"

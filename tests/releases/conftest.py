import io

import pytest

from releases.artifacts import artifact_create
from releases.models import Artifact, Release
from tests.factories import DistroFactory, MaintainershipFactory, ProjectFactory, UserFactory
from tests.helpers import prerelease_bytes


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
    return UserFactory(username="release-boss", is_staff=True)

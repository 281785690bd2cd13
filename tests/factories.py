"""factory_boy factories: each test builds exactly the rows it needs."""

import hashlib
from datetime import timedelta

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from accounts.models import Profile
from releases import models
from releases.models import Artifact, Maintainership, PackageLink, Release, Submission


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"packager{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.django.Password("a-long-test-password")


class ProjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Project
        django_get_or_create = ("slug",)

    slug = "convirt"
    name = "ConVirt"


class ProjectMemberFactory(factory.django.DjangoModelFactory):
    """A person on a project's team: an owner unless told otherwise."""

    class Meta:
        model = models.ProjectMember
        django_get_or_create = ("project", "user")

    project = factory.SubFactory(ProjectFactory)
    user = factory.SubFactory(UserFactory)
    role = models.ProjectMember.Role.OWNER


class DistroFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Distro
        django_get_or_create = ("slug",)

    slug = "ubuntu"
    name = factory.LazyAttribute(lambda d: d.slug.capitalize())


class ArtifactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Artifact

    kind = models.Artifact.Kind.SUBMISSION
    key = factory.Sequence(lambda n: f"submission/test/{n}")
    size = 4
    sha256 = factory.Sequence(lambda n: hashlib.sha256(str(n).encode()).hexdigest())


class ReleaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Release

    project = factory.SubFactory(ProjectFactory)
    version = factory.Sequence(lambda n: f"2.{n}")
    state = models.Release.State.PRERELEASE


class SubmissionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Submission

    release = factory.SubFactory(ReleaseFactory)
    distro = factory.SubFactory(DistroFactory)
    submitter = factory.SubFactory(UserFactory)
    artifact = factory.SubFactory(ArtifactFactory)


class MaintainershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Maintainership

    user = factory.SubFactory(UserFactory)
    project = factory.SubFactory(ProjectFactory)
    distro = factory.SubFactory(DistroFactory)
    state = models.Maintainership.State.APPROVED


# --- Builders of whole situations, from the factories above -----------------


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

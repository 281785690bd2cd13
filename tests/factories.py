"""factory_boy factories: each test builds exactly the rows it needs."""

import hashlib

import factory
from django.contrib.auth import get_user_model

from releases import models


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

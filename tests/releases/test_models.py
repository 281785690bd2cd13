"""The rules the database holds, whatever code writes to it."""

import pytest
from django.db import IntegrityError, transaction

from releases.models import Maintainership, PackageLink, Release, Submission
from tests.factories import (
    ArtifactFactory,
    DistroFactory,
    ProjectFactory,
    ReleaseFactory,
    SubmissionFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def refused(make):
    with pytest.raises(IntegrityError), transaction.atomic():
        make()


def test_one_live_submission_per_release_and_distro():
    first = SubmissionFactory()
    refused(lambda: SubmissionFactory(release=first.release, distro=first.distro))

    first.state = Submission.State.SUPERSEDED
    first.save()
    second = SubmissionFactory(release=first.release, distro=first.distro)
    assert second.state == Submission.State.RECEIVED
    # Another distro of the same release is independent.
    SubmissionFactory(release=first.release, distro=DistroFactory(slug="fedora"))


@pytest.mark.parametrize("dead_state", ["superseded", "stale"])
def test_history_keeps_any_number_of_dead_submissions(dead_state):
    live = SubmissionFactory()
    for _ in range(3):
        SubmissionFactory(release=live.release, distro=live.distro, state=dead_state)
    assert Submission.objects.filter(state=dead_state).count() == 3


def test_a_version_is_unique_within_a_project():
    release = ReleaseFactory(version="2.0")
    refused(lambda: ReleaseFactory(project=release.project, version="2.0"))


def test_a_withdrawn_release_states_why():
    release = ReleaseFactory()
    release.state = Release.State.WITHDRAWN
    refused(release.save)
    release.withdrawn_reason = "The tarball shipped a broken installer."
    release.save()


def test_progress_cannot_pass_100():
    submission = SubmissionFactory()
    submission.progress = 101
    refused(submission.save)


@pytest.mark.parametrize(
    ("url", "staged", "allowed"),
    [
        ("https://example.org/convirt.deb", False, True),
        ("", True, True),
        ("", False, False),
        ("https://example.org/convirt.deb", True, False),
    ],
)
def test_a_package_link_is_a_url_or_a_staged_file(url, staged, allowed):
    release = ReleaseFactory()
    make = lambda: PackageLink.objects.create(  # noqa: E731
        release=release,
        distro=DistroFactory(),
        url=url,
        staged=ArtifactFactory(kind="staged_package") if staged else None,
    )
    if allowed:
        make()
    else:
        refused(make)


def test_one_live_maintainership_but_history_is_kept():
    user, project, distro = UserFactory(), ProjectFactory(), DistroFactory()
    claim = Maintainership.objects.create(user=user, project=project, distro=distro)
    refused(lambda: Maintainership.objects.create(user=user, project=project, distro=distro))
    claim.state = Maintainership.State.REVOKED
    claim.save()
    Maintainership.objects.create(user=user, project=project, distro=distro)
    assert Maintainership.objects.filter(user=user).count() == 2


def test_artifact_kind_and_storage_are_known_values():
    refused(lambda: ArtifactFactory(kind="holiday-photos"))
    refused(lambda: ArtifactFactory(storage="somewhere"))

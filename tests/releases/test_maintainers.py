"""Accounts, distro claims and pre-release delivery, as a new packager meets them."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.urls import reverse

from releases.coordination.lifecycle import release_open
from releases.maintainers.services import maintainership_approve, maintainership_request
from releases.models import (
    AuditEvent,
    Distro,
    Maintainership,
    PrereleaseDownload,
    PrereleaseInvitation,
)
from releases.prereleases import services
from tests.factories import MaintainershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def link_in(message) -> str:
    return re.search(r"https?://\S+", message.body).group(0)


def path_of(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def test_sign_up_confirm_and_claim_a_new_distro(
    client, release, staff, django_capture_on_commit_callbacks
):
    staff.email = "boss@example.org"
    staff.save()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("signup"),
            {
                "username": "ubu",
                "email": "ubu@example.org",
                "display_name": "Ubu Packager",
                "password1": "a-long-enough-password-42",
                "password2": "a-long-enough-password-42",
            },
        )
    assert response.status_code == 200 and "Check your mail" in response.content.decode()
    user = get_user_model().objects.get(username="ubu")
    assert not user.is_active
    assert user.password.startswith("md5$") or user.password  # tests use a fast hasher
    assert client.login(username="ubu", password="a-long-enough-password-42") is False

    confirm_link = path_of(link_in(mail.outbox[-1]))
    confirm = client.get(confirm_link)
    assert confirm.status_code == 302 and confirm["Location"] == reverse("my-distros")
    user.refresh_from_db()
    assert user.is_active

    # The link works once: it is no way to log in later.
    from django.test import Client

    again = Client().get(confirm_link)
    assert again.status_code == 400 and "confirmed already" in again.content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("my-distros"),
            {
                "project": release.project.pk,
                "distro": "",
                "new_distro_slug": "ubuntu",
                "new_distro_name": "Ubuntu",
            },
        )
    claim = Maintainership.objects.get(user=user)
    assert claim.state == "requested" and claim.distro.slug == "ubuntu"
    assert mail.outbox[-1].to == ["boss@example.org"]
    assert AuditEvent.objects.filter(verb="maintainership.requested").count() == 1


def test_a_tampered_confirmation_link_is_refused(client):
    response = client.get(reverse("signup-confirm", args=["bogus"]))
    assert response.status_code == 400 and "not valid" in response.content.decode()


@pytest.mark.parametrize("slug", ["ubuntu/x", "../etc", "a b", "-x", ""])
def test_a_new_distro_needs_a_directory_name(release, slug):
    user = UserFactory()
    from portal.errors import PortalError

    with pytest.raises(PortalError, match="name of its directory in each project's source package"):
        maintainership_request(user=user, project=release.project, new_distro_slug=slug)
    assert not Distro.objects.filter(slug=slug).exists()


def test_staff_approve_decline_revoke_with_mail_and_audit(
    client, release, ubuntu, staff, django_capture_on_commit_callbacks
):
    asker = UserFactory(username="asker", email="asker@example.org")
    claim = maintainership_request(user=asker, project=release.project, distro=ubuntu)
    client.force_login(staff)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("claim-approve", args=[claim.pk]))
    claim.refresh_from_db()
    assert claim.state == "approved" and claim.decided_by == staff
    assert mail.outbox[-1].to == ["asker@example.org"] and "approved" in mail.outbox[-1].subject

    # Revoking needs a reason and keeps history.
    client.post(reverse("claim-revoke", args=[claim.pk]), {"reason": ""})
    claim.refresh_from_db()
    assert claim.state == "approved"
    client.post(reverse("claim-revoke", args=[claim.pk]), {"reason": "moved on"})
    claim.refresh_from_db()
    assert (claim.state, claim.reason) == ("revoked", "moved on")
    again = maintainership_request(user=asker, project=release.project, distro=ubuntu)
    assert Maintainership.objects.filter(user=asker).count() == 2 and again.state == "requested"
    verbs = list(AuditEvent.objects.values_list("verb", flat=True))
    assert {"maintainership.approved", "maintainership.revoked"} <= set(verbs)


def test_several_maintainers_per_distro(release, ubuntu):
    for name in ("a", "b"):
        MaintainershipFactory(
            user=UserFactory(username=name), project=release.project, distro=ubuntu
        )
    assert Maintainership.objects.filter(distro=ubuntu, state="approved").count() == 2


def test_opening_a_release_mails_each_maintainer_a_personal_link_once(
    client,
    release,
    maintainer,
    other_maintainer,
    revoked_maintainer,
    django_capture_on_commit_callbacks,
    tasks_queued,
):
    release.state = "draft"
    release.save()
    with django_capture_on_commit_callbacks(execute=True):
        release_open(release=release, actor=None)
    # The delivery task, after commit; and the public page, which now says a release
    # is being prepared.
    assert sorted(tasks_queued) == [
        ("page_regenerate_task", (release.project_id,)),
        ("release_deliver_prerelease_task", (release.pk,)),
    ]
    with django_capture_on_commit_callbacks(execute=True):
        assert services.release_deliver_prerelease(release=release) == 2
        assert services.release_deliver_prerelease(release=release) == 0  # once
    release.refresh_from_db()
    assert release.manifest["members"]  # indexed once, from the stored tarball
    assert sorted(m.to[0] for m in mail.outbox) == [
        "fedora-dev@example.org",
        "ubuntu-dev@example.org",
    ]
    assert PrereleaseInvitation.objects.count() == 2

    mine = next(m for m in mail.outbox if m.to == ["ubuntu-dev@example.org"])
    client.force_login(maintainer)
    response = client.get(path_of(link_in(mine)))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    assert b"".join(response.streaming_content)[:2] == b"\x1f\x8b"
    assert PrereleaseDownload.objects.filter(user=maintainer).count() == 1

    client.force_login(other_maintainer)  # someone else's link
    assert client.get(path_of(link_in(mine))).status_code == 404


def test_an_expired_link_offers_a_fresh_one(
    client, release, maintainer, settings, django_capture_on_commit_callbacks
):
    from unittest import mock

    from django.utils import timezone

    link = path_of(services.prerelease_link(release=release, user=maintainer))
    client.force_login(maintainer)
    later = timezone.now() + timedelta(days=settings.PRERELEASE_LINK_DAYS + 1)
    # The clock is the one thing a test cannot wait for: move it forward.
    with mock.patch("django.core.signing.time.time", return_value=later.timestamp()):
        response = client.get(link)
    assert response.status_code == 410
    assert "Mail me a fresh link" in response.content.decode()
    assert PrereleaseDownload.objects.count() == 0
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("prerelease-resend", args=[release.pk]))
    assert "pre-release 2.0 is ready" in mail.outbox[-1].subject


def test_a_respin_makes_old_links_stop(client, release, maintainer):
    from tests.factories import ArtifactFactory

    link = path_of(services.prerelease_link(release=release, user=maintainer))
    release.prerelease = ArtifactFactory(kind="prerelease")
    release.save()
    client.force_login(maintainer)
    assert client.get(link).status_code == 410


def test_profile_display_name_and_tokens(client, maintainer):
    client.force_login(maintainer)
    client.post(reverse("profile"), {"display_name": "Ubuntu <Dev>"})
    assert maintainer.profile.display_name == "Ubuntu <Dev>"
    page = client.post(reverse("token-create"), {"name": "ci"}).content.decode()
    key = re.search(r"rp_[\w-]+", page).group(0)
    profile_page = client.get(reverse("profile")).content.decode()
    assert key not in profile_page and key[:10] in profile_page  # shown once
    assert "Ubuntu &lt;Dev&gt;" in profile_page


def test_a_maintainer_approved_while_a_release_is_open_gets_its_prerelease(
    release, ubuntu, staff, django_capture_on_commit_callbacks, tasks_queued
):
    asker = UserFactory(username="late", email="late@example.org")
    claim = maintainership_request(user=asker, project=release.project, distro=ubuntu)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        maintainership_approve(claim=claim, actor=staff)
    # The decision mail, the delivery of the open release, the public page.
    assert [m.to for m in mail.outbox] == [[asker.email]]
    assert sorted(tasks_queued) == [
        ("page_regenerate_task", (release.project_id,)),
        ("release_deliver_prerelease_task", (release.pk,)),
    ]
    tasks_queued.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.release_deliver_prerelease(release=release)
    assert PrereleaseInvitation.objects.filter(user=asker, release=release).count() == 1


def test_the_sweeper_queues_a_delivery_that_was_lost(
    release, maintainer, settings, django_capture_on_commit_callbacks, tasks_queued
):
    from django.utils import timezone

    from releases.recovery import sweeper as recovery

    release.prerelease_date = timezone.now() - timedelta(hours=1)
    release.save()
    with django_capture_on_commit_callbacks(execute=True):
        assert recovery.deliveries_requeue_missing() == [release.pk]
        assert recovery.deliveries_requeue_missing() == []  # not again so soon
    assert tasks_queued == [("release_deliver_prerelease_task", (release.pk,))]
    PrereleaseInvitation.objects.create(
        release=release, user=maintainer, artifact=release.prerelease
    )
    later = timezone.now() + timedelta(hours=2)
    assert recovery.deliveries_requeue_missing(now=later) == []  # everyone has it


def test_someone_elses_expired_link_reveals_nothing(
    client, release, maintainer, other_maintainer, settings
):
    from unittest import mock

    from django.utils import timezone

    link = path_of(services.prerelease_link(release=release, user=maintainer))
    client.force_login(other_maintainer)
    later = timezone.now() + timedelta(days=settings.PRERELEASE_LINK_DAYS + 1)
    with mock.patch("django.core.signing.time.time", return_value=later.timestamp()):
        response = client.get(link)
    assert response.status_code == 404


def test_asking_twice_for_the_same_distro_is_a_conflict_not_a_crash(release, ubuntu):
    from portal.errors import Conflict

    user = UserFactory(username="twice")
    maintainership_request(user=user, project=release.project, distro=ubuntu)
    with pytest.raises(Conflict):
        maintainership_request(user=user, project=release.project, distro=ubuntu)

"""The staff dashboard: readiness matrix, decisions, reminders, freeze, respin."""

import io
from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse

from accounts.models import ApiToken
from releases.coordination import lifecycle
from releases.coordination import services as coordination
from releases.models import (
    AuditEvent,
    PackageLink,
    PrereleaseDownload,
    PrereleaseInvitation,
    Release,
    Reminder,
    Submission,
)
from releases.prereleases import services
from tests.factories import (
    ArtifactFactory,
    DistroFactory,
    MaintainershipFactory,
    SubmissionFactory,
    UserFactory,
)
from tests.helpers import bundle_bytes, multipart, prerelease_bytes

pytestmark = pytest.mark.django_db


def matrix_row(release, slug):
    from releases.coordination.presenters import readiness

    row = next(r for r in readiness(release)["rows"] if r["distro"].slug == slug)
    return {cell["column"]: cell["status"] for cell in row["cells"]} | {"late": row["late"]}


def test_matrix_cells_follow_each_stage(release, ubuntu, maintainer):
    assert matrix_row(release, "ubuntu") | {} == {
        "invited": "todo",
        "downloaded": "todo",
        "submitted": "todo",
        "verifying": "todo",
        "failed": "na",
        "passed": "todo",
        "accepted": "todo",
        "link": "todo",
        "late": False,
    }
    PrereleaseInvitation.objects.create(
        release=release, user=maintainer, artifact=release.prerelease
    )
    PrereleaseDownload.objects.create(release=release, user=maintainer, artifact=release.prerelease)
    submission = SubmissionFactory(
        release=release, distro=ubuntu, submitter=maintainer, state="verifying", progress=40
    )
    row = matrix_row(release, "ubuntu")
    assert (row["invited"], row["downloaded"], row["submitted"], row["verifying"]) == (
        "done",
        "done",
        "done",
        "active",
    )
    Submission.objects.filter(pk=submission.pk).update(state="failed")
    assert matrix_row(release, "ubuntu")["failed"] == "bad"
    Submission.objects.filter(pk=submission.pk).update(state="accepted")
    PackageLink.objects.create(
        release=release, distro=ubuntu, url="https://e.org/x.deb", health="broken"
    )
    row = matrix_row(release, "ubuntu")
    assert (row["passed"], row["accepted"], row["link"]) == ("done", "done", "bad")


def test_a_distro_without_a_passing_submission_near_the_deadline_is_late(
    release, ubuntu, maintainer
):
    from datetime import timedelta

    from django.utils import timezone

    release.submission_deadline = timezone.now() + timedelta(days=1)
    release.save()
    assert matrix_row(release, "ubuntu")["late"] is True
    SubmissionFactory(release=release, distro=ubuntu, submitter=maintainer, state="passed")
    assert matrix_row(release, "ubuntu")["late"] is False


def test_dashboard_query_count_does_not_grow_with_distros(
    client, release, staff, django_assert_max_num_queries
):
    for n in range(40):
        distro = DistroFactory(slug=f"distro{n}")
        user = UserFactory(username=f"m{n}")
        MaintainershipFactory(user=user, project=release.project, distro=distro)
        SubmissionFactory(release=release, distro=distro, submitter=user, state="passed")
    client.force_login(staff)
    # 18: the readiness matrix, the page's frame, the re-verification box's one,
    # the progress picture's three (opening, events, downloads), the person's role on
    # the project (the check, the buttons, the navigation) and whether the project
    # has a key of its own, whatever the distros.
    with django_assert_max_num_queries(18):
        page = client.get(reverse("staff-release", args=[release.pk]))
    assert page.status_code == 200
    assert page.content.decode().count("Accept</button>") == 40


def test_dashboard_is_for_the_team_only(client, release, maintainer):
    url = reverse("staff-release", args=[release.pk])
    assert client.get(url).status_code == 302  # to the log-in page
    client.force_login(maintainer)
    assert client.get(url).status_code == 404
    assert client.post(reverse("staff-release-freeze", args=[release.pk])).status_code == 404
    release.refresh_from_db()
    assert release.state == "prerelease"


def test_accept_a_passing_submission_mails_and_stages_its_package(
    client, release, ubuntu, maintainer, staff, django_capture_on_commit_callbacks
):
    package = ArtifactFactory(kind="staged_package", original_name="convirt_2.0_all.deb")
    submission = SubmissionFactory(
        release=release, distro=ubuntu, submitter=maintainer, state="passed", package=package
    )
    client.force_login(staff)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        client.post(
            reverse("staff-submission-accept", args=[submission.pk]),
            {"comment": "Thanks, lovely work"},
        )
    submission.refresh_from_db()
    assert submission.state == "accepted" and submission.decision_comment == "Thanks, lovely work"
    assert "Thanks, lovely work" in mail.outbox[-1].body
    assert maintainer.email in mail.outbox[-1].to
    assert PackageLink.objects.get(staged=package).distro == ubuntu
    assert AuditEvent.objects.filter(verb="submission.accepted").exists()
    assert len(callbacks) >= 2  # the mail and the public page's regeneration


def test_only_a_passing_submission_can_be_accepted(client, release, ubuntu, maintainer, staff):
    submission = SubmissionFactory(
        release=release, distro=ubuntu, submitter=maintainer, state="failed"
    )
    client.force_login(staff)
    response = client.post(reverse("staff-submission-accept", args=[submission.pk]), follow=True)
    assert "only a passed submission can be accepted" in response.content.decode()
    submission.refresh_from_db()
    assert submission.state == "failed"


def test_reject_needs_a_reason(release, ubuntu, maintainer, staff):
    from portal.errors import PortalError

    submission = SubmissionFactory(
        release=release, distro=ubuntu, submitter=maintainer, state="passed"
    )
    with pytest.raises(PortalError, match="Say why"):
        coordination.submission_reject(submission=submission, actor=staff, comment=" ")
    coordination.submission_reject(submission=submission, actor=staff, comment="wrong paths")
    submission.refresh_from_db()
    assert submission.state == "rejected"


def test_remind_mails_lagging_distros_at_most_once_a_day(
    client,
    release,
    ubuntu,
    fedora,
    maintainer,
    other_maintainer,
    staff,
    django_capture_on_commit_callbacks,
):
    SubmissionFactory(release=release, distro=fedora, submitter=other_maintainer, state="passed")
    client.force_login(staff)
    url = reverse("staff-release-remind", args=[release.pk])
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url)
        client.post(url)
    assert [m.to for m in mail.outbox] == [[maintainer.email]]
    assert Reminder.objects.filter(distro=ubuntu).count() == 1


def test_freeze_then_reopen_one_distro(
    release, ubuntu, fedora, maintainer, other_maintainer, staff, client
):
    lifecycle.release_freeze(release=release, actor=staff)

    def upload(user, distro):
        client.force_login(user)
        body, content_type = multipart({}, {"bundle": ("b.tar.gz", bundle_bytes())})
        return client.generic(
            "POST",
            reverse("release-distro", args=["convirt", "2.0", distro]),
            body,
            content_type=content_type,
            HTTP_ACCEPT="application/json",
        )

    assert upload(maintainer, "ubuntu").status_code == 409
    lifecycle.release_reopen_distro(release=release, distro=ubuntu, actor=staff)
    assert upload(maintainer, "ubuntu").status_code == 201
    assert upload(other_maintainer, "fedora").status_code == 409


def test_respin_makes_submissions_stale_and_mails_what_changed(
    release, ubuntu, maintainer, staff, django_capture_on_commit_callbacks
):
    services.release_index(release=release)
    old = SubmissionFactory(release=release, distro=ubuntu, submitter=maintainer, state="passed")

    class Tarball(io.BytesIO):
        name = "convirt-2.0-rc2.tar.gz"

    from demo import builders as demo

    members = [
        (name, b"ConVirt 2.0 rc2\n" if name.endswith("/README") else data, mode)
        for name, data, mode in demo.prerelease_members("2.0")
    ]
    members.append(("convirt-2.0/CHANGES", b"rc2: fixes\n", 0o644))
    buffer = Tarball()
    demo.build_distro_bundle(buffer, members)
    new_tarball = Tarball(buffer.getvalue())
    with django_capture_on_commit_callbacks(execute=False) as queued:
        lifecycle.release_respin(release=release, actor=staff, tarball=new_tarball)
    assert queued  # the delivery task
    old.refresh_from_db()
    assert old.state == "stale"
    release.refresh_from_db()
    assert release.replaced_manifest and release.manifest != release.replaced_manifest
    with django_capture_on_commit_callbacks(execute=True):
        services.release_deliver_prerelease(release=release)
    message = mail.outbox[-1]
    assert message.to == [maintainer.email]
    assert "modified  README" in message.body and "added     CHANGES" in message.body


def test_staff_create_a_release_with_its_tarball(
    client, release, staff, django_capture_on_commit_callbacks
):
    client.force_login(staff)
    body, content_type = multipart(
        {"version": "2.1", "submission_deadline": "2030-01-01T12:00", "open_now": "on"},
        {"tarball": ("convirt-2.1.tar.gz", prerelease_bytes("2.1"))},
    )
    # The CSRF token is not needed by the test client; the upload streams like a maintainer's.
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = client.generic(
            "POST", reverse("staff-release-new", args=["convirt"]), body, content_type=content_type
        )
    created = Release.objects.get(version="2.1")
    assert response.status_code == 302 and created.state == "prerelease"
    assert created.prerelease.original_name == "convirt-2.1.tar.gz"
    assert queued


def test_publish_and_withdraw_from_the_dashboard(
    client, release, staff, django_capture_on_commit_callbacks
):
    client.force_login(staff)
    url = reverse("staff-release-publish", args=[release.pk])
    # One click does no damage: without the confirmation, a summary and nothing done.
    for unconfirmed in (client.get(url), client.post(url)):
        assert unconfirmed.status_code == 200
        assert "0 of 0 distros accepted" in unconfirmed.content.decode()
    release.refresh_from_db()
    assert release.state == "prerelease"
    with django_capture_on_commit_callbacks(execute=False) as queued:
        client.post(url, {"confirmed": "yes"})
    release.refresh_from_db()
    assert release.state == "publishing" and queued
    Release.objects.filter(pk=release.pk).update(state="released")
    response = client.post(
        reverse("staff-release-withdraw", args=[release.pk]), {"reason": "", "confirmed": "yes"}
    )
    release.refresh_from_db()
    assert release.state == "released" and response.status_code == 400
    client.post(
        reverse("staff-release-withdraw", args=[release.pk]),
        {"reason": "The installer deletes /etc", "confirmed": "yes"},
    )
    release.refresh_from_db()
    assert release.state == "withdrawn" and release.withdrawn_reason == "The installer deletes /etc"


def test_a_broken_prerelease_tarball_is_refused_when_given(client, release, staff):
    client.force_login(staff)
    body, content_type = multipart(
        {"version": "2.2"}, {"tarball": ("convirt-2.2.tar.gz", prerelease_bytes()[:500])}
    )
    response = client.generic(
        "POST", reverse("staff-release-new", args=["convirt"]), body, content_type=content_type
    )
    assert response.status_code == 400
    assert "pre-release tarball cannot be used" in response.content.decode()
    assert not Release.objects.filter(version="2.2").exists()


@pytest.mark.parametrize("state", ["publishing", "released", "withdrawn"])
def test_no_decision_once_publishing_started(release, ubuntu, maintainer, staff, state):
    from portal.errors import Conflict

    submission = SubmissionFactory(
        release=release, distro=ubuntu, submitter=maintainer, state="passed"
    )
    Release.objects.filter(pk=release.pk).update(state=state, withdrawn_reason="x")
    with pytest.raises(Conflict, match="can no longer be accepted"):
        coordination.submission_accept(submission=submission, actor=staff)
    submission.refresh_from_db()
    assert submission.state == "passed"


def test_rejecting_an_accepted_submission_stops_hosting_its_package(
    release, ubuntu, maintainer, staff
):
    package = ArtifactFactory(kind="staged_package", original_name="convirt.deb")
    submission = SubmissionFactory(
        release=release, distro=ubuntu, submitter=maintainer, state="passed", package=package
    )
    coordination.submission_accept(submission=submission, actor=staff)
    assert PackageLink.objects.filter(staged=package).exists()
    coordination.submission_reject(submission=submission, actor=staff, comment="wrong arch")
    assert not PackageLink.objects.filter(staged=package).exists()


def test_the_sweeper_freezes_a_release_at_its_deadline_once(release, staff, clock):
    from releases.recovery import sweeper as recovery

    release.submission_deadline = clock.now + timedelta(hours=1)
    release.save()
    assert recovery.sweep()["frozen_at_deadline"] == []
    clock.advance(hours=2)
    assert recovery.sweep()["frozen_at_deadline"] == [release.pk]
    release.refresh_from_db()
    assert release.state == "frozen"
    # Staff reopen it past the deadline: their decision stands.
    lifecycle.release_unfreeze(release=release, actor=staff)
    clock.advance(hours=1)
    assert recovery.sweep()["frozen_at_deadline"] == []
    release.refresh_from_db()
    assert release.state == "prerelease"


def test_a_respin_of_a_frozen_release_says_what_happens_then_reopens_it(
    client, release, ubuntu, maintainer, staff, django_capture_on_commit_callbacks
):
    from releases.models import PrereleaseDownload

    services.release_index(release=release)
    PrereleaseDownload.objects.create(release=release, user=maintainer, artifact=release.prerelease)
    SubmissionFactory(release=release, distro=ubuntu, submitter=maintainer, state="accepted")
    lifecycle.release_freeze(release=release, actor=staff)
    client.force_login(staff)
    url = reverse("staff-release-respin", args=[release.pk])
    page = client.get(url).content.decode()
    assert "Submissions that become stale: 1 accepted, 0 passing" in page
    assert "open for uploads again" in page and "1 maintainer is" in page

    tarball = prerelease_bytes()  # the same tree: nothing under ubuntu changed
    body, content_type = multipart(
        {"confirmed": "yes", "submission_deadline": "2031-05-01T12:00"},
        {"tarball": ("convirt-2.0-rc2.tar.gz", tarball)},
    )
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = client.generic("POST", url, body, content_type=content_type)
    assert response.status_code == 302 and queued  # the delivery, and the page
    release.refresh_from_db()
    assert release.state == "prerelease"  # open again, not stranded frozen
    assert f"{release.submission_deadline:%Y-%m-%d %H:%M}" == "2031-05-01 12:00"
    assert Submission.objects.get(release=release, distro=ubuntu).state == "stale"
    with django_capture_on_commit_callbacks(execute=True):
        services.release_deliver_prerelease(release=release)  # what the queued task runs
    message = next(m for m in mail.outbox if "ready for packaging" in m.subject)
    assert "Submissions are open until 2031-05-01 12:00 UTC." in message.body
    assert "nothing under your distro changed" in message.body
    # The distro page no longer says the old tarball was downloaded.
    client.force_login(maintainer)
    distro_page = client.get(
        reverse("release-distro", args=[release.project.slug, release.version, "ubuntu"])
    ).content.decode()
    assert "You downloaded it" not in distro_page


def test_decisions_are_shown_where_the_maintainer_looks(client, release, ubuntu, maintainer, staff):
    submission = SubmissionFactory(
        release=release, distro=ubuntu, submitter=maintainer, state="passed"
    )
    client.force_login(maintainer)
    page = client.get(reverse("submission-detail", args=[submission.pk])).content.decode()
    assert "waiting for the release team&#x27;s review" in page
    coordination.submission_reject(
        submission=submission, actor=staff, comment="The <b>init script</b> is missing"
    )
    page = client.get(reverse("submission-detail", args=[submission.pk])).content.decode()
    assert "Rejected</strong> by the release team (release-boss)" in page
    assert "The &lt;b&gt;init script&lt;/b&gt; is missing" in page  # escaped
    assert "read the release team&#x27;s reason" in page
    distro_page = client.get(
        reverse("release-distro", args=[release.project.slug, release.version, "ubuntu"])
    ).content.decode()
    assert "The &lt;b&gt;init script&lt;/b&gt; is missing" in distro_page
    _, key = ApiToken.issue(user=maintainer, name="ci")
    body = client.get(
        reverse("api-submission", args=[submission.pk]), HTTP_AUTHORIZATION=f"Token {key}"
    ).json()
    assert body["decision"]["verb"] == "rejected"
    assert body["decision"]["comment"] == "The <b>init script</b> is missing"
    assert body["decision"]["by"] == "release-boss" and body["next_step"].startswith("Rejected")


def test_remind_one_distro_from_its_row_but_not_on_a_frozen_release(
    client, release, ubuntu, maintainer, staff, django_capture_on_commit_callbacks
):
    client.force_login(staff)
    page = client.get(reverse("staff-release", args=[release.pk])).content.decode()
    assert "Remind Ubuntu</button>" in page
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("staff-release-remind-distro", args=[release.pk, "ubuntu"]))
    assert [m.to for m in mail.outbox] == [[maintainer.email]]
    page = client.get(reverse("staff-release", args=[release.pk])).content.decode()
    assert "Remind Ubuntu</button>" not in page and "reminded 20" in page  # with its time
    lifecycle.release_freeze(release=release, actor=staff)
    page = client.get(reverse("staff-release", args=[release.pk])).content.decode()
    assert "Remind" not in page
    mail.outbox.clear()
    response = client.post(
        reverse("staff-release-remind-distro", args=[release.pk, "ubuntu"]), follow=True
    )
    assert "takes no uploads, so there is nothing to remind" in response.content.decode()
    assert mail.outbox == []

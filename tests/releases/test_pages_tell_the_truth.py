"""What one page says, another part does: each case a person met in a browser."""

import pytest
from django.core import mail
from django.urls import reverse

from publishing.services import public_page_regenerate
from releases.coordination import lifecycle
from releases.coordination.presenters import readiness
from releases.models import Artifact, Release
from tests.factories import ArtifactFactory, ProjectFactory, SubmissionFactory, released
from tests.helpers import multipart, prerelease_bytes

pytestmark = pytest.mark.django_db


def test_home_offers_a_download_only_once_there_is_one(client, release):
    ProjectFactory(slug="tern", name="Tern")
    page = client.get("/").content.decode()
    assert "Download Tern" not in page and "Download ConVirt" not in page
    assert "Nothing to download yet" in page
    Release.objects.filter(pk=release.pk).update(state=Release.State.RELEASED)
    public_page_regenerate(project=release.project)
    page = client.get("/").content.decode()
    assert "Download ConVirt" in page and "Download Tern" not in page
    assert client.get(reverse("publishing:page", args=["convirt"])).status_code == 200


def test_a_project_preparing_its_first_release_has_a_page_that_says_so(client, release):
    public_page_regenerate(project=release.project)
    page = b"".join(client.get("/downloads/convirt/").streaming_content).decode()
    assert "has not published a release here yet" in page
    assert "is preparing its first release" in page and "release feed" in page
    assert release.version not in page  # the version stays with the packagers
    released(release.project, "0.9")
    public_page_regenerate(project=release.project)
    page = b"".join(client.get("/downloads/convirt/").streaming_content).decode()
    assert "is preparing its next release" in page


def test_the_policy_progress_poll_without_a_release_never_500s(client, release, staff):
    client.force_login(staff)
    url = reverse("staff-policy-progress", args=["convirt"])
    for query in ("", "?release=", "?release=%C2%B2", "?release=abc"):
        assert client.get(url + query).status_code == 404  # no re-verification yet


def _new_release(client, fields):
    body, content_type = multipart(
        {"version": "2.1", **fields}, {"tarball": ("convirt-2.1.tar.gz", prerelease_bytes("2.1"))}
    )
    return client.generic(
        "POST", reverse("staff-release-new", args=["convirt"]), body, content_type=content_type
    )


def test_a_deadline_after_the_release_date_is_refused_and_nothing_is_mailed(
    client, release, staff, maintainer
):
    client.force_login(staff)
    form = client.get(reverse("staff-release-new", args=["convirt"])).content.decode()
    assert 'name="open_now"' in form and 'name="open_now" checked' not in form
    response = _new_release(
        client,
        {
            "submission_deadline": "2027-01-20T12:00",
            "release_date": "2027-01-10T12:00",
            "open_now": "on",
        },
    )
    assert response.status_code == 400
    assert "must come before the release date" in response.content.decode()
    assert not Release.objects.filter(version="2.1").exists()
    assert not Artifact.objects.filter(original_name="convirt-2.1.tar.gz").exists()
    assert mail.outbox == []


def test_the_matrix_counts_what_its_rows_say(release, ubuntu, fedora, staff):
    suse = type(ubuntu).objects.create(slug="suse", name="openSUSE")
    SubmissionFactory(release=release, distro=ubuntu, state="failed")
    SubmissionFactory(release=release, distro=fedora, state="rejected")
    SubmissionFactory(release=release, distro=suse, state="passed")
    matrix = readiness(release)
    counts = dict(matrix["counts"])
    by_distro = {row["distro"].slug: row for row in matrix["rows"]}

    def cell(slug, column):
        return next(c for c in by_distro[slug]["cells"] if c["column"] == column)

    said_verified = sum(cell(s, "verifying")["label"] == "verified" for s in by_distro)
    assert counts["Verified"] == said_verified == 3
    # A rejection is the release team's decision, not a failed verification.
    assert counts["Failed"] == 1 and cell("fedora", "failed")["label"] == "—"
    assert cell("fedora", "accepted")["label"] == "rejected"


def test_reminders_start_afresh_after_a_respin(client, release, ubuntu, maintainer, staff):
    client.force_login(staff)
    client.post(reverse("staff-release-remind-distro", args=[release.pk, "ubuntu"]))
    row = readiness(release)["rows"][0]
    assert row["reminded_at"] and row["reminded_today"]
    lifecycle.release_respin(
        release=release,
        actor=staff,
        tarball=__import__("io").BytesIO(prerelease_bytes("2.0")),
    )
    release.refresh_from_db()
    row = readiness(release)["rows"][0]
    assert row["reminded_at"] is None and row["can_remind"]
    page = client.get(reverse("staff-release", args=[release.pk])).content.decode()
    assert "Remind Ubuntu</button>" in page


def test_the_reminder_says_where_the_distro_really_stands(
    release, ubuntu, maintainer, staff, django_capture_on_commit_callbacks
):
    from releases.coordination.services import release_remind

    SubmissionFactory(release=release, distro=ubuntu, state="rejected")
    with django_capture_on_commit_callbacks(execute=True):
        release_remind(release=release, actor=staff, distros=[ubuntu])
    (message,) = mail.outbox
    assert "no passing submission" not in message.body
    assert "rejected by the release team" in message.body


def test_an_old_reverification_box_leaves_the_dashboard_once_released(client, release, staff):
    from releases.models import PolicyVersion, Reverification, ReverificationItem

    version = PolicyVersion.objects.create(
        project=release.project, number=2, text="", sha256="0" * 64, note="stricter"
    )
    run = Reverification.objects.create(policy_version=version, started_by=staff)
    ReverificationItem.objects.create(
        reverification=run, submission=SubmissionFactory(release=release), verdict_before="passed"
    )
    client.force_login(staff)
    url = reverse("staff-release", args=[release.pk])
    assert "Re-verification against" in client.get(url).content.decode()
    Release.objects.filter(pk=release.pk).update(
        state=Release.State.RELEASED, source_tarball=ArtifactFactory()
    )
    assert "Re-verification against" not in client.get(url).content.decode()


def test_the_audit_log_speaks_words_and_finds_people_by_part_of_their_name(
    client, release, staff
):
    from django.db import transaction

    from releases.events import Event, event_record

    with transaction.atomic():
        event_record(
            Event.RELEASE_RESPUN, actor=staff, target=release, stale=[], compromised=False, n=[1, 2]
        )
    client.force_login(staff)
    page = client.get(reverse("staff-audit"), {"actor": staff.username[:5]}).content.decode()
    assert "release.respun" in page
    assert "[]" not in page and "False" not in page and "[1, 2]" not in page
    assert "compromised: no" in page and "n: 1, 2" in page


def test_the_dashboard_draws_each_distros_stage_day_by_day(
    client, release, ubuntu, fedora, maintainer, other_maintainer, staff, clock
):
    from datetime import timedelta

    from django.db import transaction

    from releases.events import Event, event_record

    start = clock.now
    with transaction.atomic():
        event_record(Event.RELEASE_OPENED, actor=staff, target=release)
    clock.advance(days=1)
    submission = SubmissionFactory(release=release, distro=ubuntu, submitter=maintainer)
    with transaction.atomic():
        event_record(Event.SUBMISSION_CREATED, actor=maintainer, target=submission)
    clock.advance(days=1)
    submission.state = "accepted"
    with transaction.atomic():
        event_record(Event.SUBMISSION_ACCEPTED, actor=staff, target=submission)
    Release.objects.filter(pk=release.pk).update(submission_deadline=start + timedelta(days=4))
    release.refresh_from_db()

    client.force_login(staff)
    page = client.get(reverse("staff-release", args=[release.pk])).content.decode()
    picture = page.split('<section class="card progress-picture"', 1)[1].split("</section>")[0]
    assert 'role="img"' in picture and "deadline-line" in picture
    day = [(start + timedelta(days=d)).strftime("%Y-%m-%d") for d in range(3)]
    assert f"Ubuntu, {day[0]}: nothing yet" in picture
    assert f"Ubuntu, {day[1]}: uploaded" in picture
    assert f"Ubuntu, {day[2]}: accepted" in picture
    assert f"Fedora, {day[2]}: nothing yet" in picture
    assert "<table" in picture  # the same, for whoever does not see the picture


def test_the_distro_page_says_where_it_stands_what_changed_and_what_next(
    client, release, ubuntu, maintainer, staff, clock
):
    from io import BytesIO

    url = reverse("release-distro", args=["convirt", "2.0", "ubuntu"])
    client.force_login(maintainer)

    def status():
        page = client.get(url).content.decode()
        return page.split('<section class="card distro-status"', 1)[1].split("</section>")[0]

    first = status()
    assert 'class="step step-done"' in first and "Claimed" in first
    assert 'aria-current="step"><span class="visually-hidden">now: </span>Pre-release downloaded' in first
    assert "Download the pre-release tarball below" in first
    assert "Since you last looked" not in first

    SubmissionFactory(release=release, distro=ubuntu, submitter=maintainer, state="rejected")
    clock.advance(minutes=5)
    lifecycle.release_respin(
        release=release, actor=staff, tarball=BytesIO(prerelease_bytes("2.0"))
    )
    later = status()
    assert "Since you last looked" in later
    assert "replaced the pre-release" in later and "download it again" in later
    assert status().count("Since you last looked") == 0  # said once, then it is known


def test_a_report_whose_verdict_was_judged_again_says_why(
    client, release, ubuntu, maintainer, django_capture_on_commit_callbacks
):
    from django.db import transaction

    from releases.submission_lifecycle import Action, submission_move

    submission = SubmissionFactory(
        release=release, distro=ubuntu, submitter=maintainer, state="accepted"
    )
    with django_capture_on_commit_callbacks(execute=False), transaction.atomic():
        submission_move(
            submission,
            Action.REVERIFY_FAIL,
            actor=None,
            policy_version=3,
            policy_note="paramiko 1.7.4 is now required.",
            verdict_changed=True,
        )
    client.force_login(maintainer)
    page = client.get(reverse("submission-detail", args=[submission.pk])).content.decode()
    assert "Judged again on" in page and "under version 3 of the packaging policy" in page
    assert "it was accepted, it is now failed" in page
    assert "paramiko 1.7.4 is now required." in page

"""The patch ledger in the portal: computed from stored bundles and the pre-release (real
engine, real GNU patch), answered by upstream, read by maintainers, mailed at a respin."""

from __future__ import annotations

import io
import shutil
import sys
from pathlib import Path

import pytest
from django.core import mail
from django.db import transaction
from django.urls import reverse

from portal.celery import app
from releases.artifacts import artifact_create
from releases.events import Event, event_record
from releases.ledger import services
from releases.ledger.selectors import distro_patches, ledger_data
from releases.models import Artifact, AuditEvent, PatchAnswer, Release, Submission
from tests.factories import (
    DistroFactory,
    MaintainershipFactory,
    ProjectFactory,
    ProjectMemberFactory,
    SubmissionFactory,
    UserFactory,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "packaging" / "tests"))
import patchfixtures as fx  # noqa: E402

pytestmark = pytest.mark.skipif(shutil.which("patch") is None, reason="GNU patch is not installed")


def stored(kind, data: bytes, name: str) -> Artifact:
    return artifact_create(kind=kind, content=io.BytesIO(data), original_name=name)


@pytest.fixture
def field(db):
    """A 2.0 pre-release, and Debian, Fedora and Arch each carrying the paramiko fix."""
    pre = stored(Artifact.Kind.PRERELEASE, fx.prerelease(fx.transport()), "convirt-2.0.tar.gz")
    release = Release.objects.create(
        project=ProjectFactory(slug="convirt", name="ConVirt"),
        version="2.0",
        state=Release.State.PRERELEASE,
        prerelease=pre,
    )
    people = {}
    for slug, make in [
        ("debian", fx.debian_bundle),
        ("fedora", fx.fedora_bundle),
        ("arch", fx.arch_bundle),
    ]:
        distro = DistroFactory(slug=slug, name=slug.capitalize())
        user = UserFactory(username=f"{slug}-dev", email=f"{slug}@example.org")
        MaintainershipFactory(user=user, project=release.project, distro=distro)
        SubmissionFactory(
            release=release,
            distro=distro,
            submitter=user,
            state=Submission.State.PASSED,
            artifact=stored(Artifact.Kind.SUBMISSION, make(), f"{slug}.tar.gz"),
        )
        people[slug] = (distro, user)
    return release, people


def test_one_entry_three_carriers_from_stored_bundles(field):
    release, _ = field
    services.patch_ledger_compute(release_id=release.pk)
    data = ledger_data(release)
    (entry,) = data["entries"]
    assert sorted(c["distro"] for c in entry["carriers"]) == ["arch", "debian", "fedora"]
    assert entry["status"]["state"] == "applies"
    assert data["against"] == "convirt-2.0.tar.gz"


def test_a_respin_that_holds_the_fix_mails_each_carrier_to_drop_it(
    field, django_capture_on_commit_callbacks
):
    release, people = field
    services.patch_ledger_compute(release_id=release.pk)
    release.prerelease = stored(
        Artifact.Kind.PRERELEASE, fx.prerelease(fx.transport(fixed=True)), "convirt-2.0-rc2.tar.gz"
    )
    release.save()
    with django_capture_on_commit_callbacks(execute=True):
        services.patch_ledger_compute(release_id=release.pk)
    event = AuditEvent.objects.get(verb=Event.PATCHES_CHANGED)
    assert {(c["distro"], c["after"]) for c in event.detail["changes"]} == {
        ("debian", "already-upstream"),
        ("fedora", "already-upstream"),
        ("arch", "already-upstream"),
    }
    assert sorted(m.to[0] for m in mail.outbox) == [
        "arch@example.org",
        "debian@example.org",
        "fedora@example.org",
    ]
    debian_mail = next(m for m in mail.outbox if m.to == ["debian@example.org"])
    assert "fix-paramiko-spin.patch: applies -> already upstream (drop it)" in debian_mail.body

    # Computing again with nothing new changes nothing, and says nothing.
    with django_capture_on_commit_callbacks(execute=True):
        services.patch_ledger_compute(release_id=release.pk)
    assert AuditEvent.objects.filter(verb=Event.PATCHES_CHANGED).count() == 1


def test_upstream_page_answer_and_mbox(field, client, django_capture_on_commit_callbacks):
    release, _ = field
    services.patch_ledger_compute(release_id=release.pk)
    staff = ProjectMemberFactory(user=UserFactory(username="boss"), project=release.project).user
    client.force_login(staff)
    page = client.get(reverse("staff-release-patches", args=[release.pk])).content.decode()
    assert "Stop the transport loop spinning on a closed socket" in page
    entry = ledger_data(release)["entries"][0]

    answer_url = reverse("staff-release-patch-answer", args=[release.pk, entry["fingerprint"]])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(answer_url, {"decision": "planned", "comment": "<b>in 2.1</b>"})
    assert response.status_code == 302
    assert PatchAnswer.objects.get(release=release).decision == "planned"
    assert AuditEvent.objects.filter(verb=Event.PATCHES_DECIDED).count() == 1
    page = client.get(reverse("staff-release-patches", args=[release.pk])).content.decode()
    assert "&lt;b&gt;in 2.1&lt;/b&gt;" in page and "<b>in 2.1</b>" not in page

    bogus = reverse("staff-release-patch-answer", args=[release.pk, "0" * 64])
    assert client.post(bogus, {"decision": "planned"}).status_code == 404

    mbox = client.get(
        reverse("staff-release-patches-mbox", args=[release.pk]), {"entry": entry["id"]}
    )
    assert mbox["Content-Type"].startswith("application/mbox")
    body = mbox.content.decode()
    assert body.startswith("From ") and "From: Jane Packager <jane@debian.example>" in body
    assert "Carried-by: fedora (" in body

    data = client.get(reverse("staff-release-patches-json", args=[release.pk])).json()
    assert data["entries"][0]["answer"]["label"] == "planned upstream"


def test_a_maintainer_reads_their_patches_and_only_theirs(field, client):
    release, people = field
    release.prerelease = stored(
        Artifact.Kind.PRERELEASE, fx.prerelease(fx.transport(fixed=True)), "convirt-2.1-pre.tar.gz"
    )
    release.save()
    services.patch_ledger_compute(release_id=release.pk)
    distro, user = people["debian"]
    (row,) = distro_patches(release, distro)
    assert (row["state"], row["drop_it"], row["carriers"]) == ("already-upstream", True, 3)
    client.force_login(user)
    url = reverse("release-distro-patches", args=["convirt", "2.0", "debian"])
    page = client.get(url).content.decode()
    assert "already upstream</strong>: drop it" in page
    assert "debian/patches/fix-paramiko-spin.patch" in page
    fingerprint = ledger_data(release)["entries"][0]["fingerprint"]
    PatchAnswer.objects.create(
        release=release,
        fingerprint=fingerprint,
        decision="wont_take",
        comment="<i>fixed otherwise</i>",
    )
    page = client.get(url).content.decode()
    assert "won&#x27;t take: &lt;i&gt;fixed otherwise&lt;/i&gt;" in page
    # The maintainer's report of their upload has the same section.
    submission = Submission.objects.filter(release=release, distro=distro).latest("pk")
    report = client.get(reverse("submission-detail", args=[submission.pk])).content.decode()
    assert "Your patches against 2.0" in report and "already upstream</strong>: drop it" in report
    stranger = UserFactory(username="stranger")
    client.force_login(stranger)
    assert client.get(url).status_code == 404
    client.force_login(people["fedora"][1])
    assert client.get(url).status_code == 404


@pytest.fixture
def eager():
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


@pytest.mark.django_db(transaction=True)
def test_a_verified_upload_recomputes_the_ledger(field, eager):
    release, people = field
    submission = Submission.objects.filter(release=release, distro=people["debian"][0]).get()
    with transaction.atomic():
        event_record(Event.SUBMISSION_VERIFIED, actor=None, target=submission, verdict="pass")
    assert len(ledger_data(release)["entries"][0]["carriers"]) == 3


def test_the_demo_ledger(db, capsys):
    """seed_demo --with-patches: one fix in three formats, one already in 2.0, one conflicting."""
    from django.core.management import call_command

    call_command("seed_demo", "--with-patches")
    call_command("seed_demo", "--with-patches")  # safe to run twice
    release = Release.objects.get(project__slug="convirt", version="2.0")
    assert Submission.objects.filter(release=release).count() == 3
    entries = {
        tuple(sorted(c["distro"] for c in e["carriers"])): e["status"]["state"]
        for e in ledger_data(release)["entries"]
    }
    assert entries == {
        ("fedora", "suse", "ubuntu"): "applies",
        ("fedora",): "already-upstream",
        ("suse",): "conflicts",
    }
    assert "Patch ledger of ConVirt 2.0: 3 fixes." in capsys.readouterr().out


def test_the_staff_api_serves_the_ledger(field, client):
    from accounts.models import ApiToken

    release, people = field
    url = reverse("api-release-patches", args=["convirt", "2.0"])
    staff = ProjectMemberFactory(
        user=UserFactory(username="api-boss"), project=release.project, role="reviewer"
    ).user
    headers = {"HTTP_AUTHORIZATION": "Token " + ApiToken.issue(user=staff, name="ci")[1]}
    before = client.get(url, **headers).json()
    assert (before["release"], before["computed_at"], before["entries"]) == (
        "convirt 2.0",
        None,
        [],
    )
    services.patch_ledger_compute(release_id=release.pk)
    data = client.get(url, **headers).json()
    (entry,) = data["entries"]
    assert entry["status"]["state"] == "applies" and len(entry["carriers"]) == 3
    assert entry["author"] == "Jane Packager <jane@debian.example>"
    maintainer = people["debian"][1]
    headers = {"HTTP_AUTHORIZATION": "Token " + ApiToken.issue(user=maintainer, name="ci")[1]}
    assert client.get(url, **headers).status_code == 404

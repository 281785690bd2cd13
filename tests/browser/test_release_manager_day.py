"""A release manager's day in Chromium, against the live portal (no worker: the
rows a worker would write are made directly): reject with a reason the
maintainer then reads, freeze after a confirmation, respin a frozen release
with a new deadline, and a maintainer who adds, changes and removes a package
link."""

from __future__ import annotations

import io

import pytest

from releases.artifacts import artifact_create
from releases.models import (
    Artifact,
    AuditEvent,
    Maintainership,
    PackageLink,
    Release,
    Submission,
)
from tests.factories import DistroFactory, ProjectFactory, ProjectMemberFactory, UserFactory
from tests.helpers import bundle_bytes, prerelease_bytes

pytestmark = [pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-enough-password-42"


def _log_in(context, username):
    page = context.new_page()
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    return page


@pytest.fixture
def day():
    project = ProjectFactory()
    ubuntu = DistroFactory(slug="ubuntu", name="Ubuntu")
    ProjectMemberFactory(
        project=project,
        user=UserFactory(username="release-manager", password=PASSWORD),
        role="release_manager",
    )
    maintainer = UserFactory(username="ubuntu-dev", password=PASSWORD)
    Maintainership.objects.create(user=maintainer, project=project, distro=ubuntu, state="approved")
    release = Release.objects.create(
        project=project,
        version="2.0",
        state=Release.State.PRERELEASE,
        prerelease=artifact_create(
            kind=Artifact.Kind.PRERELEASE, content=io.BytesIO(prerelease_bytes())
        ),
    )
    submission = Submission.objects.create(
        release=release,
        distro=ubuntu,
        submitter=maintainer,
        artifact=artifact_create(kind=Artifact.Kind.SUBMISSION, content=io.BytesIO(bundle_bytes())),
        state="passed",
        progress=100,
    )
    return {"release": release, "submission": submission}


def test_reject_freeze_and_respin_with_confirmations(new_context, day, shots, tmp_path):
    release, submission = day["release"], day["submission"]
    staff = _log_in(new_context(), "release-manager")
    staff.goto(f"/staff/releases/{release.pk}/")
    row = staff.locator("table.matrix tbody tr").filter(has_text="Ubuntu")
    row.get_by_label("reason").fill("The init script is missing from distros/ubuntu/")
    row.get_by_role("button", name="Reject").click()
    staff.locator(".messages").wait_for()

    maintainer = _log_in(new_context(), "ubuntu-dev")
    maintainer.goto(f"/submissions/{submission.pk}/")
    decision = maintainer.locator(".decision")
    assert "Rejected" in decision.inner_text()
    assert "The init script is missing from distros/ubuntu/" in decision.inner_text()
    assert "read the release team's reason" in maintainer.locator(".next-step").inner_text()
    shots(maintainer, "rejection-seen-by-the-maintainer")

    # Freeze: one click only shows what would happen.
    staff.get_by_role("link", name="Freeze…").click()
    staff.get_by_role("heading", name="What happens").wait_for()
    shots(staff, "freeze-confirmation")
    assert Release.objects.get(pk=release.pk).state == "prerelease"
    staff.get_by_role("button", name="Freeze the release").click()
    staff.locator(".messages").wait_for()
    assert Release.objects.get(pk=release.pk).state == "frozen"

    # Respin the frozen release, with a new deadline in the same form.
    tarball = tmp_path / "convirt-2.0-rc2.tar.gz"
    tarball.write_bytes(prerelease_bytes())
    staff.get_by_role("link", name="Respin: replace the pre-release…").click()
    page_text = staff.locator(".confirm").inner_text()
    assert "open for uploads again" in page_text and "1 maintainer is mailed" in page_text
    staff.get_by_label("Pre-release tarball").set_input_files(tarball)
    staff.get_by_label("New submission deadline").fill("2031-03-01T12:00")
    shots(staff, "respin-confirmation")
    staff.get_by_role("button", name="Replace the pre-release").click()
    staff.locator(".messages").wait_for()
    respun = Release.objects.get(pk=release.pk)
    assert respun.state == "prerelease" and f"{respun.submission_deadline:%Y-%m-%d}" == "2031-03-01"
    shots(staff, "after-respin")

    maintainer.goto("/projects/convirt/releases/2.0/distros/ubuntu/")
    assert maintainer.get_by_role("button", name="Upload and verify").is_visible()
    shots(maintainer, "distro-page-after-respin")


def test_a_maintainer_adds_changes_and_removes_a_package_link(new_context, day, shots):
    page = _log_in(new_context(), "ubuntu-dev")
    page.goto("/projects/convirt/releases/2.0/distros/ubuntu/#links")
    page.get_by_label("More package links").fill("https://ppa.example.org/convirt_2.0-1_all.deb")
    page.get_by_role("button", name="Add links").click()
    page.locator(".messages").wait_for()
    assert "being checked now" in page.locator(".messages").inner_text()
    link = PackageLink.objects.get()

    page.get_by_text("Change this link").click()
    page.get_by_label("Address").fill("https://ppa.example.org/convirt_2.0-2_all.deb")
    shots(page, "link-edit")
    page.get_by_role("button", name="Save and check").click()
    page.locator(".messages").wait_for()
    link.refresh_from_db()
    assert link.url.endswith("convirt_2.0-2_all.deb")
    assert AuditEvent.objects.filter(verb="package_link.updated", object_id=str(link.pk)).exists()

    page.get_by_role("button", name="Remove").click()
    page.locator(".messages").wait_for()
    assert not PackageLink.objects.exists()
    shots(page, "link-removed")

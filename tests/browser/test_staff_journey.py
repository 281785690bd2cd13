"""Staff run a release in a real browser: open it, read the readiness matrix,
accept the passing submission, publish; the public page then credits the
packager and links the packages, on a desktop and on a phone."""

from __future__ import annotations

import hashlib
import re
import uuid

import pytest

from accounts.models import Profile
from releases.models import Maintainership, Release, Submission
from releases.submissions import services
from tests.factories import DistroFactory, ProjectFactory, ProjectMemberFactory, UserFactory
from tests.helpers import Upload, bundle_bytes, prerelease_bytes
from tests.processes import wait_for

from .conftest import PHONE, no_horizontal_scroll

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

PACKAGE_URL = "https://packages.example.org/ubuntu/convirt_2.0-1_all.deb"


def test_staff_open_accept_publish_and_the_public_page_credits_the_packager(
    worker, live_server, settings, new_context, shots, tmp_path
):
    settings.SITE_URL = live_server.url
    slug = f"convirt-{uuid.uuid4().hex[:6]}"  # public files outlive the test database
    project = ProjectFactory(slug=slug, name="ConVirt")
    ubuntu = DistroFactory(slug="ubuntu", name="Ubuntu")
    uma = UserFactory(username="uma", email="uma@example.org")
    Profile.objects.update_or_create(user=uma, defaults={"display_name": "Uma Ubuntu"})
    Maintainership.objects.create(user=uma, project=project, distro=ubuntu, state="approved")
    ProjectMemberFactory(
        project=project, user=UserFactory(username="release-boss", email="boss@example.org")
    )

    staff = new_context().new_page()
    staff.goto("/accounts/login/?next=/staff/")
    staff.get_by_label("Username").fill("release-boss")
    staff.get_by_label("Password").fill("a-long-test-password")
    staff.get_by_role("button", name="Log in").click()
    staff.get_by_role("heading", name="Releases", exact=True).wait_for()

    # Open a release with its pre-release tarball.
    tarball = tmp_path / "convirt-2.0.tar.gz"
    tarball.write_bytes(prerelease_bytes("2.0"))
    staff.get_by_role("link", name="New release").click()
    staff.get_by_label("Version").fill("2.0")
    staff.get_by_label("Pre-release tarball").set_input_files(tarball)
    staff.get_by_label("Submission deadline").fill("2031-01-15T12:00")
    shots(staff, "new-release")
    staff.get_by_role("button", name="Create").click()
    staff.get_by_role("heading", name=re.compile(r"ConVirt 2\.0")).wait_for()
    # Left unticked, "Open it now" keeps the new release a draft to look over;
    # the dashboard's own button opens it.
    release = Release.objects.get(project=project, version="2.0")
    assert release.state == Release.State.DRAFT
    staff.get_by_role("button", name="Open for submissions").click()
    staff.get_by_role("heading", name=re.compile(r"ConVirt 2\.0")).wait_for()
    release.refresh_from_db()
    assert release.state == Release.State.PRERELEASE

    # The packager's work arrives (the maintainer's journey is its own test) and passes.
    submission, _ = services.submission_create(
        release=release,
        distro=ubuntu,
        submitter=uma,
        upload=Upload(bundle_bytes(), "convirt-ubuntu.tar.gz"),
        package_links=[(PACKAGE_URL, "")],
    )
    wait_for(
        lambda: Submission.objects.filter(pk=submission.pk, state="passed").exists(),
        timeout=60,
        what="the worker passed ubuntu's submission",
    )

    # The readiness matrix, then accept.
    staff.reload()
    row = staff.locator("table.matrix tbody tr").filter(has_text="Ubuntu")
    passed = row.locator("td.cell").nth(5)  # the "Passed" column
    assert "uma" in row.locator("th").inner_text()
    assert passed.get_attribute("class").split()[-1] == "cell-done", passed.inner_html()
    shots(staff, "matrix-passed")
    row.get_by_label("comment").fill("Thank you, Uma!")
    row.get_by_role("button", name="Accept").click()
    staff.locator(".messages").wait_for()
    assert Submission.objects.get(pk=submission.pk).state == "accepted"
    row = staff.locator("table.matrix tbody tr").filter(has_text="Ubuntu")
    assert row.locator("td.cell").nth(6).get_attribute("class").split()[-1] == "cell-done"
    shots(staff, "matrix-accepted")

    # Publish: the worker assembles the source tarball and regenerates the page.
    staff.get_by_role("link", name="Publish…").click()
    staff.get_by_role("heading", name="What happens").wait_for()
    assert "1 of 1 distros accepted: Ubuntu." in staff.locator(".summary").inner_text()
    shots(staff, "publish-confirmation")
    staff.get_by_role("button", name="Publish the release").click()
    staff.locator(".messages").wait_for()
    wait_for(
        lambda: Release.objects.filter(pk=release.pk, state="released").exists(),
        timeout=60,
        what="the worker published the release",
    )
    staff.reload()
    shots(staff, "released")
    staff.get_by_role("link", name="The public download page").click()
    staff.get_by_role("heading", name="ConVirt downloads").wait_for()
    shots(staff, "public-desktop")
    credit = staff.locator("#v2\\.0-ubuntu .credit")
    assert credit.inner_text() == "Packaged for Ubuntu by Uma Ubuntu"
    assert staff.get_by_role("link", name=PACKAGE_URL).get_attribute("href") == PACKAGE_URL
    release.refresh_from_db()
    with staff.expect_download() as download_info:
        staff.locator("a.download").click()
    with open(download_info.value.path(), "rb") as f:
        assert hashlib.sha256(f.read()).hexdigest() == release.source_tarball.sha256
    assert release.source_tarball.sha256 in staff.locator("dl.sums").inner_text()

    # The same page on a phone: no sideways scrolling.
    phone = new_context(viewport=PHONE, is_mobile=True, has_touch=True).new_page()
    phone.goto(f"/downloads/{slug}/")
    phone.get_by_role("heading", name="ConVirt downloads").wait_for()
    shots(phone, "public-phone")
    scroll_width, client_width = no_horizontal_scroll(phone)
    assert scroll_width <= client_width, f"scrolls sideways: {scroll_width} > {client_width}"
    assert phone.locator(".credit").first.is_visible()

"""A new packager, in a real browser, against the live portal and a real Celery worker.

Sign up, confirm by the mailed link, claim ubuntu, get approved by staff (in a
second browser), download the pre-release, upload a bundle with a mistake,
watch the upload bar and then the report page turn into findings without a
reload, upload the fix and pass.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import signal
from pathlib import Path

import pytest
from django.core import mail

from releases.artifacts import artifact_create
from releases.models import Artifact, Release, Submission
from tests.factories import DistroFactory, ProjectFactory, ProjectMemberFactory, UserFactory
from tests.helpers import broken_bundle_bytes, bundle_bytes, prerelease_bytes

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-enough-password-42"
# Records what the upload bar shows, across the page change that follows the upload.
WATCH_UPLOAD_BAR = """
document.addEventListener("DOMContentLoaded", () => {
  const bar = document.getElementById("upload-progress");
  if (!bar) { return; }
  new MutationObserver(() => {
    console.log("upload-bar hidden=" + bar.hidden + " value=" + bar.value);
  }).observe(bar, { attributes: true });
});
"""


@contextlib.contextmanager
def paused(worker):
    """Hold the worker (SIGSTOP) so the page is seen before the verdict; always resume."""
    os.killpg(worker.process.popen.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.killpg(worker.process.popen.pid, signal.SIGCONT)


def path_of(url: str) -> str:
    return "/" + url.split("/", 3)[3]


@pytest.fixture
def prerelease():
    data = prerelease_bytes("2.0")
    release = Release.objects.create(
        project=ProjectFactory(slug="convirt", name="ConVirt"),
        version="2.0",
        state=Release.State.PRERELEASE,
        prerelease=artifact_create(
            kind=Artifact.Kind.PRERELEASE,
            content=io.BytesIO(data),
            original_name="convirt-2.0.tar.gz",
        ),
    )
    DistroFactory(slug="ubuntu", name="Ubuntu")
    return release, hashlib.sha256(data).hexdigest()


def test_a_packager_signs_up_claims_uploads_fixes_and_passes(
    worker, live_server, settings, new_context, shots, prerelease, tmp_path
):
    release, prerelease_sha256 = prerelease
    settings.SITE_URL = live_server.url  # the address mailed links and the page's links use
    ProjectMemberFactory(
        project=release.project,
        user=UserFactory(username="release-boss", email="boss@example.org"),
    )

    packager = new_context().new_page()
    packager.add_init_script(WATCH_UPLOAD_BAR)
    bar_log: list[str] = []
    packager.on(
        "console", lambda m: bar_log.append(m.text) if m.text.startswith("upload-bar") else None
    )

    # Sign up, then confirm by the mailed link.
    packager.goto("/")
    packager.get_by_role("link", name="Sign up").click()
    packager.get_by_label("Username").fill("ubu")
    packager.get_by_label("Email").fill("ubu@example.org")
    packager.get_by_label("Display name").fill("Ubu Packager")
    packager.locator("#id_password1").fill(PASSWORD)
    packager.locator("#id_password2").fill(PASSWORD)
    shots(packager, "signup")
    packager.get_by_role("button", name="Sign up").click()
    packager.get_by_role("heading", name="Check your mail").wait_for()
    shots(packager, "signup-sent")
    # Logging in before confirming says so, and the mail can be had again.
    packager.get_by_role("link", name="Log in").click()
    packager.get_by_label("Username").fill("ubu")
    packager.get_by_label("Password").fill(PASSWORD)
    packager.get_by_role("button", name="Log in").click()
    packager.get_by_text("You have not confirmed your address yet.").wait_for()
    shots(packager, "login-unconfirmed")
    packager.get_by_role("button", name="Send the confirmation mail again").click()
    packager.get_by_text("We mailed a new confirmation link to ubu@example.org").wait_for()
    first, again = [m for m in mail.outbox if m.to == ["ubu@example.org"]]
    assert "new link" in again.subject
    link = re.search(r"https?://\S+", again.body).group(0)
    assert link.startswith(live_server.url)
    packager.goto(path_of(link))
    packager.get_by_text("Your account is confirmed").wait_for()

    # Claim ubuntu.
    packager.locator("#id_distro").select_option(label="Ubuntu")
    packager.get_by_role("button", name="Ask to maintain it").click()
    packager.get_by_text("staff are mailed and will decide").wait_for()
    shots(packager, "claim-requested")
    assert any(m.to == ["boss@example.org"] for m in mail.outbox)

    # Staff log in, land on their releases with the claim waiting, and approve it.
    staff = new_context().new_page()
    staff.goto("/accounts/login/")
    staff.get_by_label("Username").fill("release-boss")
    staff.get_by_label("Password").fill("a-long-test-password")
    staff.get_by_role("button", name="Log in").click()
    staff.get_by_role("heading", name="Releases", exact=True).wait_for()
    badge = staff.locator("a.claims-waiting")
    assert " ".join(badge.inner_text().split()) == "1 claim waiting"
    shots(staff, "staff-landing-with-claims-waiting")
    badge.click()
    staff.get_by_role("heading", name="Maintainer claims").wait_for()
    shots(staff, "staff-claims")
    row = staff.get_by_role("row").filter(has_text="ubu@example.org")
    row.get_by_role("button", name="Approve").click()
    staff.get_by_text("ubu for Ubuntu: approved").wait_for()
    assert any(m.to == ["ubu@example.org"] and "approved" in m.subject for m in mail.outbox), [
        m.subject for m in mail.outbox
    ]

    # The pre-release, from the release x distro page.
    packager.goto("/maintain/")
    packager.get_by_role("link", name="ConVirt 2.0").click()
    packager.get_by_role("heading", name="ConVirt 2.0 for Ubuntu").wait_for()
    with packager.expect_download() as download_info:
        packager.get_by_role("link", name="Download the pre-release tarball").click()
    downloaded = Path(download_info.value.path())
    assert hashlib.sha256(downloaded.read_bytes()).hexdigest() == prerelease_sha256
    assert download_info.value.suggested_filename == "convirt-2.0.tar.gz"

    # A bundle with a mistake: the upload bar, then the report turns live into findings.
    broken = tmp_path / "convirt-ubuntu.tar.gz"
    broken.write_bytes(broken_bundle_bytes())

    def screenshot_mid_upload(route):
        if route.request.method == "POST":
            shots(packager, "uploading", full_page=False)
        route.continue_()

    packager.route(re.compile(r"/distros/ubuntu/$"), screenshot_mid_upload)
    packager.get_by_label("Revised source package or distro bundle").set_input_files(broken)
    with paused(worker):
        packager.get_by_role("button", name="Upload and verify").click()
        packager.wait_for_url(re.compile(r"/submissions/\d+/$"))
        packager.get_by_text("Waiting for a worker").wait_for()
        packager.evaluate("window.sameDocument = true")
        shots(packager, "report-waiting")
    packager.unroute(re.compile(r"/distros/ubuntu/$"))
    assert any("hidden=false" in line for line in bar_log), bar_log
    assert bar_log[-1].endswith("value=100"), bar_log

    packager.locator("#submission-status .state-failed").wait_for(timeout=60_000)
    assert packager.evaluate("window.sameDocument === true")  # polled, not reloaded
    findings = packager.locator(".finding-error")
    assert findings.count() >= 1
    assert "config-html-browser-missing" in packager.locator(".findings").inner_text()
    assert packager.get_by_role("heading", name="Errors").is_visible()
    shots(packager, "report-failed")
    # Each finding says where the guide explains why its check exists.
    finding = packager.locator(".finding-error").filter(has_text="config-html-browser-missing").first
    finding.get_by_role("link", name="Why this check?").click()
    packager.wait_for_url(re.compile(r"/projects/convirt/guide/#why-config$"))
    why = packager.locator("#why-config")
    assert why.is_visible() and "configuration" in why.inner_text()
    shots(packager, "guide-why-config", full_page=False)
    packager.go_back()
    packager.locator("#submission-status .state-failed").wait_for()

    # The fix passes.
    good = tmp_path / "convirt-ubuntu-fixed.tar.gz"
    good.write_bytes(bundle_bytes())
    packager.get_by_role("link", name="ConVirt 2.0 for Ubuntu").click()
    packager.get_by_label("Revised source package or distro bundle").set_input_files(good)
    packager.get_by_role("button", name="Upload and verify").click()
    packager.wait_for_url(re.compile(r"/submissions/\d+/$"))
    packager.locator("#submission-status .state-passed").wait_for(timeout=60_000)
    assert packager.get_by_text("No error").is_visible()
    shots(packager, "report-passed")

    states = dict(Submission.objects.values_list("artifact__original_name", "state"))
    assert states == {
        "convirt-ubuntu.tar.gz": "superseded",
        "convirt-ubuntu-fixed.tar.gz": "passed",
    }

    packager.get_by_role("link", name="ConVirt 2.0 for Ubuntu").click()
    history = packager.locator("table.grid tbody tr")
    assert history.count() == 2
    shots(packager, "release-distro-history")

    # Another day: logging in leads straight to their distros.
    packager.get_by_role("button", name="Log out").click()
    packager.goto("/accounts/login/")
    packager.get_by_label("Username").fill("ubu")
    packager.get_by_label("Password").fill(PASSWORD)
    packager.get_by_role("button", name="Log in").click()
    packager.wait_for_url(re.compile(r"/maintain/$"))
    shots(packager, "login-lands-on-my-distros")

"""Someone from the public, in a real browser: from the home page to the download
page of the demo's signed release, downloads the tarball, reads how to verify it,
and pastes the page's one block into a shell in an empty folder: the checksum and
the signature check out, by the fingerprint the page shows. Tern, not released
yet, has a page that says so."""

from __future__ import annotations

import hashlib
import io
import subprocess

import pytest
from django.core.management import call_command

from publishing.services import public_page_regenerate
from releases.models import Project, Release

pytestmark = [pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo(settings, tmp_path, live_server):
    """The demo as `dev.py up` seeds it: ConVirt 1.9 published and signed with the demo key."""
    settings.SITE_URL = live_server.url  # the page's absolute links point at this server
    settings.DATA_DIR = tmp_path
    settings.RELEASE_KEY_FILE = ""
    settings.STORAGES = {
        **settings.STORAGES,
        "uploads": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "uploads")},
        },
        "public": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "public"), "base_url": "/downloads/"},
        },
    }
    call_command("seed_demo", "--published", stdout=io.StringIO())
    # What the worker does after the seed (no worker here): Tern's page, before its release.
    public_page_regenerate(project=Project.objects.get(slug="tern"))
    return Release.objects.get(project__slug="convirt", version="1.9")


def test_the_public_downloads_and_verifies_in_one_paste(new_context, demo, shots, tmp_path):
    page = new_context().new_page()
    page.goto("/")
    shots(page, "home")
    # Tern has nothing out yet: no download button, and its page says why.
    tern = page.locator("section").filter(has=page.get_by_role("heading", name="Tern"))
    assert tern.get_by_role("link", name="Download Tern").count() == 0
    tern.get_by_role("link", name="its download page").click()
    page.get_by_role("heading", name="Tern downloads").wait_for()
    assert "is preparing its first release" in page.locator("main").inner_text()
    shots(page, "tern-before-its-first-release")

    page.goto("/")
    page.get_by_role("link", name="Download ConVirt").click()
    page.get_by_role("heading", name="ConVirt downloads").wait_for()
    shots(page, "download-page")
    tarball = demo.source_tarball
    with page.expect_download() as download_info:
        page.locator("a.download").first.click()
    with open(download_info.value.path(), "rb") as f:
        assert hashlib.sha256(f.read()).hexdigest() == tarball.sha256
    assert tarball.sha256 in page.locator("dl.sums").first.inner_text()

    # How to verify: the fingerprint, the one paste, the gpg warning explained.
    verifying = page.locator("#verifying")
    verifying.scroll_into_view_if_needed()
    shots(page, "verifying", full_page=False)
    text = verifying.inner_text()
    assert tarball.signed_by in text
    assert "This key is not certified with a trusted signature" in text
    paste = verifying.locator("pre.paste").inner_text()
    folder = tmp_path / "a-stranger-s-folder"
    folder.mkdir()
    ran = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", paste], cwd=folder, capture_output=True, text=True,
        timeout=60,
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "convirt-1.9.tar.gz: OK" in ran.stdout
    assert tarball.signed_by in ran.stdout + ran.stderr  # sqv names the key that signed it

"""The public page under a regeneration killed midway, and two racing: always a
complete page, the old one or the new one, at the same name."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading

import pytest

from publishing.services import public_page_regenerate
from tests.factories import released
from tests.processes import REPO, wait_for
from tests.processes import test_database_url as database_url

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def public_dir(settings, tmp_path):
    """The `public` storage in a folder the test and its child processes share."""
    storages = dict(settings.STORAGES)
    options = {**storages["public"]["OPTIONS"], "location": str(tmp_path / "public")}
    storages["public"] = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": options,
    }
    settings.STORAGES = storages
    return tmp_path / "public"


def regeneration(public_dir, slug: str, *, slow: bool) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DATABASE_URL": database_url(),
        "PORTAL_DATA_DIR": str(public_dir.parent),
        "STORAGE_BACKEND": "local",
    }
    args = [sys.executable, "-m", "tests.faults.regenerate_page", slug] + (
        ["--slow"] if slow else []
    )
    return subprocess.Popen(
        args,
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def complete(page: bytes) -> bool:
    return page.startswith(b"<!doctype html>") and page.rstrip().endswith(b"</html>")


def half_written_page(folder) -> bool:
    """A temporary file holding the start of the new page (the JSON twin is written first)."""
    return any(
        p.read_bytes().startswith(b"<!doctype")
        for p in folder.iterdir()
        if p.name.startswith(".tmp-")
    )


def test_a_regeneration_killed_midway_leaves_the_old_page(project, public_dir):
    released(project, "2.0")
    public_page_regenerate(project=project)
    folder = public_dir / project.slug
    old_page, old_json = (
        (folder / "index.html").read_bytes(),
        (folder / "downloads.json").read_bytes(),
    )
    released(project, "2.1")

    child = regeneration(public_dir, project.slug, slow=True)
    try:
        wait_for(
            lambda: half_written_page(folder) or (folder / "index.html").read_bytes() != old_page,
            timeout=30,
            interval=0.02,
            what="the new page half written",
        )
    finally:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait(10)
    # The page is written last: killed while writing it, the old one stays.
    # Its JSON twin was replaced whole before, or not at all.
    assert (folder / "index.html").read_bytes() == old_page
    data = (folder / "downloads.json").read_bytes()
    assert data == old_json or json.loads(data)["releases"][0]["version"] == "2.1"

    public_page_regenerate(project=project)  # the next run replaces it whole
    page = (folder / "index.html").read_bytes()
    assert complete(page) and b"2.1" in page and page != old_page


def test_two_regenerations_racing_only_ever_show_a_complete_page(project, public_dir):
    released(project, "2.0")
    public_page_regenerate(project=project)
    folder = public_dir / project.slug
    old_page = (folder / "index.html").read_bytes()
    released(project, "2.1")

    seen: set[bytes] = set()
    stop = threading.Event()

    def read_constantly() -> None:
        while not stop.is_set():
            seen.add((folder / "index.html").read_bytes())

    reader = threading.Thread(target=read_constantly)
    reader.start()
    children = [regeneration(public_dir, project.slug, slow=True) for _ in range(2)]
    try:
        for child in children:
            output, _ = child.communicate(timeout=60)
            assert child.returncode == 0, output.decode()
    finally:
        stop.set()
        reader.join(10)
        for child in children:
            if child.poll() is None:
                os.killpg(child.pid, signal.SIGKILL)
    new_page = (folder / "index.html").read_bytes()
    assert b"2.1" in new_page and complete(new_page)
    # Each run stamps the page with its time: the old page, then each run's
    # whole page, and never anything in between.
    assert all(complete(page) for page in seen), [len(page) for page in seen]
    assert all(b"2.1" in page for page in seen - {old_page})
    assert old_page in seen and new_page in seen and len(seen) <= 3

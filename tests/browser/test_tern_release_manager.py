"""Many upstreams on one portal, in Chromium with a real worker: Tern's release
manager sees only Tern, signs its release offline and publishes it; a packager of
both projects sees both on one page and takes their deadlines into a calendar."""

from __future__ import annotations

import subprocess
import urllib.request
import uuid
from datetime import timedelta

import pytest
from django.core.files.storage import storages
from django.utils import timezone
from icalendar import Calendar

from releases import publication
from releases.models import Maintainership, Project, Release
from releases.teams.services import project_key_add_public
from tests.factories import DistroFactory, ProjectMemberFactory, ReleaseFactory, UserFactory
from tests.processes import wait_for
from tests.publishing.test_project_keys import Person, sqv_ok
from tests.publishing.test_signed_release import _frozen_release

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


def test_terns_release_manager_signs_offline_and_a_packager_sees_both(
    worker, live_server, settings, new_context, shots, tmp_path
):
    settings.SITE_URL = live_server.url
    run = uuid.uuid4().hex[:6]  # public files outlive the test database
    convirt, _ = _frozen_release(f"convirt-{run}")
    tern, _ = _frozen_release(f"tern-{run}")
    Project.objects.filter(pk=convirt.project_id).update(name="ConVirt")
    Project.objects.filter(pk=tern.project_id).update(name="Tern", signing="release_manager")
    tern.refresh_from_db()
    rm_key = Person(tmp_path / "rm-gnupg", "Tern RM <rm@tern.example>")
    manager = UserFactory(username="tern-release-manager", password=PASSWORD)
    ProjectMemberFactory(project=tern.project, user=manager, role="release_manager")
    ProjectMemberFactory(project=convirt.project, user=UserFactory(username="convirt-owner"))
    owner = ProjectMemberFactory(project=tern.project, user=UserFactory(username="tern-owner")).user
    project_key_add_public(project=tern.project, armor=rm_key.public(), actor=owner)

    both = UserFactory(username="both-packager", password=PASSWORD)
    ubuntu = DistroFactory(slug="ubuntu")
    deadline = timezone.now() + timedelta(days=5)
    for release in (convirt, tern):
        Maintainership.objects.create(
            user=both, project=release.project, distro=ubuntu, state="approved"
        )
        ReleaseFactory(project=release.project, version="3.1", submission_deadline=deadline)

    page = _log_in(new_context(), "tern-release-manager")
    page.goto("/staff/")
    listed = page.locator("main").inner_text()
    assert "Tern" in listed and "ConVirt" not in listed
    shots(page, "tern-only")
    page.get_by_role("link", name="3.0").click()
    page.get_by_role("link", name="Sign offline…").click()
    page.get_by_role("button", name="Assemble the tarball for signing").click()
    page.locator(".messages").wait_for()
    tern.refresh_from_db()
    assert tern.signing_sha256 in page.locator("main").inner_text()
    name = publication.keys_of(tern)["tarball"].rsplit("/", 1)[-1]
    with page.expect_download() as download:
        page.get_by_role("link", name=name).click()
    tarball = tmp_path / name
    download.value.save_as(tarball)
    sha256 = subprocess.run(["sha256sum", str(tarball)], capture_output=True, text=True)
    assert sha256.stdout.split()[0] == tern.signing_sha256
    signature = tmp_path / f"{name}.asc"
    signature.write_bytes(rm_key.sign(tarball))
    page.get_by_label(f"Signature ({name}.asc)").set_input_files(signature)
    shots(page, "signature-chosen")
    page.get_by_role("button", name="Upload and verify").click()
    assert "Signature verified" in page.locator(".messages").inner_text()

    page.get_by_role("link", name="Publish…").click()
    page.get_by_role("button", name="Publish the release").click()
    page.locator(".messages").wait_for()

    def released():
        tern.refresh_from_db()
        return tern.state == Release.State.RELEASED

    wait_for(released, timeout=90, what=f"the worker published {tern}")
    files = publication.keys_of(tern)
    for role in ("tarball", "signature", "keys"):
        with storages["public"].open(files[role], "rb") as stored:
            (tmp_path / f"public-{role}").write_bytes(stored.read())
    assert sqv_ok(
        tmp_path / "public-keys", tmp_path / "public-signature", tmp_path / "public-tarball"
    ) == (True, rm_key.fingerprint)

    packager = _log_in(new_context(), "both-packager")
    packager.goto("/maintain/due/")
    rows = packager.locator("table.grid tbody").inner_text()
    assert "Tern" in rows and "ConVirt" in rows
    shots(packager, "packager-home")
    address = packager.locator("code.digest").inner_text().strip()
    with urllib.request.urlopen(address, timeout=30) as answer:  # noqa: S310 - the test's server
        calendar = Calendar.from_ical(answer.read())
    summaries = sorted(str(event["summary"]) for event in calendar.walk("VEVENT"))
    assert summaries == ["ConVirt 3.1: Ubuntu deadline", "Tern 3.1: Ubuntu deadline"]

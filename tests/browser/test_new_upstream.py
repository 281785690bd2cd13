"""A new upstream joins in the browser: staff create the project and write its
policy in the form, open a release, and a maintainer's upload is judged by that
policy, by a real worker, with the version named on the report."""

from __future__ import annotations

import io
import re
import uuid

import pytest

from demo import builders as demo
from releases.models import Maintainership, Release, Submission
from tests.factories import DistroFactory, UserFactory
from tests.processes import wait_for

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

POLICY = """\
schema = 1
name = "kestrel"
description = "Kestrel packaging rules"

[layout]
root = "kestrel-*"
contribution_roots = ["pkg/{distro}/"]
distro_dir = "pkg/{distro}/"

[config]
file = "kestrel.cfg"
locations = ["pkg/{distro}/kestrel.cfg"]
"""


def tree(members) -> bytes:
    out = io.BytesIO()
    demo.build_distro_bundle(out, members)
    return out.getvalue()


def test_a_new_upstream_writes_its_policy_and_an_upload_is_judged_by_it(
    worker, live_server, settings, new_context, shots, tmp_path
):
    settings.SITE_URL = live_server.url
    slug = f"kestrel-{uuid.uuid4().hex[:6]}"  # public files outlive the test database
    UserFactory(username="release-boss", email="boss@example.org", is_staff=True)
    kit = UserFactory(username="kit", email="kit@example.org")
    ubuntu = DistroFactory(slug="ubuntu", name="Ubuntu")

    staff = new_context().new_page()
    staff.goto("/accounts/login/?next=/staff/")
    staff.get_by_label("Username").fill("release-boss")
    staff.get_by_label("Password").fill("a-long-test-password")
    staff.get_by_role("button", name="Log in").click()
    staff.get_by_role("link", name="New project").click()
    staff.get_by_label("Name:", exact=True).fill("Kestrel")
    staff.get_by_label("Short name").fill(slug)
    # A typo first: the form names the line, and nothing is created.
    staff.get_by_label("Packaging policy (TOML)").fill(POLICY.replace("[config]", "[config"))
    staff.get_by_role("button", name="Create the project").click()
    staff.get_by_text(re.compile(r"Line 10")).first.wait_for()
    shots(staff, "policy-problem")
    staff.get_by_label("Packaging policy (TOML)").fill(POLICY)
    staff.get_by_role("button", name="Create the project").click()
    staff.get_by_role("heading", name="New release of Kestrel").wait_for()

    prerelease = tmp_path / "kestrel-1.0.tar.gz"
    prerelease.write_bytes(
        tree(
            [
                ("kestrel-1.0/", None, 0o755),
                ("kestrel-1.0/README", b"Kestrel watches the sky.\n", 0o644),
                ("kestrel-1.0/pkg/", None, 0o755),
            ]
        )
    )
    staff.get_by_label("Version").fill("1.0")
    staff.get_by_label("Pre-release tarball").set_input_files(prerelease)
    staff.get_by_label("Open it now and mail the maintainers their link").check()
    staff.get_by_role("button", name="Create").click()
    staff.get_by_role("heading", name=re.compile(r"Kestrel 1\.0")).wait_for()
    release = Release.objects.get(project__slug=slug, version="1.0")
    assert release.state == Release.State.PRERELEASE
    # The claim and its approval have their own journey.
    Maintainership.objects.create(user=kit, project=release.project, distro=ubuntu, state="approved")

    packager = new_context().new_page()
    packager.goto(f"/accounts/login/?next=/projects/{slug}/releases/1.0/distros/ubuntu/")
    packager.get_by_label("Username").fill("kit")
    packager.get_by_label("Password").fill("a-long-test-password")
    packager.get_by_role("button", name="Log in").click()
    page_text = packager.locator("main").inner_text()
    assert "pkg/ubuntu/" in page_text and "convirt" not in page_text.lower()

    # ConVirt's layout is not Kestrel's: judged by Kestrel's rules, it fails.
    wrong = tmp_path / "wrong.tar.gz"
    wrong.write_bytes(
        tree(
            [
                ("distros/", None, 0o755),
                ("distros/ubuntu/", None, 0o755),
                ("distros/ubuntu/kestrel.cfg", b"[main]\nport = 8080\n", 0o644),
            ]
        )
    )
    packager.get_by_label("Revised source package or distro bundle").set_input_files(wrong)
    with packager.expect_navigation(url=re.compile(r"/submissions/\d+/")):
        packager.get_by_role("button", name="Upload and verify").click()
    first = Submission.objects.filter(release=release).latest("created_at")
    done = wait_for(
        lambda: Submission.objects.filter(pk=first.pk, state__in=["passed", "failed"]).first(),
        timeout=90,
        what="the verdict on the upload in ConVirt's layout",
    )
    assert done.state == "failed"
    assert done.policy_version.number == 1 and done.policy_version.project.slug == slug
    messages = " ".join(done.findings.values_list("message", flat=True))
    assert "kestrel.cfg" in messages, messages
    packager.reload()
    packager.get_by_text("pkg/ubuntu/").first.wait_for()
    shots(packager, "judged-by-kestrel")

    # In Kestrel's layout it passes.
    good = tmp_path / "good.tar.gz"
    good.write_bytes(
        tree(
            [
                ("pkg/", None, 0o755),
                ("pkg/ubuntu/", None, 0o755),
                ("pkg/ubuntu/kestrel.cfg", b"[main]\nport = 8080\n", 0o644),
            ]
        )
    )
    packager.goto(f"/projects/{slug}/releases/1.0/distros/ubuntu/")
    packager.get_by_label("Revised source package or distro bundle").set_input_files(good)
    with packager.expect_navigation(url=re.compile(r"/submissions/\d+/")):
        packager.get_by_role("button", name="Upload and verify").click()
    second = Submission.objects.filter(release=release).latest("created_at")
    done = wait_for(
        lambda: Submission.objects.filter(pk=second.pk, state__in=["passed", "failed"]).first(),
        timeout=90,
        what="the verdict on the upload in Kestrel's layout",
    )
    assert done.state == "passed", list(done.findings.values_list("check_id", "message"))

"""A packager's guide a packager can follow: the bundle drawn and its tar command,
the bundlecheck wheel the portal runs served and installable, the policy read from
its address, each finding linked to why its check exists, and no internals."""

from __future__ import annotations

import html
import os
import re
import subprocess
import sys
import time
import venv
from pathlib import Path

import bundlecheck
import pytest
from django.urls import reverse

from releases.models import Finding
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db


def guide(client) -> str:
    ProjectFactory()
    return client.get(reverse("project-guide", args=["convirt"])).content.decode()


def test_the_guide_draws_the_bundle_and_gives_the_commands(client):
    page = guide(client)
    policy = bundlecheck.load_policy("convirt")
    tree = html.unescape(re.search(r'<pre class="tree"[^>]*>(.*?)</pre>', page, re.S).group(1))
    assert tree == bundlecheck.guide_data(policy)["bundle"]["tree"]
    assert "tar -czf convirt-$DISTRO.tar.gz distros/$DISTRO install/client/distros/$DISTRO" in page
    wheel = f"http://testserver/tools/bundlecheck-{bundlecheck.__version__}-py3-none-any.whl"
    assert f"pipx install {wheel}" in page
    assert "--policy http://testserver/projects/convirt/policy.toml" in page
    # No internals: nothing a packager without the portal's source cannot follow.
    assert "./packaging" not in page and "portal's source" not in page
    assert "((" not in page and "))" not in page


def test_each_kind_of_check_has_its_why_on_the_guide(client):
    page = guide(client)
    for check_id in bundlecheck.CHECKS:
        section = bundlecheck.guide.why_section(check_id)
        assert f'id="why-{section}"' in page, check_id
    assert 'id="why-signatures"' in page


def test_a_report_links_each_finding_to_why(client, maintainer, release, ubuntu):
    from tests.factories import SubmissionFactory

    submission = SubmissionFactory(release=release, distro=ubuntu, submitter=maintainer, state="failed")
    for check_id in ("config-missing", "archive-unsafe-path", "paramiko-patch-missing", "upload-unsigned"):
        Finding.objects.create(submission=submission, check_id=check_id, severity="error", path="x", message=check_id)
    client.force_login(maintainer)
    page = client.get(reverse("submission-detail", args=[submission.pk])).content.decode()
    links = re.findall(r'<a class="why" href="([^"]+)"', page)
    guide_url = reverse("project-guide", args=[release.project.slug])
    assert sorted(links) == sorted(
        f"{guide_url}#{anchor}"
        for anchor in ("why-config", "why-archive", "check-paramiko-patch-missing", "why-signatures")
    )


def test_the_policy_editor_points_at_a_page_not_a_repository_path(client, staff, release):
    client.force_login(staff)
    page = client.get(reverse("staff-policy", args=[release.project.slug])).content.decode()
    assert "README" not in page and "packaging/" not in page
    assert reverse("policy-format") in page
    reference = client.get(reverse("policy-format")).content.decode()
    for key in ("contribution_roots", "distro_dir", "min_version", "[layout]"):
        assert key in reference, key


def test_only_the_wheel_the_portal_runs_is_served(client):
    assert client.get("/tools/bundlecheck-0.0.1-py3-none-any.whl").status_code == 404
    assert client.get("/tools/..%2Fsettings.py").status_code == 404


def test_the_served_wheel_installs_and_runs(client, settings, tmp_path):
    settings.TOOLS_DIR = tmp_path / "tools"
    name = f"bundlecheck-{bundlecheck.__version__}-py3-none-any.whl"
    started = time.monotonic()
    response = client.get(f"/tools/{name}")
    assert response.status_code == 200, response.content[:300]
    wheel = tmp_path / name
    wheel.write_bytes(b"".join(response.streaming_content))
    built_in = time.monotonic() - started
    # Kept: the second answer is the same file, with no build.
    started = time.monotonic()
    again = b"".join(client.get(f"/tools/{name}").streaming_content)
    assert again == wheel.read_bytes() and time.monotonic() - started < min(1.0, built_in)
    # Installed into a fresh environment, it runs. Its dependencies come from this
    # environment's site-packages (no index here), after the wheel's own files.
    home = tmp_path / "venv"
    venv.create(home, with_pip=False)
    python = home / "bin" / "python"
    site = Path(subprocess.check_output([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], text=True).strip())
    # Nothing of this checkout may be on the new environment's path (PYTHONPATH).
    clean = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", python, "install", "--quiet", "--no-deps",
         "--no-index", "--force-reinstall", wheel],
        check=True, env=clean,
    )
    ours = Path(bundlecheck.__file__).resolve().parents[1]
    (site / "zz-deps.pth").write_text(
        "\n".join(p for p in sys.path if p.endswith("site-packages") and Path(p).resolve() != ours) + "\n"
    )
    version = subprocess.run(
        [home / "bin" / "bundlecheck", "--version"], capture_output=True, text=True, env=clean
    )
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip() == f"bundlecheck {bundlecheck.__version__}"
    where = subprocess.check_output(
        [python, "-c", "import bundlecheck; print(bundlecheck.__file__)"], text=True, env=clean
    )
    assert where.startswith(str(site)), where

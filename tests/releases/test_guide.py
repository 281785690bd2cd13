"""The guide page states the same rules the checks enforce."""

import bundlecheck
import pytest
from django.urls import reverse

from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db


def test_the_guide_is_read_from_the_projects_policy(client):
    ProjectFactory()
    page = client.get(reverse("project-guide", args=["convirt"])).content.decode()
    policy = bundlecheck.load_policy("convirt")
    for prereq in policy.prereqs:
        assert prereq.name in page
        for alias in prereq.aliases:
            assert alias in page
    assert "distros/$DISTRO/" in page and "install/client/distros/$DISTRO/" in page
    assert "/usr/bin/convirt" in page and "0755" in page and "0744" in page
    assert "lvcreate" in page and "html_browser" in page


def test_every_check_a_finding_can_name_has_an_anchor(client):
    ProjectFactory()
    page = client.get(reverse("project-guide", args=["convirt"])).content.decode()
    for check_id in bundlecheck.CHECKS:
        assert f'id="check-{check_id}"' in page, check_id


def test_an_unknown_project_is_404(client):
    assert client.get(reverse("project-guide", args=["nope"])).status_code == 404


def _verify_deb(tree) -> set[tuple[str, str]]:
    import io

    from tests.helpers import _engine_builders

    deb = _engine_builders().deb_bytes(tree)
    report = bundlecheck.verify(
        io.BytesIO(deb), distro="ubuntu", policy="convirt", filename="convirt_2.0-1_all.deb"
    )
    return {(f.check, f.path) for f in report.findings}


def test_what_the_guide_calls_an_alternative_the_verifier_accepts(client):
    """The guide page and the deployment check read one rule: a package that installs
    a tree at the place the guide says is accepted instead passes, and one that
    installs it at neither place fails."""
    import re

    from tests.helpers import _engine_builders

    ProjectFactory()
    page = client.get(reverse("project-guide", args=["convirt"])).content.decode()
    pairs = re.findall(
        r"<code>([^<]+)</code> <small>\(accepted instead of <code>([^<]+)</code>\)</small>", page
    )
    assert pairs == [("/usr/share/convirt/install/", "/var/cache/convirt/install/")]
    for alternative, primary in pairs:
        tree = _engine_builders().deployed_tree()

        def under(entry, place):
            return ("." + place).rstrip("/") == entry.name.rstrip("/") or entry.name.startswith(
                "." + place
            )

        without_primary = [e for e in tree if not under(e, primary)]
        assert any(under(e, alternative) for e in without_primary)
        assert ("deploy-missing-path", primary) not in _verify_deb(without_primary)
        at_neither = [e for e in without_primary if not under(e, alternative)]
        assert ("deploy-missing-path", primary) in _verify_deb(at_neither)

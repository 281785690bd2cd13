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

"""The front page leads the public to each project's download page, with its
current release said in words."""

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from releases.models import Release
from tests.factories import ProjectFactory, ReleaseFactory

pytestmark = pytest.mark.django_db


def test_each_project_with_its_current_release_and_its_download_page(client):
    project = ProjectFactory()
    ReleaseFactory(
        project=project,
        version="1.9",
        state=Release.State.RELEASED,
        published_at=datetime(2026, 6, 1, tzinfo=UTC),
        submission_deadline=datetime(2026, 5, 1, tzinfo=UTC),
    )
    ReleaseFactory(
        project=project,
        version="2.0",
        state=Release.State.PRERELEASE,
        submission_deadline=datetime(2026, 12, 15, 12, 0, tzinfo=UTC),
    )
    ReleaseFactory(project=project, version="2.1-draft", state=Release.State.DRAFT)
    page = client.get(reverse("home")).content.decode()
    assert f'href="{reverse("publishing:page", args=[project.slug])}"' in page
    assert (
        "ConVirt 2.0</strong>: Being packaged: distro maintainers send their work "
        "until 2026-12-15 12:00 UTC." in page
    )
    assert "ConVirt 1.9: Released on 2026-06-01." in page
    assert "submissions until" not in page  # a released release says it is released
    assert "2.1-draft" not in page  # drafts are not public


def test_a_withdrawn_release_says_why(client):
    project = ProjectFactory()
    ReleaseFactory(
        project=project, version="2.0", state=Release.State.WITHDRAWN, withdrawn_reason="Broken"
    )
    assert "ConVirt 2.0</strong>: Withdrawn: Broken" in client.get(reverse("home")).content.decode()

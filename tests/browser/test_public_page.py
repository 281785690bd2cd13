"""The public download page after a release is published through the real worker,
read on a desktop and on a phone."""

from __future__ import annotations

import hashlib
import io
import uuid

import pytest

from portal.models import Profile
from releases import demo
from releases.models import Artifact, PackageLink, Release, Submission
from releases.publishing.services import release_publish
from releases.services import artifact_create
from tests.factories import DistroFactory, ProjectFactory, SubmissionFactory, UserFactory
from tests.processes import wait_for

from .conftest import PHONE, no_horizontal_scroll

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

PACKAGE_URL = "https://packages.example.org/ubuntu/convirt_2.0-1_all.deb"


def published_release(slug: str) -> Release:
    """ConVirt 2.0 with ubuntu's accepted bundle and package link, published by the worker."""
    release = Release.objects.create(
        project=ProjectFactory(slug=slug, name="ConVirt"),
        version="2.0",
        state=Release.State.FROZEN,
        prerelease=artifact_create(
            kind=Artifact.Kind.PRERELEASE, content=io.BytesIO(demo.prerelease_bytes("2.0"))
        ),
    )
    uma = UserFactory(username="uma")
    Profile.objects.update_or_create(user=uma, defaults={"display_name": "Uma Ubuntu"})
    ubuntu = DistroFactory(slug="ubuntu", name="Ubuntu")
    bundle = io.BytesIO()
    demo.build_distro_bundle(bundle, demo.ubuntu_bundle_members())
    bundle.seek(0)
    SubmissionFactory(
        release=release,
        distro=ubuntu,
        submitter=uma,
        state=Submission.State.ACCEPTED,
        artifact=artifact_create(kind=Artifact.Kind.SUBMISSION, content=bundle),
    )
    PackageLink.objects.create(release=release, distro=ubuntu, url=PACKAGE_URL)
    release_publish(release=release, actor=UserFactory(username="boss", is_staff=True))
    wait_for(
        lambda: Release.objects.filter(pk=release.pk, state=Release.State.RELEASED).exists(),
        timeout=60,
        what="the worker assembled and published the release",
    )
    release.refresh_from_db()
    return release


def test_the_public_page_credits_the_packager_and_reads_on_a_phone(
    worker, live_server, new_context, shots
):
    slug = f"convirt-{uuid.uuid4().hex[:6]}"
    release = published_release(slug)

    desktop = new_context().new_page()
    response = desktop.goto(f"/downloads/{slug}/")
    assert response.status == 200
    desktop.get_by_role("heading", name="ConVirt downloads").wait_for()
    shots(desktop, "public-desktop")
    credit = desktop.locator("#v2\\.0-ubuntu .credit")
    assert credit.inner_text() == "Packaged for Ubuntu by Uma Ubuntu"
    assert desktop.get_by_role("link", name=PACKAGE_URL).get_attribute("href") == PACKAGE_URL

    with desktop.expect_download() as download_info:
        desktop.locator("a.download").click()
    tarball = download_info.value
    assert tarball.suggested_filename == f"{slug}-2.0.tar.gz"
    with open(tarball.path(), "rb") as f:
        assert hashlib.sha256(f.read()).hexdigest() == release.source_tarball.sha256
    assert release.source_tarball.sha256 in desktop.locator("dl.sums").inner_text()

    phone = new_context(viewport=PHONE, is_mobile=True, has_touch=True).new_page()
    phone.goto(f"/downloads/{slug}/")
    phone.get_by_role("heading", name="ConVirt downloads").wait_for()
    shots(phone, "public-phone")
    scroll_width, client_width = no_horizontal_scroll(phone)
    assert scroll_width <= client_width, f"scrolls sideways: {scroll_width} > {client_width}"
    assert phone.locator(".credit").first.is_visible()

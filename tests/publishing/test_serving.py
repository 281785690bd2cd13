"""/downloads/: the stored page, its JSON, published files and the Atom feed."""

import hashlib
import json
import xml.etree.ElementTree as ET

import pytest
from django.core.files.storage import storages

from publishing.services import public_page_regenerate
from publishing.storage import atomic_write
from releases.artifacts import artifact_create
from releases.models import Artifact, PackageLink, Release
from tests.factories import DistroFactory, released

pytestmark = pytest.mark.django_db


def body(response) -> bytes:
    return b"".join(response.streaming_content)


def test_page_and_json_are_served_from_storage(client, project, ubuntu):
    released(project, "2.0")
    public_page_regenerate(project=project)

    page = client.get("/downloads/convirt/")
    assert page.status_code == 200
    assert page["Content-Type"] == "text/html; charset=utf-8"
    assert page["X-Content-Type-Options"] == "nosniff"
    assert "max-age=" in page["Cache-Control"]
    assert b"ConVirt 2.0" in body(page)

    data = client.get("/downloads/convirt/downloads.json")
    assert data["Content-Type"] == "application/json"
    assert json.loads(body(data))["releases"][0]["version"] == "2.0"


def test_a_project_without_a_page_is_404(client):
    assert client.get("/downloads/nothing/").status_code == 404


def test_tarball_and_checksums_are_downloadable(client, project):
    released(project, "2.0")
    public = storages["public"]
    atomic_write(public, "convirt/2.0/convirt-2.0.tar.gz", b"\x1f\x8bfake")
    atomic_write(public, "convirt/2.0/convirt-2.0.tar.gz.sha256", b"abc  convirt-2.0.tar.gz\n")

    tarball = client.get("/downloads/convirt/2.0/convirt-2.0.tar.gz")
    assert tarball.status_code == 200
    assert tarball["Content-Type"] == "application/gzip"
    assert "Content-Encoding" not in tarball  # a download, not something to unpack
    assert body(tarball) == b"\x1f\x8bfake"
    sums = client.get("/downloads/convirt/2.0/convirt-2.0.tar.gz.sha256")
    assert sums["Content-Type"] == "text/plain; charset=utf-8"


@pytest.mark.parametrize(
    "path",
    [
        "/downloads/convirt/../secret",
        "/downloads/convirt/2.0/../../x",
        "/downloads/convirt/%2e%2e/x",
        "/downloads/convirt/a//b",
    ],
)
def test_names_leaving_the_folder_are_404(client, path):
    assert client.get(path).status_code == 404


def test_only_get_and_head(client, project):
    public_page_regenerate(project=project)
    assert client.post("/downloads/convirt/").status_code == 405
    assert client.head("/downloads/convirt/").status_code == 200


def test_staged_package_is_served_once_released(client, project, ubuntu):
    release = released(project, "2.0", state=Release.State.FROZEN)
    package = artifact_create(
        kind=Artifact.Kind.STAGED_PACKAGE,
        content=__import__("io").BytesIO(b"!<arch>\ndebian-binary"),
        original_name="../convirt_2.0<script>_all.deb",
    )
    link = PackageLink.objects.create(release=release, distro=ubuntu, staged=package)
    url = f"/downloads/convirt/2.0/packages/{link.pk}/convirt_2.0_script__all.deb"

    assert client.get(url).status_code == 404  # not before the release is out
    Release.objects.filter(pk=release.pk).update(state=Release.State.RELEASED)
    response = client.get(url)
    assert response.status_code == 200
    assert body(response) == b"!<arch>\ndebian-binary"
    assert "attachment" in response["Content-Disposition"]
    assert client.get(url.replace("_all.deb", "_other.deb")).status_code == 404


def test_atom_feed_lists_releases_and_withdrawals(client, project):
    released(project, "1.9", days_ago=5)
    released(project, "2.0", state=Release.State.WITHDRAWN, withdrawn_reason="Broken <b>build</b>")
    DistroFactory(slug="suse", name="openSUSE")

    response = client.get("/downloads/convirt/feed.atom")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    ns = {"a": "http://www.w3.org/2005/Atom"}
    root = ET.fromstring(response.content)
    entries = root.findall("a:entry", ns)
    titles = [entry.find("a:title", ns).text for entry in entries]
    assert titles == ["ConVirt 2.0 (withdrawn)", "ConVirt 1.9"]
    summary = entries[0].find("a:summary", ns).text
    assert summary.startswith("ConVirt 2.0 was withdrawn"), summary
    assert ", because: Broken <b>build</b>. " in summary
    assert entries[1].find("a:link", ns).get("href").endswith("/downloads/convirt/#v1.9")
    sha = hashlib.sha256(b"convirt/1.9/convirt-1.9.tar.gz").hexdigest()
    assert sha.encode() in response.content


def test_feed_of_unknown_project_is_404(client):
    assert client.get("/downloads/nothing/feed.atom").status_code == 404


def test_a_tarball_not_yet_published_is_not_served(client, project):
    from django.core.files.base import ContentFile
    from django.core.files.storage import storages

    storages["public"].save("convirt/9.9/convirt-9.9.tar.gz", ContentFile(b"half built"))
    storages["public"].save("convirt/9.9/convirt-9.9.tar.gz.sha256", ContentFile(b"x"))
    assert client.get("/downloads/convirt/9.9/convirt-9.9.tar.gz").status_code == 404
    assert client.get("/downloads/convirt/9.9/convirt-9.9.tar.gz.sha256").status_code == 404

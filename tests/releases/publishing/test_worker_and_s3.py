"""Through the real parts: a Celery worker process regenerates the page; S3 holds it."""

import json
import uuid

import pytest
from django.conf import settings
from django.core.files.storage import storages
from django.db import transaction

from releases.models import Release
from releases.publishing.services import public_page_regenerate, public_page_schedule
from tests.factories import DistroFactory, ProjectFactory
from tests.processes import wait_for

from .conftest import accepted, packager, released

pytestmark = pytest.mark.services


@pytest.mark.django_db(transaction=True)
def test_worker_regenerates_the_page_after_commit(worker):
    slug = f"proj-{uuid.uuid4().hex[:8]}"
    project = ProjectFactory(slug=slug, name="Worker Project")
    release = released(project, "1.0")
    accepted(release, DistroFactory(slug="ubuntu", name="Ubuntu"), packager("wendy", "Wendy W."))
    page = settings.DATA_DIR / "public" / slug / "index.html"

    with transaction.atomic():
        public_page_schedule(project=project)
        assert not page.exists()  # nothing before commit

    wait_for(page.exists, timeout=30, what=f"worker wrote {page}")
    assert b"Packaged for Ubuntu by Wendy W." in page.read_bytes()
    data = json.loads((page.parent / "downloads.json").read_text())
    assert data["releases"][0]["version"] == "1.0"
    assert "releases.publishing.tasks.page_regenerate" in worker.log()


@pytest.mark.django_db
def test_page_on_s3_replaces_one_object(s3_storages, s3_server, client, project, ubuntu):
    released(project, "2.0")
    public_page_regenerate(project=project)
    Release.objects.filter(version="2.0").update(withdrawn_reason="")
    released(project, "2.1")
    public_page_regenerate(project=project)

    s3 = s3_server.client()
    listing = s3.list_objects_v2(Bucket=s3_storages["public"])
    assert sorted(item["Key"] for item in listing["Contents"]) == [
        "convirt/downloads.json",
        "convirt/index.html",
    ]
    head = s3.head_object(Bucket=s3_storages["public"], Key="convirt/index.html")
    assert head["ContentType"] == "text/html; charset=utf-8"
    assert head["CacheControl"].startswith("public")
    assert "ContentEncoding" not in head
    body = s3.get_object(Bucket=s3_storages["public"], Key="convirt/index.html")["Body"].read()
    assert b"ConVirt 2.1" in body

    # The portal sends the public to the object rather than streaming it.
    response = client.get("/downloads/convirt/")
    assert response.status_code == 302
    assert response["Location"] == storages["public"].url("convirt/index.html")


@pytest.mark.django_db
def test_tarball_on_s3_is_not_marked_gzip_encoded(s3_storages, s3_server):
    from releases.publishing.storage import atomic_write

    atomic_write(storages["public"], "convirt/2.0/convirt-2.0.tar.gz", b"\x1f\x8bdata")
    head = s3_server.client().head_object(
        Bucket=s3_storages["public"], Key="convirt/2.0/convirt-2.0.tar.gz"
    )
    assert head["ContentType"] == "application/gzip"
    assert "ContentEncoding" not in head

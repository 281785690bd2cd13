"""Through the real parts: a Celery worker process regenerates the page; S3 holds it."""

import json
import uuid

import pytest
from django.conf import settings
from django.core.files.storage import storages
from django.db import transaction

from publishing.services import public_page_regenerate, public_page_stale
from releases.models import Release
from tests.factories import DistroFactory, ProjectFactory, accepted, packager, released
from tests.processes import wait_for

pytestmark = pytest.mark.services


@pytest.mark.django_db(transaction=True)
def test_worker_regenerates_the_page_after_commit(worker):
    slug = f"proj-{uuid.uuid4().hex[:8]}"
    project = ProjectFactory(slug=slug, name="Worker Project")
    release = released(project, "1.0")
    accepted(release, DistroFactory(slug="ubuntu", name="Ubuntu"), packager("wendy", "Wendy W."))
    page = settings.DATA_DIR / "public" / slug / "index.html"

    with transaction.atomic():
        public_page_stale(project_id=project.pk)
        assert not page.exists()  # nothing before commit

    wait_for(page.exists, timeout=30, what=f"worker wrote {page}")
    assert b"Packaged for Ubuntu by Wendy W." in page.read_bytes()
    data = json.loads((page.parent / "downloads.json").read_text())
    assert data["releases"][0]["version"] == "1.0"
    assert "publishing.tasks.page_regenerate_task" in worker.log()


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
    from publishing.storage import atomic_write

    atomic_write(storages["public"], "convirt/2.0/convirt-2.0.tar.gz", b"\x1f\x8bdata")
    head = s3_server.client().head_object(
        Bucket=s3_storages["public"], Key="convirt/2.0/convirt-2.0.tar.gz"
    )
    assert head["ContentType"] == "application/gzip"
    assert "ContentEncoding" not in head


@pytest.mark.django_db(transaction=True)
def test_publish_through_the_worker_assembles_and_regenerates(worker):
    import hashlib
    import io

    from demo import builders as demo
    from releases.artifacts import artifact_create
    from releases.coordination.lifecycle import release_publish
    from releases.models import Artifact, Submission
    from tests.factories import SubmissionFactory, UserFactory

    slug = f"pub-{uuid.uuid4().hex[:8]}"
    project = ProjectFactory(slug=slug, name="Published Project")
    release = Release.objects.create(
        project=project,
        version="2.0",
        state=Release.State.FROZEN,
        prerelease=artifact_create(
            kind=Artifact.Kind.PRERELEASE, content=io.BytesIO(demo.prerelease_bytes("2.0"))
        ),
    )
    bundle = io.BytesIO()
    demo.build_distro_bundle(bundle, demo.ubuntu_bundle_members())
    bundle.seek(0)
    SubmissionFactory(
        release=release,
        distro=DistroFactory(slug="ubuntu", name="Ubuntu"),
        submitter=packager("uma", "Uma U."),
        state=Submission.State.ACCEPTED,
        artifact=artifact_create(kind=Artifact.Kind.SUBMISSION, content=bundle),
    )

    release_publish(release=release, actor=UserFactory(username="staff", is_staff=True))

    page = settings.DATA_DIR / "public" / slug / "index.html"
    wait_for(page.exists, timeout=60, what=f"worker published {slug} and wrote its page")
    release.refresh_from_db()
    assert release.state == Release.State.RELEASED
    tarball = settings.DATA_DIR / "public" / release.source_tarball.key
    assert hashlib.sha256(tarball.read_bytes()).hexdigest() == release.source_tarball.sha256
    html = page.read_bytes()
    assert b"Packaged for Ubuntu by Uma U." in html
    assert release.source_tarball.sha256.encode() in html
    assert "publishing.tasks.release_assemble_task" in worker.log()

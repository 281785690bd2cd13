"""Storage failing on save, the database unreachable during an upload: a plain 503,
retries first where they can help, and nothing half-written."""

from __future__ import annotations

import uuid

import pytest
from botocore.config import Config
from django.core.files.storage import FileSystemStorage, storages
from django.db import connection
from django.urls import reverse

from accounts.models import ApiToken
from releases.models import Artifact, Submission
from tests.helpers import bundle_bytes, multipart
from tests.processes import S3Server, TcpProxy, free_port

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def key(maintainer):
    return ApiToken.issue(user=maintainer, name="ubuntu CI")[1]


def api_upload(client, release, key, data: bytes | None = None):
    body, content_type = multipart({}, {"bundle": ("ubuntu.tar.gz", data or bundle_bytes())})
    return client.generic(
        "POST",
        reverse("api-submission-create", args=[release.project.slug, release.version, "ubuntu"]),
        body,
        content_type=content_type,
        HTTP_AUTHORIZATION=f"Token {key}",
    )


@pytest.fixture
def own_s3(process_log_dir, settings):
    """An S3 server of this test's own, which it may stop, behind the `uploads` storage."""
    server = S3Server(process_log_dir).start()
    bucket = f"uploads-{uuid.uuid4().hex[:10]}"
    server.client().create_bucket(Bucket=bucket)
    settings.STORAGES = {
        **settings.STORAGES,
        "uploads": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                **server.storage_options(bucket),
                "default_acl": "private",
                # As portal/settings.py configures S3 in production.
                "client_config": Config(
                    s3={"addressing_style": "path"},
                    signature_version="s3v4",
                    connect_timeout=2,
                    retries={"mode": "standard", "max_attempts": settings.S3_MAX_ATTEMPTS},
                ),
            },
        },
    }
    yield server
    server.stop()


def test_storage_down_on_save_is_retried_then_a_plain_503_and_nothing_stored(
    client, release, ubuntu, maintainer, key, own_s3, settings
):
    assert api_upload(client, release, key).status_code == 201  # the storage works
    before = (Submission.objects.count(), Artifact.objects.count())

    attempts = []
    s3 = storages["uploads"].connection.meta.client
    s3.meta.events.register(
        "before-send.s3.PutObject", lambda **kw: attempts.append(kw["request"].url)
    )
    s3.meta.events.register("before-send.s3.CreateMultipartUpload", lambda **kw: attempts.append(1))
    own_s3.stop()

    response = api_upload(client, release, key, bundle_bytes() + b"\0" * 1024)
    assert response.status_code == 503, response.content
    assert (
        "file storage" in response.json()["error"]
        and "Nothing was stored" in response.json()["error"]
    )
    assert response["Retry-After"]
    # Retried, with backoff, then given up (a kept-alive connection that died may add one).
    assert settings.S3_MAX_ATTEMPTS <= len(attempts) <= settings.S3_MAX_ATTEMPTS + 1, attempts
    assert settings.S3_MAX_ATTEMPTS >= 2
    assert (Submission.objects.count(), Artifact.objects.count()) == before
    assert not list((settings.DATA_DIR / "upload-tmp").iterdir())  # no temporary file left


class CutAfterSave(FileSystemStorage):
    """Local storage that cuts the database link right after it stored an object."""

    cut = None

    def _save(self, name, content):
        stored = super()._save(name, content)
        if CutAfterSave.cut:
            CutAfterSave.cut()
        return stored


@pytest.fixture
def database_link():
    """This process's database connection, through a relay the test can cut."""
    saved = dict(connection.settings_dict)
    proxy = TcpProxy(saved["HOST"] or "127.0.0.1", int(saved["PORT"] or 5432))

    def restore() -> None:
        proxy.cut()
        connection.close()
        connection.settings_dict.update(HOST=saved["HOST"], PORT=saved["PORT"])

    connection.close()
    connection.settings_dict.update(HOST="127.0.0.1", PORT=str(proxy.port))
    proxy.restore = restore
    try:
        yield proxy
    finally:
        restore()


def test_database_lost_in_the_middle_of_an_upload_is_a_503_with_nothing_half_written(
    client, release, ubuntu, maintainer, key, settings, tmp_path, database_link
):
    settings.STORAGES = {
        **settings.STORAGES,
        "uploads": {
            "BACKEND": "tests.faults.test_storage_and_database.CutAfterSave",
            "OPTIONS": {"location": str(tmp_path / "uploads")},
        },
    }
    CutAfterSave.cut = database_link.cut
    try:
        response = api_upload(client, release, key)
    finally:
        CutAfterSave.cut = None
    assert response.status_code == 503, response.content
    assert (
        "database" in response.json()["error"] and "Nothing was saved" in response.json()["error"]
    )
    assert response["Retry-After"]

    database_link.restore()
    assert not Submission.objects.exists()
    assert list(Artifact.objects.values_list("kind", flat=True)) == ["prerelease"]
    # The object was stored, then its row could not be written: it is gone again.
    assert not [p for p in (tmp_path / "uploads").rglob("*") if p.is_file()]


def test_database_unreachable_is_a_plain_503_page(client, settings):
    saved = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict.update(HOST="127.0.0.1", PORT=str(free_port()))
    try:
        response = client.get("/")
    finally:
        connection.close()
        connection.settings_dict.update(HOST=saved["HOST"], PORT=saved["PORT"])
    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/plain")
    assert b"cannot reach its database" in response.content
    assert response["Retry-After"] == "60"

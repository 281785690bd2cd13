"""The storage aliases round-trip files on local disk and on S3 (django-storages)."""

import hashlib
import io
import os

import pytest
from django.core.files.storage import storages

from releases.artifacts import artifact_create
from releases.models import Artifact

pytestmark = pytest.mark.django_db

PAYLOAD = os.urandom(3 * 1024 * 1024 + 17)  # spans several read chunks


def round_trip(alias: str) -> Artifact:
    artifact = artifact_create(
        kind=Artifact.Kind.SUBMISSION,
        content=io.BytesIO(PAYLOAD),
        original_name="../../etc/passwd convirt.tar.gz",
        storage=alias,
    )
    with storages[alias].open(artifact.key, "rb") as stored:
        assert stored.read() == PAYLOAD
    assert artifact.sha256 == hashlib.sha256(PAYLOAD).hexdigest()
    assert artifact.size == len(PAYLOAD)
    # The portal makes the key; the uploaded name is kept only to show.
    assert "passwd" not in artifact.key and ".." not in artifact.key
    assert artifact.original_name == "../../etc/passwd convirt.tar.gz"
    return artifact


@pytest.mark.parametrize("alias", ["uploads", "public"])
def test_local_storage_round_trip(alias, settings):
    assert settings.STORAGES[alias]["BACKEND"].endswith("FileSystemStorage")
    artifact = round_trip(alias)
    location = settings.STORAGES[alias]["OPTIONS"]["location"]
    assert os.path.exists(os.path.join(location, artifact.key))


@pytest.mark.services
@pytest.mark.parametrize("alias", ["uploads", "public"])
def test_s3_storage_round_trip(alias, s3_storages, s3_server):
    artifact = round_trip(alias)
    head = s3_server.client().head_object(Bucket=s3_storages[alias], Key=artifact.key)
    assert head["ContentLength"] == len(PAYLOAD)


@pytest.mark.services
def test_private_uploads_are_reached_through_expiring_signed_urls(s3_storages):
    artifact = artifact_create(kind=Artifact.Kind.PRERELEASE, content=io.BytesIO(b"tarball"))
    url = storages["uploads"].url(artifact.key)
    assert "X-Amz-Signature=" in url and "X-Amz-Expires=" in url


def stored_files(location):
    return {os.path.join(d, f) for d, _, files in os.walk(location) for f in files}


def test_a_failed_row_leaves_no_stored_object(settings):
    location = settings.STORAGES["uploads"]["OPTIONS"]["location"]
    before = stored_files(location)
    with pytest.raises(Exception):  # noqa: B017 - the database refuses the row
        # The database refuses an unknown kind: the row cannot be written.
        artifact_create(kind="holiday-photos", content=io.BytesIO(b"data"))
    assert stored_files(location) == before

"""Verification reads S3 objects as they arrive, and resumes a cut read by a ranged GET."""

import hashlib
import io
import os

import pytest
from botocore.exceptions import ResponseStreamingError
from django.core.files.storage import storages

from releases.artifacts import S3ObjectReader, artifact_create, artifact_open
from releases.models import Artifact

pytestmark = pytest.mark.services


class DropsOnce:
    """A body that breaks after `after` bytes the first time it is read, as a cut connection."""

    def __init__(self, body, after: int):
        self.body, self.left = body, after

    def read(self, n: int) -> bytes:
        if self.left is not None and self.left <= 0:
            self.left = None
            raise ResponseStreamingError(error="connection reset by peer")
        data = self.body.read(n if self.left is None else min(n, self.left))
        if self.left is not None:
            self.left -= len(data)
        return data

    def close(self):
        self.body.close()


@pytest.mark.django_db
def test_s3_artifact_streams_without_a_temporary_copy(s3_storages):
    data = os.urandom(3 * 1024 * 1024 + 17)
    artifact = artifact_create(
        kind=Artifact.Kind.SUBMISSION, content=io.BytesIO(data), original_name="b.tar.gz"
    )
    assert artifact.storage == "uploads"
    with artifact_open(artifact) as stored:
        assert isinstance(stored.raw, S3ObjectReader)
        first = stored.read(1000)
        read = first + stored.read()
    assert hashlib.sha256(read).digest() == hashlib.sha256(data).digest()


def test_a_cut_read_resumes_from_the_offset_reached(s3_storages):
    data = os.urandom(2 * 1024 * 1024 + 5)
    storage = storages["uploads"]
    storage.save("stream/one", io.BytesIO(data))
    client = storage.connection.meta.client
    calls = []
    real_get = client.get_object

    def get_object(**params):
        calls.append(params.get("Range"))
        answer = real_get(**params)
        if len(calls) == 1:
            answer["Body"] = DropsOnce(answer["Body"], after=700_001)
        return answer

    reader = S3ObjectReader(client, storage.bucket_name, "stream/one", backoff=0)
    reader._client = type("Client", (), {"get_object": staticmethod(get_object)})()
    got = io.BufferedReader(reader, buffer_size=256 * 1024).read()
    assert got == data
    assert calls == [None, "bytes=700001-"]
    assert reader.resumed == 1


def test_local_storage_opens_as_before(db, tmp_path):
    artifact = artifact_create(
        kind=Artifact.Kind.SUBMISSION, content=io.BytesIO(b"local bytes"), original_name="x"
    )
    with artifact_open(artifact) as stored:
        assert not isinstance(getattr(stored, "raw", None), S3ObjectReader)
        assert stored.read() == b"local bytes"

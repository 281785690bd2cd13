"""Stored files: streamed into a named storage with their sha256, and recorded.

Storage keys are made by the portal, never from an uploaded file name.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import uuid
from typing import IO

from django.core.files import File
from django.core.files.storage import storages
from django.db import transaction
from django.utils import timezone

from .models import Artifact

CHUNK = 1024 * 1024


class HashingReader(io.RawIOBase):
    """Reads through to a file while hashing it, so one pass both stores and digests.

    Storage backends may seek (to learn the size, or to rewind before a
    retry); only bytes read at the hashing frontier are hashed, so re-reads
    never count twice. If a backend skipped ahead, `complete()` says so and
    the caller hashes the stored object instead.
    """

    def __init__(self, raw: IO[bytes]):
        self._raw = raw
        self._hash = hashlib.sha256()
        self._frontier = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return self._raw.seekable()

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._raw.seek(offset, whence)

    def tell(self) -> int:
        return self._raw.tell()

    def readinto(self, buffer) -> int:
        start = self._raw.tell() if self._raw.seekable() else self._frontier
        data = self._raw.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        end = start + n
        if start <= self._frontier < end:
            self._hash.update(data[self._frontier - start :])
            self._frontier = end
        return n

    @property
    def size(self) -> int:
        return self._frontier

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()


def _digest_stored(storage, key: str) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with storage.open(key, "rb") as stored:
        while chunk := stored.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def artifact_key(kind: str) -> str:
    """A storage key the portal makes: never derived from an uploaded file name."""
    now = timezone.now()
    return f"{kind}/{now:%Y/%m}/{uuid.uuid4().hex}"


def artifact_create(
    *,
    kind: str,
    content: IO[bytes],
    original_name: str = "",
    storage: str = Artifact.Storage.UPLOADS,
    key: str | None = None,
    sha256: str | None = None,
    size: int | None = None,
) -> Artifact:
    """Stream `content` into the named storage and record it.

    The object is written before its row, so no row ever points at a missing
    object; if the row cannot be written, the object is deleted again.
    """
    backend = storages[storage]
    key = key or artifact_key(kind)
    if sha256 is None:
        reader = HashingReader(content)
        stored_key = backend.save(key, File(io.BufferedReader(reader, CHUNK), name=key))
        sha256, size = reader.sha256, reader.size
        if backend.size(stored_key) != size:
            sha256, size = _digest_stored(backend, stored_key)
    else:
        # An upload already streamed to a temporary file is moved, not copied,
        # when the storage is on the same file system.
        payload = content if hasattr(content, "temporary_file_path") else File(content, name=key)
        stored_key = backend.save(key, payload)
        if size is None:
            size = backend.size(stored_key)
    try:
        with transaction.atomic():
            return Artifact.objects.create(
                kind=kind,
                storage=storage,
                key=stored_key,
                size=size,
                sha256=sha256,
                original_name=original_name[:255],
            )
    except Exception:
        # No stored object without its row.
        backend.delete(stored_key)
        raise


def artifact_discard(artifacts: list[Artifact]) -> None:
    for artifact in artifacts:
        storages[artifact.storage].delete(artifact.key)
        artifact.delete()


def artifact_remove_bytes(artifact: Artifact) -> bool:
    """Delete a stored file's bytes and say so on its row; the record stays."""
    if artifact.removed_at is not None:
        return False
    storages[artifact.storage].delete(artifact.key)
    Artifact.objects.filter(pk=artifact.pk).update(removed_at=timezone.now())
    artifact.removed_at = timezone.now()
    return True


# Errors of a body being read that another ranged GET mends: a connection cut
# or reset, a read timeout, a body shorter than announced.
def _stream_errors() -> tuple[type[BaseException], ...]:
    from botocore.exceptions import BotoCoreError
    from urllib3.exceptions import HTTPError

    return (BotoCoreError, HTTPError, ConnectionError, TimeoutError)


class S3ObjectReader(io.RawIOBase):
    """An S3 object read as it arrives, from one GET's body, as a sequential raw
    stream; a read that fails resumes with a ranged GET (`Range: bytes=N-`)
    from the offset reached, pinned to the same object by its ETag.

    django-storages' own file downloads the whole object to a temporary file
    before the first byte is returned; this starts the scan at once.
    """

    def __init__(self, client, bucket: str, key: str, *, attempts: int = 5, backoff=0.2):
        self._client, self._bucket, self._key = client, bucket, key
        self._attempts, self._backoff = attempts, backoff
        self._pos, self._etag, self._body = 0, None, None
        self.resumed = 0  # ranged GETs made after a failed read

    def readable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def _open(self) -> None:
        params = {"Bucket": self._bucket, "Key": self._key}
        if self._pos:
            params["Range"] = f"bytes={self._pos}-"
            if self._etag:
                params["IfMatch"] = self._etag
            self.resumed += 1
        answer = self._client.get_object(**params)
        self._etag = self._etag or answer.get("ETag")
        self._body = answer["Body"]

    def _drop(self) -> None:
        body, self._body = self._body, None
        if body is not None:
            with contextlib.suppress(Exception):
                body.close()

    def readinto(self, buffer) -> int:
        import random
        import time

        errors = _stream_errors()
        for attempt in range(self._attempts):
            try:
                if self._body is None:
                    self._open()
                data = self._body.read(len(buffer))
            except errors:
                self._drop()
                if attempt + 1 == self._attempts:
                    raise
                time.sleep(self._backoff * 2**attempt * (0.5 + random.random()))  # noqa: S311
                continue
            n = len(data)
            buffer[:n] = data
            self._pos += n
            return n
        return 0  # pragma: no cover - the loop returns or raises

    def close(self) -> None:
        self._drop()
        super().close()


def artifact_open(artifact: Artifact, *, buffer_size: int = 8 * CHUNK) -> IO[bytes]:
    """The stored bytes of `artifact`, for one sequential read: S3 streams (and
    resumes) through S3ObjectReader in large reads; any other storage opens as
    it always did."""
    storage = storages[artifact.storage]
    if hasattr(storage, "bucket_name") and hasattr(storage, "_normalize_name"):
        from django.conf import settings
        from storages.utils import clean_name

        raw = S3ObjectReader(
            storage.connection.meta.client,
            storage.bucket_name,
            storage._normalize_name(clean_name(artifact.key)),
            attempts=max(2, getattr(settings, "S3_MAX_ATTEMPTS", 3) + 2),
        )
        return io.BufferedReader(raw, buffer_size=buffer_size)
    return storage.open(artifact.key, "rb")

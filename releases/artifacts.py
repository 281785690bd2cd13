"""Stored files: streamed into a named storage with their sha256, and recorded.

Storage keys are made by the portal, never from an uploaded file name.
"""

from __future__ import annotations

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

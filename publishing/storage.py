"""Writing public files so that a reader sees the old bytes or the new, never half.

Local storage: the new bytes go to a temporary file in the same directory,
then `os.replace` swaps it in (atomic on one filesystem). S3: one PUT (or one
completed multipart upload) replaces an object atomically. Either way the
file name never changes, so the page's address is stable.
"""

from __future__ import annotations

import contextlib
import io
import mimetypes
import os
import tempfile
from typing import IO

from django.core.files import File
from django.core.files.storage import FileSystemStorage, Storage

CHUNK = 1024 * 1024

# Short for what changes (the page, its JSON), long for what does not once
# published (a version's tarball and checksums).
PAGE_CACHE_CONTROL = "public, max-age=60"
FILE_CACHE_CONTROL = "public, max-age=3600"

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".json": "application/json",
    ".atom": "application/atom+xml; charset=utf-8",
    ".sha256": "text/plain; charset=utf-8",
    ".sha512": "text/plain; charset=utf-8",
    ".asc": "application/pgp-signature",
    # A .tar.gz is a gzip file to download as is, never a tar with a
    # Content-Encoding a browser would silently undo.
    ".gz": "application/gzip",
    ".xz": "application/x-xz",
    ".bz2": "application/x-bzip2",
    ".deb": "application/vnd.debian.binary-package",
    ".rpm": "application/x-rpm",
}


# Files named without an extension, read by people and tools alike.
PLAIN_NAMES = {"KEYS", "SHA256SUMS"}


def content_type_for(name: str) -> str:
    if name.rsplit("/", 1)[-1] in PLAIN_NAMES:
        return "text/plain; charset=utf-8"
    _, ext = os.path.splitext(name)
    if ext.lower() in CONTENT_TYPES:
        return CONTENT_TYPES[ext.lower()]
    guessed, encoding = mimetypes.guess_type(name)
    if guessed and not encoding:
        return guessed
    return "application/octet-stream"


def cache_control_for(name: str) -> str:
    # KEYS changes when a key is rotated in; a version's files never change.
    changes = name.endswith((".html", ".json", "/KEYS")) and not name.endswith(".intoto.json")
    return PAGE_CACHE_CONTROL if changes else FILE_CACHE_CONTROL


def is_local(storage: Storage) -> bool:
    return isinstance(storage, FileSystemStorage)


def _is_s3(storage: Storage) -> bool:
    return hasattr(storage, "bucket") and hasattr(storage, "_normalize_name")


def atomic_write(storage: Storage, name: str, content: IO[bytes] | bytes) -> str:
    """Replace `name` in `storage` with `content` in one step; returns `name`.

    `content` is bytes or a binary file object, read in chunks from its start.
    """
    if isinstance(content, bytes | bytearray):
        content = io.BytesIO(content)
    with contextlib.suppress(AttributeError, OSError):
        content.seek(0)
    if is_local(storage):
        return _replace_local(storage, name, content)
    if _is_s3(storage):
        return _put_s3(storage, name, content)
    # Any other backend: its save must overwrite in place, or the name would
    # drift (`index_abc123.html`), which the page's address cannot afford.
    stored = storage.save(name, File(content, name=name))
    if stored != name:
        storage.delete(stored)
        raise RuntimeError(f"storage {storage!r} does not overwrite in place; refusing to rename")
    return name


def _replace_local(storage: FileSystemStorage, name: str, content: IO[bytes]) -> str:
    path = storage.path(name)  # refuses names that leave the storage's location
    directory = os.path.dirname(path)
    os.makedirs(directory, exist_ok=True)
    fd, tmp_path = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := content.read(CHUNK):
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        mode = storage.file_permissions_mode
        os.chmod(tmp_path, mode if mode is not None else 0o644)
        os.replace(tmp_path, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_path)
        raise
    return name


def _put_s3(storage, name: str, content: IO[bytes]) -> str:
    from storages.utils import clean_name

    key = storage._normalize_name(clean_name(name))
    params = storage.get_object_parameters(name)
    params["ContentType"] = content_type_for(name)
    params.setdefault("CacheControl", cache_control_for(name))
    params.pop("ContentEncoding", None)
    if getattr(storage, "default_acl", None) and "ACL" not in params:
        params["ACL"] = storage.default_acl
    storage.bucket.Object(key).upload_fileobj(
        content, ExtraArgs=params, Config=storage.transfer_config
    )
    return name


def partial_writes_remove(storage: Storage, *, older_than: float) -> list[str]:
    """Delete temporary files a killed local write left behind (never in S3: PUT is whole).

    Only `.tmp-*.part` files older than `older_than` seconds: a write still
    under way is never touched.
    """
    if not is_local(storage):
        return []
    import time

    removed, cutoff = [], time.time() - older_than
    for directory, _, files in os.walk(storage.location):
        for name in files:
            if name.startswith(".tmp-") and name.endswith(".part"):
                path = os.path.join(directory, name)
                with contextlib.suppress(FileNotFoundError):
                    if os.path.getmtime(path) < cutoff:
                        os.unlink(path)
                        removed.append(os.path.relpath(path, storage.location))
    return removed

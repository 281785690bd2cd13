"""Handing a stored file's bytes to the front server (nginx's X-Accel-Redirect).

With ``FRONT_SERVER=nginx`` a view that has authorised a download answers
with headers only; nginx sends the bytes from an ``internal`` location
(`deploy/nginx/portal.conf.template`):

- local storage: ``/_stored/<alias>/<key>``, an alias of the storage's folder;
- S3: ``/_s3/<bucket>/<key>?<signed query>``, proxied to the S3 endpoint, so
  the browser never sees the store's (internal) address and the private
  bucket is read with a short-lived signature the portal made.

Without a front server (the development server, tests) ``accel_response``
returns None and the view streams the file itself.
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from django.conf import settings
from django.core.files.storage import FileSystemStorage, Storage
from django.http import HttpResponse
from django.utils.http import content_disposition_header

LOCAL_PREFIX = "/_stored/"
S3_PREFIX = "/_s3/"


def _alias_of(storage: Storage) -> str | None:
    for alias in ("uploads", "public"):
        from django.core.files.storage import storages

        if storages[alias] is storage:
            return alias
    return None


def accel_path(storage: Storage, name: str) -> str | None:
    """The internal address nginx serves `name` of `storage` from, or None."""
    if isinstance(storage, FileSystemStorage):
        alias = _alias_of(storage)
        if alias is None:
            return None
        storage.path(name)  # refuses a name that leaves the storage's folder
        return f"{LOCAL_PREFIX}{alias}/{quote(name)}"
    if hasattr(storage, "bucket_name") and hasattr(storage, "_normalize_name"):
        from storages.utils import clean_name

        key = storage._normalize_name(clean_name(name))
        if getattr(storage, "querystring_auth", False):
            # A private bucket (no custom domain): signed against the endpoint;
            # nginx forwards the path and query as they are, with its Host.
            signed = urlsplit(storage.url(name))
            query = f"?{signed.query}" if signed.query else ""
            return f"{S3_PREFIX}{signed.path.lstrip('/')}{query}"
        return f"{S3_PREFIX}{quote(storage.bucket_name)}/{quote(key)}"
    return None


def accel_response(
    storage: Storage,
    name: str,
    *,
    content_type: str,
    filename: str | None = None,
    cache_control: str | None = None,
) -> HttpResponse | None:
    """Headers for nginx to send `name` itself, or None when there is no front server."""
    if settings.FRONT_SERVER != "nginx":
        return None
    path = accel_path(storage, name)
    if path is None:
        return None
    response = HttpResponse(content_type=content_type)
    response["X-Accel-Redirect"] = path
    if filename is not None:
        response["Content-Disposition"] = content_disposition_header(True, filename)
    if cache_control:
        response["Cache-Control"] = cache_control
    response["X-Content-Type-Options"] = "nosniff"
    return response

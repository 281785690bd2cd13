"""Receiving uploads: streamed to a temporary file with the sha256 computed on the
way, cut off at the size limit, and file names judged as the client sent them.

Django's multipart parser quietly strips path parts from file names; a
packager whose tool sent `../convirt.tar.gz` deserves to be told, so the raw
name is kept for judging (and only ever shown, never used as a storage key).
"""

from __future__ import annotations

import functools
import hashlib
import html
import re
import types

from django.conf import settings
from django.core.files.uploadhandler import StopUpload, TemporaryFileUploadHandler
from django.http import UnreadablePostError
from django.http.multipartparser import MultiPartParser, MultiPartParserError
from django.utils.datastructures import ImmutableList
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from portal.errors import BadInput, UploadTooLarge
from portal.middleware import portal_error

BUNDLE_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")
PACKAGE_SUFFIXES = (".deb", ".rpm")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def filename_problem(name: str) -> str | None:
    """Why a client-sent file name is refused, in words a packager understands."""
    if "\x00" in name:
        return "the file name contains a NUL byte"
    if _CONTROL.search(name):
        return "the file name contains control characters"
    if "/" in name or "\\" in name:
        return "the file name contains a path separator (/ or \\); send the bare file name"
    if ".." in name:
        return "the file name contains '..'"
    if len(name) > 255:
        return f"the file name is {len(name)} characters long; at most 255 are allowed"
    if not name.strip():
        return "the file name is empty"
    return None


def suffix_problem(name: str, allowed: tuple[str, ...], what: str) -> str | None:
    if not name.lower().endswith(allowed):
        return f"{what} must be one of {', '.join(allowed)}; got {name!r}"
    return None


class HashingUploadHandler(TemporaryFileUploadHandler):
    """Writes the upload to a temporary file, hashing it and counting bytes on the way."""

    def __init__(self, request=None, limit: int | None = None):
        super().__init__(request)
        self.limit = limit if limit is not None else settings.UPLOAD_MAX_BYTES
        self.total = 0

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.digest = hashlib.sha256()

    def receive_data_chunk(self, raw_data, start):
        self.total += len(raw_data)
        if self.total > self.limit:
            self.request.upload_too_large = True
            self.file.close()  # deletes the temporary file
            raise StopUpload(connection_reset=True)
        self.digest.update(raw_data)
        return super().receive_data_chunk(raw_data, start)

    def file_complete(self, file_size):
        file = super().file_complete(file_size)
        file.sha256 = self.digest.hexdigest()
        return file


class _RawNameParser(MultiPartParser):
    def sanitize_file_name(self, file_name):
        raw = html.unescape(file_name)
        problem = filename_problem(raw)
        if problem:
            self._request.bad_file_names.append((raw, problem))
        return super().sanitize_file_name(file_name)


def prepare_upload(request) -> None:
    """Call before touching request.POST/FILES: streams files, keeps raw names.

    Raises UploadTooLarge at once when the declared length is over the limit,
    before a byte of the body is read.
    """
    limit = settings.UPLOAD_MAX_BYTES
    declared = request.META.get("CONTENT_LENGTH") or "0"
    if declared.isdigit() and int(declared) > limit + 1024 * 1024:
        raise UploadTooLarge(limit)
    request.upload_too_large = False
    request.bad_file_names = []
    request.upload_handlers = [HashingUploadHandler(request, limit)]

    def parse_file_upload(self, META, post_data):
        self.upload_handlers = ImmutableList(self.upload_handlers)
        parser = _RawNameParser(META, post_data, self.upload_handlers, self.encoding)
        parser._request = self
        return parser.parse()

    request.parse_file_upload = types.MethodType(parse_file_upload, request)


def read_upload(request):
    """The parsed fields and files, or BadInput if the body broke off on the way."""
    try:
        return request.POST, request.FILES
    except (UnreadablePostError, MultiPartParserError, OSError):
        raise BadInput(
            "The upload was interrupted before it was complete; nothing was stored. Try again."
        ) from None


def check_upload(request) -> None:
    """After parsing: refuse a cut-off body or a bad file name, naming the rule."""
    read_upload(request)
    if getattr(request, "upload_too_large", False):
        raise UploadTooLarge(settings.UPLOAD_MAX_BYTES)
    for raw, problem in getattr(request, "bad_file_names", []):
        raise BadInput(f"{problem}: {raw!r}", field="file name")


def streamed_upload(view):
    """For a page whose POST carries a file: stream it before CSRF reads the body.

    Django's CSRF check reads the POST body; upload handlers must be in place
    before that, so the check runs after `prepare_upload`. A body declared too
    large is answered 413 without reading it (nothing has changed, so there is
    nothing for CSRF to protect).
    """
    protected = csrf_protect(view)

    @csrf_exempt
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.method == "POST":
            try:
                prepare_upload(request)
            except UploadTooLarge as refusal:
                return portal_error(request, refusal)
        return protected(request, *args, **kwargs)

    return wrapper

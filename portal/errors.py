"""The portal's one error vocabulary: what a service refuses, with the HTTP
status a page or the API answers with.

Services raise these; `portal.middleware.PortalErrorMiddleware` turns any
that a view does not handle itself into a response, once, for browser and
JSON alike. Messages are written for the person who sees them: what is wrong
and what to do about it.
"""

from __future__ import annotations


class PortalError(Exception):
    status = 400

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class BadInput(PortalError):
    """A field, a file or a value that cannot be used as given."""

    status = 400


class DigestMismatch(BadInput):
    status = 400


class Forbidden(PortalError):
    status = 403


class NotFound(PortalError):
    """Also used where revealing that something exists would say too much."""

    status = 404


class Conflict(PortalError):
    status = 409


class UploadTooLarge(PortalError):
    status = 413

    def __init__(self, limit: int):
        super().__init__(
            f"The upload is larger than the limit of {limit:,} bytes "
            f"({limit / 1024**3:.1f} GiB). Upload only your distro's own directories, "
            "or ask the release manager to raise the limit."
        )
        self.limit = limit


class QuotaExceeded(PortalError):
    status = 413


class RateLimited(PortalError):
    status = 429

    def __init__(self, retry_after: int, what: str = "attempts"):
        super().__init__(f"Too many {what} in a short time; try again in {retry_after} seconds.")
        self.retry_after = retry_after

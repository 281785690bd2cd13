"""Site-wide response rules: a Content-Security-Policy on every response, and
the portal's one error layer.

The error layer is one mapping (`portal_error`) from what goes wrong to a
status and a sentence, and one rule (`wants_json`) for how it is said: JSON
`{"error": "..."}` under /api/ and for scripts that ask for JSON, the portal's
error page otherwise. The middleware below, Django's handlers (`portal.views`:
handler400/403/404/500 and the CSRF failure view) and the API's exception
handlers (`portal.api`) all answer through it. A database or file storage that
cannot be reached is a plain 503 with Retry-After: no page that might need
either is rendered then."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig, ValidationError
from django.db import InterfaceError
from django.db import OperationalError as DatabaseError
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import Resolver404

from .errors import PortalError

logger = logging.getLogger(__name__)

DATABASE_DOWN = (DatabaseError, InterfaceError)


def _storage_errors() -> tuple[type[BaseException], ...]:
    try:
        from botocore.exceptions import BotoCoreError, ClientError
    except ImportError:  # pragma: no cover - botocore comes with django-storages[s3]
        return ()
    return (BotoCoreError, ClientError)


STORAGE_DOWN = _storage_errors()

DATABASE_MESSAGE = (
    "The portal cannot reach its database right now. Nothing was saved; "
    "please try again in a few minutes."
)
STORAGE_MESSAGE = (
    "The portal cannot reach its file storage right now. Nothing was stored; "
    "please try again in a few minutes."
)
API_PREFIX = "/api/"
NO_API_ROUTE = "No such API route; the routes are listed at /api/v1/openapi.json."
NO_PAGE = "There is no page at this address. Check it, or start again from the front page."
FORBIDDEN = "You may not do this with the account you are logged in with."
SERVER_ERROR = (
    "The portal failed to answer this request (500). The failure is logged for the "
    "release team; try again in a few minutes, and tell them if it happens again."
)
CSRF_FAILURE = (
    "The form could not be trusted: it is older than your log-in, or it came from "
    "another site. Nothing was saved. Reload the page and send it again."
)
UNREADABLE = "The request could not be read, so nothing was saved. Go back and try again."
HEADINGS = {
    403: "Not allowed",
    404: "Not found",
    413: "Too large",
    429: "Too many requests",
    500: "The portal failed",
    503: "Unavailable for a moment",
}


class ContentSecurityPolicyMiddleware:
    """Scripts and styles only from the portal's own files; the public page its own policy."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if "Content-Security-Policy" not in response:
            match = getattr(request, "resolver_match", None)
            public = match is not None and match.namespace == "publishing"
            response["Content-Security-Policy"] = (
                settings.PUBLIC_PAGE_CONTENT_SECURITY_POLICY
                if public
                else settings.CONTENT_SECURITY_POLICY
            )
        return response


def wants_json(request) -> bool:
    """The one rule: every path under /api/, and scripts that ask for JSON, get JSON."""
    return request.path.startswith(API_PREFIX) or "application/json" in request.headers.get(
        "Accept", ""
    )


def error_response(
    request,
    status: int,
    message: str,
    *,
    headers: dict[str, str] | None = None,
    extra: dict | None = None,
    plain: bool = False,
) -> HttpResponse:
    """An error said the portal's way: `{"error": message, **extra}` for JSON, the
    error page otherwise; `plain` text where rendering a page may fail itself."""
    if wants_json(request):
        response = JsonResponse({"error": message, **(extra or {})}, status=status)
    elif plain:
        response = HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")
    else:
        context = {"message": message, "status": status, "heading": HEADINGS.get(status)}
        response = render(request, "error.html", context, status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def portal_error(request, exception: BaseException) -> HttpResponse | None:
    """The one mapping from what went wrong to its answer; None for what is not
    an error of the request (a bug), which Django answers as a 500."""
    if isinstance(exception, PortalError):
        retry_after = getattr(exception, "retry_after", None)
        problems = getattr(exception, "problems", None)
        return error_response(
            request,
            exception.status,
            exception.message,
            headers={"Retry-After": str(retry_after)} if retry_after else None,
            extra={"problems": problems} if problems else None,
        )
    if isinstance(exception, Resolver404):
        api = request.path.startswith(API_PREFIX)
        return error_response(request, 404, NO_API_ROUTE if api else NO_PAGE)
    if isinstance(exception, Http404):
        return error_response(request, 404, str(exception) or NO_PAGE)
    if isinstance(exception, PermissionDenied):
        return error_response(request, 403, str(exception) or FORBIDDEN)
    if isinstance(exception, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE // 1024**2
        return error_response(
            request,
            400,
            f"What you sent is larger than the {limit} MB any form of the portal takes, "
            "so nothing was saved. Send less: a packaging policy holds at most 256 KiB, "
            "and files go through an upload field.",
        )
    if isinstance(exception, ValidationError):
        return error_response(request, 400, exception.messages[0] if exception.messages else "")
    if isinstance(exception, DATABASE_DOWN):
        message, retry_after = DATABASE_MESSAGE, 60
    elif STORAGE_DOWN and isinstance(exception, STORAGE_DOWN):
        message, retry_after = STORAGE_MESSAGE, 30
    else:
        return None
    # Whatever the view was writing is rolled back with its transaction; the
    # services write a stored object before its row and delete it again when
    # the row cannot be written, so nothing is left half-written.
    logger.error(
        "503 for %s %s: %s: %s", request.method, request.path, type(exception).__name__, exception
    )
    headers = {"Retry-After": str(retry_after), "Cache-Control": "no-store"}
    return error_response(request, 503, message, headers=headers, plain=True)


class PortalErrorMiddleware:
    """What a view raises and does not handle itself: the portal's refusals and
    an unreachable database or storage, answered through `portal_error`. The
    rest (404, 403, 400, 500) reaches Django's handlers, which answer through it too."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, (PortalError, *DATABASE_DOWN, *STORAGE_DOWN)):
            return portal_error(request, exception)
        return None

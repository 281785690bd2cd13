"""Site-wide response rules: a Content-Security-Policy on every response, a
plain 503 instead of an error page when the database or file storage is down,
and the portal's errors turned into their status and message."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import InterfaceError
from django.db import OperationalError as DatabaseError
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render

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


class ServiceUnavailableMiddleware:
    """PostgreSQL or storage unreachable: 503 with a plain message and Retry-After.

    Whatever the view was writing is rolled back with its transaction; the
    services write a stored object before its row and delete it again when
    the row cannot be written, so nothing is left half-written.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, DATABASE_DOWN):
            message, retry_after = DATABASE_MESSAGE, 60
        elif STORAGE_DOWN and isinstance(exception, STORAGE_DOWN):
            message, retry_after = STORAGE_MESSAGE, 30
        else:
            return None
        logger.error(
            "503 for %s %s: %s: %s",
            request.method,
            request.path,
            type(exception).__name__,
            exception,
        )
        if wants_json(request):
            response = JsonResponse({"error": message}, status=503)
        else:
            response = HttpResponse(message, status=503, content_type="text/plain; charset=utf-8")
        response["Retry-After"] = str(retry_after)
        response["Cache-Control"] = "no-store"
        return response


def wants_json(request) -> bool:
    """The API, and browser scripts that ask for JSON, get errors as JSON."""
    return request.path.startswith("/api/") or "application/json" in request.headers.get(
        "Accept", ""
    )


def error_response(request, error: PortalError):
    """The one mapping of the portal's errors to HTTP, for browser and JSON alike."""
    if wants_json(request):
        response = JsonResponse({"error": error.message}, status=error.status)
    else:
        response = render(
            request,
            "error.html",
            {"message": error.message, "status": error.status},
            status=error.status,
        )
    if getattr(error, "retry_after", None):
        response["Retry-After"] = str(error.retry_after)
    return response


class PortalErrorMiddleware:
    """A `PortalError` that no view handled becomes its status and message."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, PortalError):
            return error_response(request, exception)
        return None

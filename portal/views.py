"""The project's own views: Django's error handlers and the CSRF failure view,
which answer through the one error layer (`portal.middleware`), the /api/
catch-all, and the favicon browsers ask for."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponsePermanentRedirect, HttpResponseServerError
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import Resolver404, resolve
from django.views.decorators.csrf import csrf_exempt

from .middleware import (
    CSRF_FAILURE,
    NO_API_ROUTE,
    SERVER_ERROR,
    UNREADABLE,
    error_response,
    portal_error,
    wants_json,
)
from .outbox import outbox_mails


def page_not_found(request, exception=None):
    """`handler404`."""
    return portal_error(request, exception if isinstance(exception, Http404) else Http404())


def permission_denied(request, exception=None):
    """`handler403`."""
    return portal_error(
        request, exception if isinstance(exception, PermissionDenied) else PermissionDenied()
    )


def bad_request(request, exception=None):
    """`handler400`: say what was wrong where Django knows it, rather than a bare 400."""
    response = portal_error(request, exception) if exception is not None else None
    return response or error_response(request, 400, UNREADABLE)


SERVER_ERROR_PAGE = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>500 — Release portal</title></head>
<body><h1>The portal failed</h1><p role="alert">{SERVER_ERROR}</p>
<p><a href="/">Back to the portal's front page</a></p></body></html>
"""


def server_error(request):
    """`handler500`: plain words, no traceback; a page built from nothing that may
    have failed (no template, no database)."""
    if wants_json(request):
        return error_response(request, 500, SERVER_ERROR)
    return HttpResponseServerError(SERVER_ERROR_PAGE)


def csrf_failure(request, reason=""):
    """`CSRF_FAILURE_VIEW`: the form's token was missing or wrong."""
    return error_response(request, 403, CSRF_FAILURE)


@csrf_exempt  # answers only 404: there is nothing to forge
def api_route_missing(request, rest: str = ""):
    """Every path under /api/ that no API route takes: a JSON 404, whatever the
    method, also where a path converter refused the value (`submissions/abc/`)."""
    message = NO_API_ROUTE
    if not request.path.endswith("/"):
        try:
            match = resolve(request.path + "/")
        except Resolver404:
            match = None
        if match is not None and match.func is not api_route_missing:
            message = f"No such API route; did you mean {request.path}/ (with a trailing slash)?"
    return error_response(request, 404, message)


def favicon(request):
    """Browsers ask for /favicon.ico whatever a page names; the icon is a static file."""
    return HttpResponsePermanentRedirect(static("favicon.svg"))


def outbox(request):
    """The embedded defaults' outbox: every mail the portal would have sent, newest
    first, with its links (portal/outbox.py). Not there in production."""
    if not settings.OUTBOX_PAGE:
        raise Http404("There is no outbox: mail is sent.")
    return render(
        request, "outbox.html", {"mails": outbox_mails(), "folder": settings.EMAIL_OUTBOX_DIR}
    )


def outbox_flag(request) -> dict:
    """Context processor: whether pages point at the outbox (embedded defaults only)."""
    return {"outbox_page": settings.OUTBOX_PAGE}

"""The project's own pages: errors (under /api/ JSON like the rest of the API) and
the favicon browsers ask for."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponsePermanentRedirect, JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import Resolver404
from django.views import defaults

API_PREFIX = "/api/"


def page_not_found(request, exception=None):
    """`handler404`: `{"error": ...}` for the API, the usual page elsewhere."""
    if not request.path.startswith(API_PREFIX):
        return defaults.page_not_found(request, exception)
    message = ""
    if exception is not None and not isinstance(exception, Resolver404):
        message = str(exception)
    return JsonResponse(
        {"error": message or "No such API route; the routes are listed at /api/v1/openapi.json."},
        status=404,
    )


def bad_request(request, exception=None):
    """`handler400`: say what was wrong where Django knows it, rather than a bare 400."""
    if isinstance(exception, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE // 1024**2
        message = (
            f"What you sent is larger than the {limit} MB any form of the portal takes, "
            "so nothing was saved. Send less: a packaging policy holds at most 256 KiB, "
            "and files go through an upload field."
        )
    else:
        message = "The request could not be read, so nothing was saved. Go back and try again."
    if request.path.startswith(API_PREFIX):
        return JsonResponse({"error": message}, status=400)
    return render(request, "error.html", {"status": 400, "message": message}, status=400)


def favicon(request):
    """Browsers ask for /favicon.ico whatever a page names; the icon is a static file."""
    return HttpResponsePermanentRedirect(static("favicon.svg"))

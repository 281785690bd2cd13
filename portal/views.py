"""The project's own pages: errors (under /api/ JSON like the rest of the API) and
the favicon browsers ask for."""

from __future__ import annotations

from django.http import HttpResponsePermanentRedirect, JsonResponse
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


def favicon(request):
    """Browsers ask for /favicon.ico whatever a page names; the icon is a static file."""
    return HttpResponsePermanentRedirect(static("favicon.svg"))

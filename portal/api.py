"""The API at /api/v1/: one NinjaAPI, its token authentication, its errors.

The project layer assembles it: the routers live with their apps
(`releases.submissions.api` for maintainers' CI, `releases.coordination.api`
for release managers), the authentication in `accounts.api_auth`. Every
error is `{"error": "..."}` with its status: the portal's errors, ninja's
validation errors (400), no token (401 with `WWW-Authenticate`), nothing
found (404), a method a route does not take (405 with `Allow`).
The OpenAPI description is generated from the routes at /api/v1/openapi.json.
"""

from __future__ import annotations

import functools

from django.http import Http404, JsonResponse
from django.urls import URLPattern, path
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.utils import normalize_path, replace_path_param_notation

from accounts.api_auth import TokenAuth
from portal.errors import PortalError
from releases.coordination.api import router as staff_router
from releases.submissions.api import router as maintainers_router

UNAUTHORIZED = (
    "Send a valid API token: `Authorization: Token <key>`. Create one on your profile page."
)

api = NinjaAPI(
    title="Release portal API",
    version="1",
    description=(
        "Upload distro bundles and read verification results from CI; "
        "run releases with a staff token."
    ),
    auth=TokenAuth(),
    openapi_url=None,  # served below, under the portal's own route name
    docs_url=None,
    servers=[{"url": "/api/v1"}],
    urls_namespace="api-v1",
)
api.add_router("", maintainers_router)
api.add_router("", staff_router)


def error(message: str, status: int, **headers: str) -> JsonResponse:
    response = JsonResponse({"error": message}, status=status)
    for name, value in headers.items():
        response[name] = value
    return response


@api.exception_handler(PortalError)
def portal_error(request, failure: PortalError):
    retry_after = getattr(failure, "retry_after", None)
    headers = {"Retry-After": str(retry_after)} if retry_after else {}
    return error(failure.message, failure.status, **headers)


@api.exception_handler(ValidationError)
def invalid(request, failure: ValidationError):
    first = failure.errors[0] if failure.errors else {}
    where = [str(part) for part in first.get("loc", ()) if part not in ("body", "payload")]
    field = where[-1] if where else "body"
    return error(f"{field}: {first.get('msg', 'invalid')}", 400)


@api.exception_handler(HttpError)
def http_error(request, failure: HttpError):
    # Ninja's own refusals, such as a body that is not JSON.
    return error(f"{failure.message}.", failure.status_code)


@api.exception_handler(AuthenticationError)
def unauthorized(request, failure: AuthenticationError):
    return error(UNAUTHORIZED, 401, **{"WWW-Authenticate": 'Token realm="api"'})


@api.exception_handler(Http404)
def not_found(request, missing: Http404):
    return error(str(missing) or "Not found.", 404)


def _json_405(view, allowed: list[str]):
    """Ninja answers a method a route does not take with a bare 405; here it is JSON."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.method not in allowed:
            return error(f"Use {' or '.join(allowed)} here.", 405, Allow=", ".join(allowed))
        return view(request, *args, **kwargs)

    wrapper.csrf_exempt = True  # no cookies are honoured under /api/: nothing to forge
    return wrapper


def _patterns() -> list[URLPattern]:
    """Ninja's routes, each answering a method its path does not take in JSON."""
    patterns = []
    for bound in api._get_bound_routers():
        for route, path_view in bound.path_operations.items():
            allowed: list[str] = []
            for operation in path_view.operations:
                allowed += [m for m in operation.methods if m not in allowed]
            view = _json_405(path_view.get_view(), allowed)
            route = normalize_path("/".join(i for i in (bound.prefix, route) if i)).lstrip("/")
            for operation in path_view.operations:
                patterns.append(
                    path(replace_path_param_notation(route), view, name=operation.url_name)
                )
    return patterns


def openapi(request):
    return JsonResponse(api.get_openapi_schema(path_prefix=""))


urlpatterns = [
    path("openapi.json", _json_405(openapi, ["GET"]), name="api-openapi"),
    *_patterns(),
]

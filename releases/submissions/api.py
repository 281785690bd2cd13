"""The API for maintainers' CI: `Authorization: Token <key>`, JSON in and out.

Every error is `{"error": "..."}` with its status; the description is served
at /api/v1/openapi.json.
"""

from __future__ import annotations

import functools

from django.conf import settings
from django.contrib.auth import authenticate
from django.http import Http404, JsonResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt

from portal.errors import BadInput, PortalError
from portal.ratelimit import rate_limit
from releases.models import Distro, Release, Submission
from releases.permissions import can_see_distro_work, is_active_maintainer, report_read_count

from . import selectors, services
from .api_schema import OPENAPI
from .forms import UploadForm, parse_package_links
from .uploads import check_upload, prepare_upload


def error(message: str, status: int, **headers) -> JsonResponse:
    response = JsonResponse({"error": message}, status=status)
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def api_methods(*methods: str):
    """The methods an API route takes: any other is a JSON 405 with `Allow`."""

    def decorate(view):
        @csrf_exempt  # no cookies are honoured under /api/, so there is nothing to forge
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            if request.method not in methods:
                return error(f"Use {' or '.join(methods)} here.", 405, Allow=", ".join(methods))
            return view(request, *args, **kwargs)

        return wrapper

    return decorate


def api_view(*methods: str):
    """Token authentication, allowed methods, and errors as JSON for an API view."""

    def decorate(view):
        @api_methods(*methods)
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            scheme, _, key = request.headers.get("Authorization", "").partition(" ")
            user = authenticate(request, api_token=key.strip()) if scheme == "Token" else None
            if user is None:
                return error(
                    "Send a valid API token: `Authorization: Token <key>`. "
                    "Create one on your profile page.",
                    401,
                    WWW_Authenticate='Token realm="api"',
                )
            request.user = user
            try:
                return view(request, *args, **kwargs)
            except PortalError as failure:
                headers = {}
                if getattr(failure, "retry_after", None):
                    headers["Retry_After"] = str(failure.retry_after)
                return error(failure.message, failure.status, **headers)
            except Http404 as missing:
                return error(str(missing) or "Not found.", 404)

        return wrapper

    return decorate


@api_methods("GET")
def openapi(request):
    return JsonResponse(OPENAPI)


@api_view("POST")
def submission_create(request, project: str, version: str, distro: str):
    release, distro_obj = _release_distro(request.user, project, version, distro)
    prepare_upload(request)
    check_upload(request)
    files, data = request.FILES, request.POST
    rate_limit("upload", str(request.user.pk), limit=settings.UPLOADS_PER_HOUR, window=3600)
    if "bundle" not in files:
        raise BadInput("Send the archive in the multipart field `bundle`.", field="bundle")
    form = UploadForm(
        {"sha256": data.get("sha256", ""), "note": data.get("note", ""), "package_links": ""},
        {
            "bundle": files["bundle"],
            **({"package": files["package"]} if "package" in files else {}),
        },
    )
    if not form.is_valid():
        field, problems = next(iter(form.errors.items()))
        raise BadInput(f"{field}: {problems[0]}", field=field)
    try:
        links = parse_package_links(data.getlist("package_url"))
    except Exception as invalid:
        raise BadInput(f"package_url: {invalid.messages[0]}", field="package_url") from None
    submission, created = services.submission_create(
        release=release,
        distro=distro_obj,
        submitter=request.user,
        upload=form.cleaned_data["bundle"],
        package=form.cleaned_data["package"],
        package_links=links,
        note=form.cleaned_data["note"],
        expected_sha256=form.cleaned_data["sha256"],
    )
    return JsonResponse(
        {
            "id": submission.pk,
            "url": request.build_absolute_uri(reverse("api-submission", args=[submission.pk])),
            "page": request.build_absolute_uri(reverse("submission-detail", args=[submission.pk])),
            "state": submission.state,
            "sha256": submission.artifact.sha256,
            "created": created,
        },
        status=201 if created else 200,
    )


def _release_distro(user, project, version, distro):
    release = (
        Release.objects.select_related("project")
        .filter(project__slug=project, version=version)
        .first()
    )
    distro_obj = Distro.objects.filter(slug=distro).first()
    if (
        release is None
        or distro_obj is None
        or not can_see_distro_work(user, release.project, distro_obj)
    ):
        raise Http404(f"No release {project} {version} with distro {distro} that you maintain.")
    return release, distro_obj


@api_view("GET")
def submission_detail(request, submission_id: int):
    report_read_count(request.user)
    submission = selectors.submission_for_page(submission_id)
    if submission is None or not can_see_distro_work(
        request.user, submission.release.project, submission.distro
    ):
        raise Http404(f"No submission {submission_id} that you can see.")
    return JsonResponse(selectors.submission_report(submission, page=request.GET.get("page", 1)))


@api_view("GET")
def release_detail(request, project: str, version: str):
    release = (
        Release.objects.select_related("project")
        .filter(project__slug=project, version=version)
        .first()
    )
    user = request.user
    if release is None or not (user.is_staff or is_active_maintainer(user, release.project)):
        raise Http404(f"No release {project} {version} of a project you maintain.")
    submissions = Submission.objects.filter(release=release)
    if not user.is_staff:
        # A maintainer sees the distros they maintain, not everyone's work.
        submissions = submissions.filter(
            distro__maintainerships__user=user,
            distro__maintainerships__project=release.project,
            distro__maintainerships__state="approved",
        )
    latest = {}
    for submission in submissions.select_related("distro").order_by("distro__slug", "-created_at"):
        latest.setdefault(submission.distro.slug, submission)
    return JsonResponse(
        {
            "project": release.project.slug,
            "version": release.version,
            "state": release.state,
            "prerelease_date": _iso(release.prerelease_date),
            "submission_deadline": _iso(release.submission_deadline),
            "release_date": _iso(release.release_date),
            "distros": {
                slug: {
                    "submission": s.pk,
                    "state": s.state,
                    "progress": s.progress,
                    "created_at": _iso(s.created_at),
                }
                for slug, s in latest.items()
            },
        }
    )


def _iso(value):
    return value.isoformat() if value else None

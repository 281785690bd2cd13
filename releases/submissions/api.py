"""The API for maintainers' CI: upload a bundle, read a submission, read a release.

Token authentication, the JSON error shape and the OpenAPI description come
from the NinjaAPI that `portal/api.py` assembles; these are the routes.
Uploads are streamed: the body is read through `prepare_upload`'s handler
after authentication, never parsed by ninja beforehand.
"""

from __future__ import annotations

from typing import Annotated, Any

from django.conf import settings
from django.http import Http404
from django.urls import reverse
from ninja import Path, Router, Schema, Status
from pydantic import Field

from portal.api_schemas import FilePart, errors, multipart_body, multipart_fields, pattern
from portal.errors import BadInput
from portal.forms import form_refusal
from portal.ratelimit import rate_limit
from portal.timefmt import iso
from releases.converters import SLUG_PATTERN, VERSION_PATTERN
from releases.models import Distro, Release, Submission
from releases.permissions import (
    can_see_distro_work,
    is_active_maintainer,
    report_read_count,
    serves,
)

from . import selectors, services
from .forms import MAX_LINKS, UploadForm, parse_package_links
from .uploads import BUNDLE_SUFFIXES, PACKAGE_SUFFIXES, check_upload, prepare_upload

router = Router(tags=["maintainers"])

VERSION = pattern(f"^{VERSION_PATTERN}$", "a version is letters, digits and . + ~ _ -")
SLUG = pattern(f"^{SLUG_PATTERN}$", "a short name is letters, digits, _ and -")
# The path values, with the patterns their converters take (releases/converters.py):
# a value of another shape matches no route and is answered 404.
ProjectSlug = Annotated[str, Path(pattern=SLUG, description="the project's short name")]
DistroSlug = Annotated[str, Path(pattern=SLUG, description="the distro's slug")]
Version = Annotated[str, Path(pattern=VERSION, max_length=50, description="the release's version")]
Id = Annotated[int, Path(ge=1, le=2**63 - 1)]
# A package link as the server reads it: an http(s) address, then optionally its sha256.
PACKAGE_URL = pattern(
    r"^https?://[^\s\x00]+( [0-9a-fA-F]{64})?$",
    "give an http:// or https:// address, then optionally a space and its sha256",
)
NO_NUL = pattern(r"^[^\x00]*$", "a NUL character cannot be kept; write plain text")


class SubmissionCreatedOut(Schema):
    id: int
    url: str
    page: str
    state: str
    sha256: str
    created: bool


class FindingOut(Schema):
    check: str
    severity: str
    path: str | None
    message: str
    hint: str
    subject: str
    url: str | None = None


class PolicyVersionOut(Schema):
    version: int
    sha256: str


class SubmissionOut(Schema):
    id: int
    project: str
    version: str
    distro: str
    state: str
    progress: int
    verdict: str | None
    error: str | None
    sha256: str
    size: int
    file_name: str
    package_sha256: str | None
    created_at: str
    verified_at: str | None
    next_step: str | None
    decision: dict[str, Any] | None
    checked_with: dict[str, str] = {}
    # The project's policy version the verdict was reached by; null until then,
    # and for submissions verified before policies were versioned.
    policy: PolicyVersionOut | None = None
    findings_count: int
    findings_omitted: int
    findings_page: int
    findings_pages: int
    findings_next_page: int | None
    findings: list[FindingOut]


class DistroLatestOut(Schema):
    submission: int
    state: str
    progress: int
    created_at: str


class ReleaseFieldsOut(Schema):
    """The fields `release_fields` writes, first in every API answer about a release."""

    project: str
    version: str
    state: str
    prerelease_date: str | None
    submission_deadline: str | None
    release_date: str | None


class ReleaseOverviewOut(ReleaseFieldsOut):
    distros: dict[str, DistroLatestOut]


class UploadFieldsIn(Schema):
    """The text fields of an upload; the form behind them judges the files."""

    sha256: str = Field(
        "",
        pattern=pattern(r"^([0-9a-fA-F]{64})?$", "a sha256 is 64 hexadecimal digits"),
        description="refuse unless the file has this sha256",
    )
    package_url: list[Annotated[str, Field(pattern=PACKAGE_URL, max_length=1100)]] = Field(
        [], max_length=MAX_LINKS, description="`URL` or `URL SHA256`, repeatable"
    )
    note: str = Field("", max_length=2000, pattern=NO_NUL)


UPLOAD_BODY = multipart_body(
    UploadFieldsIn,
    {
        "bundle": FilePart(
            "the revised source package, or only your distro's directories",
            BUNDLE_SUFFIXES,
            "convirt-2.0.tar.gz",
        ),
        "package": FilePart(
            "a binary package for upstream to stage", PACKAGE_SUFFIXES, "convirt_2.0-1_all.deb"
        ),
    },
    ["bundle"],
)


@router.post(
    "/projects/{slug:project}/releases/{version:version}/distros/{slug:distro}/submissions/",
    url_name="api-submission-create",
    summary="Upload a revised source package or distro bundle",
    description="201: stored, verification queued. 200: these bytes were uploaded before. "
    "A detached OpenPGP signature of the bundle (`gpg --armor --detach-sign`, at most "
    "64 KiB) may go in the file part `signature`; it must verify with a key on your profile.",
    response={201: SubmissionCreatedOut, 200: SubmissionCreatedOut}
    | errors(400, 401, 404, 409, 413, 429),
    openapi_extra=UPLOAD_BODY,
)
def submission_create(request, project: ProjectSlug, version: Version, distro: DistroSlug):
    release, distro_obj = _release_distro(request.user, project, version, distro)
    prepare_upload(request)
    check_upload(request)
    files = request.FILES
    rate_limit("upload", str(request.user.pk), limit=settings.UPLOADS_PER_HOUR, window=3600)
    fields = multipart_fields(UploadFieldsIn, request.POST)
    if "bundle" not in files:
        raise BadInput("Send the archive in the multipart field `bundle`.", field="bundle")
    form = UploadForm(
        {"sha256": fields.sha256, "note": fields.note, "package_links": ""},
        {
            "bundle": files["bundle"],
            **({"package": files["package"]} if "package" in files else {}),
            **({"signature": files["signature"]} if "signature" in files else {}),
        },
    )
    if not form.is_valid():
        raise form_refusal(form)
    try:
        links = parse_package_links(fields.package_url)
    except Exception as invalid:
        raise BadInput(f"package_url: {invalid.messages[0]}", field="package_url") from None
    submission, created = services.submission_create(
        release=release,
        distro=distro_obj,
        submitter=request.user,
        upload=form.cleaned_data["bundle"],
        package=form.cleaned_data["package"],
        signature=form.cleaned_data["signature"],
        package_links=links,
        note=form.cleaned_data["note"],
        expected_sha256=form.cleaned_data["sha256"],
    )
    body = {
        "id": submission.pk,
        "url": request.build_absolute_uri(reverse("api-submission", args=[submission.pk])),
        "page": request.build_absolute_uri(reverse("submission-detail", args=[submission.pk])),
        "state": submission.state,
        "sha256": submission.artifact.sha256,
        "created": created,
    }
    return Status(201 if created else 200, body)


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


@router.get(
    "/submissions/{int:id}/",
    url_name="api-submission",
    summary="A submission's state, progress, verdict and findings",
    response={200: SubmissionOut} | errors(400, 401, 404, 429),
)
def submission_detail(request, id: Id, page: str = "1"):
    report_read_count(request.user)
    submission = selectors.submission_for_page(id)
    if submission is None or not can_see_distro_work(
        request.user, submission.release.project, submission.distro
    ):
        raise Http404(f"No submission {id} that you can see.")
    return selectors.submission_report(submission, page=page)


@router.get(
    "/projects/{slug:project}/releases/{version:version}/",
    url_name="api-release",
    summary="A release, its dates and state, and each distro's latest submission",
    response={200: ReleaseOverviewOut} | errors(401, 404),
)
def release_detail(request, project: ProjectSlug, version: Version):
    release = (
        Release.objects.select_related("project")
        .filter(project__slug=project, version=version)
        .first()
    )
    user = request.user
    team = release is not None and serves(user, release.project)
    if release is None or not (team or is_active_maintainer(user, release.project)):
        raise Http404(f"No release {project} {version} of a project you maintain.")
    submissions = Submission.objects.filter(release=release)
    if not team:
        # A maintainer sees the distros they maintain, not everyone's work.
        submissions = submissions.filter(
            distro__maintainerships__user=user,
            distro__maintainerships__project=release.project,
            distro__maintainerships__state="approved",
        )
    latest = {}
    for submission in submissions.select_related("distro").order_by("distro__slug", "-created_at"):
        latest.setdefault(submission.distro.slug, submission)
    return {
        **release_fields(release),
        "distros": {
            slug: {
                "submission": s.pk,
                "state": s.state,
                "progress": s.progress,
                "created_at": iso(s.created_at),
            }
            for slug, s in latest.items()
        },
    }


def release_fields(release: Release) -> dict:
    """What every API answer about a release starts with (the staff API's too)."""
    return {
        "project": release.project.slug,
        "version": release.version,
        "state": release.state,
        "prerelease_date": iso(release.prerelease_date),
        "submission_deadline": iso(release.submission_deadline),
        "release_date": iso(release.release_date),
    }

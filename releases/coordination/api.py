"""The staff API: run a release from a script with a staff user's token.

List and create releases, accept and reject submissions, move a release
through its lifecycle, read its audit trail. Each route parses, checks that
the token's user serves the project in a role that allows the route
(releases/permissions.py: 404 off the team, 403 for a role that may not), calls one service or lifecycle
function, and answers with a schema; a move the lifecycle refuses is its 409
with the lifecycle's sentence.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from django.urls import reverse
from ninja import Query, Router, Schema, Status
from pydantic import AfterValidator, Field, field_validator

from portal.api_schemas import FilePart, errors, multipart_body, multipart_fields, pattern
from portal.errors import BadInput, NotFound
from portal.forms import form_refusal
from portal.timefmt import iso
from releases import permissions, publication
from releases.models import Project, Release, Submission
from releases.policies import MAX_TEXT_CHARS, current_version
from releases.submissions.api import (
    VERSION,
    Id,
    ProjectSlug,
    ReleaseFieldsOut,
    Version,
    release_fields,
)
from releases.submissions.uploads import BUNDLE_SUFFIXES, check_upload, prepare_upload
from releases.verification.services import policy_version_save

from . import lifecycle, selectors, services
from .forms import ReleaseForm, RespinForm

router = Router(tags=["staff"])

AUDIT_PER_PAGE = 50


class ReleaseOut(ReleaseFieldsOut):
    published_at: str | None
    withdrawn_at: str | None
    withdrawn_reason: str
    compromised: bool = Field(description="Withdrawn as compromised: its files answer 410 Gone.")
    files_notice: str | None = Field(
        description="What withdrawing did to the release's files, as the public page says it."
    )
    actions: list[str] = Field(
        description="What this token may do to the release now, by its lifecycle table."
    )
    url: str


class DecisionOut(Schema):
    id: int
    state: str
    distro: str
    decided_by: str | None
    decided_at: str | None
    comment: str


class CommentIn(Schema):
    comment: str = Field("", max_length=4000)


# A character that is not white space, whichever regex engine reads the pattern
# (Python's \s also takes \x1c-\x1f, the JSON Schema engines' do not).
SAYS_SOMETHING = r"[^\s\x1c-\x1f]"


def _says_something(value: str) -> str:
    if not re.search(SAYS_SOMETHING, value):
        raise ValueError("white space alone is not a reason: say why, in a few words")
    return value.strip()


def _said(max_length: int):
    """Text that must say something: white space alone is refused, naming the field;
    the description states the same pattern."""
    return Annotated[
        str,
        Field(max_length=max_length, json_schema_extra={"pattern": SAYS_SOMETHING}),
        AfterValidator(_says_something),
    ]


class RejectIn(Schema):
    comment: _said(4000)


class WithdrawIn(Schema):
    reason: _said(2000)
    compromised: bool = Field(
        False,
        description=publication.withdraw_files_consequence(compromised=True)
        + " Otherwise: "
        + publication.withdraw_files_consequence(compromised=False),
    )


class AuditEventOut(Schema):
    id: int
    at: str
    actor: str | None
    verb: str
    object_type: str
    object_id: str
    object: str
    detail: dict[str, Any]


class AuditPageOut(Schema):
    page: int
    next: str | None
    results: list[AuditEventOut]


# An RFC 3339 date and time with its offset, in the years a release may name.
DATE_TIME = pattern(
    r"^(?:19|2[0-9])[0-9]{2}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
    r"T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,6})?"
    r"(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])$",
    "give a date and time with its offset, e.g. 2027-03-01T12:00:00Z",
)
DateTime = Annotated[str, Field(pattern=DATE_TIME, json_schema_extra={"format": "date-time"})]
PRERELEASE = FilePart("the pre-release tarball", BUNDLE_SUFFIXES, "convirt-2.1.tar.gz")


class ReleaseFieldsIn(Schema):
    version: str = Field(pattern=VERSION, max_length=50, description="e.g. 2.1")
    submission_deadline: DateTime = Field(None, description="submissions close then")
    release_date: DateTime = Field(None, description="the planned release date")
    source_tag: str = Field(
        None, max_length=200,
        description="the tag of the project's source repository the tarball is made from; given, "
        "the tarball is proved against it and the release opens once the proof passes",
    )


class RespinFieldsIn(Schema):
    submission_deadline: DateTime = Field(None, description="left out: the deadline stays")
    source_tag: str = Field(
        None, max_length=200, description="the tag the new tarball is proved against"
    )


RELEASE_BODY = multipart_body(ReleaseFieldsIn, {"prerelease": PRERELEASE}, ["prerelease"])
RESPIN_BODY = multipart_body(RespinFieldsIn, {"prerelease": PRERELEASE}, ["prerelease"])




def _release_out(request, release: Release) -> dict:
    return {
        **release_fields(release),
        "published_at": iso(release.published_at),
        "withdrawn_at": iso(release.withdrawn_at),
        "withdrawn_reason": release.withdrawn_reason,
        "compromised": release.compromised,
        "files_notice": publication.withdrawn_notice(
            state=release.state, compromised=release.compromised
        ),
        "actions": sorted(lifecycle.allowed_actions(release))
        if permissions.may(request.user, release.project, permissions.RUN)
        else [],
        "url": request.build_absolute_uri(
            reverse("api-release", args=[release.project.slug, release.version])
        ),
    }


def _decision_out(submission: Submission) -> dict:
    return {
        "id": submission.pk,
        "state": submission.state,
        "distro": submission.distro.slug,
        "decided_by": submission.decided_by.get_username() if submission.decided_by else None,
        "decided_at": iso(submission.decided_at),
        "comment": submission.decision_comment,
    }


def _project(request, slug: str, need: str) -> Project:
    return permissions.project_for(request.user, slug, need)


def _release(request, project: ProjectSlug, version: Version, need: str = permissions.RUN) -> Release:
    release = (
        Release.objects.select_related("project")
        .filter(project__slug=project, version=version)
        .first()
    )
    if release is None:
        raise NotFound(permissions.NOT_SERVED)
    permissions.project_check(request.user, release.project, need)
    return release


def _submission(request, submission_id: int) -> Submission:
    return permissions.object_for(
        request.user,
        Submission.objects.select_related("release__project", "distro"),
        submission_id,
        lambda submission: submission.release.project,
        permissions.REVIEW,
    )


def _uploaded(request):
    """The multipart body, streamed through the upload handler before it is parsed."""
    prepare_upload(request)
    check_upload(request)
    return request.POST, request.FILES


def _tarball(files):
    if "prerelease" not in files:
        raise BadInput(
            "Send the pre-release tarball in the multipart field `prerelease`.",
            field="prerelease",
        )
    return files["prerelease"]


@router.get(
    "/projects/{slug:project}/releases/",
    url_name="api-releases",
    summary="A project's releases, newest first, with their state and dates",
    response={200: list[ReleaseOut]} | errors(401, 403, 404),
)
def release_list(request, project: ProjectSlug):
    project_obj = _project(request, project, permissions.VIEW)
    releases = Release.objects.filter(project=project_obj).select_related("project")
    return [_release_out(request, release) for release in releases.order_by("-created_at")]


@router.post(
    "/projects/{slug:project}/releases/",
    url_name="api-release-create",
    summary="Create a release with its pre-release tarball and open it",
    response={201: ReleaseOut} | errors(400, 401, 403, 404, 409, 413),
    openapi_extra=RELEASE_BODY,
)
def release_create(request, project: ProjectSlug):
    project_obj = _project(request, project, permissions.RUN)
    data, files = _uploaded(request)
    fields = multipart_fields(ReleaseFieldsIn, data)
    form = ReleaseForm(
        {
            "version": fields.version,
            "submission_deadline": fields.submission_deadline or "",
            "release_date": fields.release_date or "",
            "source_tag": fields.source_tag or "",
            "open_now": "on",
        },
        {"tarball": _tarball(files)},
    )
    if not form.is_valid():
        raise form_refusal(form, names={"tarball": "prerelease"})
    release = services.release_create(
        project=project_obj,
        version=form.cleaned_data["version"],
        actor=request.user,
        tarball=form.cleaned_data["tarball"],
        deadline=form.cleaned_data["submission_deadline"],
        release_date=form.cleaned_data["release_date"],
        source_tag=form.cleaned_data["source_tag"],
    )
    return Status(201, _release_out(request, release))


@router.post(
    "/submissions/{int:id}/accept",
    url_name="api-submission-accept",
    summary="Accept a passed submission into the release",
    response={200: DecisionOut} | errors(400, 401, 403, 404, 409),
)
def submission_accept(request, id: Id, payload: CommentIn):
    submission = services.submission_accept(
        submission=_submission(request, id), actor=request.user, comment=payload.comment
    )
    return _decision_out(submission)


@router.post(
    "/submissions/{int:id}/reject",
    url_name="api-submission-reject",
    summary="Reject a submission; the comment is mailed to its maintainers",
    response={200: DecisionOut} | errors(400, 401, 403, 404, 409),
)
def submission_reject(request, id: Id, payload: RejectIn):
    submission = services.submission_reject(
        submission=_submission(request, id), actor=request.user, comment=payload.comment
    )
    return _decision_out(submission)


RELEASE_ERRORS = errors(400, 401, 403, 404, 409)
RELEASE_PATH = "/projects/{slug:project}/releases/{version:version}"


@router.post(
    RELEASE_PATH + "/freeze",
    url_name="api-release-freeze",
    summary="Close submissions",
    response={200: ReleaseOut} | RELEASE_ERRORS,
)
def release_freeze(request, project: ProjectSlug, version: Version):
    release = lifecycle.release_freeze(release=_release(request, project, version), actor=request.user)
    return _release_out(request, release)


@router.post(
    RELEASE_PATH + "/unfreeze",
    url_name="api-release-unfreeze",
    summary="Open a frozen release for submissions again",
    response={200: ReleaseOut} | RELEASE_ERRORS,
)
def release_unfreeze(request, project: ProjectSlug, version: Version):
    release = lifecycle.release_unfreeze(release=_release(request, project, version), actor=request.user)
    return _release_out(request, release)


@router.post(
    RELEASE_PATH + "/respin",
    url_name="api-release-respin",
    summary="Replace the pre-release tarball; live submissions go stale",
    response={200: ReleaseOut} | RELEASE_ERRORS | errors(413),
    openapi_extra=RESPIN_BODY,
)
def release_respin(request, project: ProjectSlug, version: Version):
    release = _release(request, project, version)
    data, files = _uploaded(request)
    fields = multipart_fields(RespinFieldsIn, data)
    form = RespinForm(
        {"submission_deadline": fields.submission_deadline or "", "source_tag": fields.source_tag or ""},
        {"tarball": _tarball(files)},
    )
    if not form.is_valid():
        raise form_refusal(form, names={"tarball": "prerelease"})
    release = lifecycle.release_respin(
        release=release,
        actor=request.user,
        tarball=form.cleaned_data["tarball"],
        deadline=form.cleaned_data["submission_deadline"],
        source_tag=form.cleaned_data["source_tag"],
    )
    return _release_out(request, release)


@router.post(
    RELEASE_PATH + "/publish",
    url_name="api-release-publish",
    summary="Publish: the merged tarball is assembled, then the release is released",
    description="202: publishing; poll the release until its state is `released`.",
    response={202: ReleaseOut} | RELEASE_ERRORS,
)
def release_publish(request, project: ProjectSlug, version: Version):
    release = lifecycle.release_publish(release=_release(request, project, version), actor=request.user)
    return Status(202, _release_out(request, release))


@router.post(
    RELEASE_PATH + "/withdraw",
    url_name="api-release-withdraw",
    summary="Withdraw a released release; the public page shows the reason",
    description=" ".join(publication.WITHDRAW_COMMON),
    response={200: ReleaseOut} | RELEASE_ERRORS,
)
def release_withdraw(request, project: ProjectSlug, version: Version, payload: WithdrawIn):
    release = lifecycle.release_withdraw(
        release=_release(request, project, version),
        actor=request.user,
        reason=payload.reason,
        compromised=payload.compromised,
    )
    return _release_out(request, release)


@router.get(
    RELEASE_PATH + "/audit",
    url_name="api-release-audit",
    summary="The release's audit trail and its submissions', newest first",
    response={200: AuditPageOut} | RELEASE_ERRORS,
)
def release_audit(
    request, project: ProjectSlug, version: Version, page: int = Query(1, ge=1, le=1_000_000)
):
    release = _release(request, project, version, permissions.VIEW)
    start = (page - 1) * AUDIT_PER_PAGE
    events = list(selectors.audit_events(release=release)[start : start + AUDIT_PER_PAGE + 1])
    more = len(events) > AUDIT_PER_PAGE
    here = reverse("api-release-audit", args=[release.project.slug, release.version])
    return {
        "page": page,
        "next": request.build_absolute_uri(f"{here}?page={page + 1}") if more else None,
        "results": [
            {
                "id": event.pk,
                "at": event.created_at.isoformat(),
                "actor": event.actor.get_username() if event.actor else None,
                "verb": event.verb,
                "object_type": event.object_type,
                "object_id": event.object_id,
                "object": event.object_repr,
                "detail": event.detail,
            }
            for event in events[:AUDIT_PER_PAGE]
        ],
    }


# --- the project's packaging policy ------------------------------------------


class PolicyVersionOut(Schema):
    version: int
    sha256: str
    note: str
    author: str | None
    created_at: str


class PolicyOut(PolicyVersionOut):
    project: str
    text: str
    versions: list[PolicyVersionOut]
    reverifying: int | None = None


class PolicyIn(Schema):
    text: str = Field(..., min_length=1, max_length=MAX_TEXT_CHARS)
    note: str = Field("", max_length=200, json_schema_extra={"pattern": r"^[^\x00]*$"})
    base: int = Field(..., ge=0, le=1_000_000, description="the version the text was edited from")
    reverify: bool = Field(False, description="judge the live submissions again by it")

    @field_validator("note")
    @classmethod
    def _no_nul(cls, value: str) -> str:
        if "\x00" in value:
            raise ValueError("a note cannot hold a NUL character; write plain text")
        return value


def _version_out(version) -> dict:
    return {
        "version": version.number,
        "sha256": version.sha256,
        "note": version.note,
        "author": version.author.get_username() if version.author else None,
        "created_at": version.created_at.isoformat(),
    }


def _policy_out(project: Project, reverifying: int | None = None) -> dict:
    current = current_version(project)
    return {
        **_version_out(current),
        "project": project.slug,
        "text": current.text,
        "versions": [
            _version_out(v)
            for v in project.policy_versions.select_related("author").order_by("-number")[:100]
        ],
        "reverifying": reverifying,
    }


@router.get(
    "/projects/{slug:project}/policy",
    url_name="api-policy",
    summary="The project's packaging policy in force (TOML) and its versions, newest first",
    response={200: PolicyOut} | errors(401, 403, 404),
)
def policy_read(request, project: ProjectSlug):
    return _policy_out(_project(request, project, permissions.VIEW))


@router.post(
    "/projects/{slug:project}/policy",
    url_name="api-policy-save",
    summary="Save a new version of the packaging policy; optionally re-verify live submissions",
    description="Refused with 400 and `problems` (line, column, key, message) when the engine "
    "refuses the text, and with 409 when another version was saved since `base`.",
    response={201: PolicyOut} | errors(400, 401, 403, 404, 409),
)
def policy_save(request, project: ProjectSlug, payload: PolicyIn):
    project_obj = _project(request, project, permissions.MANAGE)
    _, reverification = policy_version_save(
        project=project_obj,
        text=payload.text,
        note=payload.note,
        author=request.user,
        base_number=payload.base,
        reverify=payload.reverify,
    )
    reverifying = reverification.items.count() if reverification else None
    return Status(201, _policy_out(project_obj, reverifying))

"""The staff API's view of the patch ledger: the same data as the page, typed."""

from __future__ import annotations

from typing import Any

from ninja import Router, Schema

from portal.api_schemas import errors
from portal.errors import NotFound
from releases import permissions
from releases.models import Release

from .selectors import ledger_data

router = Router(tags=["staff"])


class PatchStatusOut(Schema):
    state: str
    detail: str = ""
    conflicts: list[dict[str, Any]] = []


class CarrierOut(Schema):
    bundle: str
    distro: str
    path: str
    via: str
    same_diff: bool
    status: PatchStatusOut | None = None


class AnswerOut(Schema):
    decision: str
    label: str
    comment: str


class EntryOut(Schema):
    id: str
    fingerprint: str
    files: list[str]
    changes: int
    hunks: int
    description: str = ""
    author: str = ""
    origin: str = ""
    bug: list[str] = []
    forwarded: str = ""
    applied_upstream: str = ""
    carriers: list[CarrierOut]
    contains: list[str]
    contained_in: list[str]
    status: PatchStatusOut | None = None
    answer: AnswerOut | None = None
    diff: str


class ProblemOut(Schema):
    check: str
    severity: str
    path: str | None = None
    message: str
    hint: str = ""


class LedgerOut(Schema):
    release: str
    computed_at: str | None = None
    against: str | None = None
    bundles: list[str] = []
    entries: list[EntryOut] = []
    problems: list[ProblemOut] = []


@router.get(
    "/projects/{slug:project}/releases/{version}/patches",
    url_name="api-release-patches",
    summary="The patches the distros carry, merged per fix, with their status against the pre-release",
    response={200: LedgerOut} | errors(401, 403, 404),
)
def release_patches(request, project: str, version: str):
    release = (
        Release.objects.select_related("project")
        .filter(project__slug=project, version=version)
        .first()
    )
    if release is None:
        raise NotFound(permissions.NOT_SERVED)
    permissions.project_check(request.user, release.project, permissions.VIEW)
    data = ledger_data(release) or {}
    return {"release": f"{release.project.slug} {release.version}", **data}

"""Reads of the maintainers' pages."""

from __future__ import annotations

from django.db.models import Q

from releases.models import Distro, Maintainership, Project, Release, Submission
from releases.policies import rules_for
from releases.rules import OPEN_STATES


def maintainer_overview(user) -> list[dict]:
    """The person's claims and, for approved ones, each open release with its live submission."""
    claims = list(
        Maintainership.objects.filter(user=user)
        .select_related("project", "distro")
        .order_by("project__name", "distro__slug", "-requested_at")
    )
    approved = [c for c in claims if c.state == Maintainership.State.APPROVED]
    releases = Release.objects.filter(
        project__in={c.project_id for c in approved}, state__in=OPEN_STATES
    ).select_related("project")
    live = {
        (s.release_id, s.distro_id): s
        for s in Submission.objects.filter(
            release__in=releases,
            distro__in={c.distro_id for c in approved},
            state__in=Submission.LIVE_STATES,
        )
    }
    by_project: dict[int, list[Release]] = {}
    for release in releases:
        by_project.setdefault(release.project_id, []).append(release)
    # Where each approved distro's work goes in the project's source package.
    policies = {}
    for claim in approved:
        if claim.project_id not in policies:
            policies[claim.project_id] = rules_for(claim.project)
    rows = []
    for claim in claims:
        rows.append(
            {
                "claim": claim,
                "roots": policies[claim.project_id].roots_for(claim.distro.slug)
                if claim.state == Maintainership.State.APPROVED
                else (),
                "releases": [
                    {"release": r, "submission": live.get((r.pk, claim.distro_id))}
                    for r in by_project.get(claim.project_id, [])
                ]
                if claim.state == Maintainership.State.APPROVED
                else [],
            }
        )
    return rows


def project_layouts() -> list[dict]:
    """Each project with the directories its policy gives a distro (`<name>` for its slug)."""
    return [
        {"project": project, "roots": rules_for(project).roots_for("<name>")}
        for project in Project.objects.order_by("name")
    ]


def claims_pending(projects):
    return (
        Maintainership.objects.filter(state=Maintainership.State.REQUESTED, project__in=projects)
        .select_related("user", "project", "distro")
        .order_by("requested_at")
    )


def claims_approved(projects):
    return Maintainership.objects.filter(
        state=Maintainership.State.APPROVED, project__in=projects
    ).select_related(
        "user", "project", "distro"
    )


def distros_offered(user):
    """The distros `user` may choose in the claim form: the listed ones, and
    those they named themselves; staff see every one."""
    if user.is_authenticated and user.is_staff:
        return Distro.objects.all()
    if not user.is_authenticated:
        return Distro.objects.filter(listed=True)
    return Distro.objects.filter(Q(listed=True) | Q(proposed_by=user))

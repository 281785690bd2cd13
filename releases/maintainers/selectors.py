"""Reads of the maintainers' pages."""

from __future__ import annotations

from django.db.models import Max, Q

from releases.models import (
    Distro,
    Maintainership,
    PackageLink,
    PrereleaseDownload,
    Project,
    Release,
    Submission,
)
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
    ).select_related("user", "project", "distro")


def distros_offered(user):
    """The distros `user` may choose in the claim form: the listed ones, and
    those they named themselves; staff see every one."""
    if user.is_authenticated and user.is_staff:
        return Distro.objects.all()
    if not user.is_authenticated:
        return Distro.objects.filter(listed=True)
    return Distro.objects.filter(Q(listed=True) | Q(proposed_by=user))


# --- a packager's home: what is due next, across projects ----------------------


def packager_agenda(user, *, now) -> list[dict]:
    """Every project x distro the person maintains, with what is due on each open or
    recent release, ordered by what is due next (the nearest deadline first; rows
    with nothing dated after them)."""
    claims = list(
        Maintainership.objects.filter(user=user, state=Maintainership.State.APPROVED)
        .select_related("project", "distro")
        .order_by("project__name", "distro__slug")
    )
    if not claims:
        return []
    releases = list(
        Release.objects.filter(
            project__in={c.project_id for c in claims},
            state__in=(*OPEN_STATES, Release.State.RELEASED),
        )
        .select_related("project")
        .order_by("project_id", "-created_at")
    )
    release_ids = [r.pk for r in releases]
    distro_ids = {c.distro_id for c in claims}
    live = {
        (s.release_id, s.distro_id): s
        for s in Submission.objects.filter(
            release__in=release_ids, distro__in=distro_ids, state__in=Submission.LIVE_STATES
        )
    }
    downloaded = set(
        PrereleaseDownload.objects.filter(user=user, release__in=release_ids)
        .values("release_id")
        .annotate(last=Max("downloaded_at"))
        .values_list("release_id", flat=True)
    )
    linked = set(
        PackageLink.objects.filter(release__in=release_ids, distro__in=distro_ids).values_list(
            "release_id", "distro_id"
        )
    )
    rows = []
    for claim in claims:
        for release in (r for r in releases if r.project_id == claim.project_id):
            submission = live.get((release.pk, claim.distro_id))
            state = submission.state if submission else None
            due = []
            if release.state in OPEN_STATES:
                if release.submission_deadline and release.submission_deadline > now:
                    due.append(
                        f"submissions close {release.submission_deadline:%Y-%m-%d %H:%M} UTC"
                    )
                if release.pk not in downloaded:
                    due.append("pre-release not downloaded yet")
                if state == Submission.State.FAILED:
                    due.append("your last upload failed: read its report")
                elif state in (Submission.State.ACCEPTED, Submission.State.REJECTED):
                    due.append(f"decided: {state}")
                elif state is None:
                    due.append("nothing uploaded yet")
            elif state == Submission.State.ACCEPTED and (release.pk, claim.distro_id) not in linked:
                due.append("released: add the link to your package")
            if not due:
                continue
            deadline = release.submission_deadline if release.state in OPEN_STATES else None
            rows.append(
                {
                    "project": claim.project,
                    "distro": claim.distro,
                    "release": release,
                    "submission": submission,
                    "deadline": deadline if deadline and deadline > now else None,
                    "due": due,
                }
            )
    rows.sort(
        key=lambda row: (
            row["deadline"] is None,
            row["deadline"] or now,
            row["project"].name,
            row["distro"].slug,
        )
    )
    return rows

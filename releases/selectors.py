"""Reads: the queries pages and tasks need, each in as few round trips as it takes."""

from __future__ import annotations

from django.db.models import Prefetch

from .models import (
    Distro,
    Finding,
    Maintainership,
    PackageLink,
    PrereleaseDownload,
    PrereleaseInvitation,
    Project,
    Release,
    Reminder,
    Submission,
)

__all__ = ["Distro", "Project"]

SEVERITY_ORDER = ("error", "warning", "info")
OPEN_STATES = (Release.State.PRERELEASE, Release.State.FROZEN)


def project_list_with_releases():
    return Project.objects.prefetch_related(
        Prefetch("releases", queryset=Release.objects.order_by("-created_at"))
    )


def is_active_maintainer(user, project, distro=None) -> bool:
    """Approved to maintain `distro` of `project` (any distro when None)."""
    if not user.is_authenticated or not user.is_active:
        return False
    claims = Maintainership.objects.filter(
        user=user, project=project, state=Maintainership.State.APPROVED
    )
    if distro is not None:
        claims = claims.filter(distro=distro)
    return claims.exists()


def can_see_distro_work(user, project, distro) -> bool:
    """Staff, and the approved maintainers of that distro, see its submissions."""
    return (user.is_authenticated and user.is_active and user.is_staff) or is_active_maintainer(
        user, project, distro
    )


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
    rows = []
    for claim in claims:
        rows.append(
            {
                "claim": claim,
                "releases": [
                    {"release": r, "submission": live.get((r.pk, claim.distro_id))}
                    for r in by_project.get(claim.project_id, [])
                ]
                if claim.state == Maintainership.State.APPROVED
                else [],
            }
        )
    return rows


def claims_pending():
    return (
        Maintainership.objects.filter(state=Maintainership.State.REQUESTED)
        .select_related("user", "project", "distro")
        .order_by("requested_at")
    )


def claims_approved():
    return Maintainership.objects.filter(state=Maintainership.State.APPROVED).select_related(
        "user", "project", "distro"
    )


def release_distro_context(release: Release, distro: Distro, user) -> dict:
    submissions = list(
        Submission.objects.filter(release=release, distro=distro)
        .select_related("artifact", "submitter")
        .order_by("-created_at")
    )
    live = next((s for s in submissions if s.state in Submission.LIVE_STATES), None)
    from . import services

    return {
        "release": release,
        "project": release.project,
        "distro": distro,
        "live": live,
        "history": submissions,
        "links": PackageLink.objects.filter(release=release, distro=distro).select_related(
            "staged"
        ),
        "prerelease_url": (
            services.prerelease_path(release=release, user=user)
            if release.prerelease_id and is_active_maintainer(user, release.project, distro)
            else None
        ),
        "downloaded": PrereleaseDownload.objects.filter(release=release, user=user).first(),
        "accepting": accepting_uploads(release, distro),
    }


def accepting_uploads(release: Release, distro: Distro) -> bool:
    from .errors import Conflict
    from .services import release_accepting_uploads

    try:
        release_accepting_uploads(release, distro)
    except Conflict:
        return False
    return True


def submission_for_page(submission_id: int) -> Submission | None:
    return (
        Submission.objects.select_related(
            "release__project", "distro", "artifact", "package", "submitter"
        )
        .filter(pk=submission_id)
        .first()
    )


def findings_grouped(submission: Submission) -> list[tuple[str, list[Finding]]]:
    """Findings by severity, errors first; one list per severity that has any."""
    findings = list(submission.findings.all())
    return [
        (severity, [f for f in findings if f.severity == severity])
        for severity in SEVERITY_ORDER
        if any(f.severity == severity for f in findings)
    ]


FINAL_STATES = {"passed", "failed", "accepted", "rejected", "superseded", "stale"}


def submission_context(submission: Submission) -> dict:
    groups = findings_grouped(submission) if submission.state in FINAL_STATES else []
    return {
        "submission": submission,
        "release": submission.release,
        "project": submission.release.project,
        "distro": submission.distro,
        "groups": groups,
        "counts": {severity: len(items) for severity, items in groups},
        "final": submission.state in FINAL_STATES,
    }


def verdict_of(submission: Submission) -> str | None:
    if submission.state in ("received", "verifying"):
        return None
    if submission.error:
        return "error"
    has_errors = any(f.severity == "error" for f in submission.findings.all())
    return "fail" if has_errors else "pass"


def submission_report(submission: Submission) -> dict:
    findings = list(submission.findings.all())
    return {
        "id": submission.pk,
        "project": submission.release.project.slug,
        "version": submission.release.version,
        "distro": submission.distro.slug,
        "state": submission.state,
        "progress": submission.progress,
        "verdict": verdict_of(submission),
        "error": submission.error or None,
        "sha256": submission.artifact.sha256,
        "size": submission.artifact.size,
        "file_name": submission.artifact.original_name,
        "package_sha256": submission.package.sha256 if submission.package else None,
        "created_at": submission.created_at.isoformat(),
        "verified_at": submission.verified_at.isoformat() if submission.verified_at else None,
        "findings": [
            {
                "check": f.check_id,
                "severity": f.severity,
                "path": f.path,
                "message": f.message,
                "hint": f.hint,
                "subject": f.subject,
            }
            for f in findings
        ],
    }


def guide_context(project: Project) -> dict:
    """The project's packaging policy, laid out for people: the same data the checks enforce."""
    import bundlecheck

    policy = bundlecheck.load_policy(project.policy)
    deployment = policy.deployment
    config = policy.config
    return {
        "project": project,
        "policy": policy,
        "prereqs": [
            {"name": p.name, "min_version": p.min_version, "aliases": ", ".join(p.aliases)}
            for p in policy.prereqs
        ],
        "patched": policy.patched_prereq,
        "roots": [r.replace("{distro}", "$DISTRO") for r in policy.contribution_roots],
        "config_locations": [loc.replace("{distro}", "$DISTRO") for loc in config.locations]
        if config
        else [],
        "exec_path": config.exec_path if config else None,
        "exec_tools": sorted(
            (config.exec_path.tools.items() if config and config.exec_path else []),
            key=lambda item: item[0],
        ),
        "required_keys": config.required if config else (),
        "script_patterns": ", ".join(policy.script_patterns),
        "recipes": [(family, ", ".join(globs)) for family, globs in policy.recipes.items()],
        "tree": [(m.source, m.target, f"{m.mode:04o}", m.required) for m in deployment.tree]
        if deployment
        else [],
        "files": [
            (m.source.replace("{distro}", "$DISTRO"), m.target, f"{m.mode:04o}")
            for m in deployment.files
        ]
        if deployment
        else [],
        "critical": [(r.path, f"{r.mode:04o}", r.required) for r in deployment.critical]
        if deployment
        else [],
        "symlinks": deployment.symlinks if deployment else (),
        "checks": [
            {"id": check_id, "severity": policy.severity_of(check_id), "description": description}
            for check_id, (_, description) in sorted(bundlecheck.CHECKS.items())
        ],
    }


# --- The staff dashboard ------------------------------------------------------------

MATRIX_COLUMNS = [
    ("invited", "Invited"),
    ("downloaded", "Pre-release downloaded"),
    ("submitted", "Submitted"),
    ("verifying", "Verified"),
    ("failed", "Failed"),
    ("passed", "Passed"),
    ("accepted", "Accepted"),
    ("link", "Package link healthy"),
]
LATE_WINDOW_DAYS = 3


def _cell(status: str, label: str, url: str | None) -> dict:
    return {"status": status, "label": label, "url": url}


def readiness(release: Release, now=None) -> dict:
    """The readiness matrix: one row per distro, one cell per stage, in a fixed number of queries."""
    from datetime import timedelta

    from django.urls import reverse
    from django.utils import timezone

    now = now or timezone.now()
    project = release.project
    claims = list(
        Maintainership.objects.filter(
            project=project, state=Maintainership.State.APPROVED
        ).select_related("user", "distro")
    )
    invited = set(
        PrereleaseInvitation.objects.filter(
            release=release, artifact=release.prerelease_id
        ).values_list("user_id", flat=True)
    )
    downloaded = set(
        PrereleaseDownload.objects.filter(
            release=release, artifact=release.prerelease_id
        ).values_list("user_id", flat=True)
    )
    live = {
        s.distro_id: s
        for s in Submission.objects.filter(
            release=release, state__in=Submission.LIVE_STATES
        ).select_related("distro", "submitter")
    }
    links: dict[int, list[PackageLink]] = {}
    for link in PackageLink.objects.filter(release=release).only("distro_id", "health"):
        links.setdefault(link.distro_id, []).append(link)
    reminded = set(
        Reminder.objects.filter(release=release, sent_at__gte=now - timedelta(days=1)).values_list(
            "distro_id", flat=True
        )
    )
    reopened = set(release.reopened_distros.values_list("pk", flat=True))

    distros: dict[int, Distro] = {c.distro_id: c.distro for c in claims}
    distros.update({s.distro_id: s.distro for s in live.values()})
    maintainers: dict[int, list] = {}
    for claim in claims:
        maintainers.setdefault(claim.distro_id, []).append(claim.user)

    # Decisions shape the source tarball: only until publishing starts.
    deciding = release.state in OPEN_STATES
    deadline = release.submission_deadline
    closing = (
        deciding and deadline is not None and deadline - now <= timedelta(days=LATE_WINDOW_DAYS)
    )
    rows = []
    for distro in sorted(distros.values(), key=lambda d: d.slug):
        people = maintainers.get(distro.pk, [])
        submission = live.get(distro.pk)
        page = reverse("release-distro", args=[project.slug, release.version, distro.slug])
        sub_url = reverse("submission-detail", args=[submission.pk]) if submission else page
        state = submission.state if submission else None
        distro_links = links.get(distro.pk, [])
        health = {link.health for link in distro_links}
        cells = {
            "invited": _cell(
                "done" if any(u.pk in invited for u in people) else "todo",
                "mailed" if any(u.pk in invited for u in people) else "not yet",
                page,
            ),
            "downloaded": _cell(
                "done" if any(u.pk in downloaded for u in people) else "todo",
                "yes" if any(u.pk in downloaded for u in people) else "no",
                page,
            ),
            "submitted": _cell(
                "done" if submission else "todo",
                f"#{submission.pk}" if submission else "nothing",
                sub_url,
            ),
            "verifying": _cell(
                "active" if state in ("received", "verifying") else ("done" if state else "todo"),
                f"{submission.progress}%"
                if state in ("received", "verifying")
                else ("done" if state else "—"),
                sub_url,
            ),
            "failed": _cell(
                "bad" if state in ("failed", "rejected") else "na",
                state if state in ("failed", "rejected") else "—",
                sub_url,
            ),
            "passed": _cell(
                "done" if state in ("passed", "accepted") else "todo",
                "yes" if state in ("passed", "accepted") else "no",
                sub_url,
            ),
            "accepted": _cell(
                "done" if state == "accepted" else "todo",
                "yes" if state == "accepted" else "no",
                sub_url,
            ),
            "link": _cell(
                "bad"
                if "broken" in health
                else "done"
                if "ok" in health
                else "active"
                if "unchecked" in health
                else "todo",
                "broken"
                if "broken" in health
                else "ok"
                if "ok" in health
                else "unchecked"
                if "unchecked" in health
                else "none",
                page + "#links",
            ),
        }
        ready = state in ("passed", "accepted")
        rows.append(
            {
                "distro": distro,
                "maintainers": people,
                "submission": submission,
                "cells": [cells[key] | {"column": key} for key, _ in MATRIX_COLUMNS],
                "late": closing and not ready,
                "lagging": not ready,
                "reminded_today": distro.pk in reminded,
                "reopened": distro.pk in reopened,
                "can_decide": deciding and state == "passed",
                "can_reject": deciding and state in ("passed", "failed", "accepted"),
                "page": page,
            }
        )
    counts = [
        (
            label,
            sum(
                row["cells"][i]["status"] == ("bad" if key == "failed" else "done") for row in rows
            ),
        )
        for i, (key, label) in enumerate(MATRIX_COLUMNS)
    ]
    return {
        "release": release,
        "project": project,
        "columns": MATRIX_COLUMNS,
        "rows": rows,
        "counts": counts,
        "late": sum(row["late"] for row in rows),
        "lagging": [row["distro"] for row in rows if row["lagging"]],
        "deadline": deadline,
        "deadline_passed": deadline is not None and deadline <= now,
        "release_date": release.release_date,
        "now": now,
    }


def staff_release_list():
    return Project.objects.prefetch_related(
        Prefetch("releases", queryset=Release.objects.order_by("-created_at"))
    )

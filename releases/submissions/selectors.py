"""Reads of the distro page and the verification report."""

from __future__ import annotations

from releases.models import Distro, Finding, PackageLink, PrereleaseDownload, Release, Submission
from releases.permissions import is_active_maintainer
from releases.prereleases.services import prerelease_path
from releases.rules import accepting_uploads

SEVERITY_ORDER = ("error", "warning", "info")


def release_distro_context(release: Release, distro: Distro, user) -> dict:
    submissions = list(
        Submission.objects.filter(release=release, distro=distro)
        .select_related("artifact", "submitter")
        .order_by("-created_at")
    )
    live = next((s for s in submissions if s.state in Submission.LIVE_STATES), None)
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
            prerelease_path(release=release, user=user)
            if release.prerelease_id and is_active_maintainer(user, release.project, distro)
            else None
        ),
        "downloaded": PrereleaseDownload.objects.filter(release=release, user=user).first(),
        "accepting": accepting_uploads(release, distro),
    }


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

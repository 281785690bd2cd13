"""Reads of the distro page and the verification report."""

from __future__ import annotations

import bundlecheck
from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db.models import Case, Count, Q, When

from releases.events import Event
from releases.models import (
    AuditEvent,
    Distro,
    Finding,
    PackageLink,
    PrereleaseDownload,
    Release,
    Submission,
)
from releases.permissions import is_active_maintainer
from releases.policies import rules_for, why_anchor
from releases.prereleases.services import prerelease_path
from releases.rules import links_refusal, next_step, upload_refusal

SEVERITY_ORDER = ("error", "warning", "info")


def packaging_paths(project, distro: Distro) -> dict:
    """Where this distro's work goes in the project's source package, from its policy:
    the contribution roots, and the configuration file's name and places."""
    policy = rules_for(project)
    config = policy.config
    return {
        "roots": policy.roots_for(distro.slug),
        "config_file": config.file if config else None,
        "config_locations": [bundlecheck.fill_distro(loc, distro.slug) for loc in config.locations]
        if config
        else [],
    }


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
        "paths": packaging_paths(release.project, distro),
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
        # Only a download of the current tarball counts: a respin replaced any older one.
        "downloaded": PrereleaseDownload.objects.filter(
            release=release, user=user, artifact=release.prerelease_id
        ).first(),
        "closed_reason": upload_refusal(release, distro),
        "submitted_ever": bool(submissions),
        "links_refusal": links_refusal(release),
        "links_changeable": links_refusal(release) is None,
    }


def submission_for_page(submission_id: int) -> Submission | None:
    return (
        Submission.objects.select_related(
            "release__project", "distro", "artifact", "package", "submitter", "policy_version"
        )
        .filter(pk=submission_id)
        .first()
    )


def findings_counts(submission: Submission) -> dict[str, int]:
    """How many findings of each severity, counted by the database."""
    rows = submission.findings.values("severity").annotate(n=Count("id"))
    return {row["severity"]: row["n"] for row in rows}


def findings_page(submission: Submission, number=1) -> Page:
    """One page of the findings, errors first."""
    ordered = submission.findings.annotate(
        rank=Case(
            When(severity=Finding.Severity.ERROR, then=0),
            When(severity=Finding.Severity.WARNING, then=1),
            default=2,
        )
    ).order_by("rank", "id")
    return Paginator(ordered, settings.FINDINGS_PER_PAGE).get_page(number)


SEVERITY_HEADINGS = {"error": "Errors", "warning": "Warnings", "info": "Notes"}


def findings_grouped(findings) -> list[tuple[str, str, list[Finding]]]:
    """(severity, heading, findings) per severity that has any, errors first; each
    finding knows the guide's section that says why its check exists (`why`)."""
    findings = list(findings)
    for finding in findings:
        finding.why = why_anchor(finding.check_id)
    return [
        (severity, SEVERITY_HEADINGS[severity], [f for f in findings if f.severity == severity])
        for severity in SEVERITY_ORDER
        if any(f.severity == severity for f in findings)
    ]


FINAL_STATES = {"passed", "failed", "accepted", "rejected", "superseded", "stale"}


def submission_context(submission: Submission, page=1) -> dict:
    final = submission.state in FINAL_STATES
    findings = findings_page(submission, page) if final else None
    return {
        "submission": submission,
        "release": submission.release,
        "project": submission.release.project,
        "distro": submission.distro,
        "groups": findings_grouped(findings) if findings else [],
        "page": findings,
        "counts": findings_counts(submission) if final else {},
        "omitted": submission.findings_omitted,
        "final": final,
        "next_step": next_step(submission.state),
        "decision": decision_of(submission),
        "rejudged": rejudged_of(submission),
        "policy": policy_of(submission),
        "retention_days": settings.UPLOAD_RETENTION_DAYS,
    }


def rejudged_of(submission: Submission) -> str | None:
    """Why the verdict is not the one first given: the newest re-verification that changed
    it, as a sentence (the decision above it may be older than this verdict)."""
    event = (
        AuditEvent.objects.filter(
            object_type="releases.submission",
            object_id=str(submission.pk),
            verb=Event.SUBMISSION_REVERIFIED,
            detail__verdict_changed=True,
        )
        .order_by("-created_at", "-pk")
        .first()
    )
    if event is None:
        return None
    detail = event.detail or {}
    version = detail.get("policy_version")
    return (
        f"Judged again on {event.created_at:%Y-%m-%d %H:%M} UTC"
        + (f" under version {version} of the packaging policy" if version else "")
        + f": it was {detail.get('was', 'judged otherwise')}, it is now {detail.get('state', submission.state)}."
        + (f" {detail['policy_note']}" if detail.get("policy_note") else "")
    )


def policy_of(submission: Submission) -> dict | None:
    """The version of the project's policy the verdict was reached by (None before
    verification, and for submissions judged before policies had versions)."""
    version = submission.policy_version
    if version is None:
        return None
    return {"version": version.number, "sha256": version.sha256}


def decision_of(submission: Submission) -> dict | None:
    """The release team's accept or reject, with their comment, once made."""
    if submission.decided_at is None:
        return None
    if submission.state in (Submission.State.ACCEPTED, Submission.State.REJECTED):
        verb = submission.state
    else:
        # A later upload or a respin moved it on; the decision stays on record.
        last = (
            AuditEvent.objects.filter(
                object_type="releases.submission",
                object_id=str(submission.pk),
                verb__in=("submission.accept", "submission.reject"),
            )
            .order_by("-created_at", "-id")
            .values_list("verb", flat=True)
            .first()
        )
        verb = "rejected" if last == "submission.reject" else "accepted"
    by = submission.decided_by
    return {
        "verb": verb,
        "comment": submission.decision_comment,
        "by": by.get_username() if by else None,
        "at": submission.decided_at.isoformat(),
    }


def verdict_of(submission: Submission) -> str | None:
    if submission.state in ("received", "verifying"):
        return None
    if submission.error:
        return "error"
    has_errors = submission.findings.filter(severity=Finding.Severity.ERROR).exists()
    return "fail" if has_errors else "pass"


def _finding_data(f: Finding) -> dict:
    return {
        "check": f.check_id,
        "severity": f.severity,
        "path": f.path,
        "message": f.message,
        "hint": f.hint,
        "subject": f.subject,
        "url": f.url or None,
    }


def submission_report(submission: Submission, page=None) -> dict:
    """The verification report as JSON: all kept findings, or one page of them."""
    if page is None:
        findings, paging = submission.findings.all(), {}
    else:
        current = findings_page(submission, page)
        findings = current.object_list
        paging = {
            "findings_page": current.number,
            "findings_pages": current.paginator.num_pages,
            "findings_next_page": current.next_page_number() if current.has_next() else None,
        }
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
        "next_step": next_step(submission.state),
        "decision": decision_of(submission),
        "checked_with": submission.checked_with,
        "policy": policy_of(submission),
        "findings_count": sum(findings_counts(submission).values()),
        "findings_omitted": submission.findings_omitted,
        **paging,
        "findings": [_finding_data(f) for f in findings],
    }


# Where a distro stands for a release: the maintainer's stepper.
STEPS = [
    ("claimed", "Claimed"),
    ("downloaded", "Pre-release downloaded"),
    ("uploaded", "Uploaded"),
    ("verified", "Verified"),
    ("accepted", "Accepted"),
    ("released", "Released"),
]

# What others did that a maintainer of the distro should hear of on its page.
NEWS_EVENTS = (
    Event.RELEASE_RESPUN,
    Event.RELEASE_FROZEN,
    Event.RELEASE_UNFROZEN,
    Event.RELEASE_DISTRO_REOPENED,
    Event.RELEASE_PUBLISHED,
    Event.RELEASE_WITHDRAWN,
    Event.SUBMISSION_ACCEPTED,
    Event.SUBMISSION_REJECTED,
    Event.SUBMISSION_REVERIFIED,
    Event.POLICY_SAVED,
)


def distro_news(release: Release, distro: Distro, user, since) -> list:
    """What others changed for this release and distro since `since` (None: nothing
    to compare with yet), oldest first: respins, freezes, decisions, policy versions."""
    if since is None:
        return []
    return list(
        AuditEvent.objects.filter(created_at__gt=since, verb__in=NEWS_EVENTS)
        .filter(
            Q(release=release, distro=distro)
            | Q(release=release, distro__isnull=True)
            | Q(project=release.project_id, verb=Event.POLICY_SAVED)
        )
        .exclude(actor=user)
        .select_related("actor")
        .order_by("created_at", "pk")[:20]
    )

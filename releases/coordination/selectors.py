"""Reads of the release dashboard: the readiness matrix, in a fixed number of queries."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import CharField, Max, Prefetch, Q, Subquery
from django.db.models.functions import Cast
from django.urls import reverse
from django.utils import timezone

from releases import rules, submission_lifecycle
from releases.models import (
    AuditEvent,
    Distro,
    Maintainership,
    PackageLink,
    PrereleaseDownload,
    PrereleaseInvitation,
    Project,
    Release,
    Reminder,
    Submission,
)
from releases.rules import OPEN_STATES
from releases.submission_lifecycle import Action as SubmissionAction

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
    reminded = dict(
        Reminder.objects.filter(release=release)
        .values("distro_id")
        .annotate(last=Max("sent_at"))
        .values_list("distro_id", "last")
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
                "active"
                if state in ("received", "verifying")
                else ("na" if state in ("failed", "rejected") else ("done" if state else "todo")),
                f"{submission.progress}%"
                if state in ("received", "verifying")
                else ("verified" if state else "—"),
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
        actions = submission_lifecycle.allowed_actions(submission, release) if submission else set()
        rows.append(
            {
                "distro": distro,
                "maintainers": people,
                "submission": submission,
                "cells": [cells[key] | {"column": key} for key, _ in MATRIX_COLUMNS],
                "late": closing and not ready,
                "lagging": not ready,
                "reminded_at": reminded.get(distro.pk),
                "reminded_today": distro.pk in reminded
                and reminded[distro.pk] >= now - timedelta(days=1),
                "can_remind": rules.remind_refusal(release) is None and not ready,
                "reopened": distro.pk in reopened,
                "can_decide": SubmissionAction.ACCEPT in actions,
                "can_reject": SubmissionAction.REJECT in actions,
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


def _names(rows) -> str:
    return ", ".join(row["distro"].name for row in rows)


def release_summary(release: Release, matrix: dict | None = None, now=None) -> dict:
    """What a release manager should know before a decision that is hard to undo:
    where each distro stands, the days to the release date, the broken links."""
    now = now or timezone.now()
    matrix = matrix or readiness(release, now=now)
    rows = matrix["rows"]

    def state(row):
        return row["submission"].state if row["submission"] else None

    accepted = [r for r in rows if state(r) == Submission.State.ACCEPTED]
    passing = [r for r in rows if state(r) == Submission.State.PASSED]
    failed = [r for r in rows if state(r) in (Submission.State.FAILED, Submission.State.REJECTED)]
    verifying = [r for r in rows if state(r) in (Submission.State.RECEIVED, "verifying")]
    missing = [r for r in rows if state(r) is None]
    broken = list(
        PackageLink.objects.filter(release=release, health=PackageLink.Health.BROKEN)
        .select_related("distro")
        .order_by("distro__slug")
    )
    days = (release.release_date - now).days if release.release_date else None
    maintainers = {person.pk for row in rows for person in row["maintainers"]}
    return {
        "distros": len(rows),
        "accepted": accepted,
        "passing": passing,
        "failed": failed,
        "verifying": verifying,
        "missing": missing,
        "broken_links": broken,
        "days_to_release": days,
        "maintainers": len(maintainers),
        "lines": _summary_lines(
            len(rows), accepted, passing, failed, verifying, missing, broken, days
        ),
    }


def _summary_lines(total, accepted, passing, failed, verifying, missing, broken, days):
    lines = [
        f"{len(accepted)} of {total} distros accepted"
        + (f": {_names(accepted)}." if accepted else ".")
    ]
    for rows, what in (
        (passing, "passed but not accepted yet"),
        (verifying, "still being verified"),
        (failed, "failed or rejected"),
        (missing, "with nothing submitted"),
    ):
        if rows:
            lines.append(f"{len(rows)} {what}: {_names(rows)}.")
    if days is not None:
        lines.append(
            f"The release date is in {days} day{'s' if days != 1 else ''}."
            if days >= 0
            else f"The release date passed {-days} day{'s' if days != -1 else ''} ago."
        )
    else:
        lines.append("No release date is set.")
    if broken:
        lines.append(
            f"{len(broken)} package link{'s are' if len(broken) != 1 else ' is'} broken: "
            + ", ".join(f"{link.distro.name} ({link.url or 'staged file'})" for link in broken)
            + "."
        )
    return lines


AUDIT_PAGE_SIZE = 50


def audit_events(*, release=None, distro=None, actor: str = "", verb: str = ""):
    """The audit trail, newest first, narrowed to a release, a distro, an actor or a verb.

    A release's events include those of its submissions and package links; a
    distro's, those of its submissions, package links and claims.
    """
    events = AuditEvent.objects.select_related("actor")
    if release is not None:
        events = events.filter(
            Q(object_type="releases.release", object_id=str(release.pk))
            | _objects_of("releases.submission", Submission.objects.filter(release=release))
            | _objects_of("releases.packagelink", PackageLink.objects.filter(release=release))
        )
    if distro is not None:
        events = events.filter(
            _objects_of("releases.submission", Submission.objects.filter(distro=distro))
            | _objects_of("releases.packagelink", PackageLink.objects.filter(distro=distro))
            | _objects_of("releases.maintainership", Maintainership.objects.filter(distro=distro))
            | Q(object_type="releases.distro", object_id=str(distro.pk))
            | Q(detail__distro=distro.slug)
        )
    if actor:
        events = events.filter(actor__username=actor)
    if verb:
        events = events.filter(verb=verb)
    return events.order_by("-created_at", "-id")


def _objects_of(object_type: str, rows) -> Q:
    ids = rows.annotate(key=Cast("pk", CharField())).values("key")
    return Q(object_type=object_type, object_id__in=Subquery(ids))


_OBJECT_PAGES = {
    "releases.release": "staff-release",
    "releases.submission": "submission-detail",
}


def audit_page(events_page) -> list[dict]:
    """Rows for the audit page: each event with a link to its object, where it has a page."""
    events = list(events_page)
    project_ids = {
        int(e.object_id)
        for e in events
        if e.object_type == "releases.project" and e.object_id.isdigit()
    }
    slugs = dict(Project.objects.filter(pk__in=project_ids).values_list("pk", "slug"))
    rows = []
    for event in events:
        name = _OBJECT_PAGES.get(event.object_type)
        url = reverse(name, args=[event.object_id]) if name and event.object_id.isdigit() else None
        slug = slugs.get(int(event.object_id)) if event.object_id.isdigit() else None
        if event.object_type == "releases.project" and slug:
            # A project's events are its policy's: the version saved, or the policy page.
            version = event.detail.get("version") if isinstance(event.detail, dict) else None
            url = (
                reverse("staff-policy-version", args=[slug, version])
                if isinstance(version, int)
                else reverse("staff-policy", args=[slug])
            )
        rows.append({"event": event, "url": url})
    return rows


def audit_verbs() -> list[str]:
    return list(AuditEvent.objects.order_by("verb").values_list("verb", flat=True).distinct())


def publish_failure(release: Release) -> str | None:
    """Why the last publish of a frozen release failed, if it did: the error of
    its newest publish_failed event, unless a publish started since."""
    if release.state != Release.State.FROZEN:
        return None
    last = (
        AuditEvent.objects.filter(
            object_type=release._meta.label_lower,
            object_id=str(release.pk),
            verb__in=["release.publish", "release.publish_failed"],
        )
        .order_by("-created_at", "-pk")
        .values_list("verb", "detail")
        .first()
    )
    if last is None or last[0] != "release.publish_failed":
        return None
    return (last[1] or {}).get("error") or "The assembly failed."

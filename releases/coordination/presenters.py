"""The release dashboard's presentation: the readiness matrix and the summary a
release manager reads, built from what `selectors` read."""

from __future__ import annotations

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from releases import rules, submission_lifecycle
from releases.models import Distro, Release, Submission
from releases.rules import OPEN_STATES
from releases.submission_lifecycle import Action as SubmissionAction

from . import selectors

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

#: After publishing, what each distro's branches ship (releases/repositories).
AVAILABLE_COLUMN = ("available", "Available in")

LATE_WINDOW_DAYS = 3

# The states a verdict has been given in (verification finished, whatever followed).
JUDGED = ("passed", "failed", "accepted", "rejected")


def _cell(status: str, label: str, url: str | None) -> dict:
    return {"status": status, "label": label, "url": url}


def _available_cell(repositories: list, url: str) -> dict:
    """"trixie 2.0-1, bookworm 1.9-3 (legacy)": done when a branch ships this release."""
    if not repositories:
        return _cell("todo", "no repository", url)
    parts, statuses = [], set()
    for repository in repositories:
        status = repository.status or "waiting"
        statuses.add(status)
        shown = f"{repository.branch} {repository.version}".strip()
        parts.append(shown if status == "newest" else f"{shown} ({status})")
    ships = any(r.status == "newest" and r.version for r in repositories)
    cell = "done" if ships else "bad" if statuses & {"outdated", "unknown"} else "active"
    return _cell(cell, ", ".join(parts), url)


def readiness(release: Release, now=None) -> dict:
    """The readiness matrix: one row per distro, one cell per stage, in a fixed number of queries."""
    now = now or timezone.now()
    project = release.project
    facts = selectors.readiness_facts(release)
    claims, invited, downloaded, live = facts.claims, facts.invited, facts.downloaded, facts.live
    links, reminded, reopened = facts.links, facts.reminded, facts.reopened
    repositories = selectors.release_repositories(release)
    columns = MATRIX_COLUMNS + ([AVAILABLE_COLUMN] if repositories else [])

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
                else ("done" if state in JUDGED else "todo"),
                f"{submission.progress}%"
                if state in ("received", "verifying")
                else ("verified" if state in JUDGED else "—"),
                sub_url,
            ),
            # Failed verification only: a release team's rejection is a decision,
            # shown in the Accepted column.
            "failed": _cell(
                "bad" if state == "failed" else "na",
                "failed" if state == "failed" else "—",
                sub_url,
            ),
            "passed": _cell(
                "done" if state in ("passed", "accepted") else "todo",
                "yes" if state in ("passed", "accepted") else "no",
                sub_url,
            ),
            "accepted": _cell(
                "done" if state == "accepted" else ("bad" if state == "rejected" else "todo"),
                "yes" if state == "accepted" else ("rejected" if state == "rejected" else "no"),
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
        if repositories:
            cells["available"] = _available_cell(
                repositories.get(distro.pk, []),
                reverse("distro-repositories", args=[project.slug, distro.slug]),
            )
        ready = state in ("passed", "accepted")
        actions = submission_lifecycle.allowed_actions(submission, release) if submission else set()
        rows.append(
            {
                "distro": distro,
                "maintainers": people,
                "submission": submission,
                "cells": [cells[key] | {"column": key} for key, _ in columns],
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
        for i, (key, label) in enumerate(columns)
    ]
    return {
        "release": release,
        "project": project,
        "columns": columns,
        "rows": rows,
        "counts": counts,
        "late": sum(row["late"] for row in rows),
        "lagging": [row["distro"] for row in rows if row["lagging"]],
        "deadline": deadline,
        "deadline_passed": deadline is not None and deadline <= now,
        "release_date": release.release_date,
        "now": now,
    }


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
    broken = selectors.broken_links(release)
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
    slugs = selectors.project_slugs(project_ids)
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
        rows.append({"event": event, "url": url, "details": audit_details(event.detail)})
    return rows


def _said(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(_said(v) for v in value) or "none"
    if isinstance(value, dict):
        return "; ".join(f"{k} {_said(v)}" for k, v in value.items()) or "none"
    return "—" if value is None or value == "" else str(value)


def audit_details(detail) -> list[tuple[str, str]]:
    """An event's detail as words: lists and values written out, empty ones left out."""
    if not isinstance(detail, dict):
        return [("detail", _said(detail))]
    return [
        (key.replace("_", " "), _said(value))
        for key, value in detail.items()
        if value not in ([], {}, "", None)
    ]


# The progress picture: each distro's stage, day by day, up to the deadline.
STAGES = [
    ("none", "nothing yet"),
    ("downloaded", "pre-release downloaded"),
    ("uploaded", "uploaded"),
    ("failed", "failed verification or rejected"),
    ("passed", "passed verification"),
    ("accepted", "accepted"),
]
STAGE_LABELS = dict(STAGES)
_RANK = {name: rank for rank, (name, _) in enumerate(STAGES)}
MAX_DAYS = 60
CELL, ROW, LEFT, TOP = 14, 22, 110, 24


def _stage_after(stage: str, verb: str, detail: dict) -> str:
    state = (detail or {}).get("state", "")
    if verb == "submission.created":
        return "uploaded"
    if verb in ("submission.verified", "submission.reverified"):
        return "passed" if state in ("passed", "accepted") else "failed"
    if verb == "submission.accepted":
        return "accepted"
    if verb == "submission.rejected":
        return "failed"
    if verb == "release.respun":
        return "none"  # a new pre-release: everyone starts again
    return stage


def progress_picture(release: Release, rows: list[dict], now=None) -> dict | None:
    """Each distro's stage at the end of each day from opening to the deadline (or today),
    as SVG cells with a table of the same; None before the release opened."""
    now = now or timezone.now()
    history = selectors.progress_history(release)
    opened = history["opened"]
    if opened is None or not rows:
        return None
    first = opened.date()
    end = max(filter(None, [now, release.submission_deadline])).date()
    days = [first + timedelta(days=i) for i in range(min((end - first).days + 1, MAX_DAYS))]
    by_distro: dict[int, list[tuple]] = {}
    everyone = []
    for distro_id, verb, detail, at in history["events"]:
        if distro_id is None:
            everyone.append((at, verb, detail))
        else:
            by_distro.setdefault(distro_id, []).append((at, verb, detail))
    downloaded: dict[int, object] = {}
    for distro_id, at in history["downloads"]:
        downloaded[distro_id] = min(at, downloaded.get(distro_id, at))
    today = now.date()
    lines = []
    for index, row in enumerate(rows):
        distro = row["distro"]
        stage, changes = "none", sorted(
            by_distro.get(distro.pk, []) + everyone, key=lambda c: c[0]
        )
        cells = []
        for column, day in enumerate(days):
            if day > today:
                break
            while changes and changes[0][0].date() <= day:
                _, verb, detail = changes.pop(0)
                stage = _stage_after(stage, verb, detail)
            shown = stage
            if shown == "none" and distro.pk in downloaded and downloaded[distro.pk].date() <= day:
                shown = "downloaded"
            cells.append(
                {
                    "x": LEFT + column * CELL,
                    "stage": shown,
                    "label": f"{distro.name}, {day:%Y-%m-%d}: {STAGE_LABELS[shown]}",
                }
            )
        lines.append({"distro": distro, "y": TOP + index * ROW, "cells": cells})
    deadline = release.submission_deadline
    deadline_x = (
        LEFT + ((deadline.date() - first).days + 1) * CELL
        if deadline and deadline.date() >= first and (deadline.date() - first).days < MAX_DAYS
        else None
    )
    return {
        "days": days,
        "lines": lines,
        "width": LEFT + len(days) * CELL + 10,
        "height": TOP + len(rows) * ROW + 6,
        "cell": CELL,
        "deadline_x": deadline_x,
        "stages": STAGES,
        "first": days[0],
        "last": days[-1],
        "summary": ", ".join(
            f"{line['distro'].name} {STAGE_LABELS[line['cells'][-1]['stage']]}"
            for line in lines
            if line["cells"]
        ),
    }

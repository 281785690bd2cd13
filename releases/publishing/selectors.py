"""Reads for the public side: everything the download page shows, in a fixed
number of queries whatever the number of releases and distros."""

from __future__ import annotations

from collections import defaultdict
from urllib.parse import urlsplit

from django.db.models import Prefetch, QuerySet

from releases.models import (
    LIVE_SUBMISSION_STATES,
    Maintainership,
    PackageLink,
    Project,
    Release,
    Submission,
)

PUBLIC_STATES = (Release.State.RELEASED, Release.State.WITHDRAWN)

STATUS_LABELS = {
    Submission.State.ACCEPTED: "verified and accepted",
    Submission.State.PASSED: "verified, awaiting acceptance",
    Submission.State.FAILED: "verification failed",
    Submission.State.REJECTED: "not accepted",
    Submission.State.RECEIVED: "awaiting verification",
    Submission.State.VERIFYING: "being verified",
}


def safe_http_url(url: str) -> str | None:
    """The URL if it is an http(s) address a page may link to, else None."""
    try:
        parts = urlsplit(url or "")
    except ValueError:
        return None
    if parts.scheme.lower() in {"http", "https"} and parts.netloc:
        return url
    return None


def public_releases(*, project: Project) -> QuerySet[Release]:
    """Released and withdrawn releases, newest first, with what the page shows of each."""
    return (
        Release.objects.filter(project=project, state__in=PUBLIC_STATES)
        .select_related("source_tarball")
        .prefetch_related(
            Prefetch(
                "package_links",
                queryset=PackageLink.objects.select_related("distro", "staged").order_by(
                    "distro__slug", "created_at", "pk"
                ),
            ),
            Prefetch(
                "submissions",
                queryset=Submission.objects.filter(state__in=LIVE_SUBMISSION_STATES)
                .select_related("distro", "submitter__profile")
                .order_by("distro__slug"),
                to_attr="live_submissions",
            ),
        )
        .order_by("-published_at", "-created_at", "-pk")
    )


def approved_maintainers(*, project: Project) -> dict[int, list]:
    """Approved maintainers of the project, by distro id, oldest claim first."""
    by_distro: dict[int, list] = defaultdict(list)
    rows = (
        Maintainership.objects.filter(project=project, state=Maintainership.State.APPROVED)
        .select_related("user__profile")
        .order_by("requested_at", "pk")
    )
    for row in rows:
        by_distro[row.distro_id].append(row.user)
    return by_distro


def credit_line(distro_name: str, names: list[str]) -> str:
    if not names:
        return ""
    joined = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return f"Packaged for {distro_name} by {joined}"

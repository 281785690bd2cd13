"""Reads for the public side: everything the download page shows, in a fixed
number of queries whatever the number of releases and distros."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.contrib.auth import get_user_model
from django.db.models import Prefetch
from django.urls import reverse

from releases.models import (
    LIVE_SUBMISSION_STATES,
    Distro,
    Maintainership,
    PackageLink,
    Project,
    Release,
    Submission,
)
from releases.sourceproof.selectors import provenance_by_release

PUBLIC_STATES = (Release.State.RELEASED, Release.State.WITHDRAWN)
PREPARING_STATES = (Release.State.PRERELEASE, Release.State.FROZEN, Release.State.PUBLISHING)

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


@dataclass
class PageRows:
    """The public page's rows, as plain values, by id."""

    releases: list[dict]
    distros: dict[int, tuple[str, str]]
    submissions: dict[int, dict[int, tuple[str, int]]]  # release -> distro -> (state, submitter)
    links: dict[int, dict[int, list[dict]]]  # release -> distro -> links
    maintainers: dict[int, list[int]]  # distro -> user ids, oldest claim first
    names: dict[int, str]  # user id -> the name the page credits
    # A release is being prepared with the distributions (its version stays private).
    preparing: bool = False
    # release -> its source proof (repository, tag, commit, tree, summary), when it has one
    proofs: dict[int, dict] = field(default_factory=dict)


def public_page_rows(*, project: Project) -> PageRows:
    """Everything the download page shows, in six queries whatever its size (seven when
    a release was proved against its source tag)."""
    rows = list(
        Release.objects.filter(project=project, state__in=PUBLIC_STATES + PREPARING_STATES)
        .order_by("-published_at", "-created_at", "-pk")
        .values(
            "id",
            "version",
            "state",
            "withdrawn_reason",
            "withdrawn_at",
            "compromised",
            "published_at",
            "source_tarball__key",
            "source_tarball__size",
            "source_tarball__sha256",
            "source_tarball__sha512",
            "source_tarball__signed_by",
            "source_tag",
            "offline_signed_by",
        )
    )
    releases = [r for r in rows if r["state"] in PUBLIC_STATES]
    preparing = len(releases) < len(rows)
    release_ids = [r["id"] for r in releases]
    submissions: dict[int, dict[int, tuple[str, int]]] = defaultdict(dict)
    for release_id, distro_id, state, submitter_id in Submission.objects.filter(
        release__in=release_ids, state__in=LIVE_SUBMISSION_STATES
    ).values_list("release_id", "distro_id", "state", "submitter_id"):
        submissions[release_id][distro_id] = (state, submitter_id)
    links: dict[int, dict[int, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for link in (
        PackageLink.objects.filter(release__in=release_ids)
        .order_by("created_at", "pk")
        .values(
            "id",
            "release_id",
            "distro_id",
            "url",
            "sha256",
            "health",
            "checked_at",
            "staged_id",
            "staged__original_name",
            "staged__size",
            "staged__sha256",
        )
    ):
        links[link["release_id"]][link["distro_id"]].append(link)
    maintainers: dict[int, list[int]] = defaultdict(list)
    for distro_id, user_id in (
        Maintainership.objects.filter(project=project, state=Maintainership.State.APPROVED)
        .order_by("requested_at", "pk")
        .values_list("distro_id", "user_id")
    ):
        maintainers[distro_id].append(user_id)
    distro_ids = set(maintainers)
    user_ids = {uid for ids in maintainers.values() for uid in ids}
    for by_distro in submissions.values():
        distro_ids |= by_distro.keys()
        user_ids |= {submitter for _, submitter in by_distro.values()}
    for by_distro in links.values():
        distro_ids |= by_distro.keys()
    distros = {
        pk: (slug, name)
        for pk, slug, name in Distro.objects.filter(pk__in=distro_ids).values_list(
            "pk", "slug", "name"
        )
    }
    names = {
        pk: display or f"{first} {last}".strip() or username
        for pk, username, first, last, display in get_user_model()
        .objects.filter(pk__in=user_ids)
        .values_list("pk", "username", "first_name", "last_name", "profile__display_name")
    }
    proved = [r["id"] for r in releases if r["source_tag"]]
    proofs = provenance_by_release(proved) if proved else {}
    return PageRows(releases, distros, submissions, links, maintainers, names, preparing, proofs)


def credit_line(distro_name: str, names: list[str]) -> str:
    if not names:
        return ""
    joined = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return f"Packaged for {distro_name} by {joined}"


def release_in_words(release: Release) -> str:
    """Where a release stands, said for the public."""
    State = Release.State
    if release.state == State.PRERELEASE:
        until = (
            f" until {release.submission_deadline:%Y-%m-%d %H:%M} UTC"
            if release.submission_deadline
            else ""
        )
        return f"Being packaged: distro maintainers send their work{until}."
    if release.state == State.FROZEN:
        return "Frozen: the release team is reviewing the distros' work."
    if release.state == State.PUBLISHING:
        return "Being published right now."
    if release.state == State.RELEASED:
        when = f" on {release.published_at:%Y-%m-%d}" if release.published_at else ""
        return f"Released{when}."
    if release.state == State.WITHDRAWN:
        return f"Withdrawn: {release.withdrawn_reason}"
    return "In preparation."


def home_projects() -> list[dict]:
    """Each project with its current release in words, and where the public downloads it.

    The current release is the one being coordinated, or else the latest one
    published; drafts are not shown.
    """
    rows = []
    for project in Project.objects.prefetch_related(
        Prefetch(
            "releases",
            queryset=Release.objects.exclude(state=Release.State.DRAFT).order_by("-created_at"),
        )
    ).order_by("name"):
        releases = list(project.releases.all())
        open_states = (Release.State.PRERELEASE, Release.State.FROZEN, Release.State.PUBLISHING)
        current = next((r for r in releases if r.state in open_states), None) or next(
            (r for r in releases if r.state == Release.State.RELEASED), None
        ) or (releases[0] if releases else None)
        rows.append(
            {
                "project": project,
                "current": current,
                "current_in_words": release_in_words(current) if current else "",
                "downloads_url": reverse("publishing:page", args=[project.slug]),
                # Only then is there a download page with something to download.
                "published": any(r.state in PUBLIC_STATES for r in releases),
                "others": [
                    {"release": r, "in_words": release_in_words(r)}
                    for r in releases
                    if r is not current
                ],
            }
        )
    return rows

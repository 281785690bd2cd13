"""Reads for the public side: everything the download page shows, in a fixed
number of queries whatever the number of releases and distros."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.contrib.auth import get_user_model
from django.db.models import Prefetch, QuerySet

from releases.models import (
    LIVE_SUBMISSION_STATES,
    Distro,
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


@dataclass
class PageRows:
    """The public page's rows, as plain values, by id."""

    releases: list[dict]
    distros: dict[int, tuple[str, str]]
    submissions: dict[int, dict[int, tuple[str, int]]]  # release -> distro -> (state, submitter)
    links: dict[int, dict[int, list[dict]]]  # release -> distro -> links
    maintainers: dict[int, list[int]]  # distro -> user ids, oldest claim first
    names: dict[int, str]  # user id -> the name the page credits


def public_page_rows(*, project: Project) -> PageRows:
    """Everything the download page shows, in six queries whatever its size."""
    releases = list(
        Release.objects.filter(project=project, state__in=PUBLIC_STATES)
        .order_by("-published_at", "-created_at", "-pk")
        .values(
            "id",
            "version",
            "state",
            "withdrawn_reason",
            "published_at",
            "source_tarball__key",
            "source_tarball__size",
            "source_tarball__sha256",
            "source_tarball__sha512",
        )
    )
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
            "check_detail",
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
    return PageRows(releases, distros, submissions, links, maintainers, names)


def credit_line(distro_name: str, names: list[str]) -> str:
    if not names:
        return ""
    joined = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return f"Packaged for {distro_name} by {joined}"


def project_list_with_releases():
    """Every project with its releases, newest first: the home page."""
    return Project.objects.prefetch_related(
        Prefetch("releases", queryset=Release.objects.order_by("-created_at"))
    )

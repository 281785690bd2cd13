"""Reads of the release dashboard: the readiness matrix, in a fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Max, Prefetch, Q, Subquery

from releases.events import Event
from releases.models import (
    Artifact,
    AuditEvent,
    DistroRepository,
    Maintainership,
    PackageLink,
    PrereleaseDownload,
    PrereleaseInvitation,
    Project,
    Release,
    Reminder,
    Submission,
)


@dataclass
class ReadinessFacts:
    """What the readiness matrix is made of, read in a fixed number of queries."""

    claims: list[Maintainership]
    invited: set[int]
    downloaded: set[int]
    live: dict[int, Submission]
    links: dict[int, list[PackageLink]]
    reminded: dict[int, object]
    reopened: set[int]


def readiness_facts(release: Release) -> ReadinessFacts:
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
    reminders = Reminder.objects.filter(release=release)
    if release.prerelease_id:
        # Reminders about a pre-release a respin replaced are history, not state.
        reminders = reminders.filter(
            sent_at__gte=Subquery(
                Artifact.objects.filter(pk=release.prerelease_id).values("created_at")
            )
        )
    reminded = dict(
        reminders.values("distro_id")
        .annotate(last=Max("sent_at"))
        .values_list("distro_id", "last")
    )
    reopened = set(release.reopened_distros.values_list("pk", flat=True))

    return ReadinessFacts(claims, invited, downloaded, live, links, reminded, reopened)


def progress_history(release: Release) -> dict:
    """What the progress picture is drawn from: when the release opened, each distro's
    submission events and each maintainer's pre-release download, in three queries."""
    opened = (
        AuditEvent.objects.filter(release=release, verb=Event.RELEASE_OPENED)
        .order_by("created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    events = list(
        AuditEvent.objects.filter(release=release)
        .filter(
            Q(
                distro__isnull=False,
                verb__in=[
                    Event.SUBMISSION_CREATED,
                    Event.SUBMISSION_VERIFIED,
                    Event.SUBMISSION_REVERIFIED,
                    Event.SUBMISSION_ACCEPTED,
                    Event.SUBMISSION_REJECTED,
                ],
            )
            # A respin concerns every distro: its row has none.
            | Q(verb=Event.RELEASE_RESPUN)
        )
        .order_by("created_at", "pk")
        .values_list("distro_id", "verb", "detail", "created_at")
    )
    downloads = list(
        PrereleaseDownload.objects.filter(release=release)
        .filter(
            user__maintainerships__project=release.project_id,
            user__maintainerships__state=Maintainership.State.APPROVED,
        )
        .values_list("user__maintainerships__distro_id", "downloaded_at")
    )
    return {"opened": opened, "events": events, "downloads": downloads}


def broken_links(release: Release) -> list[PackageLink]:
    return list(
        PackageLink.objects.filter(release=release, health=PackageLink.Health.BROKEN)
        .select_related("distro")
        .order_by("distro__slug")
    )


def staff_release_list(projects):
    return projects.order_by("name").prefetch_related(
        Prefetch("releases", queryset=Release.objects.order_by("-created_at"))
    )


def claims_waiting_count(projects) -> int:
    """How many claims to maintain a distro of `projects` wait for their team's decision."""
    return Maintainership.objects.filter(
        state=Maintainership.State.REQUESTED, project__in=projects
    ).count()


AUDIT_PAGE_SIZE = 50


def audit_events(
    *,
    release=None,
    distro=None,
    actor: str = "",
    verb: str = "",
    projects=None,
    unscoped: bool = False,
):
    """The audit trail, newest first, narrowed to a release, a distro, an actor or a verb:
    the one query the audit page and the API's audit route both read.

    Each event carries the release and distro it concerns (events.event_record
    fills them from its object), so a release's trail includes its submissions'
    and package links' events, and a distro's its claims' too.

    `projects`: only the events of these projects (the ones a person serves);
    with `unscoped`, also the events that concern no project (accounts, distro
    names: the site administrators' part).
    """
    events = AuditEvent.objects.select_related("actor")
    if projects is not None:
        scope = Q(project__in=projects)
        if unscoped:
            scope |= Q(project__isnull=True)
        events = events.filter(scope)
    if release is not None:
        events = events.filter(release=release)
    if distro is not None:
        events = events.filter(Q(distro=distro) | Q(detail__distro=distro.slug))
    if actor:
        # Part of a name finds the person, as people remember names.
        events = events.filter(actor__username__icontains=actor)
    if verb:
        events = events.filter(verb=verb)
    return events.order_by("-created_at", "-id")


def project_slugs(ids) -> dict[int, str]:
    return dict(Project.objects.filter(pk__in=ids).values_list("pk", "slug"))


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
            verb__in=[
                Event.RELEASE_PUBLISHING,
                Event.RELEASE_PUBLISH_FAILED,
                Event.RELEASE_FROZEN,
                Event.RELEASE_RESPUN,
                Event.RELEASE_UNFROZEN,
            ],
        )
        .order_by("-created_at", "-pk")
        .values_list("verb", "detail")
        .first()
    )
    if last is None or last[0] != Event.RELEASE_PUBLISH_FAILED:
        return None
    return (last[1] or {}).get("error") or "The assembly failed."


def release_repositories(release: Release) -> dict[int, list]:
    """After publishing: each distro's followed branches, as the last reading left them."""
    out: dict[int, list] = {}
    if release.state != Release.State.RELEASED:
        return out
    rows = DistroRepository.objects.filter(project_id=release.project_id).order_by("branch")
    for repository in rows:
        out.setdefault(repository.distro_id, []).append(repository)
    return out

"""Who may see and do what: predicates over a person, read by views, the API and services.

A project's team is its `ProjectMember` rows, one role each. What a role may do
is the table `MAY` below, and nothing else: pages, API routes, mail, the
audit filter and the tests all read it. Site administrators (`is_staff`)
administer the site (workers, the admin, approving new projects); they are on
a project's team only through a membership, like anyone else.

Refusals: a person who serves no role on the project gets the same 404 as for
a project that does not exist (nothing to learn); a member whose role does not
allow the action gets 403, with a sentence naming the role that may.
"""

from __future__ import annotations

from django.conf import settings
from django.db.models import QuerySet

from portal.errors import Forbidden, NotFound
from portal.ratelimit import rate_limit

from .models import Maintainership, Project, ProjectMember, Release

Role = ProjectMember.Role

# Action -> the roles that may take it, on their own project.
VIEW = "view"  # the project's staff pages: dashboard, release, audit, patches, policy
REVIEW = "review"  # accept and reject submissions, answer patches
RUN = "run"  # create, open, freeze, respin, remind, publish, withdraw; claims; signatures
MANAGE = "manage"  # the team, the policy, the signing key, webhooks

MAY: dict[str, frozenset[str]] = {
    VIEW: frozenset({Role.OWNER, Role.RELEASE_MANAGER, Role.REVIEWER}),
    REVIEW: frozenset({Role.OWNER, Role.RELEASE_MANAGER, Role.REVIEWER}),
    RUN: frozenset({Role.OWNER, Role.RELEASE_MANAGER}),
    MANAGE: frozenset({Role.OWNER}),
}

WHO_MAY = {
    VIEW: "its team",
    REVIEW: "its team",
    RUN: "its owners and release managers",
    MANAGE: "its owners",
}

# The one sentence for a project, release or object outside the person's projects,
# whether it exists or not.
NOT_SERVED = "Nothing here among the projects you serve."


def _active(user) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_active)


def is_site_admin(user) -> bool:
    return _active(user) and user.is_staff


def project_role(user, project) -> str | None:
    """`user`'s role on `project` (a Project or its primary key), or None."""
    if not _active(user):
        return None
    project_id = project.pk if isinstance(project, Project) else project
    return (
        ProjectMember.objects.filter(user=user, project_id=project_id)
        .values_list("role", flat=True)
        .first()
    )


def may(user, project, action: str) -> bool:
    return project_role(user, project) in MAY[action]


def serves(user, project) -> bool:
    return project_role(user, project) is not None


def project_check(user, project, action: str) -> None:
    """Raise NotFound (not on the team) or Forbidden (the role does not allow it)."""
    role = project_role(user, project)
    if role is None:
        raise NotFound(NOT_SERVED)
    if role not in MAY[action]:
        raise Forbidden(
            f"As {Role(role).label} of {project} you cannot do this: only {WHO_MAY[action]} may."
        )


def project_for(user, slug: str, action: str) -> Project:
    """The project named `slug`, if `user`'s role on it allows `action`; the same
    NotFound whether it does not exist or the person is not on its team."""
    project = Project.objects.filter(slug=slug).first() if isinstance(slug, str) else None
    if project is None:
        raise NotFound(NOT_SERVED)
    project_check(user, project, action)
    return project


def object_for(user, queryset, pk, project_of, action: str):
    """The object `pk` of `queryset`, if `user`'s role on its project allows `action`
    (`project_of` reads the project from it); NotFound otherwise, as for a missing one."""
    found = queryset.filter(pk=pk).first()
    if found is None:
        raise NotFound(NOT_SERVED)
    project_check(user, project_of(found), action)
    return found


def release_for(user, release_id: int, action: str, *related: str) -> Release:
    """The release `release_id`, if `user`'s role on its project allows `action`."""
    return object_for(
        user,
        Release.objects.select_related("project", *related),
        release_id,
        lambda release: release.project,
        action,
    )


def projects_served(user, action: str = VIEW) -> QuerySet[Project]:
    """The projects on which `user`'s role allows `action`."""
    if not _active(user):
        return Project.objects.none()
    return Project.objects.filter(
        members__user=user, members__role__in=sorted(MAY[action])
    ).distinct()


def roles_of(user) -> dict[int, str]:
    """Project primary key -> `user`'s role there, for a page listing several projects."""
    if not _active(user):
        return {}
    return dict(ProjectMember.objects.filter(user=user).values_list("project_id", "role"))


def allowed(role: str | None) -> dict[str, bool]:
    """What `role` may do, by action name: for a page to pick its buttons."""
    return {action: role in roles for action, roles in MAY.items()}


def team_addresses(project, action: str = RUN) -> list[str]:
    """The addresses of the active members of `project` whose role allows `action`:
    who is mailed what used to go to "staff"."""
    return list(
        ProjectMember.objects.filter(
            project=project, role__in=sorted(MAY[action]), user__is_active=True
        )
        .exclude(user__email="")
        .values_list("user__email", flat=True)
        .distinct()
    )


def is_active_maintainer(user, project, distro=None) -> bool:
    """Approved to maintain `distro` of `project` (any distro when None)."""
    if not _active(user):
        return False
    claims = Maintainership.objects.filter(
        user=user, project=project, state=Maintainership.State.APPROVED
    )
    if distro is not None:
        claims = claims.filter(distro=distro)
    return claims.exists()


def can_see_distro_work(user, project, distro) -> bool:
    """The project's team, and the approved maintainers of that distro, see its submissions."""
    return serves(user, project) or is_active_maintainer(user, project, distro)


def report_read_count(user) -> None:
    """Count one read of a verification report (they are polled, and can be large);
    raises RateLimited past REPORT_READS_PER_MINUTE per person."""
    rate_limit(
        "report-read",
        str(user.pk),
        limit=settings.REPORT_READS_PER_MINUTE,
        window=60,
        what="reads of verification reports",
    )

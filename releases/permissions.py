"""Who may see and do what: predicates over a person, read by views, the API and services."""

from __future__ import annotations

from django.conf import settings

from portal.ratelimit import rate_limit

from .models import Maintainership


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

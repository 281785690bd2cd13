"""Claims: a person asks to maintain a distro of a project; staff approve,
decline or revoke, each with its audit event and mail."""

from __future__ import annotations

import re

from django.db import IntegrityError, transaction
from django.utils import timezone

from portal.errors import BadInput, Conflict
from releases.events import Event, event_record
from releases.models import Distro, Maintainership, Project, Release
from releases.prereleases.services import prerelease_delivery_queue
from releases.rules import OPEN_STATES

DISTRO_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,49}")


@transaction.atomic
def maintainership_request(
    *,
    user,
    project: Project,
    distro: Distro | None = None,
    new_distro_slug: str = "",
    new_distro_name: str = "",
) -> Maintainership:
    """Ask to maintain a distro of a project: an existing distro, or a new one named here."""
    if distro is None:
        distro = distro_get_or_create(slug=new_distro_slug, name=new_distro_name, actor=user)
    if Maintainership.objects.filter(
        user=user, project=project, distro=distro, state__in=Maintainership.LIVE_STATES
    ).exists():
        raise Conflict(f"You already maintain or have asked to maintain {distro} for {project}.")
    try:
        with transaction.atomic():
            claim = Maintainership.objects.create(user=user, project=project, distro=distro)
    except IntegrityError:  # the same request twice at once
        raise Conflict(
            f"You already maintain or have asked to maintain {distro} for {project}."
        ) from None
    event_record(Event.MAINTAINERSHIP_REQUESTED, actor=user, target=claim)
    return claim


def distro_get_or_create(*, slug: str, name: str, actor) -> Distro:
    slug = slug.strip().lower()
    if not DISTRO_SLUG.fullmatch(slug):
        raise BadInput(
            "A distro's short name is the name of its directory in each project's source "
            "package: lower-case letters, digits and '-', starting with a letter or digit "
            "(for example ubuntu).",
            field="new_distro_slug",
        )
    distro, created = Distro.objects.get_or_create(
        slug=slug, defaults={"name": (name or slug).strip()[:100]}
    )
    if created:
        event_record(Event.DISTRO_CREATED, actor=actor, target=distro)
    return distro


DECISION_EVENTS = {
    Maintainership.State.APPROVED: Event.MAINTAINERSHIP_APPROVED,
    Maintainership.State.DECLINED: Event.MAINTAINERSHIP_DECLINED,
    Maintainership.State.REVOKED: Event.MAINTAINERSHIP_REVOKED,
}


def _decide(claim: Maintainership, *, state: str, actor, reason: str, allowed_from: tuple) -> None:
    locked = Maintainership.objects.select_for_update().get(pk=claim.pk)
    if locked.state not in allowed_from:
        raise Conflict(f"This request is already {locked.get_state_display()}.")
    locked.state, locked.reason = state, reason
    locked.decided_by, locked.decided_at = actor, timezone.now()
    locked.save(update_fields=["state", "reason", "decided_by", "decided_at"])
    claim.refresh_from_db()
    event_record(DECISION_EVENTS[state], actor=actor, target=claim, reason=reason)


@transaction.atomic
def maintainership_approve(*, claim: Maintainership, actor) -> None:
    _decide(
        claim,
        state=Maintainership.State.APPROVED,
        actor=actor,
        reason="",
        allowed_from=(Maintainership.State.REQUESTED,),
    )
    # A maintainer approved while a release is open gets its pre-release too.
    for release in Release.objects.select_for_update().filter(
        project=claim.project, state__in=OPEN_STATES, prerelease__isnull=False
    ):
        prerelease_delivery_queue(release)
        release.save(update_fields=["delivery_queued_at"])


@transaction.atomic
def maintainership_decline(*, claim: Maintainership, actor, reason: str) -> None:
    if not reason.strip():
        raise BadInput(
            "Say why the request is declined; the maintainer is mailed the reason.", field="reason"
        )
    _decide(
        claim,
        state=Maintainership.State.DECLINED,
        actor=actor,
        reason=reason.strip(),
        allowed_from=(Maintainership.State.REQUESTED,),
    )


@transaction.atomic
def maintainership_revoke(*, claim: Maintainership, actor, reason: str) -> None:
    if not reason.strip():
        raise BadInput("Say why the maintainership is revoked.", field="reason")
    _decide(
        claim,
        state=Maintainership.State.REVOKED,
        actor=actor,
        reason=reason.strip(),
        allowed_from=(Maintainership.State.APPROVED, Maintainership.State.REQUESTED),
    )

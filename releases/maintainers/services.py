"""Claims: a person asks to maintain a distro of a project; staff approve,
decline or revoke, each with its audit event and mail."""

from __future__ import annotations

import math
import re
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from portal.errors import BadInput, Conflict, RateLimited
from releases.events import Event, event_record
from releases.models import Distro, Maintainership, PackagerCalendar, Project, Release
from releases.prereleases.services import prerelease_delivery_queue
from releases.rules import OPEN_STATES

DISTRO_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,49}")
NEW_DISTRO_WINDOW = timedelta(days=1)


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
    """The distro of that directory name; a new one is named by `actor`.

    A name staff give is listed at once. A maintainer's is seen by them and
    staff only until staff approve a claim on it (`maintainership_approve`),
    and an account names at most NEW_DISTROS_PER_DAY in 24 hours: a distro's
    name is global, and would otherwise be squatted or spammed into every
    other maintainer's claim form.
    """
    slug = slug.strip().lower()
    if not DISTRO_SLUG.fullmatch(slug):
        raise BadInput(
            "A distro's short name is the name of its directory in each project's source "
            "package: lower-case letters, digits and '-', starting with a letter or digit "
            "(for example ubuntu).",
            field="new_distro_slug",
        )
    existing = Distro.objects.filter(slug=slug).first()
    if existing is not None:
        return existing
    staff = bool(getattr(actor, "is_staff", False))
    if not staff:
        _new_distro_allowance(actor)
    distro, created = Distro.objects.get_or_create(
        slug=slug,
        defaults={
            "name": (name or slug).strip()[:100],
            "listed": staff,
            "proposed_by": None if staff else actor,
        },
    )
    if created:
        event_record(Event.DISTRO_CREATED, actor=actor, target=distro, listed=distro.listed)
    return distro


def _new_distro_allowance(actor) -> None:
    """Raise RateLimited (429) once `actor` named NEW_DISTROS_PER_DAY distros in 24 hours."""
    # The account's row serialises its own concurrent claims, so the count holds.
    get_user_model().objects.select_for_update(no_key=True).filter(pk=actor.pk).first()
    limit = settings.NEW_DISTROS_PER_DAY
    since = timezone.now() - NEW_DISTRO_WINDOW
    recent = list(
        Distro.objects.filter(proposed_by=actor, created_at__gte=since)
        .order_by("created_at")
        .values_list("created_at", flat=True)[:limit]
    )
    if len(recent) < limit:
        return
    retry_after = max(
        1, math.ceil((recent[0] + NEW_DISTRO_WINDOW - timezone.now()).total_seconds())
    )
    refused = RateLimited(retry_after=retry_after, what="new distro names")
    refused.message = (
        f"You have named {limit} new {'distro' if limit == 1 else 'distros'} in the last "
        "24 hours, the most one account may (NEW_DISTROS_PER_DAY). Choose a listed "
        f"distro, ask the release team to add yours, or name it again in {_hours(retry_after)}."
    )
    refused.field = "new_distro_slug"
    raise refused


def _hours(seconds: int) -> str:
    hours = -(-seconds // 3600)
    return "1 hour" if hours == 1 else f"{hours} hours"


DECISION_EVENTS = {
    Maintainership.State.APPROVED: Event.MAINTAINERSHIP_APPROVED,
    Maintainership.State.DECLINED: Event.MAINTAINERSHIP_DECLINED,
    Maintainership.State.REVOKED: Event.MAINTAINERSHIP_REVOKED,
}


def _decide(claim: Maintainership, *, state: str, actor, reason: str, allowed_from: tuple) -> None:
    locked = Maintainership.objects.select_for_update(no_key=True).get(pk=claim.pk)
    if locked.state not in allowed_from:
        raise Conflict(f"This request is already {locked.get_state_display()}.")
    locked.state, locked.reason = state, reason
    locked.decided_by, locked.decided_at = actor, timezone.now()
    locked.save(update_fields=["state", "reason", "decided_by", "decided_at"])
    claim.refresh_from_db()
    event_record(DECISION_EVENTS[state], actor=actor, target=claim, reason=reason)


@transaction.atomic
def maintainership_approve(*, claim: Maintainership, actor) -> None:
    """Approve a claim; a distro a maintainer named is listed for everyone with it."""
    _decide(
        claim,
        state=Maintainership.State.APPROVED,
        actor=actor,
        reason="",
        allowed_from=(Maintainership.State.REQUESTED,),
    )
    distro = Distro.objects.select_for_update(no_key=True).get(pk=claim.distro_id)
    if not distro.listed:
        distro.listed = True
        distro.save(update_fields=["listed"])
        claim.distro = distro
        event_record(Event.DISTRO_APPROVED, actor=actor, target=distro)
    # A maintainer approved while a release is open gets its pre-release too.
    for release in Release.objects.select_for_update(no_key=True).filter(
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


def _calendar_secret() -> str:
    return secrets.token_urlsafe(32)


@transaction.atomic
def packager_calendar(*, user) -> PackagerCalendar:
    """The person's calendar address secret, made on first use."""
    calendar, _ = PackagerCalendar.objects.get_or_create(
        user=user, defaults={"token": _calendar_secret()}
    )
    return calendar


@transaction.atomic
def packager_calendar_reset(*, user) -> PackagerCalendar:
    """A new secret: the old address answers 404 from now on."""
    calendar = packager_calendar(user=user)
    calendar.token = _calendar_secret()
    calendar.save(update_fields=["token", "created_at"])
    event_record(Event.CALENDAR_RESET, actor=user, target=None)
    return calendar

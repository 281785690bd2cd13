"""Claims: a person asks to maintain a distro of a project; staff approve,
decline or revoke, each with its audit event and mail."""

from __future__ import annotations

import re

from django.db import IntegrityError, transaction
from django.utils import timezone

from portal.errors import BadInput, Conflict
from releases.audit import audit_record
from releases.models import Distro, Maintainership, Project, Release
from releases.notifications import mail_on_commit, staff_addresses
from releases.prereleases.tasks import release_deliver_prerelease_task
from releases.public import public_changed
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
    audit_record(actor=user, verb="maintainership.request", target=claim)
    mail_on_commit(
        to=staff_addresses(),
        subject=f"[{project}] {user.get_username()} asks to maintain {distro}",
        template="mail/maintainership_requested.txt",
        context={"claim": claim},
    )
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
        audit_record(actor=actor, verb="distro.create", target=distro)
    return distro


def _decide(claim: Maintainership, *, state: str, actor, reason: str, allowed_from: tuple) -> None:
    locked = Maintainership.objects.select_for_update().get(pk=claim.pk)
    if locked.state not in allowed_from:
        raise Conflict(f"This request is already {locked.get_state_display()}.")
    locked.state, locked.reason = state, reason
    locked.decided_by, locked.decided_at = actor, timezone.now()
    locked.save(update_fields=["state", "reason", "decided_by", "decided_at"])
    claim.refresh_from_db()
    audit_record(actor=actor, verb=f"maintainership.{state}", target=claim, reason=reason)
    mail_on_commit(
        to=[claim.user.email],
        subject=f"[{claim.project}] your maintainership of {claim.distro}: {state}",
        template="mail/maintainership_decided.txt",
        context={"claim": claim},
    )


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
    for release_id in Release.objects.filter(
        project=claim.project, state__in=OPEN_STATES, prerelease__isnull=False
    ).values_list("pk", flat=True):
        release_deliver_prerelease_task.delay(release_id)
    public_changed(claim.project)


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
    public_changed(claim.project)

"""Mail the portal sends: one template per event, `templates/mail/<event>.txt`.

A template's first line is the subject (`Subject: ...`), the rest the body.
Mail is sent by the events' subscribers, so only once the change it reports
is committed; a mail server that fails is logged, never turned into an
error page for the person acting.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.template.loader import render_to_string

from .models import AuditEvent, Maintainership
from .permissions import RUN, team_addresses

logger = logging.getLogger(__name__)

SUBJECT = "Subject:"


def mail_render(template: str, context: dict) -> tuple[str, str]:
    """(subject, body) of a mail template, whose first line is its subject."""
    text = render_to_string(template, {**context, "site_url": settings.SITE_URL}).lstrip()
    first, _, body = text.partition("\n")
    if not first.startswith(SUBJECT):
        raise ValueError(f"{template} must start with a '{SUBJECT} ...' line")
    return " ".join(first.removeprefix(SUBJECT).split()), body.lstrip("\n")


def mail_send(*, to: Iterable[str], template: str, context: dict) -> None:
    recipients = sorted({address for address in to if address})
    if not recipients:
        return
    subject, body = mail_render(template, context)
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)
    except Exception:
        logger.exception("mail %r to %s could not be sent", subject, recipients)


def mail_event(record: AuditEvent, *, to: Iterable[str], **context) -> None:
    """Mail `to` about `record`, with the template named after its event."""
    mail_send(to=to, template=f"mail/{record.verb}.txt", context={"event": record, **context})


def staff_addresses(project) -> list[str]:
    """Who is mailed what concerns a project's release team: its owners and release
    managers (releases/permissions.py), never every site administrator."""
    return team_addresses(project, RUN)


def site_admin_addresses() -> list[str]:
    """The site administrators: who decides on a request for a new project."""
    return list(
        get_user_model()
        .objects.filter(is_staff=True, is_active=True)
        .exclude(email="")
        .values_list("email", flat=True)
    )


def maintainer_addresses(project, distro=None) -> list[str]:
    """The addresses of the active, approved maintainers of `distro` (of any distro when None)."""
    claims = Maintainership.objects.filter(
        project=project, state=Maintainership.State.APPROVED, user__is_active=True
    )
    if distro is not None:
        claims = claims.filter(distro=distro)
    return list(claims.exclude(user__email="").values_list("user__email", flat=True).distinct())

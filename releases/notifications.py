"""Mail the portal sends. Bodies are templates under templates/mail/.

Mail leaves only once the change it reports is committed, and a mail server
that fails is logged, never turned into an error page for the person acting.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string

from .models import Maintainership

logger = logging.getLogger(__name__)


def mail_on_commit(*, to: Iterable[str], subject: str, template: str, context: dict) -> None:
    recipients = sorted({address for address in to if address})
    if not recipients:
        return
    body = render_to_string(template, {**context, "site_url": settings.SITE_URL})

    def deliver() -> None:
        try:
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)
        except Exception:
            logger.exception("mail %r to %s could not be sent", subject, recipients)

    transaction.on_commit(deliver)


def staff_addresses() -> list[str]:
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

"""The mail accounts send after their events commit: the confirmation link, and
the note to an address's owner when someone signs up with it again.
Registered by `AccountsConfig.ready()`."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse

from releases.events import Event, subscribe
from releases.models import AuditEvent
from releases.notifications import mail_event

from .models import Profile
from .services import confirm_link


@subscribe(Event.ACCOUNT_CREATED)
def confirmation_mail(record: AuditEvent) -> None:
    user = record.target()
    if user is None or user.is_active:
        return
    mail_event(
        record,
        to=[user.email],
        user=user,
        link=confirm_link(user),
        days=settings.SIGNUP_LINK_DAYS,
    )


@subscribe(Event.ACCOUNT_SIGNUP_AGAIN)
def signup_again_mail(record: AuditEvent) -> None:
    user = record.target()
    if user is None:
        return
    confirmed = Profile.objects.filter(user=user, confirmed_at__isnull=False).exists()
    mail_event(
        record,
        to=[user.email],
        user=user,
        # Not confirmed yet: a fresh link, as "sign up again" after an expired one means.
        confirm_link="" if user.is_active or confirmed else confirm_link(user),
        days=settings.SIGNUP_LINK_DAYS,
        reset_link=settings.SITE_URL + reverse("password_reset"),
    )

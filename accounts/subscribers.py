"""The mail accounts send after their events commit: the confirmation link, the
note to an address's owner when someone signs up with it again, and the
password reset link.
Registered by `AccountsConfig.ready()`."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from releases.events import Event, subscribe
from releases.models import AuditEvent
from releases.notifications import mail_event

from .models import Profile
from .services import confirm_link


@subscribe(Event.ACCOUNT_CREATED)
@subscribe(Event.ACCOUNT_CONFIRMATION_RESENT)
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


@subscribe(Event.ACCOUNT_PASSWORD_RESET)
def password_reset_mail(record: AuditEvent) -> None:
    user = record.target()
    if user is None or not user.is_active:
        return
    link = settings.SITE_URL + reverse(
        "password_reset_confirm",
        args=[
            urlsafe_base64_encode(force_bytes(user.pk)),
            default_token_generator.make_token(user),
        ],
    )
    mail_event(record, to=[user.email], user=user, link=link)

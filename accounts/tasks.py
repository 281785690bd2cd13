"""The password reset mail, sent by a worker: the reset form answers at once and
alike whether or not the address has an account (accounts.services)."""

from __future__ import annotations

from portal.celery import app


@app.task
def password_reset_mail_task(email: str) -> None:
    from .services import password_reset_mail

    password_reset_mail(email=email)

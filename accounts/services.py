"""Accounts: sign-up and its confirmation, the public display name, API tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from portal import openpgp
from portal.errors import BadInput
from releases.events import Event, event_record
from releases.models import Maintainership

from .models import ApiToken, OpenPGPKey, Profile
from .tasks import password_reset_mail_task

SIGNUP_SALT = "portal.signup-confirm"


def confirm_link(user) -> str:
    token = signing.dumps(user.pk, salt=SIGNUP_SALT)
    return settings.SITE_URL + reverse("signup-confirm", args=[token])


@transaction.atomic
def account_signup(*, username: str, email: str, password: str, display_name: str = ""):
    """What the sign-up form does: a new account, or a mail to the owner of the address.

    The page shown next is the same either way, so that sign-up never tells
    who has an account: an address that has one gets a mail saying someone
    tried to sign up with it, with the way back in, and no second account is
    made. Returns the new account, or None.
    """
    existing = list(get_user_model().objects.filter(email__iexact=email))
    if not existing:
        return account_create(
            username=username, email=email, password=password, display_name=display_name
        )
    make_password(password)  # the time a new account takes, so that timing tells nothing either
    for user in existing:
        _mail_signup_attempt(user)
    return None


def password_reset_request(*, email: str) -> None:
    """What the reset form does: queue the mail, nothing more.

    Whether the address has an account is found out by the worker, so that
    the form's answer is the same, and takes the same time, either way: no
    account lookup, token or mail server on the request's path.
    """
    password_reset_mail_task.delay(email.strip())


def password_reset_mail(*, email: str) -> int:
    """Mail a reset link to each active account with that address and a password
    (the worker's half of `password_reset_request`); returns how many."""
    users = [
        user
        for user in get_user_model().objects.filter(email__iexact=email, is_active=True)
        if user.has_usable_password()
    ]
    for user in users:
        with transaction.atomic():
            # The mail (accounts/subscribers.py) carries the link.
            event_record(Event.ACCOUNT_PASSWORD_RESET, actor=None, target=user)
    return len(users)


def _mail_signup_attempt(user) -> None:
    # The mail (accounts/subscribers.py) gives the owner the way back in.
    event_record(Event.ACCOUNT_SIGNUP_AGAIN, actor=None, target=user)


@transaction.atomic
def account_create(*, username: str, email: str, password: str, display_name: str = ""):
    """A new, inactive account; it works once the mailed link is followed."""
    user = get_user_model().objects.create_user(
        username=username, email=email, password=password, is_active=False
    )
    Profile.objects.create(user=user, display_name=display_name.strip())
    # The confirmation mail (accounts/subscribers.py) carries the link.
    event_record(Event.ACCOUNT_CREATED, actor=None, target=user)
    return user


@transaction.atomic
def account_confirmation_resend(*, user) -> None:
    """Mail the confirmation link again to an account not confirmed yet."""
    if user.is_active:
        return
    # The mail (accounts/subscribers.py) carries a fresh link.
    event_record(Event.ACCOUNT_CONFIRMATION_RESENT, actor=None, target=user)


class ConfirmationFailed(Exception):
    pass


@transaction.atomic
def account_confirm(*, token: str):
    """Activate the account a sign-up link stands for; the link works once."""
    try:
        user_id = signing.loads(
            token, salt=SIGNUP_SALT, max_age=timedelta(days=settings.SIGNUP_LINK_DAYS)
        )
    except signing.SignatureExpired:
        raise ConfirmationFailed("This confirmation link has expired: sign up again.") from None
    except signing.BadSignature:
        raise ConfirmationFailed("This confirmation link is not valid.") from None
    # The payload is a user id and nothing else: not "12", 12.0 or True.
    if type(user_id) is not int or not 0 < user_id < 2**63:
        raise ConfirmationFailed("This confirmation link is not valid.")
    user = get_user_model().objects.select_for_update(no_key=True).filter(pk=user_id).first()
    if user is None:
        raise ConfirmationFailed("This account no longer exists: sign up again.")
    profile, _ = Profile.objects.select_for_update(no_key=True).get_or_create(user=user)
    if profile.confirmed_at is not None:
        raise ConfirmationFailed("This account is confirmed already: log in.")
    profile.confirmed_at = timezone.now()
    profile.save(update_fields=["confirmed_at"])
    user.is_active = True
    user.save(update_fields=["is_active"])
    event_record(Event.ACCOUNT_CONFIRMED, actor=user, target=user)
    return user


@transaction.atomic
def profile_update(*, user, display_name: str) -> Profile:
    profile, _ = Profile.objects.select_for_update(no_key=True).get_or_create(user=user)
    if profile.display_name != display_name:
        profile.display_name = display_name
        profile.save(update_fields=["display_name"])
        event_record(
            Event.PROFILE_UPDATED,
            actor=user,
            target=profile,
            display_name=display_name,
            # The public pages that credit them by this name.
            projects=sorted(
                set(
                    Maintainership.objects.filter(
                        user=user, state=Maintainership.State.APPROVED
                    ).values_list("project_id", flat=True)
                )
            ),
        )
    return profile


@transaction.atomic
def api_token_create(*, user, name: str) -> tuple[ApiToken, str]:
    token, key = ApiToken.issue(user=user, name=name)
    event_record(Event.API_TOKEN_CREATED, actor=user, target=token)
    return token, key


@transaction.atomic
def api_token_revoke(*, token: ApiToken, actor) -> None:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        event_record(Event.API_TOKEN_REVOKED, actor=actor, target=token)


def openpgp_challenge_text(*, user, nonce: str) -> str:
    """What a maintainer clearsigns to prove holding a key: one line, naming the
    account, with a nonce the portal issued for this session."""
    return f"release-portal: {user.username} holds this key ({nonce})"


@transaction.atomic
def openpgp_key_add(*, user, text: str, proof: str, challenge: str) -> OpenPGPKey:
    """Judge and keep a maintainer's public key, once they proved holding its secret
    key by clearsigning `challenge`; raises BadInput with the reason.

    A key another account proved is refused. One added before proofs were asked
    for goes to whoever proves it first, and leaves the account that had it."""
    try:
        key = openpgp.key_inspect(text)
    except openpgp.KeyRefused as refused:
        raise BadInput(str(refused), field="key") from None
    if OpenPGPKey.objects.filter(user=user, fingerprint=key.fingerprint).exists():
        raise BadInput(f"Key {key.fingerprint} is on your profile already.", field="key")
    held = OpenPGPKey.objects.select_for_update(no_key=True).filter(fingerprint=key.fingerprint)
    if held.exclude(proven_at=None).exists():
        raise BadInput(
            f"Key {key.fingerprint} is on another account, which proved it holds the secret "
            "key. A key belongs to one account; if it is yours, ask the portal's staff.",
            field="key",
        )
    if not proof.strip():
        raise BadInput(
            "Prove that the key is yours: sign the challenge shown with it "
            "(gpg --clearsign) and paste the whole output.",
            field="proof",
        )
    try:
        openpgp.possession_prove(key.armor, key.fingerprint, proof, challenge)
    except openpgp.KeyRefused as refused:
        raise BadInput(str(refused), field="proof") from None
    for unproven in held:
        event_record(
            Event.OPENPGP_KEY_REMOVED,
            actor=user,
            target=unproven,
            fingerprint=unproven.fingerprint,
            reason="proven by another account",
        )
        unproven.delete()
    stored = OpenPGPKey.objects.create(
        user=user,
        fingerprint=key.fingerprint,
        algorithm=key.algorithm,
        bits=key.bits,
        uid=key.user_id[:300],
        expires_at=datetime.fromtimestamp(key.expires, tz=UTC) if key.expires else None,
        armor=key.armor,
        proven_at=timezone.now(),
    )
    event_record(Event.OPENPGP_KEY_ADDED, actor=user, target=stored, fingerprint=key.fingerprint)
    return stored


@transaction.atomic
def openpgp_key_remove(*, key: OpenPGPKey, actor) -> None:
    event_record(Event.OPENPGP_KEY_REMOVED, actor=actor, target=key, fingerprint=key.fingerprint)
    key.delete()

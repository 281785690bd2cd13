"""Each project's OpenPGP keys: the portal-held secret key, encrypted at rest, and the
project's KEYS (every key that may sign or signed one of its releases).

The secret key of a portal-held key is kept Fernet-encrypted (`cryptography`) with
SIGNING_KEYS_FERNET_KEY from the settings, never in clear in the database, and is
decrypted only by the worker that signs. No page or API route reads it.
"""

from __future__ import annotations

import json

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

from portal import openpgp

from .models import Project, ProjectKey


class KeyStoreUnavailable(RuntimeError):
    """No SIGNING_KEYS_FERNET_KEY: the portal cannot hold a project's secret key."""


def _fernet() -> MultiFernet:
    keys = [k.strip() for k in settings.SIGNING_KEYS_FERNET_KEY.split(",") if k.strip()]
    if not keys:
        raise KeyStoreUnavailable(
            "This portal has no SIGNING_KEYS_FERNET_KEY, so it cannot hold a project's "
            "secret key: choose release-manager signing, or ask the site administrators."
        )
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except ValueError as error:
        raise KeyStoreUnavailable(f"SIGNING_KEYS_FERNET_KEY is not a Fernet key: {error}") from None


def secret_encrypt(armor: str, passphrase: str | None = None) -> str:
    """The secret key and its passphrase (if it has one), as one Fernet token."""
    plain = json.dumps({"armor": armor, "passphrase": passphrase or None})
    return _fernet().encrypt(plain.encode("utf-8")).decode("ascii")


def secret_decrypt(token: str) -> tuple[str, str | None]:
    """(armor, passphrase) of a held key."""
    try:
        held = json.loads(_fernet().decrypt(token.encode("ascii")))
        return held["armor"], held["passphrase"]
    except InvalidToken:
        raise openpgp.SigningError(
            "the project's secret key does not decrypt with SIGNING_KEYS_FERNET_KEY "
            "(was the setting changed without keeping the old key after the new one?)"
        ) from None


def reencrypt_all() -> int:
    """Encrypt every held secret key with the first SIGNING_KEYS_FERNET_KEY (rotation)."""
    fernet, done = _fernet(), 0
    for key in ProjectKey.objects.exclude(secret_encrypted=""):
        key.secret_encrypted = fernet.rotate(key.secret_encrypted.encode()).decode()
        key.save(update_fields=["secret_encrypted"])
        done += 1
    return done


def active_portal_key(project: Project) -> ProjectKey | None:
    return (
        ProjectKey.objects.filter(project=project, retired_at__isnull=True)
        .exclude(secret_encrypted="")
        .order_by("-added_at")
        .first()
    )


def project_signing_key(project: Project) -> openpgp.ReleaseKey | None:
    """The key the portal signs `project`'s releases with, decrypted; None without one."""
    held = active_portal_key(project)
    if held is None:
        return None
    armor, passphrase = secret_decrypt(held.secret_encrypted)
    return openpgp.ReleaseKey(
        secret_armor=armor,
        passphrase=passphrase,
        fingerprint=held.fingerprint,
        user_id=held.user_id,
    )


def project_armors(project: Project, *, current_only: bool = False) -> list[str]:
    """The public keys of the project's KEYS: the keys in use first, then retired ones."""
    keys = ProjectKey.objects.filter(project=project).order_by("retired_at", "-added_at")
    if current_only:
        keys = keys.filter(retired_at__isnull=True)
    return [key.public_armor for key in keys]


def project_keys_file(project: Project) -> bytes:
    return openpgp.keys_file_from(project_armors(project))


def has_keys(project: Project) -> bool:
    return ProjectKey.objects.filter(project=project).exists()

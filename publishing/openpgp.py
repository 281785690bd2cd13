"""The portal's OpenPGP, in one place: sign what is published, export the KEYS file.

Everything goes through python-gnupg over Debian's ``gpg``, each operation in
its own temporary GNUPGHOME that is deleted afterwards: the portal keeps no
keyring, only the armored secret key file it is given (``RELEASE_KEY_FILE``).
Another backend (a Sequoia one) replaces this module by offering the same
four functions: ``release_key``, ``sign_detached``, ``keys_file``,
``demo_key_create``.
"""

from __future__ import annotations

import contextlib
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import gnupg
from django.conf import settings

DEMO_KEY_NAME = "ConVirt demo release key — not for production"
DEMO_KEY_EMAIL = "demo-release-key@invalid"


class SigningError(RuntimeError):
    """The release key could not be read or could not sign."""


@dataclass(frozen=True, slots=True)
class ReleaseKey:
    secret_armor: str
    passphrase: str | None
    fingerprint: str
    user_id: str


@contextlib.contextmanager
def _gpg():
    with tempfile.TemporaryDirectory(prefix="portal-gnupg-") as home:
        gpg = gnupg.GPG(gnupghome=home)
        gpg.encoding = "utf-8"
        try:
            yield gpg
        finally:
            # The agent gpg started for this home goes with it.
            with contextlib.suppress(OSError, subprocess.SubprocessError):
                subprocess.run(  # noqa: S603, S607 - Debian's gpgconf, fixed arguments
                    ["gpgconf", "--homedir", home, "--kill", "gpg-agent"],
                    capture_output=True,
                    timeout=10,
                )


def _load(armor: str, passphrase: str | None) -> ReleaseKey:
    with _gpg() as gpg:
        imported = gpg.import_keys(armor, passphrase=passphrase)
        secret = gpg.list_keys(secret=True)
        if not imported.fingerprints or not secret:
            raise SigningError("the release key file holds no OpenPGP secret key")
        return ReleaseKey(
            secret_armor=armor,
            passphrase=passphrase,
            fingerprint=secret[0]["fingerprint"],
            user_id=(secret[0]["uids"] or [""])[0],
        )


def release_key() -> ReleaseKey | None:
    """The key that signs releases, or None: the portal then publishes unsigned."""
    path = settings.RELEASE_KEY_FILE
    if not path:
        return None
    try:
        armor = Path(path).read_text("ascii")
    except OSError as exc:
        raise SigningError(f"cannot read RELEASE_KEY_FILE {path}: {exc}") from exc
    return _load(armor, settings.RELEASE_KEY_PASSPHRASE or None)


def sign_detached(key: ReleaseKey, path: str | Path) -> bytes:
    """A detached, armored signature of the file at `path`."""
    with _gpg() as gpg:
        gpg.import_keys(key.secret_armor, passphrase=key.passphrase)
        with open(path, "rb") as data:
            result = gpg.sign_file(
                data,
                keyid=key.fingerprint,
                passphrase=key.passphrase,
                detach=True,
                binary=False,
                extra_args=["--digest-algo", "SHA512"],
            )
        if not result.data:
            raise SigningError(f"gpg did not sign: {result.status} {result.stderr[-500:]}")
        return result.data


def public_keys(key: ReleaseKey) -> str:
    with _gpg() as gpg:
        gpg.import_keys(key.secret_armor, passphrase=key.passphrase)
        return gpg.export_keys(key.fingerprint, armor=True)


def keys_file(key: ReleaseKey | None) -> bytes:
    """The KEYS file: the signing key first, then the older ones still valid
    for earlier releases (``RELEASE_KEYS_EXTRA``), each with its fingerprint."""
    blocks: list[tuple[str, str]] = []
    seen: set[str] = set()
    armors = [public_keys(key)] if key else []
    extra = settings.RELEASE_KEYS_EXTRA
    if extra:
        with contextlib.suppress(OSError):
            armors.append(Path(extra).read_text("ascii"))
    for armor in armors:
        with _gpg() as gpg:
            gpg.import_keys(armor)
            for listed in gpg.list_keys():
                fpr = listed["fingerprint"]
                if fpr in seen:
                    continue
                seen.add(fpr)
                uid = (listed["uids"] or [""])[0]
                blocks.append((f"pub {fpr}\nuid {uid}\n", gpg.export_keys(fpr, armor=True)))
    text = "".join(f"{head}\n{armor.strip()}\n\n" for head, armor in blocks)
    return text.encode("utf-8")


def demo_key_create(path: Path) -> str:
    """Write a throwaway, passphrase-less demo secret key to `path`; its fingerprint."""
    with _gpg() as gpg:
        spec = gpg.gen_key_input(
            key_type="EDDSA",
            key_curve="ed25519",
            key_usage="sign",
            name_real=DEMO_KEY_NAME,
            name_email=DEMO_KEY_EMAIL,
            expire_date=0,
            no_protection=True,
        )
        created = gpg.gen_key(spec)
        if not created.fingerprint:
            raise SigningError(f"gpg did not make the demo key: {created.stderr[-500:]}")
        armor = gpg.export_keys(created.fingerprint, secret=True, expect_passphrase=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(armor, "ascii")
    path.chmod(0o600)
    return created.fingerprint

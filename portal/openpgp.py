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

DEMO_KEY_NAME = "Release portal demo key — not for production"
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


# --- Maintainers' keys and their signatures on uploads ------------------------

MIN_RSA_BITS = 2048
MAX_KEY_TEXT = 64 * 1024
MAX_SIGNATURE_BYTES = 64 * 1024
# gpg's public-key algorithm numbers (RFC 4880 9.1, RFC 9580).
_ALGORITHMS = {
    "1": "RSA",
    "2": "RSA",
    "3": "RSA",
    "16": "Elgamal",
    "17": "DSA",
    "18": "ECDH",
    "19": "ECDSA",
    "22": "EdDSA",
    "27": "Ed25519",
    "28": "X25519",
}


class KeyRefused(ValueError):
    """A key a maintainer offered that the portal will not keep; the message says why."""


@dataclass(frozen=True, slots=True)
class PublicKey:
    fingerprint: str
    algorithm: str
    bits: int
    expires: int | None  # Unix time
    user_id: str
    armor: str


def key_inspect(text: str, *, now: float | None = None) -> PublicKey:
    """Read one armored OpenPGP public key and judge it; raises KeyRefused.

    A secret key is refused before gpg reads it, and never stored.
    """
    import time

    now = now or time.time()
    if len(text) > MAX_KEY_TEXT:
        raise KeyRefused(f"That is {len(text):,} characters; a public key is far smaller.")
    if "PRIVATE KEY BLOCK" in text:
        raise KeyRefused(
            "That is a secret key: it was not stored. Paste the public key only, from "
            "`gpg --armor --export YOUR-FINGERPRINT`, and keep the secret one to yourself."
        )
    with _gpg() as gpg:
        imported = gpg.import_keys(text)
        if gpg.list_keys(secret=True):
            raise KeyRefused(
                "That holds a secret key: it was not stored. Paste the public key only."
            )
        keys = gpg.list_keys()
        if not imported.fingerprints or not keys:
            raise KeyRefused(
                "That is not an OpenPGP public key. Export yours with "
                "`gpg --armor --export YOUR-FINGERPRINT` and paste all of it, BEGIN to END."
            )
        if len(keys) > 1:
            raise KeyRefused("Give one key at a time.")
        key = keys[0]
        fpr = key["fingerprint"]
        if key.get("trust") == "r":
            raise KeyRefused(f"Key {fpr} is revoked.")
        expires = int(key["expires"]) if key.get("expires") else None
        if key.get("trust") == "e" or (expires is not None and expires <= now):
            raise KeyRefused(
                f"Key {fpr} has expired; extend it (gpg --quick-set-expire) and export it again."
            )
        algorithm = _ALGORITHMS.get(str(key.get("algo")), f"algorithm {key.get('algo')}")
        bits = int(key.get("length") or 0)
        if algorithm in ("RSA", "DSA", "Elgamal") and bits < MIN_RSA_BITS:
            raise KeyRefused(
                f"Key {fpr} is {algorithm} {bits} bits: too weak. Use RSA of at least "
                f"{MIN_RSA_BITS} bits, or Ed25519."
            )
        if not any(cap in key.get("cap", "") for cap in ("s", "S")):
            raise KeyRefused(f"Key {fpr} cannot sign: it has no signing key or subkey.")
        return PublicKey(
            fingerprint=fpr,
            algorithm=algorithm,
            bits=bits,
            expires=expires,
            user_id=(key["uids"] or [""])[0],
            armor=gpg.export_keys(fpr, armor=True),
        )


@dataclass(frozen=True, slots=True)
class SignatureCheck:
    valid: bool
    fingerprint: str | None  # the primary key that made a valid signature
    reason: str


def signature_verify(path: str | Path, signature: bytes, armors: list[str]) -> SignatureCheck:
    """Is `signature` a valid detached signature of the file at `path` by one of these
    keys? In a fresh GNUPGHOME holding only them."""
    if len(signature) > MAX_SIGNATURE_BYTES:
        return SignatureCheck(
            False,
            None,
            f"the signature file is {len(signature):,} bytes; a detached signature is a few hundred",
        )
    if not armors:
        return SignatureCheck(
            False, None, "you have no OpenPGP key on your profile to check it against"
        )
    with _gpg() as gpg, tempfile.NamedTemporaryFile(suffix=".asc") as sig:
        for armor in armors:
            gpg.import_keys(armor)
        sig.write(signature)
        sig.flush()
        result = gpg.verify_file(sig.name, str(path))
        if result.valid:
            return SignatureCheck(True, result.pubkey_fingerprint or result.fingerprint, "")
        if result.status == "signature bad":
            return SignatureCheck(
                False,
                None,
                "it does not match the uploaded file (signed other bytes, or the file changed)",
            )
        if result.status == "no public key" or (result.key_id and not result.fingerprint):
            return SignatureCheck(
                False,
                None,
                f"it was made by key {result.key_id}, which is not one of yours on the portal",
            )
        return SignatureCheck(
            False, None, f"it is not a valid OpenPGP signature ({result.status or 'unreadable'})"
        )

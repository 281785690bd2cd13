"""The portal's OpenPGP, in one place: sign what is published, export the KEYS file.

Everything goes through python-gnupg over Debian's ``gpg``, each operation in
its own temporary GNUPGHOME that is deleted afterwards: the portal keeps no
keyring, only the armored secret key file it is given (``RELEASE_KEY_FILE``).
Another backend (a Sequoia one) replaces this module by offering the same
four functions: ``release_key``, ``sign_detached``, ``keys_file``,
``demo_key_create``.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import resource
import subprocess
import tempfile
import threading
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


def _limits(pid: int, seconds: float) -> None:
    """The gpg child's CPU time, memory and file size, set from outside (a
    preexec_fn is unsafe in the threaded web processes that run this too)."""
    cpu = int(seconds) + 1
    with contextlib.suppress(OSError, ValueError):
        resource.prlimit(pid, resource.RLIMIT_CPU, (cpu, cpu + 1))
        resource.prlimit(pid, resource.RLIMIT_AS, (GPG_MEMORY_BYTES, GPG_MEMORY_BYTES))
        resource.prlimit(pid, resource.RLIMIT_FSIZE, (GPG_FILE_BYTES, GPG_FILE_BYTES))


class _BoundedGPG(gnupg.GPG):
    """python-gnupg for what strangers send (keys, signatures): each gpg run is
    killed past `seconds` of wall time, past its CPU, memory and file limits, or
    once it has written `max_output` bytes; the result then says `overrun`."""

    seconds = 5.0
    max_output = 1024 * 1024

    def __init__(self, *args, **kwargs):
        self.overrun = ""
        self._written = 0
        self._process = None
        super().__init__(*args, **kwargs)
        self.on_data = self._count

    def _count(self, chunk: bytes):
        self._written += len(chunk)
        if self._written > self.max_output and self._process:
            self.overrun = f"gpg wrote more than {self.max_output:,} bytes"
            self._process.kill()
            return False
        return True

    def _open_subprocess(self, args, passphrase=False):
        cmd = self.make_args(args, passphrase)
        self._written = 0
        self._process = subprocess.Popen(  # noqa: S603 - Debian's gpg, arguments from python-gnupg
            cmd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=self.env,
        )
        _limits(self._process.pid, self.seconds)
        self._timer = threading.Timer(self.seconds, self._too_long, args=(self._process,))
        self._timer.daemon = True
        self._timer.start()
        return self._process

    def _too_long(self, process):
        if process.poll() is None:
            self.overrun = f"gpg did not finish within {self.seconds:g} s"
            process.kill()

    def _collect_output(self, process, result, writer=None, stdin=None):
        try:
            return super()._collect_output(process, result, writer, stdin)
        finally:
            self._timer.cancel()
            if process.returncode is not None and process.returncode < 0 and not self.overrun:
                self.overrun = "gpg was stopped at its CPU or memory limit"


@contextlib.contextmanager
def _gpg(*, untrusted: bool = False):
    with tempfile.TemporaryDirectory(prefix="portal-gnupg-") as home:
        gpg = (_BoundedGPG if untrusted else gnupg.GPG)(gnupghome=home)
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
    armors = [public_keys(key)] if key else []
    extra = settings.RELEASE_KEYS_EXTRA
    if extra:
        with contextlib.suppress(OSError):
            armors.append(Path(extra).read_text("ascii"))
    return keys_file_from(armors)


def keys_file_from(armors: list[str]) -> bytes:
    """A KEYS file of these public keys, in this order, each headed by its fingerprint."""
    blocks: list[tuple[str, str]] = []
    seen: set[str] = set()
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


def sign_bytes(key: ReleaseKey, data: bytes) -> bytes:
    """A detached, binary signature of `data` (a DSSE envelope's PAE, for one)."""
    with tempfile.NamedTemporaryFile(prefix="portal-sign-") as spool:
        spool.write(data)
        spool.flush()
        with _gpg() as gpg:
            gpg.import_keys(key.secret_armor, passphrase=key.passphrase)
            with open(spool.name, "rb") as source:
                result = gpg.sign_file(
                    source,
                    keyid=key.fingerprint,
                    passphrase=key.passphrase,
                    detach=True,
                    binary=True,
                    extra_args=["--digest-algo", "SHA512"],
                )
            if not result.data:
                raise SigningError(f"gpg did not sign: {result.status} {result.stderr[-500:]}")
            return result.data


def key_generate(name: str, email: str) -> ReleaseKey:
    """A new Ed25519 signing key, without a passphrase (the portal encrypts it at rest)."""
    with _gpg() as gpg:
        spec = gpg.gen_key_input(
            key_type="EDDSA",
            key_curve="ed25519",
            key_usage="sign",
            name_real=name,
            name_email=email,
            expire_date=0,
            no_protection=True,
        )
        created = gpg.gen_key(spec)
        if not created.fingerprint:
            raise SigningError(f"gpg did not make the key: {created.stderr[-500:]}")
        armor = gpg.export_keys(created.fingerprint, secret=True, expect_passphrase=False)
    return _load(armor, None)


def secret_key_inspect(text: str, passphrase: str | None = None, *, now: float | None = None):
    """An owner's uploaded secret key for the portal to hold: one key that can sign,
    not expired or revoked. Returns (ReleaseKey, PublicKey); raises KeyRefused."""
    import time

    now = now or time.time()
    if len(text) > MAX_KEY_TEXT:
        raise KeyRefused(f"That is {len(text):,} characters; a secret key is far smaller.")
    try:
        tags = packets_read(text)
    except Unreadable as unreadable:
        raise KeyRefused(f"That is not an OpenPGP secret key ({unreadable}).") from None
    if 5 not in tags:
        raise KeyRefused(
            "That is not a secret key: for the portal to sign, upload the secret key "
            "(`gpg --armor --export-secret-keys FINGERPRINT`); to sign offline yourself, "
            "choose release-manager signing and add your public key to KEYS instead."
        )
    try:
        key = _load(text, passphrase)
    except SigningError as error:
        raise KeyRefused(f"That key could not be read: {error}.") from None
    with _gpg() as gpg:
        gpg.import_keys(text, passphrase=passphrase)
        listed = [k for k in gpg.list_keys() if k["fingerprint"] == key.fingerprint]
        public = gpg.export_keys(key.fingerprint, armor=True)
    if len(listed) != 1:
        raise KeyRefused("Give one key at a time.")
    judged = key_inspect(public, now=now)  # expiry, revocation, strength, signing capability
    try:
        sign_bytes(key, b"the portal checks that it can sign with this key")
    except SigningError:
        raise KeyRefused(
            f"The portal could not sign with key {key.fingerprint}: give its passphrase "
            "as well (or the right one)."
        ) from None
    return key, judged


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
# A person has a handful of user IDs; a key with thousands is an attack on
# every program that lists it.
MAX_USER_IDS = 50
# What one gpg run on a stranger's data may use.
GPG_MEMORY_BYTES = 1024 * 1024 * 1024
GPG_FILE_BYTES = 16 * 1024 * 1024

# OpenPGP packet tags (RFC 9580 5), as a person reads them.
PACKET_NAMES = {
    1: "an encrypted session key",
    2: "a signature",
    3: "an encrypted session key",
    4: "a one-pass signature header",
    5: "a secret key",
    6: "a public key",
    7: "a secret subkey",
    8: "a compressed message",
    9: "encrypted data",
    10: "a marker",
    11: "a literal message (data, not a signature)",
    12: "trust information",
    13: "a user ID",
    14: "a public subkey",
    17: "a photo ID",
    18: "encrypted data",
    20: "encrypted data",
}
KEY_PACKETS = frozenset({2, 6, 10, 12, 13, 14, 17})
MAX_PACKETS = 100_000


class Unreadable(ValueError):
    """Not OpenPGP data the portal can walk: the message says what is wrong."""


def _dearmor(data: bytes) -> bytes:
    """The packets of armored data (the first block), or the bytes as they are."""
    text = data.decode("ascii", "replace")
    if "-----BEGIN PGP" not in text:
        return data
    lines = text.split("-----BEGIN PGP", 1)[1].splitlines()[1:]
    body, in_headers = [], True
    for line in lines:
        line = line.strip()
        if line.startswith("-----END PGP"):
            break
        if in_headers:
            if not line:
                in_headers = False
            elif ":" not in line:  # no armor headers at all
                in_headers = False
                body.append(line)
            continue
        if line.startswith("=") and len(line) == 5:  # the CRC-24 line
            continue
        body.append(line)
    else:
        raise Unreadable("the armor has no END line: it is cut short")
    try:
        return base64.b64decode("".join(body), validate=True)
    except (binascii.Error, ValueError):
        raise Unreadable("the armor is not valid base64") from None


def packets_read(data: bytes | str) -> list[int]:
    """The tags of the OpenPGP packets in `data`, read from their headers alone:
    nothing is decompressed, decrypted or parsed inside. Raises Unreadable."""
    raw = _dearmor(data.encode("utf-8", "replace") if isinstance(data, str) else data)
    tags, i, end = [], 0, len(raw)
    while i < end:
        head = raw[i]
        i += 1
        if not head & 0x80:
            raise Unreadable("it is not OpenPGP data")
        if head & 0x40:  # the new packet format
            tag = head & 0x3F
            if i >= end:
                raise Unreadable("it is cut short")
            first = raw[i]
            i += 1
            if first < 192:
                length = first
            elif first < 224:
                length = ((first - 192) << 8) + raw[i] + 192 if i < end else end
                i += 1
            elif first == 255:
                length = int.from_bytes(raw[i : i + 4], "big")
                i += 4
            else:  # partial lengths: only streamed data (messages) uses them
                tags.append(tag)
                return tags
        else:
            tag, kind = (head >> 2) & 0x0F, head & 0x03
            if kind == 3:  # "indeterminate": the rest of the data
                tags.append(tag)
                return tags
            size = (1, 2, 4)[kind]
            length = int.from_bytes(raw[i : i + size], "big")
            i += size
        tags.append(tag)
        i += length
        if i > end:
            raise Unreadable("it is cut short")
        if len(tags) > MAX_PACKETS:
            raise Unreadable(f"it holds more than {MAX_PACKETS:,} packets")
    if not tags:
        raise Unreadable("it is empty")
    return tags


def _names(tags) -> str:
    names = sorted({PACKET_NAMES.get(tag, f"packet type {tag}") for tag in tags})
    return ", ".join(names)


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
    secret = KeyRefused(
        "That is a secret key: it was not stored. Paste the public key only, from "
        "`gpg --armor --export YOUR-FINGERPRINT`, and keep the secret one to yourself."
    )
    if "PRIVATE KEY BLOCK" in text:
        raise secret
    try:
        tags = packets_read(text)
    except Unreadable as unreadable:
        raise KeyRefused(
            f"That is not an OpenPGP public key ({unreadable}). Export yours with "
            "`gpg --armor --export YOUR-FINGERPRINT` and paste all of it, BEGIN to END."
        ) from None
    if {5, 7} & set(tags):
        raise secret
    if set(tags) - KEY_PACKETS:
        raise KeyRefused(
            f"That is not an OpenPGP public key: it holds {_names(set(tags) - KEY_PACKETS)}. "
            "Export yours with `gpg --armor --export YOUR-FINGERPRINT`."
        )
    user_ids = sum(1 for tag in tags if tag in (13, 17))
    if user_ids > MAX_USER_IDS:
        raise KeyRefused(
            f"That key has {user_ids:,} user IDs; the portal keeps keys with at most "
            f"{MAX_USER_IDS}. Export it with yours only: gpg --armor --export-filter "
            "keep-uid='mbox = you@example.org' --export YOUR-FINGERPRINT"
        )
    with _gpg(untrusted=True) as gpg:
        imported = gpg.import_keys(text)
        if gpg.overrun:
            raise KeyRefused(f"That key could not be read: {gpg.overrun}.")
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


def signature_verify(
    path: str | Path,
    signature: bytes,
    armors: list[str],
    *,
    keyring: str = "one of yours on the portal",
) -> SignatureCheck:
    """Is `signature` a valid detached signature of the file at `path` by one of these
    keys? In a fresh GNUPGHOME holding only them. `keyring` names them in a refusal."""
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
    refused = _not_a_signature(signature)
    if refused:
        return SignatureCheck(False, None, refused)
    with _gpg(untrusted=True) as gpg, tempfile.NamedTemporaryFile(suffix=".asc") as sig:
        for armor in armors:
            gpg.import_keys(armor)
        sig.write(signature)
        sig.flush()
        result = gpg.verify_file(sig.name, str(path))
        if gpg.overrun:
            return SignatureCheck(False, None, f"it could not be checked: {gpg.overrun}")
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
                f"it was made by key {result.fingerprint or result.key_id}, which is not {keyring}",
            )
        return SignatureCheck(
            False, None, f"it is not a valid OpenPGP signature ({result.status or 'unreadable'})"
        )


def _not_a_signature(signature: bytes) -> str:
    """Why these bytes are not a detached signature, read from packet headers only
    (before gpg, which would unpack a compressed message); "" when they are."""
    try:
        tags = packets_read(signature)
    except Unreadable as unreadable:
        return f"it is not a valid OpenPGP signature ({unreadable})"
    if set(tags) != {2}:
        return (
            f"it is not a detached signature: it holds {_names(set(tags) - {2})}. "
            "Send the .asc that gpg --armor --detach-sign writes"
        )
    return ""


# --- Proof that a maintainer holds a key --------------------------------------

CLEARSIGN_HEAD = "-----BEGIN PGP SIGNED MESSAGE-----"
SIGNATURE_HEAD = "-----BEGIN PGP SIGNATURE-----"
SIGNATURE_TAIL = "-----END PGP SIGNATURE-----"


def _clearsigned_text(message: str) -> str:
    """The text a clearsigned message signs (RFC 9580 7), dash-escaping undone."""
    message = message.strip().replace("\r\n", "\n")
    if message.count(CLEARSIGN_HEAD) != 1 or message.count(SIGNATURE_HEAD) != 1:
        raise KeyRefused(
            "The proof is not one clearsigned message: paste all that `gpg --clearsign` "
            "printed, from -----BEGIN PGP SIGNED MESSAGE----- to -----END PGP SIGNATURE-----."
        )
    if not message.startswith(CLEARSIGN_HEAD) or not message.endswith(SIGNATURE_TAIL):
        raise KeyRefused(
            "The proof has text before or after the signed message; paste only what "
            "`gpg --clearsign` printed."
        )
    _headers, signed = message[len(CLEARSIGN_HEAD) :].split("\n\n", 1)
    text = signed.split(SIGNATURE_HEAD, 1)[0]
    return "\n".join(
        line[2:] if line.startswith("- ") else line for line in text.splitlines()
    ).strip()


def possession_prove(armor: str, fingerprint: str, proof: str, challenge: str) -> None:
    """Is `proof` the challenge clearsigned by the key `fingerprint` (its primary key or
    a signing subkey)? Raises KeyRefused with what is wrong."""
    if len(proof) > MAX_KEY_TEXT:
        raise KeyRefused(
            f"The proof is {len(proof):,} characters; a signed challenge is a few hundred."
        )
    if _clearsigned_text(proof) != challenge.strip():
        raise KeyRefused(
            "The signed text is not this page's challenge. Sign exactly the challenge shown "
            "(it changes after each key you add) and paste the whole output."
        )
    refused = _not_a_signature(SIGNATURE_HEAD + proof.split(SIGNATURE_HEAD, 1)[1])
    if refused:
        raise KeyRefused(f"The proof's signature is refused: {refused}.")
    with _gpg(untrusted=True) as gpg:
        gpg.import_keys(armor)
        result = gpg.verify(proof)
        if gpg.overrun:
            raise KeyRefused(f"The proof could not be checked: {gpg.overrun}.")
    signer = result.pubkey_fingerprint or ""
    if not result.valid or signer.upper() != fingerprint.upper():
        raise KeyRefused(
            f"The challenge is not signed by key {fingerprint}: sign it with that key "
            f"(gpg --local-user {fingerprint} --clearsign) and paste the output."
        )

"""OpenPGP on what strangers send: a signature that is a compressed bomb, a key with
10,000 user IDs, a secret key labelled public, a key someone else holds. Each gets
a sentence, quickly; gpg itself is bounded in time and output; a key is added
only with proof of possession (a clearsigned challenge)."""

from __future__ import annotations

import base64
import bz2
import time

import pytest

from accounts.models import OpenPGPKey
from portal import openpgp
from tests.accounts.test_openpgp_keys import _add, _signed_upload, add_proven, challenge
from tests.factories import packager

pytestmark = pytest.mark.django_db

BOMB_MEGABYTES = 256  # 2 GB inflates the same way; 256 MB keeps the test's own cost low


def _crc24(data: bytes) -> int:
    crc = 0xB704CE
    for byte in data:
        crc ^= byte << 16
        for _ in range(8):
            crc <<= 1
            if crc & 0x1000000:
                crc ^= 0x1864CFB
    return crc & 0xFFFFFF


def armor(raw: bytes, kind: str) -> str:
    text = base64.b64encode(raw).decode()
    lines = [text[i : i + 64] for i in range(0, len(text), 64)]
    crc = base64.b64encode(_crc24(raw).to_bytes(3, "big")).decode()
    return f"-----BEGIN PGP {kind}-----\n\n" + "\n".join(lines) + f"\n={crc}\n-----END PGP {kind}-----\n"


def signature_bomb(megabytes: int) -> bytes:
    """An armored "signature" that is a bzip2-compressed literal message of zeros."""
    compressor = bz2.BZ2Compressor(9)
    chunks = [compressor.compress(b"\xaf" + b"b\x00" + b"\x00" * 4)]  # literal packet head
    zeros = bytes(1 << 20)
    chunks += [compressor.compress(zeros) for _ in range(megabytes)]
    chunks.append(compressor.flush())
    return armor(b"\xa3\x03" + b"".join(chunks), "SIGNATURE").encode()  # compressed, bzip2


@pytest.fixture(scope="module")
def bomb() -> bytes:
    return signature_bomb(BOMB_MEGABYTES)


def test_a_signature_bomb_is_refused_within_a_second(bomb, keyring, tmp_path):
    fpr = keyring.make("Ubuntu Dev <ubuntu-dev@example.org>")
    signed = tmp_path / "bundle.tar.gz"
    signed.write_bytes(b"bundle")
    assert len(bomb) < 4096
    started = time.monotonic()
    check = openpgp.signature_verify(signed, bomb, [keyring.public(fpr)])
    took = time.monotonic() - started
    assert not check.valid
    assert "it is not a detached signature: it holds a compressed message" in check.reason
    assert took < 1.0, took


def test_the_upload_report_says_why(bomb, release, ubuntu, maintainer, keyring):
    fpr = keyring.make("Ubuntu Dev <ubuntu-dev@example.org>")
    OpenPGPKey.objects.create(user=maintainer, fingerprint=fpr, armor=keyring.public(fpr))
    findings = _signed_upload(release, ubuntu, maintainer, bomb.decode())
    assert any("compressed message" in message for message in findings.values()), findings


def test_gpg_itself_stops_at_its_time_limit(bomb, tmp_path, monkeypatch):
    """Past the packet check, gpg still runs bounded: fed the bomb directly."""
    monkeypatch.setattr(openpgp._BoundedGPG, "seconds", 1.0)
    sig = tmp_path / "bomb.asc"
    sig.write_bytes(bomb)
    (tmp_path / "data").write_bytes(b"x")
    started = time.monotonic()
    with openpgp._gpg(untrusted=True) as gpg:
        gpg.verify_file(str(sig), str(tmp_path / "data"))
        assert gpg.overrun == "gpg did not finish within 1 s"
    assert time.monotonic() - started < 3


def test_gpg_itself_stops_at_its_output_bound(bomb, tmp_path):
    started = time.monotonic()
    with openpgp._gpg(untrusted=True) as gpg:
        result = gpg.decrypt(bomb.decode().replace("SIGNATURE", "MESSAGE"))
        assert gpg.overrun == "gpg wrote more than 1,048,576 bytes"
        assert len(result.data) <= 1024 * 1024
    assert time.monotonic() - started < 3


def test_a_key_with_ten_thousand_user_ids_gets_a_sentence(client, maintainer, keyring):
    fpr = keyring.make("Ubuntu Dev <ubuntu-dev@example.org>")
    raw = keyring.gpg("--export", fpr) + b"\xb4\x01a" * 10_000  # user ID packets, old format
    text = armor(raw, "PUBLIC KEY BLOCK")
    started = time.monotonic()
    with pytest.raises(openpgp.KeyRefused, match="10,001 user IDs"):
        openpgp.key_inspect(text)
    assert time.monotonic() - started < 0.5  # read from packet headers, before gpg
    client.force_login(maintainer)
    page = _add(client, text).replace("&#x27;", "'")
    assert "That key has 10,001 user IDs; the portal keeps keys with at most 50." in page
    assert not OpenPGPKey.objects.exists()


def test_a_secret_key_labelled_public_is_refused_and_not_kept(client, maintainer, keyring):
    fpr = keyring.make("Ubuntu Dev <ubuntu-dev@example.org>")
    text = keyring.secret(fpr).replace("PRIVATE KEY BLOCK", "PUBLIC KEY BLOCK")
    client.force_login(maintainer)
    page = _add(client, text)
    assert "That is a secret key: it was not stored." in page
    assert not OpenPGPKey.objects.exists()


def test_a_key_needs_its_challenge_signed_by_it(client, maintainer, keyring):
    mine = keyring.make("Ubuntu Dev <ubuntu-dev@example.org>")
    other = keyring.make("Someone Else <else@example.org>")
    client.force_login(maintainer)
    text = keyring.public(mine)
    shown = challenge(client)
    assert maintainer.username in shown
    cases = [
        ("", "Prove that the key is yours"),
        (keyring.clearsign(other, shown), f"The challenge is not signed by key {mine}"),
        (keyring.clearsign(mine, shown + " and more"), "The signed text is not this page's challenge"),
        (keyring.sign(mine, shown.encode()), "The proof is not one clearsigned message"),
    ]
    for proof, sentence in cases:
        page = _add(client, text, proof)
        assert sentence in page.replace("&#x27;", "'"), sentence
    assert not OpenPGPKey.objects.exists()
    add_proven(client, keyring, mine)
    assert OpenPGPKey.objects.get().proven_at is not None
    assert challenge(client) != shown  # one challenge per key added


def test_a_key_another_account_proved_is_refused(client, maintainer, keyring):
    fpr = keyring.make("Ubuntu Dev <ubuntu-dev@example.org>")
    client.force_login(maintainer)
    add_proven(client, keyring, fpr)
    thief = packager("thief")
    client.force_login(thief)
    page = add_proven(client, keyring, fpr)  # even holding the key: one account per key
    assert f"Key {fpr} is on another account, which proved it holds the secret key" in page
    assert list(OpenPGPKey.objects.values_list("user__username", flat=True)) == [
        maintainer.username
    ]


def test_a_key_taken_before_proofs_goes_to_whoever_proves_it(client, maintainer, keyring):
    fpr = keyring.make("Ubuntu Dev <ubuntu-dev@example.org>")
    squatter = packager("squatter")
    OpenPGPKey.objects.create(user=squatter, fingerprint=fpr, armor=keyring.public(fpr))
    client.force_login(maintainer)
    add_proven(client, keyring, fpr)
    assert list(OpenPGPKey.objects.values_list("user__username", flat=True)) == [
        maintainer.username
    ]

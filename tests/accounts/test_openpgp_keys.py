"""Maintainers' OpenPGP keys, judged by Debian's gpg when added, and uploads signed
with them, checked by the worker in a keyring holding only the submitter's keys."""

from __future__ import annotations

import html
import re

import pytest
from django.urls import reverse

from accounts.models import OpenPGPKey
from releases.models import Submission
from releases.verification import services as verification
from tests.helpers import bundle_bytes, submit

pytestmark = pytest.mark.django_db


def _add(client, text: str, proof: str = ""):
    return client.post(
        reverse("openpgp-key-add"), {"key": text, "proof": proof}, follow=True
    ).content.decode()


def challenge(client) -> str:
    """The challenge the profile page shows this session."""
    page = client.get(reverse("profile")).content.decode()
    return html.unescape(re.search(r'<code id="key-challenge">([^<]+)</code>', page)[1])


def add_proven(client, keyring, fpr: str):
    return _add(client, keyring.public(fpr), keyring.clearsign(fpr, challenge(client)))


def test_a_maintainer_adds_a_key_and_sees_what_it_is(client, maintainer, keyring):
    fpr = keyring.make("Ubuntu Dev <ubuntu-dev@example.org>")
    client.force_login(maintainer)
    page = add_proven(client, keyring, fpr)
    key = OpenPGPKey.objects.get(user=maintainer)
    assert key.fingerprint == fpr and key.algorithm in ("EdDSA", "Ed25519")
    assert fpr in page and "Ubuntu Dev" in page and "never" in page


@pytest.mark.parametrize("case", ["secret", "weak", "expired", "revoked", "garbage", "truncated"])
def test_keys_the_portal_will_not_keep_are_refused_with_the_reason(
    client, maintainer, keyring, case
):
    if case == "secret":
        text, reason = keyring.secret(keyring.make("S <s@example.org>")), "secret key"
    elif case == "weak":
        text, reason = keyring.public(keyring.make("W <w@example.org>", "rsa1024")), "too weak"
    elif case == "expired":
        fpr = keyring.make("E <e@example.org>", expire="1d", when="20200101T000000")
        text, reason = keyring.public(fpr), "has expired"
    elif case == "revoked":
        # gpg writes a revocation certificate beside every key it makes, its armor
        # line guarded by a ':'; importing it revokes the key.
        fpr = keyring.make("R <r@example.org>")
        certificate = (keyring.home / "openpgp-revocs.d" / f"{fpr}.rev").read_text()
        keyring.gpg("--import", data=certificate.replace(":-----BEGIN", "-----BEGIN").encode())
        text, reason = keyring.public(fpr), "is revoked"
    elif case == "garbage":
        text, reason = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5 me@laptop", "not an OpenPGP public key"
    else:
        full = keyring.public(keyring.make("T <t@example.org>"))
        text, reason = full[: len(full) // 2], "not an OpenPGP public key"
    client.force_login(maintainer)
    page = _add(client, text)
    assert reason in page
    assert not OpenPGPKey.objects.exists()
    if case == "secret":
        assert "PRIVATE KEY" not in page  # never echoed, never stored


def _signed_upload(release, ubuntu, maintainer, signature: str, data: bytes | None = None):
    data = data or bundle_bytes()
    submission = submit(release, ubuntu, maintainer, data, "ubuntu.tar.gz", signature=signature)
    Submission.objects.filter(pk=submission.pk).update(state="verifying")
    submission.refresh_from_db()
    return {
        (f.check, f.severity): f.message for f in verification.signature_report(submission).findings
    }


def test_a_good_signature_names_its_key(release, ubuntu, maintainer, keyring):
    fpr = keyring.make("Ubuntu Dev <ubuntu-dev@example.org>")
    OpenPGPKey.objects.create(
        user=maintainer,
        fingerprint=fpr,
        algorithm="EdDSA",
        armor=keyring.public(fpr),
        uid="Ubuntu Dev",
    )
    data = bundle_bytes()
    found = _signed_upload(release, ubuntu, maintainer, keyring.sign(fpr, data), data)
    assert found == {("upload-signed", "info"): f"ubuntu.tar.gz is signed by {fpr} (Ubuntu Dev)"}


@pytest.mark.parametrize(
    "case", ["other bytes", "someone else's key", "truncated", "no key on profile"]
)
def test_a_bad_signature_is_an_error_that_says_why(
    release, ubuntu, maintainer, other_maintainer, keyring, case
):
    mine = keyring.make("Ubuntu Dev <ubuntu-dev@example.org>")
    theirs = keyring.make("Fedora Dev <fedora-dev@example.org>")
    OpenPGPKey.objects.create(
        user=other_maintainer, fingerprint=theirs, algorithm="EdDSA", armor=keyring.public(theirs)
    )
    if case != "no key on profile":
        OpenPGPKey.objects.create(
            user=maintainer, fingerprint=mine, algorithm="EdDSA", armor=keyring.public(mine)
        )
    data = bundle_bytes()
    signature = {
        "other bytes": keyring.sign(mine, data + b"changed"),
        "someone else's key": keyring.sign(theirs, data),
        "truncated": keyring.sign(mine, data)[:120],
        "no key on profile": keyring.sign(mine, data),
    }[case]
    found = _signed_upload(release, ubuntu, maintainer, signature, data)
    (check, severity), message = next(iter(found.items()))
    assert (check, severity) == ("upload-signature-bad", "error")
    expected = {
        "other bytes": "does not match the uploaded file",
        "someone else's key": "not one of yours",
        "truncated": "not a valid OpenPGP signature",
        "no key on profile": "no OpenPGP key on your profile",
    }[case]
    assert expected in message


def test_a_project_that_requires_signatures_fails_an_unsigned_upload(release, ubuntu, maintainer):
    release.project.require_signed_uploads = True
    release.project.save()
    found = _signed_upload(release, ubuntu, maintainer, "")
    assert ("upload-unsigned", "error") in found


def test_a_ten_megabyte_signature_is_refused_at_the_upload(client, release, ubuntu, maintainer):
    from tests.helpers import multipart

    client.force_login(maintainer)
    body, content_type = multipart(
        {}, {"bundle": ("ubuntu.tar.gz", bundle_bytes()), "signature": ("b.asc", b"A" * 10_000_000)}
    )
    response = client.generic(
        "POST",
        reverse("release-distro", args=["convirt", "2.0", "ubuntu"]),
        body,
        content_type=content_type,
        HTTP_ACCEPT="application/json",
    )
    assert (
        response.status_code == 400
        and "a detached signature is a few hundred" in response.json()["error"]
    )
    assert not Submission.objects.exists()

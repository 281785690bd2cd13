"""Each project signs with its own key: portal-held (encrypted at rest, never shown)
or a release manager's offline signature, verified against the project's KEYS.

Checked as outsiders would: `sqv` against one project's KEYS alone, and the DSSE
envelope's signature checked by hand (the PAE rebuilt here from the DSSE spec, not
by the portal's code) with `sqv`.
"""

import base64
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from django.core.files.storage import storages
from django.urls import reverse

from publishing import services
from releases import keys, publication
from releases.coordination import lifecycle
from releases.models import Project, ProjectKey, Release
from releases.teams import services as teams
from tests.factories import ProjectMemberFactory, UserFactory
from tests.publishing.test_signed_release import _frozen_release

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not shutil.which("sqv"), reason="sqv verifies here"),
]


class Person:
    """A release manager's own gpg, on their own machine (a GNUPGHOME of their own)."""

    def __init__(self, home: Path, uid: str, *, usage: str = "sign", expire: str = "never"):
        home.mkdir(mode=0o700)
        self.home = home
        self.gpg("--quick-gen-key", uid, "ed25519", usage, expire)
        listed = self.gpg("--with-colons", "--list-keys").stdout.decode()
        self.fingerprint = next(
            line.split(":")[9] for line in listed.splitlines() if line.startswith("fpr:")
        )

    def gpg(self, *args, data: bytes | None = None):
        return subprocess.run(
            ["gpg", "--homedir", str(self.home), "--batch", "--passphrase", "", *args],
            input=data,
            capture_output=True,
            check=True,
        )

    def public(self) -> str:
        return self.gpg("--armor", "--export", self.fingerprint).stdout.decode()

    def secret(self) -> str:
        return self.gpg(
            "--pinentry-mode", "loopback", "--armor", "--export-secret-keys", self.fingerprint
        ).stdout.decode()

    def sign(self, path: Path) -> bytes:
        out = path.with_name(path.name + ".asc")
        self.gpg("--yes", "--armor", "--output", str(out), "--detach-sign", str(path))
        return out.read_bytes()


def sqv_ok(keys_file: Path, signature: Path, data: Path) -> tuple[bool, str]:
    done = subprocess.run(
        ["sqv", "--keyring", str(keys_file), str(signature), str(data)],
        capture_output=True,
        text=True,
    )
    return done.returncode == 0, (done.stdout + done.stderr).strip()


def _public(name: str) -> bytes:
    with storages["public"].open(name, "rb") as stored:
        return stored.read()


def _publish(release: Release, actor) -> Release:
    lifecycle.release_publish(release=release, actor=actor)
    services.release_assemble(release_id=release.pk)
    release.refresh_from_db()
    assert release.state == Release.State.RELEASED
    return release


@pytest.fixture
def no_site_key(settings):
    settings.RELEASE_KEY_FILE = ""


def test_a_portal_held_key_is_encrypted_never_shown_and_signs_the_dsse_envelope(
    client, tmp_path, no_site_key
):
    release, _ = _frozen_release("convirt-keys")
    project = release.project
    owner = ProjectMemberFactory(project=project, user=UserFactory(username="cv-owner")).user
    client.force_login(owner)
    keys_url = reverse("staff-keys", args=[project.slug])
    assert client.post(keys_url, {"action": "generate"}).status_code == 302
    held = ProjectKey.objects.get(project=project)
    assert held.secret_encrypted and "PRIVATE KEY" not in held.secret_encrypted
    assert "PRIVATE KEY BLOCK" in keys.secret_decrypt(held.secret_encrypted)[0]
    page = client.get(keys_url).content.decode()
    assert held.fingerprint in page and "PRIVATE" not in page and held.secret_encrypted not in page

    release = _publish(release, owner)
    assert release.source_tarball.signed_by == held.fingerprint
    files = publication.keys_of(release)
    for role in ("tarball", "signature", "sums", "sums_signature", "keys", "provenance"):
        (tmp_path / role).write_bytes(_public(files[role]))
    assert sqv_ok(tmp_path / "keys", tmp_path / "signature", tmp_path / "tarball") == (
        True,
        held.fingerprint,
    )
    statement = json.loads((tmp_path / "provenance").read_bytes())
    assert statement["predicateType"] == "https://release-portal.org/provenance/assembly/v1"
    assert statement["predicate"]["signedBy"] == held.fingerprint

    # The envelope, checked without the portal's code: DSSE v1's PAE by the spec.
    envelope = json.loads(_public(files["attestation"]))
    payload = base64.b64decode(envelope["payload"])
    assert json.loads(payload) == statement
    kind = envelope["payloadType"].encode()
    assert kind == b"application/vnd.in-toto+json"
    pae = b"DSSEv1 " + str(len(kind)).encode() + b" " + kind + b" "
    pae += str(len(payload)).encode() + b" " + payload
    (signature,) = envelope["signatures"]
    assert signature["keyid"] == held.fingerprint
    (tmp_path / "pae").write_bytes(pae)
    (tmp_path / "pae.sig").write_bytes(base64.b64decode(signature["sig"]))
    assert sqv_ok(tmp_path / "keys", tmp_path / "pae.sig", tmp_path / "pae")[0]
    (tmp_path / "other").write_bytes(pae.replace(b'"version"', b'"versioN"'))
    assert not sqv_ok(tmp_path / "keys", tmp_path / "pae.sig", tmp_path / "other")[0]

    # downloads.json and the page name the key.
    services.public_page_render(project=project)
    html, payload_json = services.public_page_render(project=project)
    data = json.loads(payload_json)
    assert data["releases"][0]["source"]["signed_by"] == held.fingerprint
    assert data["releases"][0]["source"]["attestation_url"].endswith(".intoto.jsonl")
    assert held.fingerprint in html.decode()

    # Rotation: a new key signs from now on; the old one stays in KEYS.
    assert client.post(keys_url, {"action": "generate"}).status_code == 302
    assert ProjectKey.objects.filter(project=project, retired_at__isnull=False).count() == 1
    both = keys.project_keys_file(project).decode()
    assert all(k.fingerprint in both for k in ProjectKey.objects.filter(project=project))


def test_a_release_signed_offline_verifies_with_that_projects_keys_alone(
    client, tmp_path, no_site_key
):
    convirt, _ = _frozen_release("convirt-offline")
    tern, _ = _frozen_release("tern-offline")
    Project.objects.filter(pk=tern.project_id).update(signing="release_manager")
    tern.refresh_from_db()
    rm = Person(tmp_path / "rm", "Tern RM <rm@tern.example>")
    stranger = Person(tmp_path / "stranger", "Stranger <s@example.org>")
    owner = ProjectMemberFactory(project=tern.project, user=UserFactory(username="t-owner")).user
    manager = ProjectMemberFactory(
        project=tern.project, user=UserFactory(username="t-rm"), role="release_manager"
    ).user
    teams.project_key_add_public(project=tern.project, armor=rm.public(), actor=owner)
    teams.project_key_generate(project=convirt.project, actor=owner)

    client.force_login(manager)
    publish = client.post(
        reverse("staff-release-publish", args=[tern.pk]), {"confirmed": "yes"}, follow=True
    )
    assert "signed offline by a release manager" in publish.content.decode()
    client.post(reverse("staff-release-signing-prepare", args=[tern.pk]))
    tern.refresh_from_db()
    tarball = tmp_path / "tern.tar.gz"
    tarball.write_bytes(
        client.get(reverse("staff-release-signing-tarball", args=[tern.pk])).getvalue()
    )
    assert (
        subprocess.run(["sha256sum", str(tarball)], capture_output=True, text=True).stdout.split()[
            0
        ]
        == tern.signing_sha256
    )
    signing = reverse("staff-release-signing", args=[tern.pk])

    def upload(data: bytes):
        tmp = tmp_path / "upload.asc"
        tmp.write_bytes(data)
        with open(tmp, "rb") as handle:
            return client.post(signing, {"signature": handle})

    other_bytes = tmp_path / "other.tar.gz"
    other_bytes.write_bytes(b"not the tarball")
    refusals = {
        "not a signature": (b"-----BEGIN PGP PUBLIC KEY BLOCK-----\n", "not"),
        "other bytes": (rm.sign(other_bytes), "does not match"),
        "unknown key": (stranger.sign(tarball), stranger.fingerprint),
    }
    for name, (data, words) in refusals.items():
        refused = upload(data)
        assert refused.status_code == 400, name
        assert words in refused.content.decode(), (name, refused.content.decode()[-800:])
    tern.refresh_from_db()
    assert tern.offline_signature == ""

    assert upload(rm.sign(tarball)).status_code == 302
    tern.refresh_from_db()
    assert tern.offline_signed_by == rm.fingerprint
    tern = _publish(tern, manager)
    convirt = _publish(convirt, owner)
    files = publication.keys_of(tern)
    for role in ("tarball", "signature", "keys"):
        (tmp_path / f"tern-{role}").write_bytes(_public(files[role]))
    (tmp_path / "convirt-keys").write_bytes(_public(publication.keys_of(convirt)["keys"]))
    assert (tmp_path / "tern-tarball").read_bytes() == tarball.read_bytes()
    ok, said = sqv_ok(
        tmp_path / "tern-keys", tmp_path / "tern-signature", tmp_path / "tern-tarball"
    )
    assert (ok, said) == (True, rm.fingerprint)
    ok, said = sqv_ok(
        tmp_path / "convirt-keys", tmp_path / "tern-signature", tmp_path / "tern-tarball"
    )
    assert not ok
    assert tern.source_tarball.signed_by == rm.fingerprint
    data = json.loads(services.public_page_render(project=tern.project)[1])
    assert data["releases"][0]["source"]["signed_by"] == rm.fingerprint
    assert data["releases"][0]["source"]["sums_signature_url"] is None


def test_keys_that_cannot_serve_are_refused_with_a_sentence(client, tmp_path):
    project = ProjectMemberFactory(user=UserFactory(username="k-owner")).project
    owner = project.members.get().user
    client.force_login(owner)
    url = reverse("staff-keys", args=[project.slug])
    signer = Person(tmp_path / "signer", "Signer <s@example.org>")
    certify_only = Person(tmp_path / "cert", "Cert <c@example.org>", usage="cert")
    expired = Person(tmp_path / "old", "Old <o@example.org>", expire="seconds=1")
    import time

    time.sleep(2)
    cases = [
        ({"action": "public", "public_key": signer.secret()}, "secret key"),
        ({"action": "public", "public_key": certify_only.public()}, "cannot sign"),
        ({"action": "public", "public_key": expired.public()}, "has expired"),
        ({"action": "upload", "secret_key": signer.public()}, "That is not a secret key"),
    ]
    for data, words in cases:
        refused = client.post(url, data)
        assert refused.status_code == 400, data["action"]
        assert words in refused.content.decode(), (words, refused.content.decode()[-1500:])
    assert not ProjectKey.objects.exists()
    assert client.post(url, {"action": "upload", "secret_key": signer.secret()}).status_code == 302
    held = ProjectKey.objects.get()
    assert held.fingerprint == signer.fingerprint and held.portal_held


def test_an_uploaded_key_with_a_passphrase_signs(client, tmp_path):
    home = tmp_path / "protected"
    home.mkdir(mode=0o700)

    def gpg(*args):
        return subprocess.run(
            ["gpg", "--homedir", str(home), "--batch", "--pinentry-mode", "loopback"]
            + ["--passphrase", "correct horse", *args],
            capture_output=True,
            check=True,
        ).stdout

    gpg("--quick-gen-key", "Protected <p@example.org>", "ed25519", "sign", "never")
    armor = gpg("--armor", "--export-secret-keys").decode()
    project = ProjectMemberFactory(user=UserFactory(username="p-owner")).project
    client.force_login(project.members.get().user)
    url = reverse("staff-keys", args=[project.slug])
    wrong = client.post(url, {"action": "upload", "secret_key": armor, "passphrase": "nope"})
    assert wrong.status_code == 400
    made = client.post(
        url, {"action": "upload", "secret_key": armor, "passphrase": "correct horse"}
    )
    assert made.status_code == 302
    key = keys.project_signing_key(project)
    data = tmp_path / "data"
    data.write_bytes(b"signed with a protected key")
    (tmp_path / "data.sig").write_bytes(services.openpgp.sign_bytes(key, data.read_bytes()))
    (tmp_path / "keys").write_bytes(keys.project_keys_file(project))
    assert sqv_ok(tmp_path / "keys", tmp_path / "data.sig", data) == (True, key.fingerprint)

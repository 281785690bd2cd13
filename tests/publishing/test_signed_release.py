"""A signed, reproducible, provenanced release, checked as a packager would.

A real worker process publishes onto S3 (moto) with a release key; the files
are then fetched over HTTP from the live server (which redirects to the
bucket) and verified with two OpenPGP implementations, gpgv and Sequoia's sqv.
"""

import hashlib
import io
import json
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
from django.core.management import call_command

from demo import builders as demo
from portal import openpgp
from portal.celery import app
from publishing.services import assembly_mtime
from releases.artifacts import artifact_create
from releases.coordination.lifecycle import release_publish
from releases.models import Artifact, Release, Submission
from tests.factories import (
    DistroFactory,
    ProjectFactory,
    ProjectMemberFactory,
    SubmissionFactory,
    UserFactory,
    packager,
)
from tests.processes import WorkerProcess, wait_for

pytestmark = [
    pytest.mark.services,
    pytest.mark.skipif(
        not (shutil.which("gpgv") and shutil.which("sqv")), reason="gpgv and sqv verify here"
    ),
]


def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 - the test's own server
        return response.read()


def gpgv(tmp_path: Path, keys: bytes, signature: Path, data: Path) -> None:
    keyring = tmp_path / "keys.gpg"
    keyring.write_bytes(
        subprocess.run(["gpg", "--dearmor"], input=keys, capture_output=True, check=True).stdout
    )
    subprocess.run(
        ["gpgv", "--keyring", str(keyring), str(signature), str(data)],
        check=True,
        capture_output=True,
    )


def sqv(keys_file: Path, signature: Path, data: Path) -> str:
    done = subprocess.run(
        ["sqv", "--keyring", str(keys_file), str(signature), str(data)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def _frozen_release(slug: str):
    project = ProjectFactory(slug=slug, name="Signed Project")
    release = Release.objects.create(
        project=project,
        version="3.0",
        state=Release.State.FROZEN,
        prerelease=artifact_create(
            kind=Artifact.Kind.PRERELEASE, content=io.BytesIO(demo.prerelease_bytes("3.0"))
        ),
    )
    submissions = {}
    for slug_, name, person, browser in (
        ("ubuntu", "Ubuntu", ("uma", "Uma U."), "/usr/bin/sensible-browser"),
        ("debian", "Debian", ("dee", "Dee D."), "/usr/bin/x-www-browser"),
    ):
        bundle = io.BytesIO()
        members = [
            (path.replace("ubuntu", slug_), data, mode)
            for path, data, mode in demo.ubuntu_bundle_members(browser=browser)
        ]
        demo.build_distro_bundle(bundle, members)
        bundle.seek(0)
        submissions[slug_] = SubmissionFactory(
            release=release,
            distro=DistroFactory(slug=slug_, name=name),
            submitter=packager(*person),
            state=Submission.State.ACCEPTED,
            artifact=artifact_create(kind=Artifact.Kind.SUBMISSION, content=bundle),
        )
    return release, submissions


@pytest.mark.django_db(transaction=True)
def test_a_packager_verifies_a_release_the_worker_signed_on_s3(
    s3_storages, s3_server, process_log_dir, live_server, tmp_path
):
    key_file = tmp_path / "release-key.asc"
    fingerprint = openpgp.demo_key_create(key_file)
    queue = f"signing-{uuid.uuid4().hex[:8]}"
    # Its own queue: the session's worker (no key, local storage) must not take the task.
    default_queue, app.conf.task_default_queue = app.conf.task_default_queue, queue
    # A public bucket, as in production: anyone reads what the portal put there.
    s3_server.client().put_bucket_policy(
        Bucket=s3_storages["public"],
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": "*",
                        "Action": "s3:GetObject",
                        "Resource": f"arn:aws:s3:::{s3_storages['public']}/*",
                    }
                ],
            }
        ),
    )
    worker = WorkerProcess(
        process_log_dir,
        name="signing-worker",
        env={
            "RELEASE_KEY_FILE": str(key_file),
            "CELERY_TASK_DEFAULT_QUEUE": queue,
            "STORAGE_BACKEND": "s3",
            "S3_ENDPOINT_URL": s3_server.endpoint,
            "S3_UPLOADS_BUCKET": s3_storages["uploads"],
            "S3_PUBLIC_BUCKET": s3_storages["public"],
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
        },
    ).start()
    try:
        release, submissions = _frozen_release(f"sig-{uuid.uuid4().hex[:8]}")
        release_publish(release=release, actor=UserFactory(username="rm", is_staff=True))

        def released():
            release.refresh_from_db()
            release.project.refresh_from_db()
            # Released, and its page regenerated after it.
            return (
                release.state == Release.State.RELEASED and release.project.page_stale_since is None
            )

        wait_for(
            released, timeout=90, what=f"the worker published {release} (log: {worker.log_path})"
        )
    finally:
        app.conf.task_default_queue = default_queue
        worker.stop()

    tarball = release.source_tarball
    assert tarball.signed_by == fingerprint
    base = f"{live_server.url}/downloads/{release.project.slug}"
    name = tarball.key.rsplit("/", 1)[-1]
    files = {
        "tarball": f"{base}/3.0/{name}",
        "asc": f"{base}/3.0/{name}.asc",
        "sums": f"{base}/3.0/SHA256SUMS",
        "sums_asc": f"{base}/3.0/SHA256SUMS.asc",
        "provenance": f"{base}/3.0/{name}.intoto.json",
        "keys": f"{base}/KEYS",
    }
    got = {what: fetch(url) for what, url in files.items()}
    paths = {}
    for what, data in got.items():
        paths[what] = tmp_path / what
        paths[what].write_bytes(data)
    assert hashlib.sha256(got["tarball"]).hexdigest() == tarball.sha256

    gpgv(tmp_path, got["keys"], paths["asc"], paths["tarball"])
    gpgv(tmp_path, got["keys"], paths["sums_asc"], paths["sums"])
    assert sqv(paths["keys"], paths["asc"], paths["tarball"]) == fingerprint
    assert sqv(paths["keys"], paths["sums_asc"], paths["sums"]) == fingerprint

    sums = dict(line.split("  ")[::-1] for line in got["sums"].decode().splitlines())
    assert sums == {
        name: tarball.sha256,
        f"{name}.intoto.json": hashlib.sha256(got["provenance"]).hexdigest(),
    }
    statement = json.loads(got["provenance"])
    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    assert statement["subject"] == [{"name": name, "digest": {"sha256": tarball.sha256}}]
    predicate = statement["predicate"]
    assert predicate["prerelease"]["digest"]["sha256"] == release.prerelease.sha256
    by_distro = {c["distro"]: c for c in predicate["contributions"]}
    assert by_distro.keys() == {"debian", "ubuntu"}
    for slug, submission in submissions.items():
        assert by_distro[slug]["digest"]["sha256"] == submission.artifact.sha256
        assert by_distro[slug]["verdict"] == "passed"
    assert by_distro["ubuntu"]["maintainers"] == ["Uma U."]
    assert predicate["assembly"]["tool"]["name"] == "bundlecheck"
    assert len(predicate["assembly"]["policy"]["digest"]["sha256"]) == 64

    # The page says who signed, and downloads.json links every file. The page is
    # regenerated by its own task after the release is published: wait for it.
    def published_page():
        try:
            data = json.loads(fetch(f"{base}/downloads.json"))
        except urllib.error.HTTPError:
            return None
        return data if data.get("releases") else None

    data = wait_for(published_page, timeout=60, what="downloads.json listing the release")
    source = data["releases"][0]["source"]
    assert source["signed_by"] == fingerprint
    assert data["signing_fingerprint"] == fingerprint
    for field, what in (
        ("signature_url", "asc"),
        ("sums_url", "sums"),
        ("sums_signature_url", "sums_asc"),
        ("provenance_url", "provenance"),
    ):
        assert fetch(source[field]) == got[what]
    html = fetch(f"{base}/").decode()
    assert fingerprint in html
    assert f"sqv --keyring KEYS {name}.asc {name}" in html
    assert "pgpsigurlmangle=s/$/.asc/" in html
    # The page's one-paste block, pasted into a shell in an empty folder, verifies.
    paste = html.split('<pre class="paste">', 1)[1].split("</pre>", 1)[0]
    folder = tmp_path / "pasted"
    folder.mkdir()
    ran = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", __import__("html").unescape(paste)],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ran.returncode == 0, ran.stderr
    assert f"{name}: OK" in ran.stdout and fingerprint in ran.stdout + ran.stderr

    # Anyone rebuilds the same bytes with bundlecheck from the same inputs.
    prerelease = tmp_path / "prerelease.tar.gz"
    prerelease.write_bytes(demo.prerelease_bytes("3.0"))
    command = [sys.executable, "-m", "bundlecheck.cli", "assemble", str(prerelease)]
    from django.core.files.storage import storages

    for slug, submission in submissions.items():
        path = tmp_path / f"{slug}.tar.gz"
        with storages["uploads"].open(submission.artifact.key, "rb") as stored:
            path.write_bytes(stored.read())
        command += ["--contribution", f"{slug}={path}"]
    out = tmp_path / "rebuilt.tar.gz"
    command += ["--mtime", str(assembly_mtime(release)), "-o", str(out), "--policy", "convirt"]
    subprocess.run(command, check=True, capture_output=True)
    assert out.read_bytes() == got["tarball"]


@pytest.mark.django_db
def test_an_unreproducible_build_is_refused_and_the_dashboard_says_why(
    client, monkeypatch, settings
):
    from publishing import services

    settings.RELEASE_KEY_FILE = ""
    release, _ = _frozen_release(f"rep-{uuid.uuid4().hex[:8]}")
    Release.objects.filter(pk=release.pk).update(state=Release.State.PUBLISHING)

    def differently(*, release, prerelease, contributions, out, **_):
        out.write_bytes(b"other bytes")

    monkeypatch.setattr(services, "_rebuild_elsewhere", differently)
    with pytest.raises(services.NotReproducible) as refused:
        services.release_assemble(release_id=release.pk)
    services.release_assemble_give_up(release_id=release.pk, error=str(refused.value))
    release.refresh_from_db()
    assert release.state == Release.State.FROZEN
    assert release.source_tarball_id is None

    boss = ProjectMemberFactory(project=release.project, user=UserFactory(username="boss")).user
    client.force_login(boss)
    page = client.get(f"/staff/releases/{release.pk}/").content.decode()
    assert "The last publish failed" in page
    assert "not reproducible" in page
    assert "No release key is configured" in page


@pytest.mark.django_db
def test_seed_demo_published_signs_with_the_demo_key(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    settings.RELEASE_KEY_FILE = ""
    settings.STORAGES = {
        **settings.STORAGES,
        "uploads": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "uploads")},
        },
        "public": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "public"), "base_url": "/downloads/"},
        },
    }
    call_command("seed_demo", "--published", stdout=io.StringIO())
    key = tmp_path / "demo-release-key.asc"
    assert openpgp.DEMO_KEY_NAME in openpgp.keys_file(openpgp._load(key.read_text(), None)).decode()
    folder = tmp_path / "public" / "convirt"
    tarball = folder / "1.9" / "convirt-1.9.tar.gz"
    keys = folder / "KEYS"
    fingerprint = sqv(keys, tarball.with_name(tarball.name + ".asc"), tarball)
    assert Release.objects.get(version="1.9").source_tarball.signed_by == fingerprint
    gpgv(
        tmp_path,
        keys.read_bytes(),
        folder / "1.9" / "SHA256SUMS.asc",
        folder / "1.9" / "SHA256SUMS",
    )
    assert fingerprint in (folder / "index.html").read_text()


def test_keys_lists_the_current_key_first_then_the_older_ones(settings, tmp_path):
    old_key, new_key = tmp_path / "old.asc", tmp_path / "new.asc"
    old_fpr, new_fpr = openpgp.demo_key_create(old_key), openpgp.demo_key_create(new_key)
    older = tmp_path / "older-public-keys.asc"
    older.write_text(openpgp.public_keys(openpgp._load(old_key.read_text(), None)))
    settings.RELEASE_KEY_FILE, settings.RELEASE_KEYS_EXTRA = str(new_key), str(older)

    current = openpgp.release_key()
    assert current.fingerprint == new_fpr
    keys = tmp_path / "KEYS"
    keys.write_bytes(openpgp.keys_file(current))
    text = keys.read_text()
    assert text.index(new_fpr) < text.index(old_fpr)

    # A release the old key signed still verifies against the rotated KEYS.
    data = tmp_path / "old-release.tar.gz"
    data.write_bytes(b"an older release")
    signature = tmp_path / "old-release.tar.gz.asc"
    signature.write_bytes(openpgp.sign_detached(openpgp._load(old_key.read_text(), None), data))
    assert sqv(keys, signature, data) == old_fpr
    gpgv(tmp_path, keys.read_bytes(), signature, data)


def test_without_a_key_nothing_is_listed(settings):
    settings.RELEASE_KEY_FILE, settings.RELEASE_KEYS_EXTRA = "", ""
    assert openpgp.release_key() is None
    assert openpgp.keys_file(None) == b""


@pytest.mark.django_db
def test_the_page_says_when_a_release_went_out_unsigned(project):
    from publishing.services import public_page_render
    from tests.factories import released

    released(project, "1.0")
    html, payload = public_page_render(project=project)
    assert b"Published unsigned" in html
    assert b"Verifying a download" not in html
    source = json.loads(payload)["releases"][0]["source"]
    assert source["signed_by"] is None and source["signature_url"] is None
    assert source["provenance_url"].endswith("/convirt-1.0.tar.gz.intoto.json")

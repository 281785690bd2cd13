"""Verification: stored upload streamed back through the engine, in a real worker."""

import pytest
from django.core import mail
from django.urls import reverse

from releases.models import Artifact, Finding, Release, Submission
from releases.submissions.services import submission_create
from releases.verification import services
from tests.helpers import Upload, broken_bundle_bytes, bundle_bytes, submit
from tests.processes import wait_for


def finished(pk):
    return Submission.objects.filter(pk=pk, state__in=["passed", "failed"]).first()


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_the_worker_verifies_a_good_and_a_broken_bundle(
    worker, release, ubuntu, maintainer, client
):
    good = submit(release, ubuntu, maintainer, bundle_bytes())
    done = wait_for(lambda: finished(good.pk), timeout=60, what="verdict on the good bundle")
    assert done.state == "passed", list(done.findings.values_list("check_id", "message"))
    assert done.progress == 100 and done.verified_at

    broken = submit(release, ubuntu, maintainer, broken_bundle_bytes())
    done = wait_for(lambda: finished(broken.pk), timeout=60, what="verdict on the broken bundle")
    assert done.state == "failed"
    checks = set(done.findings.values_list("check_id", flat=True))
    assert "config-html-browser-missing" in checks
    assert Submission.objects.get(pk=good.pk).state == "superseded"

    client.force_login(maintainer)
    page = client.get(reverse("submission-detail", args=[broken.pk])).content.decode()
    assert "config-html-browser-missing" in page
    assert page.index("Errors") < page.index("config-html-browser-missing")
    report = client.get(reverse("submission-report", args=[broken.pk])).json()
    assert report["verdict"] == "fail"
    assert {f["check"] for f in report["findings"]} == checks


@pytest.mark.django_db
def test_the_same_task_twice_does_the_work_once(
    release, ubuntu, maintainer, django_capture_on_commit_callbacks
):
    submission = submit(release, ubuntu, maintainer, broken_bundle_bytes())
    with django_capture_on_commit_callbacks(execute=True):
        first = services.submission_verify(submission_id=submission.pk)
    findings_after_first = set(
        Finding.objects.filter(submission=submission).values_list("pk", flat=True)
    )
    verified_at = Submission.objects.get(pk=submission.pk).verified_at
    second = services.submission_verify(submission_id=submission.pk)
    assert first is not None and second is None
    assert findings_after_first  # the broken bundle has findings
    # A second run would replace the findings with new rows and stamp a new time.
    assert set(Finding.objects.filter(submission=submission).values_list("pk", flat=True)) == (
        findings_after_first
    )
    assert Submission.objects.get(pk=submission.pk).verified_at == verified_at
    # One mail to the submitter when the verdict is in.
    assert [m.to for m in mail.outbox] == [[maintainer.email]]
    assert "failed" in mail.outbox[0].subject


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "name", "check"),
    [
        (b"", "empty.tar.gz", "archive-unreadable"),
        (b"this is not an archive at all" * 20, "notes.tar.gz", "archive-unreadable"),
        (bundle_bytes()[:300], "cut.tar.gz", "archive-corrupt"),
    ],
)
def test_a_bad_archive_fails_with_a_clear_finding_and_is_kept(
    release, ubuntu, maintainer, data, name, check
):
    submission = submit(release, ubuntu, maintainer, data, name)
    services.submission_verify(submission_id=submission.pk)
    submission.refresh_from_db()
    assert submission.state == "failed"
    assert check in set(submission.findings.values_list("check_id", flat=True))
    assert Artifact.objects.filter(pk=submission.artifact_id).exists()  # kept for audit


@pytest.mark.django_db
def test_a_verification_that_could_not_finish_says_why(release, ubuntu, maintainer):
    submission = submit(release, ubuntu, maintainer, bundle_bytes())
    Submission.objects.filter(pk=submission.pk).update(state="verifying")
    services.submission_fail(submission_id=submission.pk, error="did not finish within 900 seconds")
    submission.refresh_from_db()
    assert submission.state == "failed" and "900 seconds" in submission.error


@pytest.mark.django_db
def test_progress_is_saved_while_verifying(release, ubuntu, maintainer):
    from releases.verification.services import _ProgressWriter

    submission = submit(release, ubuntu, maintainer, bundle_bytes())
    Submission.objects.filter(pk=submission.pk).update(state="verifying")
    write = _ProgressWriter(submission.pk, 0, 100)
    write(50, 100)
    submission.refresh_from_db()
    assert submission.progress == 50
    write(40, 100)  # never goes backwards
    submission.refresh_from_db()
    assert submission.progress == 50


@pytest.mark.django_db
def test_a_release_frozen_while_the_body_streamed_in_takes_no_upload(release, ubuntu, maintainer):
    from portal.errors import Conflict

    stale_view = Release.objects.get(pk=release.pk)  # loaded before the body arrived
    Release.objects.filter(pk=release.pk).update(state="frozen")
    before = Artifact.objects.count()
    with pytest.raises(Conflict, match="frozen"):
        submit(stale_view, ubuntu, maintainer, bundle_bytes())
    assert Submission.objects.count() == 0 and Artifact.objects.count() == before


@pytest.mark.django_db
def test_the_same_file_after_a_failure_is_a_fresh_try(release, ubuntu, maintainer):
    first = submit(release, ubuntu, maintainer, bundle_bytes())
    Submission.objects.filter(pk=first.pk).update(state="failed", error="storage was down")
    again = submit(release, ubuntu, maintainer, bundle_bytes())
    assert again.pk != first.pk and again.state == "received"
    assert Submission.objects.get(pk=first.pk).state == "superseded"


@pytest.mark.django_db
@pytest.mark.parametrize(("with_symlink", "verdict"), [(True, "passed"), (False, "failed")])
def test_a_staged_package_is_checked_against_the_deployment_layout(
    release, ubuntu, maintainer, with_symlink, verdict
):
    from tests.helpers import deb_bytes

    submission, _ = submission_create(
        release=release,
        distro=ubuntu,
        submitter=maintainer,
        upload=Upload(bundle_bytes()),
        package=Upload(deb_bytes(with_symlink=with_symlink), "convirt_2.0-1_all.deb"),
    )
    services.submission_verify(submission_id=submission.pk)
    submission.refresh_from_db()
    package_checks = set(
        submission.findings.filter(subject="package").values_list("check_id", flat=True)
    )
    # ConVirt's own rules decide this case; lintian judges the same package
    # beside them (its errors on this bare test .deb fail it too, as they would
    # a real one), so its tags are set apart here.
    convirt_errors = set(
        submission.findings.filter(severity="error")
        .exclude(check_id__startswith="lintian:")
        .values_list("check_id", flat=True)
    )
    assert (not convirt_errors) is (verdict == "passed"), convirt_errors
    assert ("deploy-symlink-missing" in package_checks) is (not with_symlink)
    if verdict == "failed":
        assert submission.state == "failed"


@pytest.mark.django_db
def test_the_report_shows_lintians_tags_beside_convirts_checks_with_its_version(
    client, release, ubuntu, maintainer
):
    import shutil

    from tests.helpers import deb_bytes

    if not shutil.which("lintian"):
        import os

        if os.environ.get("CI") == "true":
            pytest.fail("lintian is missing: .ci/run installs it")
        pytest.skip("lintian is not installed")
    submission, _ = submission_create(
        release=release,
        distro=ubuntu,
        submitter=maintainer,
        upload=Upload(bundle_bytes()),
        package=Upload(deb_bytes(with_symlink=False), "convirt_2.0-1_all.deb"),
    )
    services.submission_verify(submission_id=submission.pk)
    submission.refresh_from_db()
    assert submission.checked_with["lintian"].lower().startswith("lintian ")
    client.force_login(maintainer)
    page = client.get(reverse("submission-detail", args=[submission.pk])).content.decode()
    assert f"by {submission.checked_with['lintian']}" in page
    assert "deploy-symlink-missing" in page and "lintian:" in page  # side by side
    assert "https://lintian.debian.org/tags/" in page  # each tag links its page
    body = client.get(reverse("submission-report", args=[submission.pk])).json()
    lintian = [f for f in body["findings"] if f["check"].startswith("lintian:")]
    assert lintian and all(f["url"] for f in lintian)
    assert body["checked_with"] == submission.checked_with


def _built_rpm(tmp_path) -> bytes:
    """The engine tests' convirt .rpm, built with rpmbuild."""
    import os
    import shutil
    import subprocess

    for tool in ("rpmbuild", "rpmlint"):
        if not shutil.which(tool):
            if os.environ.get("CI") == "true":
                pytest.fail(f"{tool} is missing: .ci/run installs rpm and rpmlint")
            pytest.skip(f"{tool} is not installed")
    (tmp_path / "SPECS").mkdir()
    from tests.helpers import _engine_builders

    (tmp_path / "SPECS/convirt.spec").write_text(_engine_builders().RPM_SPEC)
    subprocess.run(
        [
            "rpmbuild",
            "--define",
            f"_topdir {tmp_path}",
            "-bb",
            str(tmp_path / "SPECS/convirt.spec"),
        ],
        check=True,
        capture_output=True,
    )
    return (tmp_path / "RPMS/noarch/convirt-2.0-1.noarch.rpm").read_bytes()


@pytest.mark.django_db
@pytest.mark.parametrize("with_rpmlintrc", [False, True])
def test_the_bundles_rpmlintrc_reaches_rpmlint_for_a_staged_rpm(
    release, ubuntu, maintainer, tmp_path, with_rpmlintrc
):
    """A maintainer keeps rpmlint's overrides where openSUSE and Fedora keep them,
    beside the spec: distros/$DISTRO/.rpmlintrc in the bundle."""
    from demo import builders as demo

    rpm = _built_rpm(tmp_path)
    members = list(demo.ubuntu_bundle_members())
    if with_rpmlintrc:
        members.append(("distros/ubuntu/.rpmlintrc", b'addFilter("no-signature")\n', 0o644))
    submission, _ = submission_create(
        release=release,
        distro=ubuntu,
        submitter=maintainer,
        upload=Upload(bundle_bytes(members)),
        package=Upload(rpm, "convirt-2.0-1.noarch.rpm"),
    )
    services.submission_verify(submission_id=submission.pk)
    checks = set(submission.findings.values_list("check_id", flat=True))
    assert "rpmlint:no-url-tag" in checks  # rpmlint ran
    assert ("rpmlint:no-signature" in checks) is (not with_rpmlintrc)


@pytest.mark.django_db
def test_a_maintainers_rpmlintrc_cannot_silence_what_the_policy_blocks(
    release, ubuntu, maintainer, staff, tmp_path
):
    """addFilter(".*") hides every rpmlint line; a check the project's policy blocks is
    reported all the same, as an error: "override refused (blocking)"."""
    from demo import builders as demo
    from releases.policies import current_version

    rpm = _built_rpm(tmp_path)
    base = current_version(release.project)
    services.policy_version_save(
        project=release.project,
        text=base.text + "\n[linters]\nblocking = ['rpmlint:no-signature']\n",
        note="rpmlint's no-signature blocks",
        author=staff,
        base_number=base.number,
        reverify=False,
    )
    members = [*demo.ubuntu_bundle_members(), ("distros/ubuntu/.rpmlintrc", b'addFilter(".*")\n', 0o644)]
    submission, _ = submission_create(
        release=release,
        distro=ubuntu,
        submitter=maintainer,
        upload=Upload(bundle_bytes(members)),
        package=Upload(rpm, "convirt-2.0-1.noarch.rpm"),
    )
    services.submission_verify(submission_id=submission.pk)
    found = {f.check_id: f for f in submission.findings.all()}
    assert "rpmlint:no-url-tag" not in found  # filtered, as the maintainer asked
    refused = found["rpmlint:no-signature"]
    assert refused.severity == "error" and "override refused (blocking)" in refused.message
    submission.refresh_from_db()
    assert submission.state == Submission.State.FAILED


def _bomb_bundle(inflated: int) -> bytes:
    """A good ubuntu bundle plus distros/ubuntu/big.img of ``inflated`` zero bytes, as a
    .tar.gz of about a thousandth of that: one 16 MiB deflate block, flushed, repeated."""
    import struct
    import tarfile
    import zlib

    from demo import builders as demo

    head = b""
    for name, data, mode in demo.ubuntu_bundle_members():
        info = tarfile.TarInfo(name)
        info.size, info.mode = len(data), mode
        head += info.tobuf(format=tarfile.PAX_FORMAT) + data
        head += bytes(-len(data) % tarfile.BLOCKSIZE)
    big = tarfile.TarInfo("distros/ubuntu/big.img")
    big.size = inflated
    prefix = head + big.tobuf(format=tarfile.PAX_FORMAT)  # no end blocks yet
    chunk = bytes(16 << 20)
    assert inflated % len(chunk) == 0

    def deflated(data: bytes, end: bool = False) -> bytes:
        c = zlib.compressobj(9, zlib.DEFLATED, -15)
        return c.compress(data) + c.flush(zlib.Z_FINISH if end else zlib.Z_FULL_FLUSH)

    tail = bytes(2 * tarfile.BLOCKSIZE)
    crc = zlib.crc32(prefix)
    for _ in range(inflated // len(chunk)):
        crc = zlib.crc32(chunk, crc)
    crc = zlib.crc32(tail, crc)
    body = deflated(prefix) + deflated(chunk) * (inflated // len(chunk)) + deflated(tail, end=True)
    size = len(prefix) + inflated + len(tail)
    return b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff" + body + struct.pack("<II", crc, size & 0xFFFFFFFF)


@pytest.mark.django_db
def test_a_package_with_a_bomb_bundle_is_judged_as_fast_as_the_bundle_alone(
    release, ubuntu, maintainer
):
    """The bundle is read once, by the engine, within its limits: the .rpmlintrc the
    package's rpmlint needs comes from that same pass, not from a second walk."""
    import time

    bomb = _bomb_bundle(1 << 30)
    alone, _ = submission_create(
        release=release, distro=ubuntu, submitter=maintainer, upload=Upload(bomb)
    )
    started = time.monotonic()
    services.submission_verify(submission_id=alone.pk)
    bundle_seconds = time.monotonic() - started
    alone.refresh_from_db()
    assert "archive-too-large" in set(alone.findings.values_list("check_id", flat=True))

    with_package, _ = submission_create(
        release=release,
        distro=ubuntu,
        submitter=maintainer,
        upload=Upload(bomb),
        package=Upload(b"not really an rpm\n" * 64, "convirt-2.0-1.noarch.rpm"),
    )
    started = time.monotonic()
    services.submission_verify(submission_id=with_package.pk)
    both_seconds = time.monotonic() - started
    with_package.refresh_from_db()
    assert with_package.state == Submission.State.FAILED
    # Inflating the whole GiB, as a second walk of the bundle did, takes seconds.
    assert both_seconds < 2 * bundle_seconds + 0.5, (both_seconds, bundle_seconds)

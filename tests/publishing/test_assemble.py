"""Publishing assembles the public source tarball: the pre-release plus each
accepted distro's contribution, reproducibly, idempotently."""

import hashlib
import io
import tarfile

import pytest
from django.core.files.storage import storages

from demo import builders as demo
from publishing import services
from releases.artifacts import artifact_create
from releases.coordination import lifecycle
from releases.models import Artifact, AuditEvent, Release, Submission
from tests.factories import SubmissionFactory, UserFactory

pytestmark = pytest.mark.django_db

FEDORA_BUNDLE = [
    ("distros/fedora/convirt.spec", b"Name: convirt\nVersion: 2.0\n# revised by fedora\n", 0o644),
    ("install/client/distros/fedora/convirt.conf", b"[PATHS]\nexec_path = /usr/bin\n", 0o644),
]


def archive(build, *args) -> bytes:
    buffer = io.BytesIO()
    build(buffer, *args)
    return buffer.getvalue()


def stored(kind, data: bytes) -> Artifact:
    return artifact_create(kind=kind, content=io.BytesIO(data))


def members(data: bytes) -> dict[str, bytes | None]:
    out = {}
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for info in tar:
            out[info.name] = tar.extractfile(info).read() if info.isfile() else None
            assert (info.uid, info.gid) == (0, 0)
    return out


def bundle_members(bundle) -> dict[str, bytes]:
    return {name: data for name, data, _ in bundle}


@pytest.fixture
def frozen_release(project, ubuntu, fedora):
    release = Release.objects.create(
        project=project,
        version="2.0",
        state=Release.State.FROZEN,
        prerelease=stored(Artifact.Kind.PRERELEASE, demo.prerelease_bytes("2.0")),
    )
    ubuntu_bundle = demo.ubuntu_bundle_members(maintainer="Ada <ada@example.org>")
    SubmissionFactory(
        release=release,
        distro=ubuntu,
        submitter=UserFactory(username="ada"),
        state=Submission.State.ACCEPTED,
        artifact=stored(Artifact.Kind.SUBMISSION, archive(demo.build_distro_bundle, ubuntu_bundle)),
    )
    SubmissionFactory(
        release=release,
        distro=fedora,
        submitter=UserFactory(username="fred"),
        state=Submission.State.ACCEPTED,
        artifact=stored(Artifact.Kind.SUBMISSION, archive(demo.build_distro_bundle, FEDORA_BUNDLE)),
    )
    return release, ubuntu_bundle


def publish(release, django_capture_on_commit_callbacks):
    staff = UserFactory(username="release-manager", is_staff=True)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        lifecycle.release_publish(release=release, actor=staff)
    # The event's dispatch (which queues the assembly), only once the row is committed.
    assert len(queued) == 1
    return services.release_assemble(release_id=release.pk)


def test_public_tarball_holds_each_accepted_distro_and_nothing_else_changed(
    frozen_release, django_capture_on_commit_callbacks
):
    release, ubuntu_bundle = frozen_release
    outcome = publish(release, django_capture_on_commit_callbacks)

    release.refresh_from_db()
    assert release.state == Release.State.RELEASED, outcome
    assert release.published_at is not None
    public = storages["public"]
    key = "convirt/2.0/convirt-2.0.tar.gz"
    assert release.source_tarball.key == key
    assert release.source_tarball.storage == "public"
    assert release.source_tarball.kind == Artifact.Kind.SOURCE_RELEASE
    with public.open(key) as handle:
        data = handle.read()
    assert hashlib.sha256(data).hexdigest() == release.source_tarball.sha256
    assert release.source_tarball.size == len(data)
    sha256_line = public.open(f"{key}.sha256").read().decode()
    sha512_line = public.open(f"{key}.sha512").read().decode()
    assert sha256_line == f"{hashlib.sha256(data).hexdigest()}  convirt-2.0.tar.gz\n"
    assert sha512_line == f"{hashlib.sha512(data).hexdigest()}  convirt-2.0.tar.gz\n"

    got = members(data)
    before = members(demo.prerelease_bytes("2.0"))
    contributed = {
        f"convirt-2.0/{name}": body
        for name, body in {
            **bundle_members(ubuntu_bundle),
            **bundle_members(FEDORA_BUNDLE),
        }.items()
    }
    for name, body in contributed.items():
        assert got[name] == body, name
    assert "convirt-2.0/distros/ubuntu/debian/control" in got
    assert "convirt-2.0/distros/fedora/convirt.spec" in got
    # Everything else is the pre-release, byte for byte (directories aside).
    for name, body in got.items():
        if name in contributed or body is None:
            continue
        assert before.get(name) == body, name
    # Nothing of the pre-release went missing, except what a distro replaced.
    assert {n for n, b in before.items() if b is not None} <= set(got)

    event = AuditEvent.objects.get(verb="release.published", object_id=str(release.pk))
    assert event.detail["sha256"] == release.source_tarball.sha256
    assert sorted(event.detail["distros"]) == ["fedora", "ubuntu"]


def test_same_inputs_give_the_same_bytes(frozen_release, django_capture_on_commit_callbacks):
    """Assembling a release again from the same inputs, through the one assembly
    path, writes the same bytes."""
    release, _ = frozen_release
    publish(release, django_capture_on_commit_callbacks)
    release.refresh_from_db()
    first = release.source_tarball.sha256
    with storages["public"].open(release.source_tarball.key) as handle:
        first_bytes = handle.read()
    Release.objects.filter(pk=release.pk).update(
        state=Release.State.PUBLISHING, source_tarball=None, assembly_claimed_at=None
    )
    services.release_assemble(release_id=release.pk)
    release.refresh_from_db()
    with storages["public"].open(release.source_tarball.key) as handle:
        assert handle.read() == first_bytes
    assert release.source_tarball.sha256 == first == hashlib.sha256(first_bytes).hexdigest()


def test_a_second_delivery_does_nothing(frozen_release, django_capture_on_commit_callbacks):
    release, _ = frozen_release
    publish(release, django_capture_on_commit_callbacks)
    release.refresh_from_db()
    tarball = release.source_tarball

    assert services.release_assemble(release_id=release.pk) == "nothing to do"

    release.refresh_from_db()
    assert release.source_tarball == tarball
    assert AuditEvent.objects.filter(verb="release.published").count() == 1


def test_a_concurrent_delivery_waits_for_the_claim(frozen_release):
    release, _ = frozen_release
    lifecycle.release_publish(release=release, actor=None)
    token = lifecycle.assembly_claim(release.pk)  # a first run holds the claim
    assert token is not None
    with pytest.raises(lifecycle.ClaimedElsewhere) as busy:
        services.release_assemble(release_id=release.pk)
    assert busy.value.retry_in > 60
    release.refresh_from_db()
    assert release.state == Release.State.PUBLISHING


def test_a_failed_assembly_gives_the_claim_back(frozen_release, monkeypatch):
    release, _ = frozen_release
    lifecycle.release_publish(release=release, actor=None)

    def storage_down(*args, **kwargs):
        raise ConnectionError("S3 unreachable")

    monkeypatch.setattr(services, "atomic_write", storage_down)
    with pytest.raises(ConnectionError):
        services.release_assemble(release_id=release.pk)
    release.refresh_from_db()
    assert release.state == Release.State.PUBLISHING and release.assembly_claimed_at is None
    assert release.source_tarball is None

    monkeypatch.undo()
    services.release_assemble(release_id=release.pk)  # the retry takes the claim at once
    release.refresh_from_db()
    assert release.state == Release.State.RELEASED


def test_only_prerelease_or_frozen_can_be_published(project):
    release = Release.objects.create(
        project=project,
        version="2.0",
        state=Release.State.DRAFT,
        prerelease=stored(Artifact.Kind.PRERELEASE, b"x"),
    )
    with pytest.raises(lifecycle.TransitionRefused, match="draft"):
        lifecycle.release_publish(release=release, actor=None)
    release.refresh_from_db()
    assert release.state == Release.State.DRAFT
    assert not AuditEvent.objects.filter(verb="release.publishing").exists()


def test_giving_up_returns_the_release_to_frozen(frozen_release):
    release, _ = frozen_release
    lifecycle.release_publish(release=release, actor=None)
    services.release_assemble_give_up(release_id=release.pk, error="ArchiveError: corrupt")
    release.refresh_from_db()
    assert release.state == Release.State.FROZEN
    assert AuditEvent.objects.filter(verb="release.publish_failed").exists()

"""The source proof in the portal: a release's tarball against its tag, on real git repositories."""

from __future__ import annotations

import io
import json
import subprocess
import tarfile  # noqa: TID251 - the test builds a tarball by hand (tests are outside the contract)
from pathlib import Path

import pytest
from django.core import mail
from django.urls import reverse

from portal import outbound
from releases.coordination import lifecycle, services
from releases.coordination.forms import ProjectForm
from releases.events import Event
from releases.models import AuditEvent, Release, SourceProof
from releases.sourceproof.selectors import proof_sentence, provenance_of, source_proof_refusal
from releases.sourceproof.services import source_proof_compute
from tests.factories import MaintainershipFactory, ProjectFactory, UserFactory
from tests.helpers import Upload, prerelease_bytes

IDENTITY = {"GIT_AUTHOR_NAME": "Upstream", "GIT_AUTHOR_EMAIL": "up@example.org",
            "GIT_COMMITTER_NAME": "Upstream", "GIT_COMMITTER_EMAIL": "up@example.org"}


def git(cwd: Path, *args: str) -> str:
    import os

    return subprocess.run(["git", "-c", "init.defaultBranch=main", *args], cwd=cwd, check=True,
                          capture_output=True, text=True, env={**os.environ, **IDENTITY}).stdout


def repository_of(tarball: bytes, path: Path, tag: str = "v2.0") -> Path:
    """A git repository holding the tarball's tree (its top directory stripped), tagged `tag`."""
    path.mkdir(parents=True)
    subprocess.run(["tar", "-xz", "-C", str(path), "--strip-components=1"], input=tarball, check=True)
    git(path, "init", "-q")
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "release")
    git(path, "tag", "-a", tag, "-m", f"release {tag}")
    return path


def with_member(tarball: bytes, name: str, data: bytes) -> bytes:
    """The tarball with one more file under its top directory."""
    out = io.BytesIO()
    with tarfile.open(fileobj=io.BytesIO(tarball)) as src, tarfile.open(fileobj=out, mode="w:gz") as dst:
        top = None
        for member in src.getmembers():
            top = top or member.name.split("/", 1)[0]
            dst.addfile(member, src.extractfile(member) if member.isfile() else None)
        info = tarfile.TarInfo(f"{top}/{name}")
        info.size, info.mode = len(data), 0o644
        dst.addfile(info, io.BytesIO(data))
    return out.getvalue()


@pytest.fixture
def upstream(db, tmp_path):
    tarball = prerelease_bytes("2.0")
    repo = repository_of(tarball, tmp_path / "convirt.git")
    project = ProjectFactory(slug="convirt", name="ConVirt", source_repository=str(repo))
    return project, tarball, repo


def _create(project, staff, tarball: bytes, tag: str = "v2.0"):
    return services.release_create(project=project, version="2.0", actor=staff,
                                   tarball=Upload(tarball, "convirt-2.0.tar.gz"), source_tag=tag,
                                   open_now=True)


def _compute(release) -> SourceProof:
    proof = release.source_proofs.get()
    source_proof_compute(proof_id=proof.pk)
    proof.refresh_from_db()
    return proof


@pytest.mark.django_db(transaction=True)
def test_a_worker_proves_the_tarball_and_the_release_opens(upstream, staff, worker, client):
    project, tarball, repo = upstream
    release = _create(project, staff, tarball)
    assert release.state == Release.State.DRAFT  # open_now waits for the proof
    assert "is still running" in lifecycle.refusal(release, lifecycle.Action.OPEN)
    worker.wait_idle()
    proof = release.source_proofs.get()
    assert proof.state == SourceProof.State.PASSED, (proof.error, proof.files)
    assert proof.commit == git(repo, "rev-parse", "v2.0^{commit}").strip()
    assert proof.tree == git(repo, "rev-parse", "v2.0^{tree}").strip()
    assert proof.signature == "unsigned"
    assert AuditEvent.objects.filter(verb=Event.SOURCE_PROOF_DONE, release_id=release.pk).count() == 1
    release.refresh_from_db()
    assert source_proof_refusal(release) is None
    client.force_login(staff)
    page = client.get(reverse("staff-release", args=[release.pk])).content.decode()
    assert "Source proof" in page and f"matches tag v2.0 (commit {proof.commit[:7]})" in page
    lifecycle.release_open(release=release, actor=staff)
    release.refresh_from_db()
    assert release.state == Release.State.PRERELEASE


def test_the_maintainers_mail_names_tag_commit_and_signer(upstream, staff, tasks_queued,
                                                          django_capture_on_commit_callbacks):
    project, tarball, _ = upstream
    release = _create(project, staff, tarball)
    proof = _compute(release)
    sentence = proof_sentence(proof)
    assert sentence.startswith(f"The pre-release matches tag v2.0 (commit {proof.commit[:7]}), unsigned")
    from releases.subscribers import prerelease_invited

    user = UserFactory(username="ubuntu-dev", email="u@example.org")
    MaintainershipFactory(user=user, project=project)
    record = AuditEvent(verb=Event.PRERELEASE_INVITED, object_type="releases.release",
                        object_id=str(release.pk), detail={"user": user.pk}, release_id=release.pk)
    prerelease_invited(record)
    assert sentence in mail.outbox[-1].body


def test_an_injected_file_fails_the_proof_and_blocks_opening_until_overridden(
    upstream, staff, client, tasks_queued, django_capture_on_commit_callbacks
):
    project, tarball, _ = upstream
    dirty = with_member(tarball, "m4/build-to-host.m4", b"dnl injected\nAC_DEFUN([gl_BUILD_TO_HOST])\n")
    release = _create(project, staff, dirty)
    proof = _compute(release)
    assert proof.state == SourceProof.State.FAILED
    assert {"path": "m4/build-to-host.m4", "class": "unexpected",
            "detail": "a file that is not in the tag and not declared generated"} in proof.files
    assert proof.counts["unexpected"] == 1
    refusal = lifecycle.refusal(release, lifecycle.Action.OPEN)
    assert "is not proved against tag v2.0" in refusal and "1 unexpected" in refusal
    with pytest.raises(lifecycle.TransitionRefused):
        lifecycle.release_open(release=release, actor=staff)
    client.force_login(staff)
    page = client.get(reverse("staff-release", args=[release.pk])).content.decode()
    assert "m4/build-to-host.m4" in page and "Open anyway: override the proof" in page
    assert "Open for submissions" not in page
    url = reverse("staff-release-source-override", args=[release.pk])
    client.post(url, {"reason": "short"})
    assert source_proof_refusal(release) is not None
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, {"reason": "The macro is ours, reviewed in issue 12; the tag lacks it."})
    proof.refresh_from_db()
    assert proof.overridden_by == staff and "issue 12" in proof.override_reason
    event = AuditEvent.objects.get(verb=Event.SOURCE_PROOF_OVERRIDDEN)
    assert event.actor == staff and "issue 12" in event.detail["reason"]
    assert source_proof_refusal(release) is None
    lifecycle.release_open(release=release, actor=staff)
    release.refresh_from_db()
    assert release.state == Release.State.PRERELEASE


def test_a_missing_tag_is_a_clear_sentence_and_nothing_opens(upstream, staff, tasks_queued):
    project, tarball, _ = upstream
    release = _create(project, staff, tarball, tag="v9.9")
    proof = _compute(release)
    assert proof.state == SourceProof.State.ERROR
    assert "has no tag 'v9.9'" in proof.error
    assert "has no tag 'v9.9'" in lifecycle.refusal(release, lifecycle.Action.OPEN)


def test_a_respin_with_a_moved_tag_says_so(upstream, staff, tasks_queued,
                                           django_capture_on_commit_callbacks):
    project, tarball, repo = upstream
    MaintainershipFactory(user=UserFactory(username="ubuntu-dev", email="u@example.org"), project=project)
    release = _create(project, staff, tarball)
    first = _compute(release)
    (repo / "NEWS").write_text("2.0: one more fix\n")
    git(repo, "add", "NEWS")
    git(repo, "commit", "-q", "-m", "fix")
    git(repo, "tag", "-f", "-a", "v2.0", "-m", "release v2.0 again")
    lifecycle.release_respin(release=release, actor=staff, tarball=Upload(with_member(tarball, "NEWS",
                             b"2.0: one more fix\n"), "convirt-2.0.tar.gz"), source_tag="v2.0")
    second = release.source_proofs.order_by("-pk").first()
    with django_capture_on_commit_callbacks(execute=True):
        source_proof_compute(proof_id=second.pk)
    second.refresh_from_db()
    assert second.state == SourceProof.State.PASSED, second.files
    assert second.moved_from == first.commit != second.commit
    assert "moved since the previous pre-release" in proof_sentence(second)
    moved = [m for m in mail.outbox if "u@example.org" in m.to and "tag v2.0 moved" in m.subject]
    assert len(moved) == 1
    assert f"git diff {first.commit[:12]} {second.commit[:12]}" in moved[0].body


def test_a_tag_without_a_repository_is_refused(db, staff, tasks_queued):
    project = ProjectFactory(slug="tern")
    with pytest.raises(Exception, match="names no source repository"):
        _create(project, staff, prerelease_bytes("2.0"))


def test_a_remote_repository_on_a_private_address_is_refused_before_git_runs(upstream, staff, tasks_queued):
    project, tarball, _ = upstream
    project.source_repository = "http://127.0.0.1:9/convirt.git"
    project.save()
    release = _create(project, staff, tarball)
    proof = _compute(release)
    assert proof.state == SourceProof.State.ERROR
    assert "127.0.0.1 is on a private or local network" in proof.error
    with pytest.raises(outbound.Refused, match="Only http:// and https://"):
        outbound.git_remote_settings("ftp://example.org/x.git", seconds=5)


def test_git_settings_pin_the_judged_address(settings):
    settings.OUTBOUND_ALLOW_PRIVATE = True
    pinned = outbound.git_remote_settings("https://localhost:8443/x.git", seconds=5)
    assert any(s.startswith("http.curloptResolve=localhost:8443:") for s in pinned)
    assert "http.followRedirects=false" in pinned


def test_local_repositories_only_where_settings_allow(db, settings):
    data = {"name": "Tern", "slug": "tern", "homepage": "", "policy_text": ""}
    settings.SOURCE_REPOSITORY_ALLOW_LOCAL = False
    form = ProjectForm({**data, "source_repository": "/srv/git/tern.git"})
    assert not form.is_valid()
    assert "https://" in form.errors["source_repository"][0]
    form = ProjectForm({**data, "source_repository": "https://git.example.org/tern.git"})
    assert form.is_valid(), form.errors
    settings.SOURCE_REPOSITORY_ALLOW_LOCAL = True
    assert ProjectForm({**data, "source_repository": "/srv/git/tern.git"}).is_valid()


def test_the_provenance_and_public_page_name_repository_tag_commit_and_tree(upstream, staff, tasks_queued):
    from publishing.page import page_data
    from publishing.services import provenance_statement
    from releases.policies import version_in_force

    project, tarball, repo = upstream
    release = _create(project, staff, tarball)
    proof = _compute(release)
    Release.objects.filter(pk=release.pk).update(state=Release.State.RELEASED)
    release.refresh_from_db()
    found = provenance_of(release)
    assert found["commit"] == proof.commit and found["tree"] == proof.tree
    statement = provenance_statement(release=release, policy=version_in_force(project),
                                     name="convirt-2.0.tar.gz", sha256="0" * 64, accepted=[])
    dependency = statement["predicate"]["resolvedDependencies"][0]
    assert dependency["uri"] == f"git+{repo}@refs/tags/v2.0"
    assert dependency["digest"] == {"gitCommit": proof.commit, "gitTree": proof.tree}
    assert statement["predicate"]["sourceProof"]["summary"].startswith("matches tag v2.0")
    json.dumps(statement)
    data = page_data(project=project)
    assert data["current"]["source_proof"]["commit"] == proof.commit


def test_the_staff_api_takes_the_tag(upstream, staff, client, tasks_queued):
    from tests.releases.test_staff_api import post_multipart, token

    project, tarball, _ = upstream
    headers = token(staff)
    created = post_multipart(client, reverse("api-releases", args=[project.slug]), headers,
                             {"version": "2.0", "source_tag": "v2.0"},
                             {"prerelease": ("convirt-2.0.tar.gz", tarball)})
    assert created.status_code == 201, created.content
    assert created.json()["state"] == "draft" and "open" not in created.json()["actions"]
    release = Release.objects.get(project=project, version="2.0")
    assert release.source_tag == "v2.0" and _compute(release).state == SourceProof.State.PASSED
    refused = post_multipart(client, reverse("api-releases", args=[project.slug]), headers,
                             {"version": "2.1", "source_tag": "-v2"},
                             {"prerelease": ("convirt-2.1.tar.gz", prerelease_bytes("2.1"))})
    assert refused.status_code == 400 and "is not a tag name" in refused.content.decode()


def test_a_respin_without_a_tag_proves_the_new_tarball_against_the_same_tag(upstream, staff, tasks_queued):
    project, tarball, _ = upstream
    release = _create(project, staff, tarball)
    assert _compute(release).state == SourceProof.State.PASSED
    lifecycle.release_respin(release=release, actor=staff,
                             tarball=Upload(with_member(tarball, "extra.sh", b"#!/bin/sh\n"), "c.tar.gz"))
    latest = release.source_proofs.order_by("-pk").first()
    assert latest.tag == "v2.0" and latest.state == SourceProof.State.PENDING
    release.refresh_from_db()
    assert "still running" in lifecycle.refusal(release, lifecycle.Action.OPEN)
    source_proof_compute(proof_id=latest.pk)
    assert "1 unexpected" in lifecycle.refusal(release, lifecycle.Action.OPEN)


def test_a_tag_signed_by_a_release_manager_names_them(upstream, staff, tasks_queued, tmp_path):
    import os

    from accounts.models import OpenPGPKey

    project, tarball, repo = upstream
    home = tmp_path / "gnupg"
    home.mkdir(mode=0o700)

    def gpg(*args):
        return subprocess.run(["gpg", "--homedir", str(home), "--batch", *args], check=True,
                              capture_output=True).stdout

    gpg("--passphrase", "", "--quick-gen-key", "Rita Release <rita@example.org>", "ed25519", "sign", "never")
    fingerprint = gpg("--with-colons", "--list-keys").decode().split("fpr:::::::::")[1][:40]
    subprocess.run(["git", "tag", "-f", "-s", "-u", fingerprint, "-m", "signed v2.0", "v2.0", "v2.0^{commit}"],
                   cwd=repo, check=True, capture_output=True,
                   env={**os.environ, **IDENTITY, "GNUPGHOME": str(home)})
    from django.utils import timezone

    from tests.factories import ProjectMemberFactory, UserFactory

    rita = UserFactory(username="rita")
    OpenPGPKey.objects.create(user=rita, fingerprint=fingerprint, algorithm="ed25519",
                              armor=gpg("--armor", "--export").decode(), uid="Rita Release <rita@example.org>",
                              proven_at=timezone.now())
    ProjectMemberFactory(user=staff, project=project)
    # Rita's key counts only while she runs this project's releases.
    stranger = _compute(_create(project, staff, tarball))
    assert stranger.signature == "unknown-key"
    ProjectMemberFactory(user=rita, project=project, role="release_manager")
    proof = _compute(services.release_create(
        project=project, version="2.0.1", actor=staff,
        tarball=Upload(tarball, "convirt-2.0.1.tar.gz"), source_tag="v2.0", open_now=False))
    assert proof.signature == "signed" and proof.fingerprint == fingerprint
    assert "signed by Rita Release <rita@example.org>" in proof_sentence(proof)


def test_the_sweeper_queues_a_lost_proof_again(upstream, staff, tasks_queued, settings,
                                               django_capture_on_commit_callbacks):
    from releases.recovery.sweeper import sweep

    project, tarball, _ = upstream
    release = _create(project, staff, tarball)
    proof = release.source_proofs.get()
    tasks_queued.clear()
    assert sweep()["lost_source_proofs"] == []  # just queued: left alone
    settings.SWEEPER_RECEIVED_SECONDS = 0
    with django_capture_on_commit_callbacks(execute=True):
        assert sweep()["lost_source_proofs"] == [proof.pk]
    assert ("source_proof_compute_task", (proof.pk,)) in tasks_queued
    source_proof_compute(proof_id=proof.pk)
    assert sweep()["lost_source_proofs"] == []


def test_a_respin_mails_the_new_pre_release_once_its_proof_is_made(upstream, staff, tasks_queued,
                                                                   django_capture_on_commit_callbacks):
    """The delivery waits for the new tarball's proof, so the mail says whether it
    matches its tag instead of "being compared"."""
    from celery.exceptions import Retry

    from releases.prereleases.tasks import release_deliver_prerelease_task

    project, tarball, _ = upstream
    MaintainershipFactory(user=UserFactory(username="ubuntu-dev", email="u@example.org"), project=project)
    release = _create(project, staff, tarball)
    _compute(release)
    lifecycle.release_open(release=release, actor=staff)
    lifecycle.release_respin(release=release, actor=staff, tarball=Upload(tarball, "convirt-2.0.tar.gz"),
                             source_tag="v2.0")
    mail.outbox.clear()
    with pytest.raises(Retry):
        release_deliver_prerelease_task(release.pk)
    assert not mail.outbox
    second = release.source_proofs.order_by("-pk").first()
    source_proof_compute(proof_id=second.pk)
    with django_capture_on_commit_callbacks(execute=True):
        release_deliver_prerelease_task(release.pk)
    sent = [m for m in mail.outbox if "u@example.org" in m.to]
    assert sent and "matches tag v2.0" in sent[0].body

"""Writes: every change to the domain goes through a service named <thing>_<verb>,
with keyword-only arguments, in one transaction with its audit event."""

from __future__ import annotations

import hashlib
import io
import re
import time
import uuid
from datetime import timedelta
from typing import IO

import bundlecheck
from django.conf import settings
from django.core import signing
from django.core.files import File
from django.core.files.storage import storages
from django.db import IntegrityError, models, transaction
from django.urls import reverse
from django.utils import timezone

from . import selectors
from .errors import BadUpload, Conflict, DigestMismatch, NotFound
from .models import (
    Artifact,
    AuditEvent,
    Distro,
    Finding,
    Maintainership,
    PackageLink,
    PrereleaseDownload,
    PrereleaseInvitation,
    Project,
    Release,
    Submission,
)
from .notifications import mail_on_commit, staff_addresses

DISTRO_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,49}")

CHUNK = 1024 * 1024


def audit_record(*, actor, verb: str, target: models.Model | None = None, **detail) -> AuditEvent:
    """Write an audit event; call inside the transaction that makes the change."""
    return AuditEvent.objects.create(
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        verb=verb,
        object_type=target._meta.label_lower if target is not None else "",
        object_id=str(target.pk) if target is not None else "",
        object_repr=str(target)[:200] if target is not None else "",
        detail=detail,
    )


class HashingReader(io.RawIOBase):
    """Reads through to a file while hashing it, so one pass both stores and digests.

    Storage backends may seek (to learn the size, or to rewind before a
    retry); only bytes read at the hashing frontier are hashed, so re-reads
    never count twice. If a backend skipped ahead, `complete()` says so and
    the caller hashes the stored object instead.
    """

    def __init__(self, raw: IO[bytes]):
        self._raw = raw
        self._hash = hashlib.sha256()
        self._frontier = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return self._raw.seekable()

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._raw.seek(offset, whence)

    def tell(self) -> int:
        return self._raw.tell()

    def readinto(self, buffer) -> int:
        start = self._raw.tell() if self._raw.seekable() else self._frontier
        data = self._raw.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        end = start + n
        if start <= self._frontier < end:
            self._hash.update(data[self._frontier - start :])
            self._frontier = end
        return n

    @property
    def size(self) -> int:
        return self._frontier

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()


def _digest_stored(storage, key: str) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with storage.open(key, "rb") as stored:
        while chunk := stored.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def artifact_key(kind: str) -> str:
    """A storage key the portal makes: never derived from an uploaded file name."""
    now = timezone.now()
    return f"{kind}/{now:%Y/%m}/{uuid.uuid4().hex}"


def artifact_create(
    *,
    kind: str,
    content: IO[bytes],
    original_name: str = "",
    storage: str = Artifact.Storage.UPLOADS,
    key: str | None = None,
    sha256: str | None = None,
    size: int | None = None,
) -> Artifact:
    """Stream `content` into the named storage and record it.

    The object is written before its row, so no row ever points at a missing
    object; if the row cannot be written, the object is deleted again.
    """
    backend = storages[storage]
    key = key or artifact_key(kind)
    if sha256 is None:
        reader = HashingReader(content)
        stored_key = backend.save(key, File(io.BufferedReader(reader, CHUNK), name=key))
        sha256, size = reader.sha256, reader.size
        if backend.size(stored_key) != size:
            sha256, size = _digest_stored(backend, stored_key)
    else:
        # An upload already streamed to a temporary file is moved, not copied,
        # when the storage is on the same file system.
        payload = content if hasattr(content, "temporary_file_path") else File(content, name=key)
        stored_key = backend.save(key, payload)
        if size is None:
            size = backend.size(stored_key)
    try:
        with transaction.atomic():
            return Artifact.objects.create(
                kind=kind,
                storage=storage,
                key=stored_key,
                size=size,
                sha256=sha256,
                original_name=original_name[:255],
            )
    except Exception:
        # No stored object without its row.
        backend.delete(stored_key)
        raise


# --- Maintainers ----------------------------------------------------------------


@transaction.atomic
def maintainership_request(
    *,
    user,
    project: Project,
    distro: Distro | None = None,
    new_distro_slug: str = "",
    new_distro_name: str = "",
) -> Maintainership:
    """Ask to maintain a distro of a project: an existing distro, or a new one named here."""
    if distro is None:
        distro = distro_get_or_create(slug=new_distro_slug, name=new_distro_name, actor=user)
    if Maintainership.objects.filter(
        user=user, project=project, distro=distro, state__in=Maintainership.LIVE_STATES
    ).exists():
        raise Conflict(f"You already maintain or have asked to maintain {distro} for {project}.")
    try:
        with transaction.atomic():
            claim = Maintainership.objects.create(user=user, project=project, distro=distro)
    except IntegrityError:  # the same request twice at once
        raise Conflict(
            f"You already maintain or have asked to maintain {distro} for {project}."
        ) from None
    audit_record(actor=user, verb="maintainership.request", target=claim)
    mail_on_commit(
        to=staff_addresses(),
        subject=f"[{project}] {user.get_username()} asks to maintain {distro}",
        template="mail/maintainership_requested.txt",
        context={"claim": claim},
    )
    return claim


def distro_get_or_create(*, slug: str, name: str, actor) -> Distro:
    slug = slug.strip().lower()
    if not DISTRO_SLUG.fullmatch(slug):
        raise BadUpload(
            "A distro's short name is its directory under distros/: lower-case letters, "
            "digits and '-', starting with a letter or digit (for example ubuntu).",
            field="new_distro_slug",
        )
    distro, created = Distro.objects.get_or_create(
        slug=slug, defaults={"name": (name or slug).strip()[:100]}
    )
    if created:
        audit_record(actor=actor, verb="distro.create", target=distro)
    return distro


def _decide(claim: Maintainership, *, state: str, actor, reason: str, allowed_from: tuple) -> None:
    locked = Maintainership.objects.select_for_update().get(pk=claim.pk)
    if locked.state not in allowed_from:
        raise Conflict(f"This request is already {locked.get_state_display()}.")
    locked.state, locked.reason = state, reason
    locked.decided_by, locked.decided_at = actor, timezone.now()
    locked.save(update_fields=["state", "reason", "decided_by", "decided_at"])
    claim.refresh_from_db()
    audit_record(actor=actor, verb=f"maintainership.{state}", target=claim, reason=reason)
    mail_on_commit(
        to=[claim.user.email],
        subject=f"[{claim.project}] your maintainership of {claim.distro}: {state}",
        template="mail/maintainership_decided.txt",
        context={"claim": claim},
    )


@transaction.atomic
def maintainership_approve(*, claim: Maintainership, actor) -> None:
    _decide(
        claim,
        state=Maintainership.State.APPROVED,
        actor=actor,
        reason="",
        allowed_from=(Maintainership.State.REQUESTED,),
    )
    # A maintainer approved while a release is open gets its pre-release too.
    from .tasks import queue_on_commit, release_deliver_prerelease

    for release_id in Release.objects.filter(
        project=claim.project,
        state__in=(Release.State.PRERELEASE, Release.State.FROZEN),
        prerelease__isnull=False,
    ).values_list("pk", flat=True):
        queue_on_commit(release_deliver_prerelease, release_id)
    public_changed(claim.project)


@transaction.atomic
def maintainership_decline(*, claim: Maintainership, actor, reason: str) -> None:
    if not reason.strip():
        raise BadUpload(
            "Say why the request is declined; the maintainer is mailed the reason.", field="reason"
        )
    _decide(
        claim,
        state=Maintainership.State.DECLINED,
        actor=actor,
        reason=reason.strip(),
        allowed_from=(Maintainership.State.REQUESTED,),
    )


@transaction.atomic
def maintainership_revoke(*, claim: Maintainership, actor, reason: str) -> None:
    if not reason.strip():
        raise BadUpload("Say why the maintainership is revoked.", field="reason")
    _decide(
        claim,
        state=Maintainership.State.REVOKED,
        actor=actor,
        reason=reason.strip(),
        allowed_from=(Maintainership.State.APPROVED, Maintainership.State.REQUESTED),
    )
    public_changed(claim.project)


def public_changed(project: Project) -> None:
    """Something the public page shows changed: regenerate it once this commits."""
    try:
        from .publishing.services import public_page_schedule
    except ImportError:  # the publishing side is not installed in this build
        return
    public_page_schedule(project=project)


# --- Pre-release delivery -------------------------------------------------------


@transaction.atomic
def release_open(*, release: Release, actor) -> Release:
    """Open a release for submissions: index its pre-release and mail the maintainers."""
    locked = Release.objects.select_for_update().get(pk=release.pk)
    if locked.prerelease_id is None:
        raise Conflict("Attach the pre-release tarball before opening the release.")
    if locked.state not in (Release.State.DRAFT, Release.State.PRERELEASE):
        raise Conflict(f"The release is {locked.get_state_display()}; it cannot be opened.")
    locked.state = Release.State.PRERELEASE
    locked.prerelease_date = locked.prerelease_date or timezone.now()
    locked.save(update_fields=["state", "prerelease_date"])
    audit_record(actor=actor, verb="release.open", target=locked)
    from .tasks import queue_on_commit, release_deliver_prerelease

    queue_on_commit(release_deliver_prerelease, locked.pk)
    release.refresh_from_db()
    return release


def release_index(*, release: Release) -> dict:
    """The pre-release's manifest, made once from the stored tarball and kept."""
    if release.manifest is not None:
        return release.manifest
    artifact = release.prerelease
    with storages[artifact.storage].open(artifact.key, "rb") as stored:
        manifest = bundlecheck.build_manifest(
            stored, policy=bundlecheck.load_policy(release.project.policy), total_size=artifact.size
        )
    Release.objects.filter(pk=release.pk, manifest__isnull=True).update(manifest=manifest)
    release.manifest = manifest
    return manifest


def release_deliver_prerelease(*, release: Release) -> int:
    """Index the pre-release, then mail each approved maintainer not yet invited to it."""
    release_index(release=release)
    claims = Maintainership.objects.filter(
        project=release.project_id, state=Maintainership.State.APPROVED
    ).select_related("user", "distro")
    invited = set(
        PrereleaseInvitation.objects.filter(
            release=release, artifact=release.prerelease_id
        ).values_list("user_id", flat=True)
    )
    sent = 0
    for claim in claims:
        if claim.user_id in invited:
            continue
        prerelease_invite(release=release, user=claim.user)
        invited.add(claim.user_id)
        sent += 1
    return sent


def prerelease_changes(release: Release) -> dict | None:
    """What a respin changed, member by member, when the release was respun."""
    if not release.replaced_manifest or not release.manifest:
        return None
    return bundlecheck.manifest_diff(release.replaced_manifest, release.manifest)


@transaction.atomic
def prerelease_invite(*, release: Release, user) -> PrereleaseInvitation:
    invitation = PrereleaseInvitation.objects.create(
        release=release, user=user, artifact_id=release.prerelease_id
    )
    changes = prerelease_changes(release)
    mail_on_commit(
        to=[user.email],
        subject=f"[{release.project}] pre-release {release.version} is ready for packaging",
        template="mail/prerelease_ready.txt",
        context={
            "release": release,
            "user": user,
            "changes": changes,
            "link": prerelease_link(release=release, user=user),
            "days": settings.PRERELEASE_LINK_DAYS,
        },
    )
    return invitation


PRERELEASE_SALT = "releases.prerelease-download"


def prerelease_link(*, release: Release, user) -> str:
    """The personal download link, absolute, for mail."""
    return settings.SITE_URL + prerelease_path(release=release, user=user)


def prerelease_path(*, release: Release, user) -> str:
    """The personal download link as a path, for pages (whatever host serves them)."""
    token = signing.dumps(
        {"r": release.pk, "u": user.pk, "a": release.prerelease_id},
        salt=PRERELEASE_SALT,
        compress=True,
    )
    return reverse("prerelease-download", args=[token])


class LinkExpired(Exception):
    def __init__(self, release_id: int | None):
        self.release_id = release_id


def prerelease_link_open(*, token: str, user) -> tuple[Release, Artifact]:
    """The release and tarball a personal link stands for, if it is this person's and fresh."""
    try:
        data = signing.loads(
            token, salt=PRERELEASE_SALT, max_age=timedelta(days=settings.PRERELEASE_LINK_DAYS)
        )
    except signing.SignatureExpired:
        unsigned = signing.loads(token, salt=PRERELEASE_SALT, max_age=None)
        if unsigned.get("u") != user.pk:
            raise NotFound("This download link is someone else's.") from None
        raise LinkExpired(unsigned.get("r")) from None
    except signing.BadSignature:
        raise NotFound("This download link is not valid.") from None
    if data.get("u") != user.pk:
        raise NotFound("This download link is someone else's.")
    release = Release.objects.select_related("project", "prerelease").filter(pk=data["r"]).first()
    if release is None or release.prerelease_id != data.get("a"):
        # A respin replaced the tarball: the old link must not serve the old one.
        raise LinkExpired(data["r"])
    if not selectors.is_active_maintainer(user, release.project):
        raise NotFound("You no longer maintain a distro of this project.")
    return release, release.prerelease


@transaction.atomic
def prerelease_download_record(*, release: Release, user) -> PrereleaseDownload:
    return PrereleaseDownload.objects.create(
        release=release, user=user, artifact_id=release.prerelease_id
    )


# --- Submissions ----------------------------------------------------------------


def release_accepting_uploads(release: Release, distro: Distro) -> None:
    """Raise Conflict (409) with the reason when the release takes no upload for the distro."""
    if release.state == Release.State.PRERELEASE:
        return
    if (
        release.state == Release.State.FROZEN
        and release.reopened_distros.filter(pk=distro.pk).exists()
    ):
        return
    reasons = {
        Release.State.DRAFT: "the release is not open for submissions yet",
        Release.State.FROZEN: "the release is frozen: the submission deadline has passed; "
        "ask the release manager to reopen it for your distro",
        Release.State.PUBLISHING: "the release is being published",
        Release.State.RELEASED: "the release is already published",
        Release.State.WITHDRAWN: "the release was withdrawn",
    }
    raise Conflict(f"{release} takes no uploads for {distro}: {reasons[release.state]}.")


def _package_links_add(*, release, distro, actor, links) -> list[PackageLink]:
    return [
        PackageLink.objects.create(
            release=release, distro=distro, url=url, sha256=sha or "", added_by=actor
        )
        for url, sha in links
    ]


@transaction.atomic
def package_links_add(*, release: Release, distro: Distro, actor, links) -> list[PackageLink]:
    created = _package_links_add(release=release, distro=distro, actor=actor, links=links)
    for link in created:
        audit_record(actor=actor, verb="package_link.add", target=link, url=link.url)
    public_changed(release.project)
    return created


def submission_create(
    *,
    release: Release,
    distro: Distro,
    submitter,
    upload,
    package=None,
    package_links=(),
    note: str = "",
    expected_sha256: str = "",
) -> tuple[Submission, bool]:
    """Store an uploaded bundle and record it; verification is queued once it commits.

    `upload` (and `package`) are uploaded files that carry `.sha256` and
    `.size`, computed while they streamed in. Returns (submission, created);
    the same bytes uploaded again return the existing submission.
    """
    release_accepting_uploads(release, distro)
    if expected_sha256 and expected_sha256.lower() != upload.sha256:
        raise DigestMismatch(
            f"The sha256 you gave ({expected_sha256}) does not match the file received "
            f"({upload.sha256}). The upload was damaged on the way or is the wrong file; "
            "nothing was stored.",
            field="sha256",
        )
    existing = _same_bytes(release, distro, upload.sha256)
    if existing is not None:
        return existing, False
    stored: list[Artifact] = []
    try:
        stored.append(
            artifact_create(
                kind=Artifact.Kind.SUBMISSION,
                content=upload,
                sha256=upload.sha256,
                size=upload.size,
                original_name=upload.name,
            )
        )
        if package is not None:
            stored.append(
                artifact_create(
                    kind=Artifact.Kind.STAGED_PACKAGE,
                    content=package,
                    sha256=package.sha256,
                    size=package.size,
                    original_name=package.name,
                )
            )
        return _submission_record(
            release=release,
            distro=distro,
            submitter=submitter,
            bundle=stored[0],
            staged=stored[1] if len(stored) > 1 else None,
            package_links=package_links,
            note=note,
        ), True
    except _AlreadyUploaded as duplicate:
        _artifacts_discard(stored)
        return duplicate.submission, False
    except Exception:
        if not stored or not Submission.objects.filter(artifact=stored[0]).exists():
            # The row never came to be: neither may its files.
            _artifacts_discard(stored)
        raise


# An upload of bytes already uploaded returns that submission, unless it
# failed or was rejected: uploading the same file again is then a fresh try.
DEDUPLICATED_STATES = ("received", "verifying", "passed", "accepted")


def _same_bytes(release, distro, sha256: str) -> Submission | None:
    return Submission.objects.filter(
        release=release, distro=distro, state__in=DEDUPLICATED_STATES, artifact__sha256=sha256
    ).first()


class _AlreadyUploaded(Exception):
    def __init__(self, submission: Submission):
        self.submission = submission


def _artifacts_discard(artifacts: list[Artifact]) -> None:
    for artifact in artifacts:
        storages[artifact.storage].delete(artifact.key)
        artifact.delete()


@transaction.atomic
def _submission_record(
    *, release, distro, submitter, bundle, staged, package_links, note
) -> Submission:
    # Serialises uploads per release, and judges the release as it is now: it
    # may have been frozen while the body streamed in.
    locked = Release.objects.select_for_update().get(pk=release.pk)
    release_accepting_uploads(locked, distro)
    duplicate = _same_bytes(locked, distro, bundle.sha256)
    if duplicate is not None:
        raise _AlreadyUploaded(duplicate)
    previous = Submission.objects.filter(
        release=release, distro=distro, state__in=Submission.LIVE_STATES
    )
    superseded = list(previous.values_list("pk", flat=True))
    previous.update(state=Submission.State.SUPERSEDED)
    submission = Submission.objects.create(
        release=release,
        distro=distro,
        submitter=submitter,
        artifact=bundle,
        package=staged,
        note=note,
    )
    _package_links_add(release=release, distro=distro, actor=submitter, links=package_links)
    audit_record(
        actor=submitter,
        verb="submission.create",
        target=submission,
        sha256=bundle.sha256,
        size=bundle.size,
        superseded=superseded,
        package_links=[url for url, _ in package_links],
    )
    from .tasks import queue_on_commit, submission_verify

    queue_on_commit(submission_verify, submission.pk)
    return submission


class _ProgressWriter:
    """Saves verification progress, a few times a second at most, so pages can show it."""

    def __init__(self, submission_id: int, start: int, span: int):
        self.submission_id, self.start, self.span = submission_id, start, span
        self.last_percent, self.last_time = -1, 0.0

    def __call__(self, done: int, total: int | None) -> None:
        if not total:
            return
        percent = self.start + min(self.span, self.span * done // total)
        now = time.monotonic()
        if percent > self.last_percent and (now - self.last_time > 0.3 or percent == 100):
            Submission.objects.filter(
                pk=self.submission_id, state=Submission.State.VERIFYING, progress__lt=percent
            ).update(progress=min(percent, 99))
            self.last_percent, self.last_time = percent, now


def _verify_artifact(artifact: Artifact, *, submission: Submission, reference, progress):
    with storages[artifact.storage].open(artifact.key, "rb") as stored:
        return bundlecheck.verify(
            stored,
            distro=submission.distro.slug,
            policy=submission.release.project.policy,
            reference=reference,
            progress=progress,
            total_size=artifact.size,
            filename=artifact.original_name or None,
        )


def submission_verify(*, submission_id: int) -> Submission | None:
    """Claim a received submission, stream it through the engine, save findings and verdict.

    The claim is a conditional update, so a second delivery of the same task
    finds nothing to do.
    """
    claimed = Submission.objects.filter(pk=submission_id, state=Submission.State.RECEIVED).update(
        state=Submission.State.VERIFYING, verification_started_at=timezone.now(), progress=0
    )
    if not claimed:
        return None
    submission = Submission.objects.select_related(
        "release__project", "release__prerelease", "distro", "artifact", "package", "submitter"
    ).get(pk=submission_id)
    reference = release_index(release=submission.release) if submission.release.prerelease else None
    sizes = [submission.artifact.size, submission.package.size if submission.package else 0]
    bundle_span = 100 * sizes[0] // max(1, sum(sizes))
    reports = [
        (
            Finding.Subject.BUNDLE,
            _verify_artifact(
                submission.artifact,
                submission=submission,
                reference=reference,
                progress=_ProgressWriter(submission_id, 0, bundle_span),
            ),
        )
    ]
    if submission.package:
        reports.append(
            (
                Finding.Subject.PACKAGE,
                _verify_artifact(
                    submission.package,
                    submission=submission,
                    reference=None,
                    progress=_ProgressWriter(submission_id, bundle_span, 100 - bundle_span),
                ),
            )
        )
    return submission_verdict_save(submission_id=submission_id, reports=reports)


@transaction.atomic
def submission_verdict_save(*, submission_id: int, reports, error: str = "") -> Submission | None:
    """Replace the findings and set the verdict, once, for a submission being verified."""
    submission = (
        Submission.objects.select_for_update()
        .select_related("release__project", "distro", "submitter")
        .filter(pk=submission_id, state=Submission.State.VERIFYING)
        .first()
    )
    if submission is None:
        return None
    submission.findings.all().delete()
    findings = [
        Finding(
            submission=submission,
            subject=subject,
            check_id=f.check,
            severity=f.severity,
            path=f.path,
            message=f.message,
            hint=f.hint,
        )
        for subject, report in reports
        for f in report.findings
    ]
    Finding.objects.bulk_create(findings)
    failed = bool(error) or any(f.severity == Finding.Severity.ERROR for f in findings)
    submission.state = Submission.State.FAILED if failed else Submission.State.PASSED
    submission.progress = 100
    submission.error = error
    submission.verified_at = timezone.now()
    submission.save(update_fields=["state", "progress", "error", "verified_at"])
    audit_record(
        actor=None,
        verb="submission.verified",
        target=submission,
        verdict=submission.state,
        findings=len(findings),
    )
    mail_on_commit(
        to=[submission.submitter.email],
        subject=f"[{submission.release}] {submission.distro}: verification {submission.state}",
        template="mail/verdict.txt",
        context={
            "submission": submission,
            "errors": sum(f.severity == "error" for f in findings),
            "warnings": sum(f.severity == "warning" for f in findings),
            "url": settings.SITE_URL + reverse("submission-detail", args=[submission.pk]),
        },
    )
    return submission


def submission_fail(*, submission_id: int, error: str) -> Submission | None:
    """Verification could not finish (time limit, unreadable storage): say so, once."""
    return submission_verdict_save(submission_id=submission_id, reports=[], error=error)


def submission_release_claim(*, submission_id: int) -> None:
    """Hand a submission back to `received` so that a retry can claim it again."""
    Submission.objects.filter(pk=submission_id, state=Submission.State.VERIFYING).update(
        state=Submission.State.RECEIVED, progress=0
    )

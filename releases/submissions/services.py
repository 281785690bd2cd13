"""Uploads: a maintainer's bundle (and staged package) stored and recorded, its
verification queued once the row commits; package links."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone

from portal.errors import BadInput, Conflict, DigestMismatch, QuotaExceeded
from releases.artifacts import artifact_create, artifact_discard, artifact_remove_bytes
from releases.events import Event, event_record
from releases.models import Artifact, Distro, PackageLink, Release, Submission
from releases.policies import rules_for
from releases.rules import links_refusal, upload_refusal
from releases.submission_lifecycle import Action, submission_move, submissions_move_all
from releases.verification.tasks import submission_verify_task


def release_accepting_uploads(release: Release, distro: Distro) -> None:
    """Raise Conflict (409) with the reason when the release takes no upload for the distro."""
    refusal = upload_refusal(release, distro)
    if refusal:
        raise Conflict(refusal)


def _package_links_add(*, release, distro, actor, links) -> list[PackageLink]:
    return [
        PackageLink.objects.create(
            release=release, distro=distro, url=url, sha256=sha or "", added_by=actor
        )
        for url, sha in links
    ]


def _links_changeable(release: Release) -> None:
    refusal = links_refusal(release)
    if refusal:
        raise Conflict(refusal)


@transaction.atomic
def package_links_add(*, release: Release, distro: Distro, actor, links) -> list[PackageLink]:
    """Add links to a distro's packages; each is checked at once by a worker (the
    public side's subscriber to the event)."""
    _links_changeable(release)
    created = _package_links_add(release=release, distro=distro, actor=actor, links=links)
    for link in created:
        event_record(Event.PACKAGE_LINK_ADDED, actor=actor, target=link, url=link.url)
    return created


@transaction.atomic
def package_link_update(*, link: PackageLink, actor, url: str, sha256: str = "") -> PackageLink:
    """Give a link a new address (or sha256); it is checked again from scratch."""
    _links_changeable(link.release)
    if link.staged_id:
        raise BadInput("A package upstream stages has no address to edit.", field="url")
    old = link.url
    link.url, link.sha256 = url, sha256
    link.health, link.checked_at = PackageLink.Health.UNCHECKED, None
    link.check_detail = link.check_internal = ""
    link.save(
        update_fields=["url", "sha256", "health", "checked_at", "check_detail", "check_internal"]
    )
    event_record(Event.PACKAGE_LINK_UPDATED, actor=actor, target=link, url=url, was=old)
    return link


@transaction.atomic
def package_link_remove(*, link: PackageLink, actor) -> None:
    _links_changeable(link.release)
    if link.staged_id:
        raise BadInput(
            "Upstream hosts this package for an accepted submission; "
            "the release manager removes it by rejecting that submission.",
            field="link",
        )
    event_record(Event.PACKAGE_LINK_REMOVED, actor=actor, target=link, url=link.url)
    link.delete()


@transaction.atomic
def package_link_recheck(*, link: PackageLink, actor) -> None:
    """Check a link again now, rather than at the next periodic check."""
    _links_changeable(link.release)
    event_record(Event.PACKAGE_LINK_RECHECKED, actor=actor, target=link, url=link.url)


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
    signature: str = "",
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
        # The same bytes again: nothing new to store or verify, but the links
        # sent with them are new.
        if package_links:
            package_links_add(release=release, distro=distro, actor=submitter, links=package_links)
        return existing, False
    incoming = upload.size + (package.size if package is not None else 0)
    # Refused before storing anything when it cannot fit; judged again, under
    # the distro's lock, when the row is written (_submission_record).
    _quota_check(release, distro, incoming)
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
            signature=signature,
        ), True
    except _AlreadyUploaded as duplicate:
        artifact_discard(stored)
        if package_links:
            package_links_add(release=release, distro=distro, actor=submitter, links=package_links)
        return duplicate.submission, False
    except Exception:
        if not stored or not Submission.objects.filter(artifact=stored[0]).exists():
            # The row never came to be: neither may its files.
            artifact_discard(stored)
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


@transaction.atomic
def _submission_record(
    *, release, distro, submitter, bundle, staged, package_links, note, signature=""
) -> Submission:
    # Serialises uploads per release, and judges the release as it is now: it
    # may have been frozen while the body streamed in. FOR NO KEY UPDATE, as
    # every row lock in the portal: it serialises the writers but never blocks a
    # row that only references this one (a worker's audit row), so a worker
    # holding a submission cannot deadlock with an upload holding its release.
    locked = Release.objects.select_for_update(no_key=True).get(pk=release.pk)
    release_accepting_uploads(locked, distro)
    duplicate = _same_bytes(locked, distro, bundle.sha256)
    if duplicate is not None:
        raise _AlreadyUploaded(duplicate)
    # The quota spans the project's releases: the distro's row is the lock
    # that makes "check, then add the row" one step for concurrent uploads
    # (each sees the rows committed before it; none is counted twice or missed).
    Distro.objects.select_for_update(no_key=True).get(pk=distro.pk)
    _quota_check(locked, distro, bundle.size + (staged.size if staged is not None else 0))
    superseded = submissions_move_all(
        Submission.objects.filter(release=release, distro=distro),
        Action.SUPERSEDE,
        actor=submitter,
    )
    submission = Submission.objects.create(
        release=release,
        distro=distro,
        submitter=submitter,
        artifact=bundle,
        package=staged,
        note=note,
        signature=signature,
        queued_at=timezone.now(),
    )
    event_record(
        Event.SUBMISSION_CREATED,
        actor=submitter,
        target=submission,
        sha256=bundle.sha256,
        size=bundle.size,
        superseded=superseded,
    )
    # Links sent with the upload are links like any other: each its event and
    # its check right away.
    package_links_add(release=release, distro=distro, actor=submitter, links=package_links)
    submission_verify_task.delay(submission.pk)
    return submission


# The uploads whose bytes are deleted after UPLOAD_RETENTION_DAYS: nothing
# accepted, passing or in the works is ever touched.
EXPIRING_STATES = (
    Submission.State.FAILED,
    Submission.State.REJECTED,
    Submission.State.SUPERSEDED,
    Submission.State.STALE,
)


def distro_stored_bytes(*, project, distro) -> int:
    """What a distro's uploads to a project take in storage now."""
    rows = Submission.objects.filter(release__project=project, distro=distro)
    bundles = rows.filter(artifact__removed_at__isnull=True).aggregate(n=Sum("artifact__size"))
    packages = rows.filter(package__isnull=False, package__removed_at__isnull=True).aggregate(
        n=Sum("package__size")
    )
    return (bundles["n"] or 0) + (packages["n"] or 0)


def _quota_check(release: Release, distro: Distro, incoming: int) -> None:
    quota = settings.DISTRO_QUOTA_BYTES
    used = distro_stored_bytes(project=release.project, distro=distro)
    if used + incoming > quota:
        raise QuotaExceeded(
            f"{distro}'s stored uploads for {release.project} take {used / 1024**3:.2f} GiB of "
            f"its {quota / 1024**3:.2f} GiB quota, and this upload ({incoming / 1024**3:.2f} GiB) "
            f"would pass it; nothing was stored. Failed and replaced uploads are removed "
            f"{settings.UPLOAD_RETENTION_DAYS} days after they were made; upload only your "
            f"files under {' and '.join(rules_for(release.project).roots_for(distro.slug))}, "
            "or ask the release manager to raise DISTRO_QUOTA_BYTES."
        )


def uploads_expire(*, now=None) -> list[int]:
    """Delete the bytes of failed, rejected, superseded and stale uploads older than
    the retention period; each submission's row, findings and sha256 stay."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.UPLOAD_RETENTION_DAYS)
    due = (
        Submission.objects.filter(state__in=EXPIRING_STATES, created_at__lte=cutoff)
        .filter(Q(artifact__removed_at__isnull=True) | Q(package__removed_at__isnull=True))
        .select_related("artifact", "package")
        .order_by("created_at")[:500]
    )
    expired = []
    for submission in due:
        with transaction.atomic():
            submission = (
                Submission.objects.select_for_update(of=("self",), no_key=True)
                .select_related("artifact", "package")
                .get(pk=submission.pk)
            )
            removed = []
            for artifact in (submission.artifact, submission.package):
                if artifact is None or artifact.removed_at is not None:
                    continue
                if PackageLink.objects.filter(staged=artifact).exists():
                    continue  # hosted for the public: not an upload to clean up
                if artifact_remove_bytes(artifact):
                    removed.append(
                        {"artifact": artifact.pk, "sha256": artifact.sha256, "size": artifact.size}
                    )
            if removed:
                submission_move(
                    submission,
                    Action.EXPIRE,
                    actor=None,
                    removed=removed,
                    retention_days=settings.UPLOAD_RETENTION_DAYS,
                )
                expired.append(submission.pk)
    return expired

"""Pre-release delivery: the tarball indexed once, a personal expiring link
mailed to each approved maintainer, and who downloaded what."""

from __future__ import annotations

from datetime import timedelta

import bundlecheck
from django.conf import settings
from django.core import signing
from django.core.files.storage import storages
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from portal.errors import BadInput, NotFound
from releases.artifacts import artifact_create
from releases.events import Event, event_record
from releases.models import (
    Artifact,
    Maintainership,
    PrereleaseDownload,
    PrereleaseInvitation,
    Project,
    Release,
)
from releases.permissions import is_active_maintainer
from releases.policies import rules_for

from .tasks import release_deliver_prerelease_task


def release_index(*, release: Release) -> dict:
    """The pre-release's manifest, made once from the stored tarball and kept."""
    if release.manifest is not None:
        return release.manifest
    artifact = release.prerelease
    with storages[artifact.storage].open(artifact.key, "rb") as stored:
        manifest = bundlecheck.build_manifest(
            stored, policy=rules_for(release.project), total_size=artifact.size
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


def changes_for_distros(changes: dict | None, roots: list[str], slugs: list[str]) -> dict | None:
    """Split what a respin changed into what lies under these distros' directories
    (their contribution roots) and everything else."""
    if changes is None:
        return None
    prefixes = tuple(bundlecheck.fill_distro(root, slug) for root in roots for slug in slugs)
    mine = {kind: [p for p in paths if p.startswith(prefixes)] for kind, paths in changes.items()}
    elsewhere = {
        kind: [p for p in paths if not p.startswith(prefixes)] for kind, paths in changes.items()
    }
    return {
        "mine": mine,
        "mine_any": any(mine.values()),
        "elsewhere": elsewhere,
        "elsewhere_any": any(elsewhere.values()),
    }


def prerelease_delivery_queue(release: Release) -> None:
    """Queue the delivery of the release's pre-release (the caller saves
    `delivery_queued_at` with its change); the sweeper queues it again if it waits."""
    release.delivery_queued_at = timezone.now()
    release_deliver_prerelease_task.delay(release.pk)


@transaction.atomic
def prerelease_invite(*, release: Release, user) -> PrereleaseInvitation:
    """Invite a maintainer to the current pre-release: the event's mail carries
    their personal link (releases/notifications.py)."""
    invitation = PrereleaseInvitation.objects.create(
        release=release, user=user, artifact_id=release.prerelease_id
    )
    event_record(
        Event.PRERELEASE_INVITED,
        actor=None,
        target=release,
        user=user.pk,
        sha256=release.prerelease.sha256,
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


# Ids are positive and fit the database's bigint columns.
_ID_MAX = 2**63 - 1


def _is_id(value) -> bool:
    # bool is an int to Python, and True would stand for id 1.
    return type(value) is int and 0 < value <= _ID_MAX


def _link_payload(data) -> tuple[int, int, int]:
    """(release, user, artifact) from a link's payload, or NotFound when it has another shape.

    Only the portal can sign a payload, but the check does not lean on that:
    a payload that is not exactly {"r": id, "u": id, "a": id} is no link.
    """
    if (
        type(data) is not dict
        or set(data) != {"r", "u", "a"}
        or not all(_is_id(value) for value in data.values())
    ):
        raise NotFound("This download link is not valid.")
    return data["r"], data["u"], data["a"]


def prerelease_link_open(*, token: str, user) -> tuple[Release, Artifact]:
    """The release and tarball a personal link stands for, if it is this person's and fresh."""
    try:
        data = signing.loads(
            token, salt=PRERELEASE_SALT, max_age=timedelta(days=settings.PRERELEASE_LINK_DAYS)
        )
    except signing.SignatureExpired:
        release_id, user_id, _ = _link_payload(
            signing.loads(token, salt=PRERELEASE_SALT, max_age=None)
        )
        if user_id != user.pk:
            raise NotFound("This download link is someone else's.") from None
        raise LinkExpired(release_id) from None
    except signing.BadSignature:
        raise NotFound("This download link is not valid.") from None
    release_id, user_id, artifact_id = _link_payload(data)
    if user_id != user.pk:
        raise NotFound("This download link is someone else's.")
    release = Release.objects.select_related("project", "prerelease").filter(pk=release_id).first()
    if release is None or release.prerelease_id != artifact_id:
        # A respin replaced the tarball: the old link must not serve the old one.
        raise LinkExpired(release_id)
    if not is_active_maintainer(user, release.project):
        raise NotFound("You no longer maintain a distro of this project.")
    return release, release.prerelease


@transaction.atomic
def prerelease_download_record(*, release: Release, user) -> PrereleaseDownload:
    return PrereleaseDownload.objects.create(
        release=release, user=user, artifact_id=release.prerelease_id
    )


def prerelease_manifest(tarball, project: Project) -> dict:
    """Index an uploaded pre-release before it is kept: a broken one is refused at once."""
    try:
        manifest = bundlecheck.build_manifest(
            tarball,
            policy=rules_for(project),
            total_size=getattr(tarball, "size", None),
        )
    except bundlecheck.ArchiveError as error:
        raise BadInput(
            f"The pre-release tarball cannot be used: {error.message} {error.hint}", field="tarball"
        ) from None
    tarball.seek(0)
    return manifest


def prerelease_store(tarball, project: Project) -> tuple[dict, Artifact]:
    """Index an uploaded pre-release tarball (a broken one is refused), then store it."""
    manifest = prerelease_manifest(tarball, project)
    artifact = artifact_create(
        kind=Artifact.Kind.PRERELEASE,
        content=tarball,
        sha256=getattr(tarball, "sha256", None),
        size=getattr(tarball, "size", None),
        original_name=getattr(tarball, "name", ""),
    )
    return manifest, artifact

"""Writes of the public side: assemble the source tarball, regenerate the page.

The release's moves (publishing, released, back to frozen) belong to its
lifecycle (`releases.coordination.lifecycle`); this module does the work in
between: building the merged tarball, writing it and its checksums to public
storage, and rendering the public page from the database.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import tempfile

import bundlecheck
from django.core.files.storage import storages
from django.db import transaction
from django.template.loader import render_to_string

from releases.coordination import lifecycle
from releases.models import Artifact, Project, Release, Submission

from . import page
from .storage import CHUNK, atomic_write

log = logging.getLogger(__name__)


# --- The public page --------------------------------------------------------


def public_page_render(*, project: Project) -> tuple[bytes, bytes]:
    """The page and its JSON twin, rendered from the database."""
    data = page.page_data(project=project)
    html = render_to_string("public/downloads.html", {"page": data})
    # Compact: scripts read it, and indenting costs a third of a large page's render.
    payload = json.dumps(page.json_data(data), sort_keys=True, separators=(",", ":")) + "\n"
    return html.encode("utf-8"), payload.encode("utf-8")


def public_page_regenerate(*, project: Project) -> None:
    """Render both files first, then replace each atomically: a failed render
    leaves the old page served, and the names never change.

    Regenerations of one project take turns (a row lock on the project), so
    a slow run that read the database earlier can never overwrite the page a
    later run wrote.
    """
    with transaction.atomic():
        project = Project.objects.select_for_update().get(pk=project.pk)
        stale_since = project.page_stale_since
        html, payload = public_page_render(project=project)
        public = storages["public"]
        atomic_write(public, page.json_key(project), payload)
        atomic_write(public, page.page_key(project), html)
        # Caught up with every change marked before this render began.
        Project.objects.filter(pk=project.pk, page_stale_since=stale_since).update(
            page_stale_since=None
        )


# --- Publish and assemble ---------------------------------------------------


def _write_checksum(public, key: str, algorithm: str, digest: str) -> None:
    name = key.rsplit("/", 1)[-1]
    atomic_write(public, f"{key}.{algorithm}", f"{digest}  {name}\n".encode("ascii"))


def _hash_file(fileobj) -> tuple[str, str, int]:
    sha256, sha512, size = hashlib.sha256(), hashlib.sha512(), 0
    fileobj.seek(0)
    while chunk := fileobj.read(CHUNK):
        sha256.update(chunk)
        sha512.update(chunk)
        size += len(chunk)
    fileobj.seek(0)
    return sha256.hexdigest(), sha512.hexdigest(), size


def assembly_mtime(release: Release) -> int:
    """The one mtime every member of the public tarball gets: fixed per release."""
    return int(release.created_at.timestamp())


def source_tarball_build(*, release: Release, out) -> dict:
    """Stream the pre-release plus every accepted distro's contribution into `out`."""
    uploads = storages["uploads"]
    accepted = (
        Submission.objects.filter(release=release, state=Submission.State.ACCEPTED)
        .select_related("distro", "artifact")
        .order_by("distro__slug")
    )
    with contextlib.ExitStack() as stack:
        prerelease = stack.enter_context(uploads.open(release.prerelease.key, "rb"))
        contributions = [
            (submission.distro.slug, stack.enter_context(uploads.open(submission.artifact.key)))
            for submission in accepted
        ]
        return bundlecheck.assemble(
            prerelease,
            contributions,
            out,
            policy=release.project.policy,
            mtime=assembly_mtime(release),
        )


def release_assemble(*, release_id: int) -> str:
    """Build and publish the source tarball of a publishing release; idempotent.

    Returns what happened, in words. Storage errors propagate, after the claim
    is given back, so that the task retries.
    """
    token = lifecycle.assembly_claim(release_id)
    if token is None:
        return "nothing to do"
    try:
        release = Release.objects.select_related("project", "prerelease").get(pk=release_id)
        public = storages["public"]
        key = page.tarball_key(release)
        with tempfile.TemporaryFile() as spool:
            result = source_tarball_build(release=release, out=spool)
            spool.flush()
            sha256, sha512, size = _hash_file(spool)
            if result.get("sha256", sha256) != sha256:
                raise RuntimeError("assembled tarball changed while being spooled")
            atomic_write(public, key, spool)
        _write_checksum(public, key, "sha256", sha256)
        _write_checksum(public, key, "sha512", sha512)
        with transaction.atomic():
            artifact, _ = Artifact.objects.update_or_create(
                storage=Artifact.Storage.PUBLIC,
                key=key,
                defaults={
                    "kind": Artifact.Kind.SOURCE_RELEASE,
                    "size": size,
                    "sha256": sha256,
                    "sha512": sha512,
                    "original_name": key.rsplit("/", 1)[-1],
                },
            )
            release = lifecycle.release_assembly_done(
                release_id=release_id,
                token=token,
                source_tarball=artifact,
                sha256=sha256,
                sha512=sha512,
                size=size,
            )
        return f"released {release} ({size} bytes, sha256 {sha256})"
    except BaseException:
        lifecycle.assembly_claim_release(release_id=release_id, token=token)
        raise


def release_assemble_give_up(*, release_id: int, error: str) -> None:
    """Assembly failed for good: the release goes back to frozen, and whatever
    the failed run wrote stops being downloadable."""
    release = lifecycle.release_assembly_failed(release_id=release_id, error=error)
    if release is None:
        return
    public, key = storages["public"], page.tarball_key(release)
    for name in (key, f"{key}.sha256", f"{key}.sha512"):
        with contextlib.suppress(OSError):
            public.delete(name)

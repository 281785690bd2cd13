"""Writes of the public side: assemble the source tarball, regenerate the page.

The release's moves (publishing, released, back to frozen) belong to its
lifecycle (`releases.coordination.lifecycle`); this module does the work in
between: building the merged tarball, writing it and its checksums to public
storage, and rendering the public page from the database.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import json
import logging
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import bundlecheck
from django.core.files.storage import storages
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from portal import openpgp
from portal.errors import BadInput, Conflict
from portal.timefmt import iso
from releases import keys, publication
from releases.coordination import lifecycle
from releases.events import Event, event_record
from releases.models import Artifact, Maintainership, PolicyVersion, Project, Release, Submission
from releases.policies import rules_of, version_in_force
from releases.sourceproof.selectors import provenance_of

from . import page
from .storage import CHUNK, atomic_write
from .tasks import page_regenerate_task

log = logging.getLogger(__name__)


# --- The public page --------------------------------------------------------


def public_page_render(*, project: Project) -> tuple[bytes, bytes]:
    """The page and its JSON twin, rendered from the database."""
    data = page.page_data(project=project)
    html = render_to_string("public/downloads.html", {"page": data})
    # Compact: scripts read it, and indenting costs a third of a large page's render.
    payload = json.dumps(page.json_data(data), sort_keys=True, separators=(",", ":")) + "\n"
    return html.encode("utf-8"), payload.encode("utf-8")


def public_page_stale(*, project_id: int) -> None:
    """Something the page shows changed: mark it stale, and queue its regeneration.

    The mark outlives a lost task: the sweeper queues the regeneration of a
    page stale for too long."""
    Project.objects.filter(pk=project_id).update(page_stale_since=timezone.now())
    page_regenerate_task.delay(project_id)


def public_page_regenerate(*, project: Project) -> None:
    """Render both files first, then replace each atomically: a failed render
    leaves the old page served, and the names never change.

    Regenerations of one project take turns (a row lock on the project), so
    a slow run that read the database earlier can never overwrite the page a
    later run wrote.
    """
    with transaction.atomic():
        project = Project.objects.select_for_update(no_key=True).get(pk=project.pk)
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


def _accepted(release: Release):
    return list(
        Submission.objects.filter(release=release, state=Submission.State.ACCEPTED)
        .select_related(
            "distro", "artifact", "submitter__profile", "decided_by__profile", "policy_version"
        )
        .order_by("distro__slug")
    )


def _fetch(storage, key: str, path: Path) -> None:
    with storage.open(key, "rb") as source, open(path, "wb") as out:
        while chunk := source.read(CHUNK):
            out.write(chunk)


class NotReproducible(RuntimeError):
    """Two builds of one release from the same inputs gave different bytes."""


def _rebuild_elsewhere(
    *,
    release: Release,
    policy: Path,
    prerelease: Path,
    contributions: list[tuple[str, Path]],
    out: Path,
) -> None:
    """The second build: `bundlecheck assemble` in its own process, with another
    time zone, another umask and the contributions in the opposite order."""
    command = [
        sys.executable,
        "-c",
        "import sys; from bundlecheck.cli import main; sys.exit(main(sys.argv[1:]))",
        "assemble",
        str(prerelease),
    ]
    for slug, path in reversed(contributions):
        command += ["--contribution", f"{slug}={path}"]
    command += [
        "--mtime",
        str(assembly_mtime(release)),
        "-o",
        str(out),
        "--policy",
        str(policy),
    ]
    env = {**os.environ, "TZ": "Pacific/Kiritimati", "LC_ALL": "C.UTF-8"}
    done = subprocess.run(  # noqa: S603 - our own interpreter, arguments we made
        command,
        env=env,
        capture_output=True,
        text=True,
        timeout=3600,
        preexec_fn=lambda: os.umask(0o077),  # noqa: PLW1509 - umask only, no threads touched
    )
    if done.returncode != 0:
        raise NotReproducible(f"the second build failed: {done.stderr.strip()[-500:]}")


def provenance_statement(
    *,
    release: Release,
    policy: PolicyVersion,
    name: str,
    sha256: str,
    accepted,
    signed_by: str = "",
) -> dict:
    """An in-toto Statement v1 saying what the public tarball was made of."""
    try:
        version = importlib.metadata.version("bundlecheck")
    except importlib.metadata.PackageNotFoundError:
        version = bundlecheck.__version__
    statement = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": name, "digest": {"sha256": sha256}}],
        "predicateType": page.PROVENANCE_PREDICATE_TYPE,
        "predicate": {
            "project": release.project.slug,
            "version": release.version,
            # The key that signs the tarball (its fingerprint, in the project's KEYS).
            "signedBy": signed_by or None,
            "prerelease": {
                "name": release.prerelease.original_name
                or release.prerelease.key.rsplit("/", 1)[-1],
                "digest": {"sha256": release.prerelease.sha256},
            },
            "assembly": {
                "tool": {"name": "bundlecheck", "version": version},
                "policy": {
                    "name": rules_of(policy).name,
                    "project": release.project.slug,
                    "version": policy.number,
                    "digest": {"sha256": policy.sha256},
                },
                "mtime": assembly_mtime(release),
                "reproduced": True,
            },
            "contributions": [
                {
                    "distro": submission.distro.slug,
                    "name": submission.artifact.original_name,
                    "digest": {"sha256": submission.artifact.sha256},
                    # Only a submission that passed verification can be accepted.
                    "verdict": "passed",
                    "verifiedAt": iso(submission.verified_at),
                    # The policy version that verdict was reached by.
                    "verifiedBy": {
                        "policyVersion": submission.policy_version.number,
                        "digest": {"sha256": submission.policy_version.sha256},
                    }
                    if submission.policy_version
                    else None,
                    "maintainers": credited,
                    "acceptedBy": _person(submission.decided_by),
                    "acceptedAt": iso(submission.decided_at),
                }
                for submission, credited in accepted
            ],
        },
    }
    proof = provenance_of(release)
    if proof is not None:
        # The tag the pre-release was proved against, as an SLSA resource descriptor.
        statement["predicate"]["sourceProof"] = proof
        statement["predicate"]["resolvedDependencies"] = [
            {
                "uri": f"git+{proof['repository']}@refs/tags/{proof['tag']}",
                "name": proof["tag"],
                "digest": {"gitCommit": proof["commit"], "gitTree": proof["tree"]},
                "annotations": {"summary": proof["summary"], "signature": proof["signature"]},
            }
        ]
    return statement


def _person(user) -> str | None:
    """The name the public page would credit (never an address)."""
    if user is None:
        return None
    profile = getattr(user, "profile", None)
    return getattr(profile, "display_name", "") or user.get_full_name() or user.get_username()


def _credited(release: Release, submissions) -> list[tuple[Submission, list[str]]]:
    """Each accepted submission with whom the public page credits for it: the
    submitter, then the distro's approved maintainers."""
    approved = (
        Maintainership.objects.filter(project=release.project, state=Maintainership.State.APPROVED)
        .select_related("user__profile")
        .order_by("requested_at", "pk")
    )
    by_distro: dict[int, list] = {}
    for maintainership in approved:
        by_distro.setdefault(maintainership.distro_id, []).append(maintainership.user)
    out = []
    for submission in submissions:
        names: list[str] = []
        for user in [submission.submitter, *by_distro.get(submission.distro_id, [])]:
            name = _person(user)
            if name not in names:
                names.append(name)
        out.append((submission, names))
    return out


def _build(release: Release, work: Path, built: Path):
    """Assemble the release's source tarball once, into `built`, from what is stored."""
    uploads = storages["uploads"]
    submissions = _accepted(release)
    policy_version = version_in_force(release.project)
    policy_file = work / "policy.toml"
    policy_file.write_text(policy_version.text, encoding="utf-8")
    prerelease = work / "prerelease.tar.gz"
    _fetch(uploads, release.prerelease.key, prerelease)
    contributions = []
    for submission in submissions:
        path = work / f"contribution-{submission.distro.slug}"
        _fetch(uploads, submission.artifact.key, path)
        contributions.append((submission.distro.slug, path))
    with contextlib.ExitStack() as stack, open(built, "w+b") as out:
        result = bundlecheck.assemble(
            stack.enter_context(open(prerelease, "rb")),
            [(slug, stack.enter_context(open(p, "rb"))) for slug, p in contributions],
            out,
            policy=rules_of(policy_version),
            mtime=assembly_mtime(release),
        )
        out.flush()
        sha256, sha512, size = _hash_file(out)
    if result.get("sha256", sha256) != sha256:
        raise RuntimeError("assembled tarball changed while being spooled")
    return sha256, sha512, size, submissions, policy_version, policy_file, prerelease, contributions


DSSE_PAYLOAD_TYPE = "application/vnd.in-toto+json"


def dsse_pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1's pre-authentication encoding: what the signature is made over."""
    kind = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


def dsse_envelope(key: openpgp.ReleaseKey, statement: bytes) -> bytes:
    """The in-toto statement in a DSSE envelope signed with the project's key (a binary
    OpenPGP signature over the PAE; `keyid` is the key's fingerprint, found in KEYS)."""
    import base64

    signature = openpgp.sign_bytes(key, dsse_pae(DSSE_PAYLOAD_TYPE, statement))
    envelope = {
        "payloadType": DSSE_PAYLOAD_TYPE,
        "payload": base64.b64encode(statement).decode("ascii"),
        "signatures": [
            {"keyid": key.fingerprint, "sig": base64.b64encode(signature).decode("ascii")}
        ],
    }
    return (json.dumps(envelope, sort_keys=True) + "\n").encode("utf-8")


@transaction.atomic
def release_signing_prepare(*, release: Release, actor) -> Release:
    """For a project whose release managers sign offline: assemble the tarball now (the
    same bytes the publish will assemble, reproducibly), keep it for them to download,
    and show its sha256. A signature uploaded before is of other bytes and is dropped."""
    locked = (
        Release.objects.select_for_update(no_key=True, of=("self",))
        .select_related("project", "prerelease")
        .get(pk=release.pk)
    )
    if locked.project.signing != Project.Signing.RELEASE_MANAGER:
        raise Conflict(f"{locked.project} is signed by the portal: nothing to prepare.")
    if (
        locked.state not in (Release.State.PRERELEASE, Release.State.FROZEN)
        or not locked.prerelease_id
    ):
        raise Conflict(
            f"{locked} is {locked.get_state_display()}: a tarball is prepared for signing "
            "while the release is open or frozen, before it is published."
        )
    name = publication.keys_of(locked)["tarball"].rsplit("/", 1)[-1]
    with tempfile.TemporaryDirectory(prefix="portal-signing-") as work:
        work = Path(work)
        built = work / name
        sha256 = _build(locked, work, built)[0]
        stored = f"signing/{locked.project.slug}/{locked.version}/{sha256[:16]}/{name}"
        with open(built, "rb") as spool:
            stored = atomic_write(storages["uploads"], stored, spool)
    locked.signing_sha256, locked.signing_key = sha256, stored
    locked.offline_signature = locked.offline_signed_by = ""
    locked.save(
        update_fields=["signing_sha256", "signing_key", "offline_signature", "offline_signed_by"]
    )
    event_record(Event.RELEASE_SIGNING_PREPARED, actor=actor, target=locked, sha256=sha256)
    return locked


@transaction.atomic
def release_signature_upload(*, release: Release, signature: bytes, actor) -> Release:
    """A release manager's detached signature of the prepared tarball, verified against
    the project's KEYS (keys in use) before it is kept; refused with what was found."""
    locked = (
        Release.objects.select_for_update(no_key=True, of=("self",))
        .select_related("project")
        .get(pk=release.pk)
    )
    if not locked.signing_key:
        raise Conflict("Assemble the tarball for signing first: there is nothing to sign yet.")
    armors = keys.project_armors(locked.project, current_only=True)
    if not armors:
        raise Conflict(
            f"{locked.project}'s KEYS has no key in use: an owner adds the release "
            "manager's public key first."
        )
    with tempfile.TemporaryDirectory(prefix="portal-verify-") as work:
        path = Path(work) / "tarball"
        _fetch(storages["uploads"], locked.signing_key, path)
        check = openpgp.signature_verify(
            path, signature, armors, keyring=f"in {locked.project}'s KEYS"
        )
    if not check.valid:
        raise BadInput(
            f"The signature was refused: {check.reason}. Sign the tarball whose sha256 is "
            f"{locked.signing_sha256} with `gpg --armor --detach-sign`, using a key in KEYS.",
            field="signature",
        )
    locked.offline_signature = signature.decode("ascii", errors="replace")
    locked.offline_signed_by = check.fingerprint or ""
    locked.save(update_fields=["offline_signature", "offline_signed_by"])
    event_record(
        Event.RELEASE_SIGNED, actor=actor, target=locked, fingerprint=locked.offline_signed_by
    )
    return locked


def release_assemble(*, release_id: int) -> str:
    """Build and publish the source tarball of a publishing release; idempotent.

    The tarball is built twice, the second time in another process with
    another time zone, umask and order of contributions; different bytes
    refuse the publish. Then the tarball, its checksums, its provenance
    (in-toto) and, with a release key, their signatures are written.

    Returns what happened, in words. Storage errors propagate, after the claim
    is given back, so that the task retries.
    """
    token = lifecycle.assembly_claim(release_id)
    if token is None:
        return "nothing to do"
    try:
        release = Release.objects.select_related("project", "prerelease").get(pk=release_id)
        public = storages["public"]
        files = publication.keys_of(release)
        key = files["tarball"]
        name = key.rsplit("/", 1)[-1]
        project = release.project
        offline = project.signing == Project.Signing.RELEASE_MANAGER
        signing_key = (
            None if offline else (keys.project_signing_key(project) or openpgp.release_key())
        )
        with tempfile.TemporaryDirectory(prefix="portal-assemble-") as work:
            work = Path(work)
            built = work / name
            (
                sha256,
                sha512,
                size,
                submissions,
                policy_version,
                policy_file,
                prerelease,
                contributions,
            ) = _build(release, work, built)
            again = work / "rebuilt.tar.gz"
            _rebuild_elsewhere(
                release=release,
                policy=policy_file,
                prerelease=prerelease,
                contributions=contributions,
                out=again,
            )
            with open(again, "rb") as rebuilt:
                sha256_again = _hash_file(rebuilt)[0]
            if sha256_again != sha256:
                raise NotReproducible(
                    f"the source tarball is not reproducible: two builds from the same inputs "
                    f"gave sha256 {sha256} and {sha256_again}; nothing was published"
                )
            if offline and sha256 != release.signing_sha256:
                raise NotReproducible(
                    f"the source tarball assembled now (sha256 {sha256}) is not the one the "
                    f"release manager signed (sha256 {release.signing_sha256 or 'none'}): a "
                    "decision changed since; assemble it for signing again and sign the new one"
                )
            statement = provenance_statement(
                release=release,
                policy=policy_version,
                name=name,
                sha256=sha256,
                accepted=_credited(release, submissions),
                signed_by=signing_key.fingerprint
                if signing_key
                else release.offline_signed_by
                if offline
                else "",
            )
            provenance = (json.dumps(statement, indent=2, sort_keys=True) + "\n").encode()
            provenance_name = files["provenance"].rsplit("/", 1)[-1]
            sums = (
                f"{sha256}  {name}\n{hashlib.sha256(provenance).hexdigest()}  {provenance_name}\n"
            ).encode("ascii")
            (work / "SHA256SUMS").write_bytes(sums)
            signature = sums_signature = attestation = None
            if signing_key is not None:
                signature = openpgp.sign_detached(signing_key, built)
                sums_signature = openpgp.sign_detached(signing_key, work / "SHA256SUMS")
                attestation = dsse_envelope(signing_key, provenance)
            elif offline:
                signature = release.offline_signature.encode("ascii")
            with open(built, "rb") as spool:
                atomic_write(public, key, spool)
        atomic_write(public, files["sha256"], f"{sha256}  {name}\n".encode("ascii"))
        atomic_write(public, files["sha512"], f"{sha512}  {name}\n".encode("ascii"))
        atomic_write(public, files["provenance"], provenance)
        atomic_write(public, files["sums"], sums)
        if signature is not None:
            atomic_write(public, files["signature"], signature)
        if sums_signature is not None:
            atomic_write(public, files["sums_signature"], sums_signature)
        if attestation is not None:
            atomic_write(public, files["attestation"], attestation)
        # KEYS: the project's own keys when it has any (old ones kept), else the site's.
        keys_text = (
            keys.project_keys_file(project)
            if keys.has_keys(project)
            else openpgp.keys_file(signing_key)
        )
        if keys_text:
            atomic_write(public, files["keys"], keys_text)
        signed_by = (
            signing_key.fingerprint if signing_key else release.offline_signed_by if offline else ""
        )
        with transaction.atomic():
            artifact, _ = Artifact.objects.update_or_create(
                storage=Artifact.Storage.PUBLIC,
                key=key,
                defaults={
                    "kind": Artifact.Kind.SOURCE_RELEASE,
                    "size": size,
                    "sha256": sha256,
                    "sha512": sha512,
                    "original_name": name,
                    "signed_by": signed_by,
                },
            )
            release = lifecycle.release_assembly_done(
                release_id=release_id,
                token=token,
                source_tarball=artifact,
                sha256=sha256,
                sha512=sha512,
                size=size,
                signed_by=signed_by or None,
            )
        signed = f"signed by {signed_by}" if signed_by else "unsigned: no release key"
        return f"released {release} ({size} bytes, sha256 {sha256}, reproduced, {signed})"
    except BaseException:
        lifecycle.assembly_claim_release(release_id=release_id, token=token)
        raise


def release_assemble_give_up(*, release_id: int, error: str) -> None:
    """Assembly failed for good: the release goes back to frozen, and whatever
    the failed run wrote stops being downloadable."""
    release = lifecycle.release_assembly_failed(release_id=release_id, error=error)
    if release is None:
        return
    public = storages["public"]
    for name in publication.written_by_assembly(release):
        with contextlib.suppress(OSError):
            public.delete(name)

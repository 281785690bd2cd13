"""Writes of the source proof: ask for one when a release is given a tag, compute it in a
worker (bundlecheck.source on the stored pre-release), and an owner's override."""

from __future__ import annotations

import contextlib
from datetime import timedelta
from functools import cache

from bundlecheck.gitsource import SourceError, is_remote
from bundlecheck.macros import MacroIndex, load_macro_index
from bundlecheck.source import SourceProof as Proof
from bundlecheck.source import source_compare
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from portal import openpgp, outbound
from portal.errors import BadInput, Conflict
from releases import permissions
from releases.artifacts import artifact_open
from releases.events import Event, event_record
from releases.keys import project_armors
from releases.models import Release, SourceProof
from releases.policies import rules_for

from .rules import repository_problem
from .selectors import latest_proof
from .tasks import source_proof_compute_task

State = SourceProof.State
#: Keys a signed tag is verified against, at most this many bytes of them.
MAX_KEYS_BYTES = 4 << 20


def source_proof_request(*, release: Release, tag: str) -> SourceProof | None:
    """Record that the release's pre-release is to be proved against `tag`, and queue the
    proof (it leaves once the caller's transaction commits). No tag: nothing to prove."""
    tag = (tag or "").strip()
    if not tag:
        return None
    repository = release.project.source_repository
    if not repository:
        raise BadInput(f"{release.project} names no source repository, so tag {tag} cannot be "
                       "checked: add the repository's URL to the project first, or leave the tag empty.",
                       field="source_tag")
    problem = repository_problem(repository)
    if problem:
        raise BadInput(f"{release.project}'s source repository cannot be used: {problem}",
                       field="source_tag")
    release.source_tag = tag
    release.save(update_fields=["source_tag"])
    proof = SourceProof.objects.create(release=release, prerelease_id=release.prerelease_id,
                                       repository=repository, tag=tag)
    source_proof_compute_task.delay(proof.pk)
    return proof


@cache
def macro_index() -> MacroIndex:
    """The system's autotools macros, read once per worker process."""
    return load_macro_index()


def signing_keys(project) -> bytes:
    """The public keys a tag of `project` may be signed with: the project's KEYS
    (every key that signed one of its releases, or the site's release key for a
    project without keys of its own) and the proven keys of its owners and release
    managers. Another project's team and keys never count."""
    armors = list(project_armors(project))
    if not armors:
        # An unreadable release key is said where releases are signed.
        with contextlib.suppress(openpgp.SigningError):
            armors.append(openpgp.keys_file(openpgp.release_key()).decode("ascii", "replace"))
    armors += get_user_model().objects.filter(
        is_active=True,
        project_roles__project=project,
        project_roles__role__in=sorted(permissions.MAY[permissions.RUN]),
        openpgp_keys__proven_at__isnull=False,
    ).values_list("openpgp_keys__armor", flat=True).distinct()
    return "\n".join(armors).encode("ascii", "replace")[:MAX_KEYS_BYTES]


def _git_settings(repository: str) -> list[str]:
    if is_remote(repository):
        return outbound.git_remote_settings(repository, seconds=settings.SOURCE_FETCH_SECONDS)
    if not settings.SOURCE_REPOSITORY_ALLOW_LOCAL:
        raise SourceError(f"{repository} is not an http(s) URL: give the repository's https:// URL")
    return []


def _claim(proof_id: int) -> bool:
    stale = timezone.now() - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 60)
    return bool(
        SourceProof.objects.filter(pk=proof_id, state=State.PENDING)
        .filter(Q(started_at__isnull=True) | Q(started_at__lt=stale))
        .update(started_at=timezone.now())
    )


def source_proof_compute(*, proof_id: int) -> SourceProof | None:
    """Fetch the tag, compare the stored pre-release with its tree, save the verdict."""
    if not _claim(proof_id):
        return None
    proof = SourceProof.objects.select_related("release__project", "prerelease").get(pk=proof_id)
    try:
        git_settings = _git_settings(proof.repository)
        with artifact_open(proof.prerelease) as stored:
            result = source_compare(
                stored, repo=proof.repository, tag=proof.tag, policy=rules_for(proof.release.project),
                keys=signing_keys(proof.release.project), allow_local=settings.SOURCE_REPOSITORY_ALLOW_LOCAL,
                git_config=git_settings, timeout=settings.SOURCE_FETCH_SECONDS,
                max_fetch_bytes=settings.SOURCE_FETCH_MAX_BYTES, macros=macro_index(),
                total_size=proof.prerelease.size,
            )
    except (SourceError, outbound.Refused, outbound.Failed) as error:
        return source_proof_save(proof_id=proof_id, result=None, error=str(error))
    return source_proof_save(proof_id=proof_id, result=result, error="")


@transaction.atomic
def source_proof_save(*, proof_id: int, result: Proof | None, error: str) -> SourceProof:
    """Store a proof's verdict and record `source_proof.done`."""
    proof = SourceProof.objects.select_for_update(no_key=True).select_related("release").get(pk=proof_id)
    if result is None:
        proof.state, proof.error = State.ERROR, error[:2000]
        proof.summary = f"could not be compared with tag {proof.tag}"
    else:
        info = result.tag
        proof.state = State.PASSED if result.passed else State.FAILED
        proof.tag_object, proof.commit, proof.tree = info.tag_object or "", info.commit, info.tree
        proof.signature = info.signature.state
        proof.signer = (info.signature.signer or info.signature.detail or "")[:300]
        proof.fingerprint = info.signature.fingerprint or ""
        proof.summary = result.summary()
        proof.counts = result.counts
        proof.files = [f.to_dict() for f in result.not_identical()]
        proof.collisions = result.collisions
        proof.problems = result.problems
        earlier = (SourceProof.objects.filter(release=proof.release_id, tag=proof.tag)
                   .exclude(pk=proof.pk).exclude(commit="").order_by("-created_at", "-pk").first())
        if earlier is not None and earlier.commit != proof.commit:
            proof.moved_from = earlier.commit
    proof.finished_at = timezone.now()
    proof.save()
    event_record(Event.SOURCE_PROOF_DONE, actor=None, target=proof, tag=proof.tag, state=proof.state,
                 commit=proof.commit, summary=proof.summary, moved_from=proof.moved_from)
    return proof


@transaction.atomic
def source_proof_override(*, release: Release, actor, reason: str) -> SourceProof:
    """Let a release whose proof failed open anyway, with the owner's written reason."""
    reason = (reason or "").strip()
    if len(reason) < 10:
        raise BadInput("Say in a sentence why the release may open although its pre-release does "
                       "not match its tag (at least 10 characters).", field="reason")
    proof = latest_proof(release)
    if proof is None or proof.state not in (State.FAILED, State.ERROR):
        raise Conflict(f"{release} has no failed source proof to override.")
    proof = SourceProof.objects.select_for_update(no_key=True).get(pk=proof.pk)
    if proof.overridden_at is not None:
        raise Conflict(f"The source proof of {release} was overridden already.")
    proof.override_reason, proof.overridden_by, proof.overridden_at = reason[:2000], actor, timezone.now()
    proof.save(update_fields=["override_reason", "overridden_by", "overridden_at"])
    event_record(Event.SOURCE_PROOF_OVERRIDDEN, actor=actor, target=proof, tag=proof.tag,
                 reason=proof.override_reason, summary=proof.summary)
    return proof

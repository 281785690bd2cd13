"""Reads of the source proof: the release's latest proof, what it lets the release do,
and the sentences pages and mails show."""

from __future__ import annotations

from bundlecheck.source import FAILING
from django.db.models import F

from releases.models import Release, SourceProof

#: Files not identical shown on the dashboard; the rest are counted.
MAX_SHOWN = 200


def latest_proof(release: Release) -> SourceProof | None:
    """The release's word on its source: the proof of the last tag given (None: no tag)."""
    if not release.source_tag:
        return None
    return release.source_proofs.order_by("-created_at", "-pk").first()


def source_proof_refusal(release: Release) -> str | None:
    """Why the release's source proof keeps it from opening, or None.

    Only a release given a tag has a proof to wait for. A proof that is still
    running, failed or could not be made keeps it closed until a new tag or
    tarball passes, or an owner overrides it with a written reason."""
    if not release.source_tag:
        return None
    proof = latest_proof(release)
    if proof is None:
        return None
    if proof.state == SourceProof.State.PENDING:
        return (f"The source proof of {release} against tag {proof.tag} is still running: "
                "open the release once it has passed.")
    if proof.state in (SourceProof.State.FAILED, SourceProof.State.ERROR) and proof.overridden_at is None:
        why = proof.error or proof.summary
        return (f"{release}'s pre-release is not proved against tag {proof.tag}: {why}. Respin with "
                "the right tarball or tag, or override the proof with a written reason.")
    return None


def proof_sentence(proof: SourceProof | None) -> str:
    """What maintainers read: 'matches tag v2.0 (commit abc1234), signed by ...; 3 generated files'."""
    if proof is None:
        return ""
    moved = (f" The tag {proof.tag} moved since the previous pre-release: it named commit "
             f"{proof.moved_from[:7]}, now {proof.commit[:7]}." if proof.moved_from else "")
    if proof.state == SourceProof.State.PENDING:
        return f"The pre-release is being compared with tag {proof.tag} of {proof.repository}."
    if proof.state == SourceProof.State.ERROR:
        return f"The pre-release could not be compared with tag {proof.tag}: {proof.error}"
    sentence = f"The pre-release {proof.summary}." + moved
    if proof.overridden_at is not None:
        sentence += f" The release team opened it anyway: {proof.override_reason}"
    return sentence


def source_proof_view(release: Release) -> dict | None:
    """The dashboard's "Source proof" section, ready to show."""
    if not release.source_tag:
        return None
    proof = latest_proof(release)
    if proof is None:
        return None
    files = sorted(proof.files, key=lambda f: (f.get("class") not in FAILING, f.get("path", "")))
    return {
        "proof": proof,
        "sentence": proof_sentence(proof),
        "counts": [(cls, n) for cls, n in proof.counts.items() if n],
        "failing": [f for f in files if f.get("class") in FAILING][:MAX_SHOWN],
        "others": [f for f in files if f.get("class") not in FAILING][:MAX_SHOWN],
        "more": max(0, len(files) - MAX_SHOWN),
        "may_override": proof.state in (SourceProof.State.FAILED, SourceProof.State.ERROR)
        and proof.overridden_at is None,
        "blocks_open": source_proof_refusal(release) is not None,
    }


def _public(proof: SourceProof) -> dict:
    return {
        "repository": proof.repository,
        "tag": proof.tag,
        "commit": proof.commit,
        "tree": proof.tree,
        "signature": proof.signature,
        "signer": proof.signer,
        "fingerprint": proof.fingerprint,
        "passed": proof.state == SourceProof.State.PASSED,
        "summary": proof.summary,
        "counts": proof.counts,
        "overridden": proof.overridden_at is not None,
        "override_reason": proof.override_reason,
    }


def _proved(release_ids):
    # The proof of the tarball each release carries now: its pre-release, compared.
    return (
        SourceProof.objects.filter(release__in=release_ids, prerelease_id=F("release__prerelease_id"))
        .filter(state__in=(SourceProof.State.PASSED, SourceProof.State.FAILED))
        .select_related("release")
        .order_by("release_id", "-created_at", "-pk")
    )


def provenance_of(release: Release) -> dict | None:
    """What the public page and the in-toto provenance name of the release's source proof."""
    proof = _proved([release.pk]).first()
    return _public(proof) if proof is not None else None


def provenance_by_release(release_ids) -> dict[int, dict]:
    """The same for many releases, in one query."""
    out: dict[int, dict] = {}
    for proof in _proved(release_ids).only(
        "release_id", "repository", "tag", "commit", "tree", "signature", "signer", "fingerprint",
        "state", "summary", "counts", "overridden_at", "override_reason", "release__prerelease_id",
    ):
        out.setdefault(proof.release_id, _public(proof))
    return out

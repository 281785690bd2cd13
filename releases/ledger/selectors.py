"""What the ledger pages and the JSON read: the stored ledger with upstream's answers."""

from __future__ import annotations

from typing import Any

from releases.models import Distro, PatchAnswer, PatchLedger, Release

STATE_LABELS = {
    "applies": "applies",
    "applies-with-fuzz": "applies with offset or fuzz",
    "already-upstream": "already upstream",
    "conflicts": "conflicts",
    "unknown": "unknown",
}


def ledger_data(release: Release) -> dict[str, Any] | None:
    """The release's ledger (bundlecheck's JSON), each entry with ``answer`` (or None), or None
    when no worker has computed it yet."""
    row = PatchLedger.objects.filter(release=release, computed_at__isnull=False).first()
    if row is None:
        return None
    answers = {
        a.fingerprint: {
            "decision": a.decision,
            "label": a.get_decision_display(),
            "comment": a.comment,
        }
        for a in PatchAnswer.objects.filter(release=release)
    }
    data = dict(row.data)
    data["computed_at"] = row.computed_at.isoformat()
    data["entries"] = [_entry(entry, answers) for entry in data.get("entries", [])]
    return data


def _state_label(status: dict | None) -> str:
    return STATE_LABELS.get((status or {}).get("state", "unknown"), "unknown")


def _entry(entry: dict[str, Any], answers: dict[str, dict]) -> dict[str, Any]:
    """An entry as the pages show it: a title and a body from its description, labels."""
    title, _, body = (entry.get("description") or "").partition("\n")
    return {
        **entry,
        "title": title.strip() or "(no description)",
        "body": body.strip(),
        "answer": answers.get(entry["fingerprint"]),
        "state_label": _state_label(entry.get("status")),
        "carriers": [
            {**c, "state_label": _state_label(c.get("status"))} for c in entry["carriers"]
        ],
    }


def distro_patches(release: Release, distro: Distro) -> list[dict[str, Any]]:
    """A maintainer's patches against the release's pre-release: one row per patch they carry,
    with its status, whether to drop it, and upstream's answer."""
    data = ledger_data(release)
    if data is None:
        return []
    rows = []
    for entry in data["entries"]:
        for carrier in entry["carriers"]:
            if carrier["distro"] != distro.slug:
                continue
            status = carrier.get("status") or {}
            state = status.get("state", "unknown")
            rows.append(
                {
                    "id": entry["id"],
                    "path": carrier["path"],
                    "description": entry["title"],
                    "state": state,
                    "state_label": STATE_LABELS.get(state, "unknown"),
                    "detail": status.get("detail", ""),
                    "drop_it": state == "already-upstream",
                    "carriers": len(entry["carriers"]),
                    "answer": entry["answer"],
                }
            )
    return rows

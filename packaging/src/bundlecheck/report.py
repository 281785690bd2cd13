"""Render a Report for a terminal."""

from __future__ import annotations

from .findings import Report
from .patches import Ledger
from .source import SourceProof

_ORDER = {"error": 0, "warning": 1, "info": 2}


def as_text(report: Report, *, source: str = "") -> str:
    lines = []
    for f in sorted(report.findings, key=lambda f: _ORDER[f.severity]):
        where = f" {f.path}" if f.path else ""
        lines.append(f"{f.severity.upper():7} {f.check}{where}: {f.message}")
        if f.hint:
            lines.append(f"        hint: {f.hint}")
        if f.url:
            lines.append(f"        see: {f.url}")
    if report.tools:
        lines.append("tools: " + "; ".join(f"{name} ({version})" for name, version in report.tools.items()))
    counts = {s: sum(1 for f in report.findings if f.severity == s) for s in _ORDER}
    stats = report.stats
    lines.append(
        f"{source + ': ' if source else ''}{report.verdict.upper()} — {counts['error']} error(s), "
        f"{counts['warning']} warning(s), {counts['info']} info; {stats.get('members', 0)} members, "
        f"{stats.get('bytes_read', 0)} bytes in {stats.get('seconds', 0)} s"
    )
    return "\n".join(lines)


def ledger_text(ledger: Ledger) -> str:
    """The merged patch ledger: per entry its fingerprint, DEP-3 fields, status and carriers."""
    lines = []
    for e in ledger.entries:
        data = e.to_dict()
        title = (data.get("description") or "(no description)").split("\n", 1)[0]
        lines.append(f"{e.id}  {title}")
        lines.append(f"  files: {', '.join(data['files'])} ({data['changes']} change(s), "
                     f"{data['hunks']} hunk(s))")
        for key in ("author", "origin", "forwarded", "applied_upstream"):
            if data.get(key):
                lines.append(f"  {key.replace('_', '-')}: {data[key]}")
        lines.extend(f"  bug: {bug}" for bug in data["bug"])
        if e.status is not None:
            lines.append(f"  status against {ledger.against}: {e.status.state} ({e.status.detail})")
        for c in e.carriers:
            state = f" — {c.status.state}" if c.status else ""
            lines.append(f"  carried by {c.patch.distro}: {c.patch.bundle}: {c.patch.path} "
                         f"[{c.patch.via}]{state}")
        if e.contains:
            lines.append(f"  contains: {', '.join(e.contains)}")
        if e.contained_in:
            lines.append(f"  contained in: {', '.join(e.contained_in)}")
        lines.append("")
    for f in sorted(ledger.problems, key=lambda f: _ORDER[f.severity]):
        lines.append(f"{f.severity.upper():7} {f.check}{' ' + f.path if f.path else ''}: {f.message}")
    patches = sum(len(e.carriers) for e in ledger.entries)
    lines.append(f"{len(ledger.entries)} fix(es) in {patches} patch(es) from {len(ledger.bundles)} bundle(s)"
                 + (f", against {ledger.against}" if ledger.against else ""))
    return "\n".join(lines)


def source_text(proof: SourceProof) -> str:
    """A source proof for a terminal: each file that is not identical, its diff, the summary."""
    tag = proof.tag
    lines = [f"repository {tag.repo}, tag {tag.tag}: commit {tag.commit}, tree {tag.tree}",
             f"tag: {tag.signature.sentence()}"]
    for verdict in proof.not_identical():
        lines.append(f"{verdict.cls:18} {verdict.path}" + (f": {verdict.detail}" if verdict.detail else ""))
        if verdict.diff:
            lines.extend("    " + line for line in verdict.diff.rstrip("\n").split("\n"))
    for group in proof.collisions:
        lines.append(f"{'collision':18} {' / '.join(group)}: one path on a case-insensitive or "
                     "normalising file system")
    for problem in proof.problems:
        lines.append(f"{'problem':18} {problem}")
    counts = ", ".join(f"{n} {cls}" for cls, n in proof.counts.items() if n)
    lines.append(f"{'PASS' if proof.passed else 'FAIL'}: {proof.summary()} ({counts})")
    return "\n".join(lines)

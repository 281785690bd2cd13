"""Render a Report for a terminal."""

from __future__ import annotations

from .findings import Report

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

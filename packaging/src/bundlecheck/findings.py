"""Finding and Report: the values a verification run hands back."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Severity = Literal["error", "warning", "info"]
SEVERITIES: tuple[Severity, ...] = ("error", "warning", "info")


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing a check found: what is wrong (message) and what to do (hint)."""

    check: str
    severity: Severity
    path: str | None
    message: str
    hint: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class Report:
    findings: list[Finding] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def verdict(self) -> Literal["pass", "fail"]:
        # One error is enough to refuse; warnings and infos are advice only.
        return "fail" if any(f.severity == "error" for f in self.findings) else "pass"

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "findings": [f.to_dict() for f in self.findings],
            "stats": dict(self.stats),
        }

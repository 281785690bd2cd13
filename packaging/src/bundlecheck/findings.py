"""Finding and Report: the values a verification run hands back."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
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
    #: A page documenting the check (e.g. a lintian tag's), or "".
    url: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class Report:
    findings: list[Finding] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)
    #: Findings left out past the cap (MAX_FINDINGS); a closing finding says so too.
    omitted: int = 0
    #: External tools that ran, by name, with their version line (e.g. lintian).
    tools: dict[str, str] = field(default_factory=dict)
    #: A bundle's rpmlint overrides (the .rpmlintrc in its distro_dir), read in the same
    #: single pass as the rest, for verifying the package that comes with it; None when
    #: absent, over RPMLINTRC_MAX, or when the archive could not be read to its end.
    rpmlintrc: bytes | None = None

    @property
    def verdict(self) -> Literal["pass", "fail"]:
        # One error is enough to refuse; warnings and infos are advice only.
        return "fail" if any(f.severity == "error" for f in self.findings) else "pass"

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "findings": [f.to_dict() for f in self.findings],
            "stats": dict(self.stats),
            "omitted": self.omitted,
            "tools": dict(self.tools),
        }


#: Bytes of a .rpmlintrc handed on; a longer one is not a list of overrides.
RPMLINTRC_MAX = 64 * 1024
#: At most this many findings in one report; a closing finding says how many more there were.
MAX_FINDINGS = 1000
Summary = Callable[[Finding, int], Finding]


@dataclass(slots=True)
class _Group:
    first: Finding
    count: int
    summary: Summary | None


class FindingLog:
    """Findings as they stream in, collapsed and capped so memory stays bounded.

    Findings with the same ``key`` (by default: same check, path and message)
    become one; ``summary`` rewrites the first of a group with its count (e.g.
    "250000 members named ...").  Past ``cap`` distinct findings, new ones are
    only counted in :attr:`omitted`.
    """

    def __init__(self, cap: int = MAX_FINDINGS):
        self._cap = cap
        self._groups: dict[Hashable, _Group] = {}
        self.omitted = 0

    def add(self, f: Finding, *, key: Hashable = None, summary: Summary | None = None) -> None:
        key = key if key is not None else (f.check, f.path, f.message)
        group = self._groups.get(key)
        if group is not None:
            group.count += 1
        elif len(self._groups) >= self._cap:
            self.omitted += 1
        else:
            self._groups[key] = _Group(f, 1, summary)

    def bump(self, key: Hashable) -> bool:
        """Count one more of group ``key`` if it exists (without building its finding)."""
        group = self._groups.get(key)
        if group is None:
            return False
        group.count += 1
        return True

    def extend(self, findings: Iterable[Finding]) -> None:
        for f in findings:
            self.add(f)

    def __len__(self) -> int:
        return len(self._groups)

    def findings(self) -> list[Finding]:
        return [g.summary(g.first, g.count) if g.summary is not None and g.count > 1 else g.first
                for g in self._groups.values()]

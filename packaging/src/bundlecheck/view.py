"""What a source check reads: the submission's members, a few captured files, the rules."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from .findings import Finding
from .members import Member
from .policy import Policy
from .registry import CHECKS

Shape = Literal["package", "bundle"]


@dataclass
class SourceView:
    distro: str
    policy: Policy
    shape: Shape
    root: str | None  # top-level directory of a full package (None for a bundle or no root)
    top_levels: tuple[str, ...]
    members: dict[str, Member]  # keyed by path relative to the root
    captured: dict[str, bytes]  # relative path -> content of small distro files
    too_large: set[str]  # relative paths of distro files over the in-memory cap
    reference: dict[str, Any] | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def roots(self) -> tuple[str, ...]:
        return self._roots

    def __post_init__(self) -> None:
        # Asked once per member by the checks: formatted once.
        self._roots = self.policy.roots_for(self.distro)
        self._own_files: tuple[str, ...] | None = None

    def finding(self, check: str, path: str | None, message: str, hint: str) -> Finding:
        if check not in CHECKS:
            raise KeyError(f"undeclared check id {check!r}")
        return Finding(check, self.policy.severity_of(check), path, message, hint)

    def in_own_roots(self, rel: str) -> bool:
        return rel.startswith(self._roots) or rel + "/" in self._roots

    def own_files(self) -> tuple[str, ...]:
        """The distro's own regular files, sorted; computed once (checks ask per recipe)."""
        if self._own_files is None:
            self._own_files = tuple(sorted(p for p, m in self.members.items()
                                           if m.type == "file" and self.in_own_roots(p)))
        return self._own_files


def roots_pattern(policy: Policy) -> re.Pattern[str]:
    """A regex matching any distro's contribution root, capturing the distro name."""
    alternatives = []
    for template in policy.contribution_roots:
        before, _, after = template.partition("{distro}")
        group = f"(?P<d{len(alternatives)}>[^/]+)"
        alternatives.append(re.escape(before) + group + re.escape(after.rstrip("/")) + r"(?:/|$)")
    return re.compile("|".join(f"(?:{a})" for a in alternatives))


def owner_distro(pattern: re.Pattern[str], rel: str) -> str | None:
    m = pattern.match(rel)
    if m is None:
        return None
    return next(v for v in m.groupdict().values() if v is not None)


def root_parents(policy: Policy) -> set[str]:
    """The directories above the contribution roots ('distros', 'install/client', ...)."""
    parents: set[str] = set()
    for template in policy.contribution_roots:
        head = template.partition("{distro}")[0].strip("/")
        parts = head.split("/") if head else []
        for i in range(1, len(parts) + 1):
            parents.add("/".join(parts[:i]))
    return parents


@dataclass
class PackageView:
    """What a binary-package check reads."""

    distro: str
    policy: Policy
    package: Any  # packages.Package (not imported: packages imports this module's users)

    def finding(self, check: str, path: str | None, message: str, hint: str) -> Finding:
        if check not in CHECKS:
            raise KeyError(f"undeclared check id {check!r}")
        return Finding(check, self.policy.severity_of(check), path, message, hint)

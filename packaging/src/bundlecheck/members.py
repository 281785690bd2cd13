"""What one pass over an archive learns: its members (never their data) and its findings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .findings import Finding, FindingLog


@dataclass(slots=True)
class Member:
    """What a check may know of one member: never its data, except via ``captured``."""

    name: str  # the raw name, as decoded with surrogateescape
    path: str  # normalised: no './', no trailing '/'
    type: str  # file, dir, symlink, hardlink, char, block, fifo
    mode: int
    size: int
    linkname: str = ""
    sha256: str | None = None

    def manifest_entry(self) -> dict[str, Any]:
        return {
            "type": self.type, "mode": self.mode, "size": self.size,
            "sha256": self.sha256, "linkname": self.linkname or None,
        }


@dataclass
class Scan:
    """Everything one pass over an archive learnt.

    Per-member state is what the checks need (path, type, mode, size, link,
    digest), for members within the path limits only; its total is bounded by
    the member count and name-bytes limits.
    """

    kind: str | None = None
    members: dict[str, Member] = field(default_factory=dict)
    captured: dict[str, bytes] = field(default_factory=dict)
    too_large_to_capture: set[str] = field(default_factory=set)
    log: FindingLog = field(default_factory=FindingLog)
    symlinks: set[str] = field(default_factory=set)  # paths of symbolic links
    headers: int = 0  # member and global headers read
    members_seen: int = 0  # member headers read, duplicates and refused ones included
    complete: bool = False  # read to the end without a fatal error
    bytes_read: int = 0
    uncompressed: int = 0

    @property
    def findings(self) -> list[Finding]:
        return self.log.findings()

"""The ceilings a read of an archive must stay under; a policy's [limits] table overrides them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MiB = 1 << 20
GiB = 1 << 30


@dataclass(frozen=True, slots=True)
class Limits:
    """Ceilings checked before they are crossed; a policy's [limits] table overrides them."""

    max_total_size: int = 8 * GiB  # uncompressed bytes
    max_ratio: float = 50.0  # uncompressed / compressed ...
    ratio_threshold: int = 64 * MiB  # ... once this much has been decompressed
    max_members: int = 100_000
    max_path_length: int = 1024  # bytes of a member name
    max_path_depth: int = 32
    max_header_size: int = 64 * 1024  # one pax / GNU long-name extension header
    max_name_bytes: int = 16 * MiB  # all member names and link targets together
    max_member_in_memory: int = 1 * MiB  # a distro file a check reads (conf, spec, script)
    max_captured_total: int = 16 * MiB
    max_spool_size: int = 1 * GiB  # a .deb/.rpm copied to a temporary file
    lint_timeout: float = 120.0  # seconds for the distro's linter (lintian) on a package

    @classmethod
    def from_mapping(cls, values: dict[str, Any]) -> Limits:
        return cls(**values)

"""Walk the members of a decoded tar stream: headers, hashes, captures, safety hooks.

The headers are parsed with :meth:`tarfile.TarInfo.fromtarfile`, so pax and GNU
extensions are understood, and the stream is drained to its very end.
``tarfile.TarFile`` itself is not used for iteration: it silently treats a bad
header in mid-archive as the end of the archive.
"""

from __future__ import annotations

import hashlib
import re
import struct
import tarfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .decompress import Decoded, RawReader
from .errors import ArchiveError
from .findings import Finding
from .limits import Limits
from .names import normalise, quoted

_TYPES = {
    tarfile.REGTYPE: "file", tarfile.AREGTYPE: "file", tarfile.CONTTYPE: "file",
    tarfile.DIRTYPE: "dir", tarfile.SYMTYPE: "symlink", tarfile.LNKTYPE: "hardlink",
    tarfile.CHRTYPE: "char", tarfile.BLKTYPE: "block", tarfile.FIFOTYPE: "fifo",
    tarfile.GNUTYPE_SPARSE: "sparse",
}


def member_type(info: tarfile.TarInfo) -> str:
    if info.sparse is not None or any(k.startswith("GNU.sparse.") for k in info.pax_headers):
        return "sparse"
    return _TYPES.get(info.type, "other")


@dataclass(slots=True)
class Member:
    """What a check may know of one member: never its data, except via ``captured``."""

    name: str  # the raw name, as decoded with surrogateescape
    path: str  # normalised: no './', no trailing '/'
    type: str  # file, dir, symlink, hardlink, char, block, fifo, sparse, other
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
    """Everything one pass over an archive learnt."""

    kind: str | None = None
    members: dict[str, Member] = field(default_factory=dict)
    captured: dict[str, bytes] = field(default_factory=dict)
    too_large_to_capture: set[str] = field(default_factory=set)
    findings: list[Finding] = field(default_factory=list)
    complete: bool = False  # read to the end without a fatal error
    bytes_read: int = 0
    uncompressed: int = 0


# What tarfile's header parsing raises on hostile bytes besides HeaderError.  Not a
# bare Exception: the caller's stream errors, a progress callback's errors and a
# host's time-limit exception must go through untouched.
_PARSER_ERRORS = (ValueError, UnicodeError, IndexError, KeyError, OverflowError, TypeError,
                  struct.error, re.error)


class _TarContext:
    """The few attributes ``TarInfo.fromtarfile`` needs of a TarFile, over our stream."""

    encoding = "utf-8"
    errors = "surrogateescape"

    def __init__(self, fileobj: Decoded):
        self.fileobj = fileobj
        self.pax_headers: dict[str, str] = {}
        self.offset = 0


MemberHook = Callable[[Member, tarfile.TarInfo], list[Finding]]
#: Given a file member about to be read, return a callable fed its data chunks, or None.
DataSink = Callable[[Member], Callable[[memoryview], object] | None]


class TarScanner:
    """Walk the members of a (decoded) tar stream: headers, hashes, captures, safety."""

    def __init__(
        self,
        stream: Decoded,
        scan: Scan,
        limits: Limits,
        *,
        capture: Callable[[str], bool] | None = None,
        hash_members: bool = True,
        member_hook: MemberHook | None = None,
        data_sink: DataSink | None = None,
    ):
        self._s = stream
        self._scan = scan
        self._limits = limits
        self._capture = capture or (lambda _path: False)
        self._hash = hash_members
        self._hook = member_hook
        self._sink = data_sink
        self._captured_total = 0
        self._last = "(start of archive)"

    def run(self) -> None:
        ctx = _TarContext(self._s)
        while True:
            start = self._s.tell()
            info = self._next_header(ctx, start)
            if info is None:
                self._drain_after_end(start)
                return
            if len(self._scan.members) >= self._limits.max_members:
                raise ArchiveError(
                    "archive-too-large",
                    f"the archive has more than {self._limits.max_members} members (the limit)",
                    "A distro bundle needs far fewer files; leave build output out.",
                )
            self._read_member(info, ctx.offset)

    def _corrupt(self, message: str) -> ArchiveError:
        return ArchiveError(
            "archive-corrupt",
            message,
            "Recreate the archive with tar and upload it again; check it with 'tar -tvf'.",
            None,
        )

    def _next_header(self, ctx: _TarContext, start: int) -> tarfile.TarInfo | None:
        try:
            info = tarfile.TarInfo.fromtarfile(ctx)  # type: ignore[arg-type]
        except tarfile.EOFHeaderError:
            return None
        except tarfile.EmptyHeaderError:
            if start == 0:
                raise ArchiveError(
                    "archive-unreadable", "the archive is empty: it holds no tar data",
                    "Upload a tar archive of your files.",
                ) from None
            raise self._corrupt(
                f"the archive stops at byte {start}, after member {quoted(self._last)}, without "
                "its end-of-archive blocks: it is truncated"
            ) from None
        except tarfile.TruncatedHeaderError:
            raise self._corrupt(
                f"the archive is cut inside a header at byte {start}, after member "
                f"{quoted(self._last)}: it is truncated"
            ) from None
        except tarfile.HeaderError as exc:
            if start == 0:
                raise ArchiveError(
                    "archive-unreadable", f"not a valid tar archive ({exc})",
                    "Upload a .tar, .tar.gz, .tar.bz2 or .tar.xz made with tar.",
                ) from None
            raise self._corrupt(
                f"invalid tar header at byte {start}, after member {quoted(self._last)} ({exc}); "
                "members after it cannot be read"
            ) from None
        except _PARSER_ERRORS as exc:  # tarfile's parser is not hardened against hostile input
            raise self._corrupt(
                f"unreadable tar header at byte {start}, after member {quoted(self._last)} "
                f"({type(exc).__name__}: {exc})"
            ) from None
        if info.size < 0 or info.mode < 0:
            raise self._corrupt(f"member {quoted(info.name)} has a negative size or mode")
        return info

    def _read_member(self, info: tarfile.TarInfo, next_header: int) -> None:
        data_len = next_header - self._s.tell()
        kind = member_type(info)
        member = Member(
            name=info.name, path=normalise(info.name), type=kind, mode=info.mode,
            size=info.size if kind == "file" else 0, linkname=info.linkname,
        )
        self._last = info.name
        if kind == "file":
            self._read_data(member, min(info.size, data_len))
            self._skip(data_len - min(info.size, data_len), member)
        else:
            self._skip(data_len, member)
        if self._hook is not None:
            self._scan.findings.extend(self._hook(member, info))
        self._scan.members.setdefault(member.path, member)

    def _read_data(self, member: Member, n: int) -> None:
        digest = hashlib.sha256() if self._hash else None
        keep = self._wants(member, n)
        sink = self._sink(member) if self._sink is not None else None
        parts: list[bytes] = []
        got = 0
        for view in self._s.iter_exact(n):
            got += len(view)
            if digest is not None:
                digest.update(view)
            if keep:
                parts.append(bytes(view))
            if sink is not None:
                sink(view)
        if got < n:
            raise self._corrupt(
                f"member {quoted(member.name)} is cut short ({got} of {n} bytes): the archive "
                "is truncated"
            )
        if digest is not None:
            member.sha256 = digest.hexdigest()
        if keep:
            self._scan.captured[member.path] = b"".join(parts)

    def _wants(self, member: Member, n: int) -> bool:
        if not self._capture(member.path):
            return False
        lim = self._limits
        if n > lim.max_member_in_memory or self._captured_total + n > lim.max_captured_total:
            self._scan.too_large_to_capture.add(member.path)
            return False
        self._captured_total += n
        return True

    def _skip(self, n: int, member: Member) -> None:
        got = sum(len(v) for v in self._s.iter_exact(n))
        if got < n:
            raise self._corrupt(
                f"member {quoted(member.name)} is cut short: the archive is truncated"
            )

    def _drain_after_end(self, end: int) -> None:
        """After the end-of-archive block only zeros may follow, up to the stream's end."""
        offset = end
        for view in self._s.iter_rest():
            chunk = bytes(view)
            stripped = chunk.lstrip(b"\0")
            if stripped:
                at = offset + len(chunk) - len(stripped)
                raise ArchiveError(
                    "archive-trailing-data",
                    f"data follows the end of the tar archive at byte {at} (after member "
                    f"{quoted(self._last)}): possibly a second, hidden archive",
                    "Upload one tar archive, made in one go; do not append to it.",
                )
            offset += len(chunk)


def scan_tar_stream(
    raw: RawReader,
    kind: str,
    limits: Limits,
    scan: Scan,
    **scanner_options: Any,
) -> None:
    """Decode ``raw`` as ``kind`` and scan it; fatal problems raise ArchiveError."""
    stream = Decoded(raw, kind, limits)
    try:
        TarScanner(stream, scan, limits, **scanner_options).run()
    finally:
        scan.uncompressed = stream.total

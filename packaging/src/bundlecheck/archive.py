"""A streaming, never-extracting, limit-enforcing reader of tar archives.

One pass over a possibly non-seekable byte stream: the compression is detected
from magic bytes, decompressed in bounded chunks, the tar headers are parsed one
by one (with :meth:`tarfile.TarInfo.fromtarfile`, so pax and GNU extensions are
understood) and the stream is drained to its very end, because a cut gzip
trailer, a flipped CRC, trailing garbage or a second hidden tar only show there.
``tarfile.TarFile`` itself is not used for iteration: it silently treats a bad
header in mid-archive as the end of the archive.
"""

from __future__ import annotations

import bz2
import hashlib
import lzma
import re
import struct
import tarfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any, Protocol

from .errors import ArchiveError
from .findings import Finding
from .names import normalise, quoted

Progress = Callable[[int, int | None], None]

CHUNK = 1 << 20  # raw read size and the most one decompression step may yield
BLOCK = tarfile.BLOCKSIZE
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
    max_member_in_memory: int = 1 * MiB  # a distro file a check reads (conf, spec, script)
    max_captured_total: int = 16 * MiB
    max_spool_size: int = 1 * GiB  # a .deb/.rpm copied to a temporary file

    @classmethod
    def from_mapping(cls, values: dict[str, Any]) -> Limits:
        return cls(**values)


# --- kinds -------------------------------------------------------------------

GZIP, BZIP2, XZ, ZSTD, TAR, DEB, RPM = "gzip", "bzip2", "xz", "zstd", "tar", "deb", "rpm"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_MAGIC = [
    (b"\x1f\x8b", GZIP),
    (b"BZh", BZIP2),
    (b"\xfd7zXZ\x00", XZ),
    (ZSTD_MAGIC, ZSTD),
    (b"!<arch>\ndebian-binary", DEB),
    (b"\xed\xab\xee\xdb", RPM),
]
_SUFFIX_KIND = {
    ".tar.gz": GZIP, ".tgz": GZIP, ".tar.bz2": BZIP2, ".tbz2": BZIP2, ".tar.xz": XZ,
    ".txz": XZ, ".tar.zst": ZSTD, ".tzst": ZSTD, ".tar": TAR, ".deb": DEB, ".rpm": RPM,
}


def detect_kind(head: bytes) -> str | None:
    """The archive kind from its first bytes, or None when it is none we read."""
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    if len(head) >= BLOCK:
        try:
            tarfile.TarInfo.frombuf(head[:BLOCK], "utf-8", "surrogateescape")
        except tarfile.HeaderError:
            return None
        return TAR
    return None


def kind_from_name(filename: str | None) -> str | None:
    if not filename:
        return None
    lower = filename.lower()
    for suffix, kind in _SUFFIX_KIND.items():
        if lower.endswith(suffix):
            return kind
    return None


# --- raw input -----------------------------------------------------------------


class RawReader:
    """Reads the caller's stream in chunks, counts bytes and reports progress sparingly."""

    def __init__(self, fileobj: IO[bytes], progress: Progress | None, total: int | None):
        self._f = fileobj
        self._progress = progress
        self._total = total
        self._pending = b""
        self.bytes_read = 0
        self._next_report = self._step()
        self._eof = False

    def _step(self) -> int:
        # At most ~100 calls: a percent step when the total is known, else a
        # geometric one (10% growth) so even terabytes stay under ~150 calls.
        if self._total:
            return self.bytes_read + max(self._total // 100, CHUNK)
        return max(int(self.bytes_read * 1.1), self.bytes_read + CHUNK)

    def peek(self, n: int) -> bytes:
        while len(self._pending) < n and not self._eof:
            data = self._f.read(CHUNK)
            if not data:
                self._eof = True
                break
            self._pending += data
        return self._pending[:n]

    def read(self) -> bytes:
        if self._pending:
            data, self._pending = self._pending, b""
        elif self._eof:
            return b""
        else:
            data = self._f.read(CHUNK)
            if not data:
                self._eof = True
                return b""
        self.bytes_read += len(data)
        if self._progress is not None and self.bytes_read >= self._next_report:
            self._next_report = self._step()
            self._progress(self.bytes_read, self._total)
        return data

    def finish(self) -> None:
        if self._progress is not None:
            self._progress(self.bytes_read, self._total)


# --- decompression ---------------------------------------------------------------


class _Decompressor(Protocol):
    eof: bool
    unused_data: bytes
    needs_input: bool

    def decompress(self, data: bytes, max_length: int = ...) -> bytes: ...


class _GzipMember:
    """zlib's decompressobj behind the needs_input interface of bz2/lzma."""

    def __init__(self) -> None:
        self._d = zlib.decompressobj(31)
        self.needs_input = True

    @property
    def eof(self) -> bool:
        return bool(self._d.eof)

    @property
    def unused_data(self) -> bytes:
        return bytes(self._d.unused_data)

    def decompress(self, data: bytes, max_length: int = CHUNK) -> bytes:
        tail = self._d.unconsumed_tail
        out = self._d.decompress(tail + data if tail else data, max_length)
        # A full output buffer may leave output pending in zlib's state even with
        # no unconsumed input, so ask again before reading more.
        self.needs_input = not self._d.unconsumed_tail and len(out) < max_length
        return out


class _ZstdFrame:
    """A zstd frame behind the same interface (Ubuntu compresses .deb parts with zstd).

    zstandard's decompressobj has no output limit, so input goes in small
    slices: one slice can expand to a few MiB at most, and the size and ratio
    limits are checked between slices, so a zstd bomb is stopped like any other.
    """

    SLICE = 256

    def __init__(self) -> None:
        import zstandard

        self._d = zstandard.ZstdDecompressor().decompressobj()
        self._input = memoryview(b"")
        self.needs_input = True

    @property
    def eof(self) -> bool:
        return bool(self._d.eof)

    @property
    def unused_data(self) -> bytes:
        return bytes(self._d.unused_data) + bytes(self._input)

    def decompress(self, data: bytes, max_length: int = CHUNK) -> bytes:
        if data:
            self._input = memoryview(bytes(self._input) + data)
        out, size = [], 0
        while len(self._input) and not self._d.eof and size < max_length:
            piece, self._input = self._input[: self.SLICE], self._input[self.SLICE :]
            chunk = self._d.decompress(piece.tobytes())
            out.append(chunk)
            size += len(chunk)
        self.needs_input = not len(self._input)
        return b"".join(out)


def _zstd_errors() -> tuple[type[BaseException], ...]:
    try:
        import zstandard
    except ImportError:  # pragma: no cover - a declared dependency
        return ()
    return (zstandard.ZstdError,)


# isal's inflate was measured on the benchmark's 1 GB tarball and gave no clear
# gain (stored blocks of incompressible images dominate), so plain zlib it is.
_DECODERS: dict[str, tuple[bytes, Callable[[], _Decompressor]]] = {
    GZIP: (b"\x1f\x8b", _GzipMember),
    BZIP2: (b"BZh", bz2.BZ2Decompressor),
    XZ: (b"\xfd7zXZ\x00", lambda: lzma.LZMADecompressor(lzma.FORMAT_XZ)),
    ZSTD: (ZSTD_MAGIC, _ZstdFrame),
}
_CORRUPT_ERRORS = (zlib.error, OSError, lzma.LZMAError, EOFError, ValueError, *_zstd_errors())


class Decoded:
    """The uncompressed byte stream, with the size and ratio limits enforced."""

    def __init__(self, raw: RawReader, kind: str, limits: Limits):
        self._raw = raw
        self._kind = kind
        self._limits = limits
        self.total = 0
        self._chunks = self._decode() if kind in _DECODERS else self._plain()
        self._buf = b""
        self._at = 0  # read position inside _buf
        self._offset = 0  # uncompressed offset of _buf[_at]

    # --- producing ---
    def _account(self, n: int) -> None:
        lim = self._limits
        if self.total + n > lim.max_total_size:
            raise ArchiveError(
                "archive-too-large",
                f"the archive unpacks to more than {lim.max_total_size} bytes (the limit)",
                "Leave large generated files out of the bundle; a distro bundle is small.",
            )
        self.total += n
        compressed = max(self._raw.bytes_read, 1)
        if self.total > lim.ratio_threshold and self.total > lim.max_ratio * compressed:
            raise ArchiveError(
                "archive-too-large",
                f"the archive expands more than {lim.max_ratio:g} times "
                f"({self.total} bytes from {compressed}): it looks like a decompression bomb",
                "Upload an ordinary tarball of your files.",
            )

    def _plain(self) -> Iterator[bytes]:
        while data := self._raw.read():
            self._account(len(data))
            yield data

    def _decode(self) -> Iterator[bytes]:
        magic, factory = _DECODERS[self._kind]
        d = factory()
        feed = b""
        while True:
            if not feed and d.needs_input:
                feed = self._raw.read()
                if not feed:
                    raise ArchiveError(
                        "archive-corrupt",
                        f"the {self._kind} stream ends before its end marker after "
                        f"{self._raw.bytes_read} compressed bytes: the file is truncated",
                        "Upload the file again; check its size and checksum first.",
                    )
            try:
                out = d.decompress(feed, CHUNK)
            except _CORRUPT_ERRORS as exc:
                raise ArchiveError(
                    "archive-corrupt",
                    f"the {self._kind} data is corrupt near compressed byte "
                    f"{self._raw.bytes_read} ({exc})",
                    "Recreate the archive and upload it again.",
                ) from None
            feed = b""
            if out:
                self._account(len(out))
                yield out
            if d.eof:
                head = self._next_stream(d.unused_data, magic)
                if head is None:
                    return
                feed, d = head, factory()

    def _next_stream(self, rest: bytes, magic: bytes) -> bytes | None:
        """After one compressed stream: the head of another (concatenation is legal) or None.

        Zero padding (tape blocking) is tolerated; anything else is trailing data.
        """
        while len(rest) < len(magic):
            more = self._raw.read()
            if not more:
                break
            rest += more
        if not rest:
            return None
        if rest.startswith(magic):
            return rest
        offset = self._raw.bytes_read - len(rest)
        while True:
            stripped = rest.lstrip(b"\0")
            if stripped:
                offset += len(rest) - len(stripped)
                raise ArchiveError(
                    "archive-trailing-data",
                    f"non-{self._kind} data follows the compressed stream at byte {offset}",
                    "Upload the archive exactly as tar and the compressor wrote it.",
                )
            offset += len(rest)
            rest = self._raw.read()
            if not rest:
                return None

    # --- consuming ---
    def tell(self) -> int:
        return self._offset

    def _fill(self) -> bool:
        for chunk in self._chunks:
            if chunk:
                self._buf, self._at = chunk, 0
                return True
        self._buf, self._at = b"", 0
        return False

    def read(self, n: int) -> bytes:
        """Read for tarfile's header parser: refuses oversized extension headers."""
        if n > self._limits.max_header_size:
            raise ArchiveError(
                "archive-too-large",
                f"an extended tar header of {n} bytes at offset {self._offset} is over the "
                f"{self._limits.max_header_size}-byte limit",
                "Use shorter member names; no source package needs such headers.",
            )
        return b"".join(bytes(v) for v in self.iter_exact(n))

    def iter_exact(self, n: int) -> Iterator[memoryview]:
        """Yield up to ``n`` bytes in views of the decoded chunks (fewer at EOF)."""
        while n > 0:
            if self._at >= len(self._buf) and not self._fill():
                return
            take = min(n, len(self._buf) - self._at)
            view = memoryview(self._buf)[self._at : self._at + take]
            self._at += take
            self._offset += take
            n -= take
            yield view

    def iter_rest(self) -> Iterator[memoryview]:
        yield from self.iter_exact(1 << 62)


# --- tar members ---------------------------------------------------------------

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

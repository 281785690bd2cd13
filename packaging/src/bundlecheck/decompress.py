"""The raw input stream and its decompression, with the size and ratio limits enforced.

Decompression is done in bounded chunks (a bomb is stopped before it is in
memory) and concatenated compressed streams are followed to the end of the
input: only zero padding may come after the last one.
"""

from __future__ import annotations

import bz2
import importlib.util
import lzma
import os
import zlib
from collections.abc import Callable, Iterator
from typing import IO, Protocol

from .errors import ArchiveError
from .formats import BZIP2, GZIP, XZ, ZSTD, ZSTD_MAGIC
from .limits import Limits

Progress = Callable[[int, int | None], None]

#: The raw read size, and the most one decompression step may yield.  An inflate
#: step copies the input it leaves unread into its own buffer, so a read is no
#: larger than what one step usually consumes; and steps of this size are reused
#: by the heap rather than handed back to the kernel and faulted in again each
#: time, as 1 MiB steps were (measured in docs/performance.md).
CHUNK = 1 << 18
STEP = 1 << 19


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
        self._buffer: memoryview | None = None

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
        self._count(len(data))
        return data

    def _count(self, n: int) -> None:
        self.bytes_read += n
        if self._progress is not None and self.bytes_read >= self._next_report:
            self._next_report = self._step()
            self._progress(self.bytes_read, self._total)

    def read_view(self) -> memoryview | bytes:
        """The next chunk, as :meth:`read`, but in a buffer this reader reuses.

        The view is valid until the next call: decompressors copy what they keep
        of their input, so the decode loop reads this way and the heap is not
        asked for a fresh megabyte (and its pages) at every step.
        """
        if self._pending or self._eof or not hasattr(self._f, "readinto"):
            return self.read()
        if self._buffer is None:
            self._buffer = memoryview(bytearray(CHUNK))
        n = self._f.readinto(self._buffer)
        if not n:
            self._eof = True
            return b""
        self._count(n)
        return self._buffer[:n]

    def finish(self) -> None:
        if self._progress is not None:
            self._progress(self.bytes_read, self._total)


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


#: Which inflate reads gzip: ISA-L's (PyPI ``isal``, a binding of Intel's library,
#: about twice zlib's speed) where it is installed, else Python's zlib.  Both give
#: the same verdict on every stream (the tests run on both).  BUNDLECHECK_INFLATE=zlib
#: forces zlib.  isal is a declared dependency; find_spec only spares the platforms
#: it has no wheel for, and an isal that is there but broken fails loudly.
if importlib.util.find_spec("isal"):
    from isal import igzip_lib

    INFLATE_BACKENDS: tuple[str, ...] = ("isal", "zlib")
    _ISAL_ERRORS: tuple[type[BaseException], ...] = (igzip_lib.IsalError,)
else:  # pragma: no cover - a platform without an isal wheel
    INFLATE_BACKENDS, _ISAL_ERRORS = ("zlib",), ()
INFLATE = os.environ.get("BUNDLECHECK_INFLATE", INFLATE_BACKENDS[0])
if INFLATE not in INFLATE_BACKENDS:
    raise ImportError(f"BUNDLECHECK_INFLATE={INFLATE!r}: this installation reads gzip with "
                      f"{' or '.join(INFLATE_BACKENDS)}")


class _IsalGzipMember:
    """ISA-L's gzip inflate, refusing the reserved header flags as zlib and gzip do (ISA-L skips them)."""

    def __init__(self) -> None:
        self._d = igzip_lib.IgzipDecompressor(flag=igzip_lib.DECOMP_GZIP)
        self._head = b""  # the member's first bytes, until its flags byte is seen

    @property
    def eof(self) -> bool:
        return bool(self._d.eof)

    @property
    def unused_data(self) -> bytes:
        return bytes(self._d.unused_data)

    @property
    def needs_input(self) -> bool:
        return bool(self._d.needs_input)

    def decompress(self, data: bytes, max_length: int = CHUNK) -> bytes:
        if len(self._head) < 4:
            self._head += data[: 4 - len(self._head)]
            if len(self._head) == 4 and self._head[3] & _GZIP_RESERVED_FLAGS:
                raise ValueError(f"unknown header flags set (0x{self._head[3]:02x})")
        return self._d.decompress(data, max_length)


_GZIP_RESERVED_FLAGS = 0xE0


def _gzip_member() -> _Decompressor:
    return _IsalGzipMember() if INFLATE == "isal" else _GzipMember()


_DECODERS: dict[str, tuple[bytes, Callable[[], _Decompressor]]] = {
    GZIP: (b"\x1f\x8b", _gzip_member),
    BZIP2: (b"BZh", bz2.BZ2Decompressor),
    XZ: (b"\xfd7zXZ\x00", lambda: lzma.LZMADecompressor(lzma.FORMAT_XZ)),
    ZSTD: (ZSTD_MAGIC, _ZstdFrame),
}
_CORRUPT_ERRORS = (zlib.error, OSError, lzma.LZMAError, EOFError, ValueError, *_zstd_errors(),
                   *_ISAL_ERRORS)


def _reason(kind: str, exc: BaseException) -> str:
    """Why a stream is corrupt, in the same words whichever inflate read it."""
    if kind != GZIP:
        return str(exc)
    text = str(exc).lower()
    if "check" in text or "crc" in text:  # zlib: "incorrect data check"; ISA-L: "Incorrect checksum found"
        return "its checksum does not match the data: it was altered or damaged"
    return "not valid deflate data"


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
                feed = self._raw.read_view()
                if not feed:
                    raise ArchiveError(
                        "archive-corrupt",
                        f"the {self._kind} stream ends before its end marker after "
                        f"{self._raw.bytes_read} compressed bytes: the file is truncated",
                        "Upload the file again; check its size and checksum first.",
                    )
            try:
                out = d.decompress(feed, STEP)
            except _CORRUPT_ERRORS as exc:
                raise ArchiveError(
                    "archive-corrupt",
                    f"the {self._kind} data is corrupt near compressed byte "
                    f"{self._raw.bytes_read} ({_reason(self._kind, exc)})",
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
        """Read ``n`` bytes (fewer at EOF) for a header; refuses oversized extension headers."""
        if n > self._limits.max_header_size:
            raise ArchiveError(
                "archive-too-large",
                f"an extended tar header of {n} bytes at offset {self._offset} is over the "
                f"{self._limits.max_header_size}-byte limit",
                "Use shorter member names; no source package needs such headers.",
            )
        at = self._at
        if n <= len(self._buf) - at:  # the usual case: the header is inside the current chunk
            self._at = at + n
            self._offset += n
            return self._buf[at : at + n]
        return b"".join(bytes(v) for v in self.iter_exact(n))

    def take(self, n: int) -> memoryview | None:
        """The next ``n`` bytes as one view when the current chunk holds them all, else None.

        Most members are smaller than a chunk: this spares them :meth:`iter_exact`'s loop.
        """
        at = self._at
        if n > len(self._buf) - at:
            return None
        self._at = at + n
        self._offset += n
        return memoryview(self._buf)[at : at + n]

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

    def skip(self, n: int) -> int:
        """Skip ``n`` bytes; return how many there were (fewer at EOF)."""
        if n <= len(self._buf) - self._at:
            self._at += n
            self._offset += n
            return n
        return sum(len(v) for v in self.iter_exact(n))

    def iter_rest(self) -> Iterator[memoryview]:
        yield from self.iter_exact(1 << 62)



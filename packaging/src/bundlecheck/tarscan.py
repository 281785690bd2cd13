"""Walk the members of a decoded tar stream with bundlecheck's own strict header reader.

Headers are parsed by :mod:`.tarheader`, not by ``tarfile``: an archive that
GNU tar and bsdtar could read differently is refused (``archive-ambiguous-header``)
rather than read one way.  Extension headers are gathered per member and
refused when they could be combined differently: two of a kind, GNU and pax
ones together, a global header in between, or one with no member after it.
Every header counts against the member limit and every name byte against the
name-bytes limit, so time and memory stay bounded whatever the archive holds.
The stream is drained to its very end: after the end-of-archive block only
zeros may follow.
"""

from __future__ import annotations

import hashlib
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .decompress import Decoded, RawReader
from .errors import ArchiveError
from .limits import Limits
from .members import Member, Scan
from .names import normalise, quoted, shown
from .safety import MemberInspector
from .tarheader import (
    BLOCK,
    EXTENSIONS,
    RECREATE,
    REFUSED_TYPES,
    TYPES,
    ZERO_BLOCK,
    BadChecksum,
    Header,
    PaxInfo,
    Refused,
    parse_block,
    pax_extended,
    pax_global,
    pax_records,
)

#: Given a file member about to be read, return a callable fed its data chunks, or None.
DataSink = Callable[[Member], Callable[[memoryview], object] | None]
#: Whether a file member's data is to be hashed (sha256), given the member before its data.
HashWanted = Callable[[Member], bool]

#: Members at least this large are hashed on a second thread while the next chunks
#: are decompressed (zlib and hashlib both release the GIL on large buffers).
THREADED_HASH_SIZE = 1 << 20
#: Chunks (of at most decompress.STEP bytes) waiting for that thread: bounds the memory it holds.
HASH_QUEUE_CHUNKS = 8


class _Hasher:
    """A thread that hashes the data of large members while the reader goes on.

    Work is done in the order it is queued, so each digest sees its chunks in
    order; a member's ``sha256`` is set when its last chunk is hashed, and
    :meth:`close` waits for every queued chunk.  The reader takes a token for
    each chunk it hands over and the thread gives it back once hashed, so the
    reader never holds more than a few chunks ahead.  Both queues are
    ``SimpleQueue`` (a C queue): a hand-over costs a microsecond, not the tens
    of a ``Queue`` with its Python-level locks.
    """

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[tuple[Any, Any] | None] = queue.SimpleQueue()
        self._tokens: queue.SimpleQueue[None] = queue.SimpleQueue()
        for _ in range(HASH_QUEUE_CHUNKS):
            self._tokens.put(None)
        self._thread: threading.Thread | None = None

    def update(self, digest: Any, view: memoryview) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._work, name="bundlecheck-sha256", daemon=True)
            self._thread.start()
        self._tokens.get()
        self._jobs.put((digest, view))

    def finish(self, member: Member, digest: Any) -> None:
        self._jobs.put((digest, member))

    def _work(self) -> None:
        jobs, tokens = self._jobs, self._tokens
        while (job := jobs.get()) is not None:
            digest, item = job
            if isinstance(item, Member):
                item.sha256 = digest.hexdigest()
            else:
                digest.update(item)
                tokens.put(None)

    def close(self) -> None:
        if self._thread is not None:
            self._jobs.put(None)
            self._thread.join()
            self._thread = None

_WHAT = {"dir": "directory", "symlink": "symbolic link", "hardlink": "hard link",
         "char": "character device", "block": "block device", "fifo": "FIFO"}


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


@dataclass(slots=True)
class _Entry:
    """A member header with the extension headers that came before it."""

    index: int
    header: Header
    name: bytes
    linkname: bytes
    text: str  # the name, decoded


class TarScanner:
    """Walk the members of a (decoded) tar stream: headers, hashes, captures, safety."""

    def __init__(
        self,
        stream: Decoded,
        scan: Scan,
        limits: Limits,
        *,
        capture: Callable[[str], bool] | None = None,
        hash_members: bool | HashWanted = True,
        data_sink: DataSink | None = None,
    ):
        self._s = stream
        self._scan = scan
        self._limits = limits
        self._capture = capture or (lambda _path: False)
        self._hash: HashWanted | None = (
            hash_members if callable(hash_members) else (lambda _m: True) if hash_members else None)
        self._hasher = _Hasher()
        self._sink = data_sink
        self._inspect = MemberInspector(limits, scan)
        self._captured_total = 0
        self._name_bytes = 0
        self._members = 0
        self._last = "(start of archive)"

    # --- the walk -----------------------------------------------------------------

    def run(self) -> None:
        try:
            self._walk()
        finally:
            self._hasher.close()  # every queued chunk hashed, every sha256 set

    def _walk(self) -> None:
        while True:
            entry = self._next_entry()
            if entry is None:
                self._drain_after_end(self._s.tell() - BLOCK)
                if self._members == 0:
                    raise ArchiveError(
                        "archive-unreadable", "the archive is empty: it holds no files, only "
                        "end-of-archive blocks", "Upload a tar archive of your files.",
                    )
                return
            self._read_member(entry)

    def _count_header(self) -> None:
        self._scan.headers += 1
        if self._scan.headers > self._limits.max_members:
            raise ArchiveError(
                "archive-too-large",
                f"the archive has more than {self._limits.max_members} members (the limit)",
                "A distro bundle needs far fewer files; leave build output out.",
            )

    def _count_name(self, n: int) -> None:
        self._name_bytes += n
        if self._name_bytes > self._limits.max_name_bytes:
            raise ArchiveError(
                "archive-too-large",
                f"the member names add up to more than {self._limits.max_name_bytes} bytes "
                "(the limit)",
                "Use shorter member names and fewer files; a source tree needs far less.",
            )

    def _read_block(self, start: int, pending: bool) -> bytes | None:
        block = self._s.read(BLOCK)
        if len(block) == BLOCK:
            return block
        if not block and start == 0:
            raise ArchiveError("archive-unreadable", "the archive is empty: it holds no tar data",
                               "Upload a tar archive of your files.")
        if not block:
            raise self._corrupt(
                f"the archive stops at byte {start}, after member {quoted(self._last)}, without "
                "its end-of-archive blocks: it is truncated"
            )
        raise self._corrupt(
            f"the archive is cut inside a header at byte {start}, after member "
            f"{quoted(self._last)}: it is truncated"
        )

    def _next_entry(self) -> _Entry | None:
        long_name: bytes | None = None
        long_link: bytes | None = None
        pax: PaxInfo | None = None
        problem: Refused | None = None
        pending_at: int | None = None

        def defer(refusal: Refused) -> None:
            nonlocal problem
            if problem is None:
                problem = refusal

        while True:
            start = self._s.tell()
            block = self._read_block(start, pending_at is not None)
            assert block is not None
            if block == ZERO_BLOCK:
                if pending_at is not None:
                    raise self._refused(Refused(
                        f"the extension header at byte {pending_at} has no member after it",
                        RECREATE), None, "an extension header")
                return None
            try:
                h = parse_block(block)
            except BadChecksum:
                if start == 0:
                    raise ArchiveError(
                        "archive-unreadable", "not a valid tar archive (bad header checksum)",
                        "Upload a .tar, .tar.gz, .tar.bz2, .tar.xz or .tar.zst made with tar.",
                    ) from None
                raise self._corrupt(
                    f"invalid tar header at byte {start}, after member {quoted(self._last)} (bad "
                    "checksum); members after it cannot be read"
                ) from None
            except Refused as exc:
                raise self._refused(exc, self._members + 1, _text(block[:100].split(b"\x00")[0])) \
                    from None
            t = h.typeflag
            if t not in EXTENSIONS:
                return self._member_entry(h, long_name, long_link, pax, problem)
            data = self._extension_data(h, start)
            if t == b"g":
                self._count_header()
                if pending_at is not None:
                    defer(Refused("a global pax header comes between its extension header and the "
                                  "member header, and tar programs attach the two differently",
                                  RECREATE))
                    continue
                try:
                    pax_global(pax_records(data))
                except Refused as exc:
                    raise self._refused(exc, None, f"the global header at byte {start}") from None
                continue
            pending_at = start if pending_at is None else pending_at
            if t == b"x":
                if pax is not None:
                    defer(Refused("two pax headers precede it; GNU tar and bsdtar would disagree on "
                                  "its attributes (its name, size or link)", RECREATE))
                elif long_name is not None or long_link is not None:
                    defer(_mixed())
                try:
                    pax = pax_extended(pax_records(data))
                except Refused as exc:
                    defer(exc)
                    pax = pax or PaxInfo()
                continue
            try:
                value = _gnu_value(data)
            except Refused as exc:
                defer(exc)
                value = b""
            if pax is not None:
                defer(_mixed())
            if t == b"L":
                if long_name is not None:
                    defer(Refused(
                        f"two GNU long-name headers precede it ({quoted(_text(long_name))}, then "
                        f"{quoted(_text(value))}); GNU tar and bsdtar use the last, Python's tarfile "
                        "the first, so they would disagree on its name", RECREATE))
                long_name = value
            else:
                if long_link is not None:
                    defer(Refused(
                        f"two GNU long-link headers precede it ({quoted(_text(long_link))}, then "
                        f"{quoted(_text(value))}); tar programs would disagree on its link target",
                        RECREATE))
                long_link = value

    def _extension_data(self, h: Header, start: int) -> bytes:
        if h.size > self._limits.max_header_size:
            raise ArchiveError(
                "archive-too-large",
                f"an extended tar header of {h.size} bytes at offset {start} is over the "
                f"{self._limits.max_header_size}-byte limit",
                "Use shorter member names; no source package needs such headers.",
            )
        self._count_name(h.size)
        padded = -(-h.size // BLOCK) * BLOCK
        data = self._s.read(padded)
        if len(data) < padded:
            raise self._corrupt(f"the archive is cut inside an extension header at byte {start}, "
                                f"after member {quoted(self._last)}: it is truncated")
        return data[:h.size]

    def _member_entry(self, h: Header, long_name: bytes | None, long_link: bytes | None,
                      pax: PaxInfo | None, problem: Refused | None) -> _Entry:
        self._members += 1
        self._scan.members_seen += 1
        self._count_header()
        index = self._members
        if pax is None and long_name is None and long_link is None:  # most members
            name, linkname = h.name, h.linkname
        else:
            name = (pax.path if pax and pax.path is not None else None) or long_name or h.name
            linkname = (pax.linkpath if pax and pax.linkpath is not None else None) or long_link or h.linkname
        self._count_name(len(name) + len(linkname))
        shown_name = _text(name)
        if problem is not None:
            raise self._refused(problem, index, shown_name)
        t = h.typeflag
        if t in REFUSED_TYPES or t not in TYPES:
            what = REFUSED_TYPES.get(t, "a member")
            raise ArchiveError(
                "archive-special-file",
                f"member {index} ({quoted(shown_name)}) is {what}, of an unsupported type "
                f"(type {t.decode('latin-1')!r}): tar programs store and extract such members "
                "differently",
                "Only files, directories and links belong in a source bundle; re-create the archive "
                "without it (GNU tar: no --sparse, --multi-volume or --label).",
                shown(shown_name),
            )
        kind = TYPES[t]
        if pax is not None and pax.sparse:
            raise ArchiveError(
                "archive-special-file",
                f"member {index} ({quoted(shown_name)}) is a sparse file (GNU sparse pax records): "
                "tar programs read sparse maps differently",
                "Store it as an ordinary file (GNU tar without --sparse) and re-create the archive.",
                shown(shown_name),
            )
        if pax is not None and pax.size is not None and pax.size != h.size:
            raise self._refused(Refused(
                f"its pax header gives size={pax.size} but its header says {h.size}: tools that "
                "skip pax headers would read a different layout", RECREATE), index, shown_name)
        if kind != "file" and h.size:
            raise self._refused(Refused(
                f"it is a {_WHAT[kind]} with {h.size} bytes of data: tar programs differ on whether "
                "such data is skipped or read as the next member", RECREATE), index, shown_name)
        if kind != "dir" and (name.endswith((b"/", b"/.")) or name == b"."):
            raise self._refused(Refused(
                "it is not a directory yet its name ends with '/' (or '/.'): extractors create a "
                "directory and read its data as the next member", RECREATE), index, shown_name)
        if kind not in ("symlink", "hardlink") and (long_link is not None or (pax and pax.linkpath)):
            raise self._refused(Refused(
                "it is not a link yet a GNU long-link header or a pax linkpath comes with it",
                RECREATE), index, shown_name)
        return _Entry(index, h, name, linkname if kind in ("symlink", "hardlink") else b"", shown_name)

    def _refused(self, exc: Refused, index: int | None, name: str) -> ArchiveError:
        where = f"member {index} ({quoted(name)})" if index is not None else name
        return ArchiveError(exc.check, f"{where}: {exc.message}", exc.hint, shown(name))

    def _corrupt(self, message: str) -> ArchiveError:
        return ArchiveError(
            "archive-corrupt",
            message,
            "Recreate the archive with tar and upload it again; check it with 'tar -tvf'.",
            None,
        )

    # --- one member -----------------------------------------------------------------

    def _read_member(self, entry: _Entry) -> None:
        h = entry.header
        name = entry.text
        kind = TYPES[h.typeflag]
        member = Member(name, normalise(name), kind, h.mode & 0o7777, h.size if kind == "file" else 0,
                        _text(entry.linkname) if entry.linkname else "")
        if member.path == name:
            member.name = member.path  # one string for both when they are the same
        self._last = name
        keep = self._inspect(member)
        if kind == "file":
            self._read_data(member, h.size, keep)
        if not keep or not member.path:
            return
        self._scan.members[member.path] = member
        if kind == "symlink":
            self._scan.symlinks.add(member.path)

    def _read_data(self, member: Member, n: int, keep: bool) -> None:
        hashed = keep and self._hash is not None and self._hash(member)
        capture = keep and self._wants(member, n)
        sink = self._sink(member) if self._sink is not None and keep else None
        s = self._s
        padding = -n % BLOCK
        if not hashed and not capture and sink is None:  # nothing reads the data: skip it
            got = s.skip(n + padding)
            if got < n + padding:
                self._cut_short(member, min(got, n), n)
            return
        view = s.take(n)
        if view is not None:  # the whole member is in the current chunk (most are)
            if hashed:
                member.sha256 = hashlib.sha256(view).hexdigest()
            if capture:
                self._scan.captured[member.path] = bytes(view)
            if sink is not None:
                sink(view)
        else:
            self._read_chunks(member, n, hashlib.sha256() if hashed else None, capture, sink)
        if padding and s.skip(padding) < padding:
            self._cut_short(member, n, n)

    def _read_chunks(self, member: Member, n: int, digest: Any, capture: bool,
                     sink: Callable[[memoryview], object] | None) -> None:
        """A member's data chunk by chunk; a large one is hashed on the second thread."""
        threaded = digest is not None and n >= THREADED_HASH_SIZE
        update = self._hasher.update if threaded else None
        parts: list[bytes] = []
        got = 0
        for view in self._s.iter_exact(n):
            got += len(view)
            if update is not None:
                update(digest, view)
            elif digest is not None:
                digest.update(view)
            if capture:
                parts.append(bytes(view))
            if sink is not None:
                sink(view)
        if got < n:
            self._cut_short(member, got, n)
        if threaded:
            self._hasher.finish(member, digest)
        elif digest is not None:
            member.sha256 = digest.hexdigest()
        if capture:
            self._scan.captured[member.path] = b"".join(parts)

    def _cut_short(self, member: Member, got: int, n: int) -> None:
        if got < n:
            raise self._corrupt(
                f"member {quoted(member.name)} is cut short ({got} of {n} bytes): the archive "
                "is truncated"
            )
        raise self._corrupt(f"member {quoted(member.name)} is cut short: the archive is truncated")

    def _wants(self, member: Member, n: int) -> bool:
        if not self._capture(member.path):
            return False
        lim = self._limits
        if n > lim.max_member_in_memory or self._captured_total + n > lim.max_captured_total:
            self._scan.too_large_to_capture.add(member.path)
            return False
        self._captured_total += n
        return True

    def _drain_after_end(self, end: int) -> None:
        """After the end-of-archive block only zeros may follow, up to the stream's end."""
        offset = end + BLOCK
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


def _mixed() -> Refused:
    return Refused("both a GNU long-name header and a pax header precede it; GNU tar, bsdtar and "
                   "Python's tarfile give one or the other precedence", RECREATE)


def _gnu_value(data: bytes) -> bytes:
    """The text of a GNU long-name or long-link header: up to its NUL, nothing hidden after."""
    end = data.find(b"\x00")
    if end < 0:
        return data
    if data[end:].strip(b"\x00"):
        raise Refused("its GNU long-name header holds bytes after the end of its name (after a "
                      "NUL byte)", RECREATE)
    return data[:end]


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

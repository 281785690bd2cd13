"""Read distributions' package indexes: which versions of the named packages they list.

One reader per format, each streaming, bounded and with a well-kept parser:

- Debian ``Sources`` / ``Packages`` (plain, .gz, .xz, .zst): python-debian's deb822;
- RPM ``repomd.xml`` and the ``primary.xml`` it names: defusedxml, which refuses a
  DTD and with it every entity (billion laughs) and external reference;
- Arch ``<repo>.db`` and Alpine ``APKINDEX.tar.gz``: the engine's own tar reader
  (tarscan), which refuses traversal names, links and ambiguous headers.

Decompression goes through the engine's ``Decoded`` (size and ratio limits, a bomb is
stopped before it is in memory). A reader gives an :class:`IndexRead` or raises
:class:`IndexProblem` with a sentence saying what is wrong with the index.
"""

from __future__ import annotations

import io
import posixpath
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO

from debian.deb822 import Deb822
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring, iterparse

from .decompress import Decoded, RawReader
from .errors import ArchiveError
from .formats import TAR, detect_kind
from .limits import Limits, MiB
from .members import Member, Scan
from .tarscan import scan_tar_stream

FORMATS = ("deb-sources", "deb-packages", "rpm-md", "arch-db", "apk-index")
FAMILY = {"deb-sources": "deb", "deb-packages": "deb", "rpm-md": "rpm", "arch-db": "arch",
          "apk-index": "apk"}

#: What a distribution's index may unpack to. Debian's largest Packages file is about
#: 100 MB, Fedora's primary.xml about 250 MB; ten times the compressed size is usual.
INDEX_LIMITS = Limits(
    max_total_size=1024 * MiB,
    max_ratio=60.0,
    ratio_threshold=64 * MiB,
    max_members=400_000,
    max_captured_total=0,
)
#: Entries (stanzas, packages) an index may list; Debian's largest lists about 70,000.
MAX_ENTRIES = 300_000
MAX_LINE = 1 * MiB  # one line of a Sources / Packages / APKINDEX file
MAX_DESC = 64 * 1024  # one Arch package's desc file
MAX_REPOMD = 1 * MiB

_REPO_NS = "{http://linux.duke.edu/metadata/repo}"
_COMMON_NS = "{http://linux.duke.edu/metadata/common}"


class IndexProblem(Exception):
    """The index cannot be read, or is refused; the message is one sentence."""


@dataclass
class IndexRead:
    """The versions each wanted package name shows, and how many entries were read."""

    found: dict[str, list[str]] = field(default_factory=dict)
    entries: int = 0

    def add(self, name: str, version: str) -> None:
        versions = self.found.setdefault(name, [])
        if version not in versions:
            versions.append(version)


def read_index(fmt: str, fileobj: IO[bytes], names: Iterable[str], *,
               limits: Limits = INDEX_LIMITS, max_entries: int = MAX_ENTRIES) -> IndexRead:
    """Read an index of format ``fmt`` (one of FORMATS; for rpm-md, the primary file)."""
    wanted = frozenset(names)
    readers: dict[str, Callable[..., IndexRead]] = {
        "deb-sources": read_deb822, "deb-packages": read_deb822, "rpm-md": read_rpm_primary,
        "arch-db": read_arch_db, "apk-index": read_apkindex,
    }
    if fmt not in readers:
        raise IndexProblem(f"unknown index format {fmt!r}")
    try:
        return readers[fmt](fileobj, wanted, limits=limits, max_entries=max_entries)
    except ArchiveError as exc:
        raise IndexProblem(f"the index is refused: {exc.message}") from None


# --- bytes in -------------------------------------------------------------------------

def _decoded(fileobj: IO[bytes], limits: Limits, *, tar: bool = False) -> tuple[RawReader, str]:
    raw = RawReader(fileobj, None, None)
    head = raw.peek(512)
    if not head:
        raise IndexProblem("the index is empty")
    kind = detect_kind(head)
    if tar and kind is None:
        raise IndexProblem("the index is not a tar archive (plain, gzip, xz, bzip2 or zstd)")
    if kind in ("deb", "rpm"):
        raise IndexProblem("the index is a package, not an index")
    return raw, kind or TAR


def _chunks(fileobj: IO[bytes], limits: Limits) -> Iterator[bytes]:
    raw, kind = _decoded(fileobj, limits)
    stream = Decoded(raw, kind, limits)
    for view in stream.iter_rest():
        yield bytes(view)


class _Lines:
    """Split chunks into lines, refusing one longer than MAX_LINE."""

    def __init__(self) -> None:
        self._carry = b""

    def feed(self, chunk: bytes) -> list[bytes]:
        data = self._carry + chunk
        lines = data.split(b"\n")
        self._carry = lines.pop()
        if len(self._carry) > MAX_LINE:
            raise IndexProblem(f"the index has a line longer than {MAX_LINE:,} bytes")
        return lines

    def end(self) -> list[bytes]:
        rest, self._carry = self._carry, b""
        return [rest] if rest else []


def _lines(chunks: Iterable[bytes]) -> Iterator[bytes]:
    splitter = _Lines()
    for chunk in chunks:
        yield from (line + b"\n" for line in splitter.feed(chunk))
    yield from splitter.end()


class _ChunkFile(io.RawIOBase):
    """A file over an iterator of chunks, for a parser that reads a file."""

    def __init__(self, chunks: Iterator[bytes]):
        self._chunks = chunks
        self._rest = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._rest:
            try:
                self._rest = next(self._chunks)
            except StopIteration:
                return 0
        n = min(len(buffer), len(self._rest))
        buffer[:n] = self._rest[:n]
        self._rest = self._rest[n:]
        return n


# --- Debian ---------------------------------------------------------------------------

_FIELD_START = re.compile(rb"^(Package|Version):", re.IGNORECASE)
_PACKAGE = re.compile(rb"^Package:[ \t]*(\S+)", re.IGNORECASE)


def _deb_stanza_lines(lines: Iterable[bytes], names: frozenset[str], counter: list[int],
                      max_entries: int) -> Iterator[bytes]:
    """The Package and Version lines of the stanzas naming a wanted package, for deb822;
    every stanza counted as it passes.

    The rest (other fields, continuation lines, other packages' stanzas) is dropped before
    parsing: deb822 reads the few stanzas that matter, however large the index.
    """
    wanted = {name.encode() for name in names}
    kept: list[bytes] = []
    match = False
    in_stanza = False

    def end() -> Iterator[bytes]:
        counter[0] += 1
        if counter[0] > max_entries:
            raise IndexProblem(f"the index lists more than {max_entries:,} entries")
        if match:
            yield from kept
            yield b"\n"

    for line in lines:
        if not line.strip():
            if in_stanza:
                yield from end()
                kept, match, in_stanza = [], False, False
            continue
        in_stanza = True
        if _FIELD_START.match(line):
            kept.append(line)
            package = _PACKAGE.match(line)
            if package is not None and package.group(1) in wanted:
                match = True
    if in_stanza:
        yield from end()


def read_deb822(fileobj: IO[bytes], names: frozenset[str], *, limits: Limits,
                max_entries: int) -> IndexRead:
    """A Debian ``Sources`` or ``Packages`` file (compressed or not)."""
    result = IndexRead()
    counter = [0]
    lines = _deb_stanza_lines(_lines(_chunks(fileobj, limits)), names, counter, max_entries)
    for stanza in Deb822.iter_paragraphs(lines, use_apt_pkg=False, encoding="utf-8"):
        name, version = stanza.get("Package"), stanza.get("Version")
        if name in names and version:
            result.add(name, version.strip())
    result.entries = counter[0]
    if not result.entries:
        raise IndexProblem("the index holds no stanza: it is not a Debian Sources or Packages file")
    return result


# --- RPM ------------------------------------------------------------------------------

def repomd_primary(data: bytes) -> str:
    """The location (relative to the repository's root) of the primary file named by
    ``repodata/repomd.xml``."""
    if len(data) > MAX_REPOMD:
        raise IndexProblem(f"repomd.xml is larger than {MAX_REPOMD:,} bytes")
    try:
        root = fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise IndexProblem(f"repomd.xml is refused: it declares a DTD or entities ({exc})"
                           ) from None
    except ParseError as exc:
        raise IndexProblem(f"repomd.xml is not well-formed XML ({exc})") from None
    for data_element in root.iter(f"{_REPO_NS}data"):
        if data_element.get("type") != "primary":
            continue
        location = data_element.find(f"{_REPO_NS}location")
        href = location.get("href", "") if location is not None else ""
        if (not href or href.startswith("/") or ":" in href or "\\" in href
                or ".." in href.split("/") or len(href) > 500):
            raise IndexProblem(
                f"repomd.xml names its primary file as {href[:100]!r}: a path inside the "
                "repository is expected"
            )
        return posixpath.normpath(href)
    raise IndexProblem("repomd.xml names no primary file (<data type=\"primary\">)")


def read_rpm_primary(fileobj: IO[bytes], names: frozenset[str], *, limits: Limits,
                     max_entries: int) -> IndexRead:
    """An RPM repository's ``primary.xml`` (compressed or not), read as a stream."""
    result = IndexRead()
    source = io.BufferedReader(_ChunkFile(_chunks(fileobj, limits)), buffer_size=256 * 1024)
    root = None
    try:
        for event, element in iterparse(source, events=("start", "end"), forbid_dtd=True,
                                        forbid_entities=True, forbid_external=True):
            if root is None:
                root = element
                if element.tag != f"{_COMMON_NS}metadata":
                    raise IndexProblem(
                        f"the primary file's root element is {element.tag[:80]!r}, not the "
                        "RPM metadata element"
                    )
            if event != "end" or element.tag != f"{_COMMON_NS}package":
                continue
            result.entries += 1
            if result.entries > max_entries:
                raise IndexProblem(f"the index lists more than {max_entries:,} entries")
            name = element.findtext(f"{_COMMON_NS}name")
            version = element.find(f"{_COMMON_NS}version")
            if name in names and version is not None:
                epoch, ver, rel = (version.get("epoch") or "0", version.get("ver") or "",
                                   version.get("rel") or "")
                evr = f"{ver}-{rel}" if rel else ver
                result.add(name, evr if epoch == "0" else f"{epoch}:{evr}")
            root.clear()  # constant memory: nothing kept once read
    except DefusedXmlException as exc:
        raise IndexProblem(f"the primary file is refused: it declares a DTD or entities ({exc})"
                           ) from None
    except ParseError as exc:
        raise IndexProblem(f"the primary file is not well-formed XML ({exc})") from None
    return result


# --- tar-based: Arch and Alpine -------------------------------------------------------

def _scan_tar(fileobj: IO[bytes], limits: Limits,
              sink: Callable[[Member], Callable[[memoryview], object] | None]) -> Scan:
    raw, kind = _decoded(fileobj, limits, tar=True)
    scan = Scan(kind=kind)
    scan_tar_stream(raw, kind, limits, scan, capture=None, hash_members=False, data_sink=sink)
    errors = [f for f in scan.findings if f.severity == "error"]
    if errors:
        raise IndexProblem(f"the index is refused: {errors[0].message}")
    return scan


def read_arch_db(fileobj: IO[bytes], names: frozenset[str], *, limits: Limits,
                 max_entries: int) -> IndexRead:
    """An Arch repository database (``<repo>.db``: a tar of ``<name>-<ver>-<rel>/desc``)."""
    result = IndexRead()
    descs: list[bytearray] = []

    def sink(member: Member):
        directory, _, base = member.path.rpartition("/")
        if base != "desc":
            return None
        result.entries += 1
        if result.entries > max_entries:
            raise IndexProblem(f"the index lists more than {max_entries:,} entries")
        if not any(directory.startswith(name + "-") for name in names):
            return None
        buffer = bytearray()
        descs.append(buffer)

        def take(view: memoryview) -> None:
            if len(buffer) + len(view) > MAX_DESC:
                raise IndexProblem(f"{member.path} is larger than {MAX_DESC:,} bytes")
            buffer.extend(view)
        return take

    _scan_tar(fileobj, limits, sink)
    if not result.entries:
        raise IndexProblem("the database lists no package (no <name>-<version>/desc member)")
    for buffer in descs:
        fields = _arch_desc(bytes(buffer).decode("utf-8", "replace"))
        name, version = fields.get("NAME"), fields.get("VERSION")
        if name in names and version:
            result.add(name, version)
    return result


def _arch_desc(text: str) -> dict[str, str]:
    """%FIELD% headers, each followed by its value lines; the first value line is kept."""
    fields: dict[str, str] = {}
    key = None
    for line in text.splitlines():
        if line.startswith("%") and line.endswith("%") and len(line) > 2:
            key = line[1:-1]
        elif key is not None and line:
            fields.setdefault(key, line)
        elif not line:
            key = None
    return fields


def read_apkindex(fileobj: IO[bytes], names: frozenset[str], *, limits: Limits,
                  max_entries: int) -> IndexRead:
    """An Alpine ``APKINDEX.tar.gz``: the member ``APKINDEX``, stanzas of ``P:`` name and
    ``V:`` version. A signed index is two concatenated gzip streams; both are read."""
    result = IndexRead()
    seen_index = [False]
    stanza: dict[str, str] = {}

    def end_stanza() -> None:
        if not stanza:
            return
        result.entries += 1
        if result.entries > max_entries:
            raise IndexProblem(f"the index lists more than {max_entries:,} entries")
        if stanza.get("P") in names and stanza.get("V"):
            result.add(stanza["P"], stanza["V"])
        stanza.clear()

    def line_in(line: bytes) -> None:
        line = line.rstrip(b"\r\n")
        if not line:
            end_stanza()
        elif line[1:2] == b":" and line[:1] in (b"P", b"V"):
            stanza[line[:1].decode()] = line[2:].decode("utf-8", "replace").strip()
        elif line[1:2] == b":":
            stanza.setdefault("_", "")

    def sink(member: Member):
        if member.path != "APKINDEX":
            return None
        seen_index[0] = True
        splitter = _Lines()

        def take(view: memoryview) -> None:
            for line in splitter.feed(bytes(view)):
                line_in(line)
        sink.finish = lambda: [line_in(line) for line in splitter.end()]  # type: ignore[attr-defined]
        return take

    _scan_tar(fileobj, limits, sink)
    if not seen_index[0]:
        raise IndexProblem("the archive holds no APKINDEX member")
    getattr(sink, "finish", list)()
    end_stanza()
    return result

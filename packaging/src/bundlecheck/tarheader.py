"""Strict parsing of tar header blocks and pax records, by bundlecheck itself.

The rule: a header that two real extractors (GNU tar, libarchive's bsdtar)
could read differently is refused, not interpreted.  So this module accepts the
canonical forms that GNU tar, bsdtar, git archive and Python's tarfile write
and raises :class:`Refused` for anything else, with a sentence a packager can
act on.  Python's ``tarfile`` is not used: it accepts numbers that ``int(s, 8)``
accepts ('0o17', '+17', '1_7', tabs), joins the ustar prefix under any magic,
and keeps the first of two long names where GNU tar and libarchive keep the last.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from zlib import adler32

BLOCK = 512
ZERO_BLOCK = bytes(BLOCK)

USTAR_MAGIC = b"ustar\x0000"  # POSIX ustar and pax
GNU_MAGIC = b"ustar  \x00"  # GNU and old GNU
V7_MAGIC = bytes(8)  # no magic at all (v7)

REGULAR = (b"0", b"\x00", b"7")  # '7' (contiguous) is extracted as a regular file by every tool
TYPES = {b"0": "file", b"\x00": "file", b"7": "file", b"5": "dir", b"2": "symlink", b"1": "hardlink",
         b"3": "char", b"4": "block", b"6": "fifo"}
#: Types refused outright: how much data follows them, or whether what follows
#: is a header, depends on the tool.
REFUSED_TYPES = {b"S": "a GNU sparse file", b"V": "a GNU volume header",
                 b"M": "a GNU multi-volume continuation", b"D": "a GNU incremental dump directory",
                 b"N": "an old GNU long-names record", b"X": "a Solaris extended header",
                 b"A": "a Solaris ACL header", b"I": "a star inode-only member"}
EXTENSIONS = (b"L", b"K", b"x", b"g")

_OCTAL = re.compile(rb" *([0-7]+)[ \x00]*")  # the digits are group 1
_DECIMAL = re.compile(rb"[0-9]+")
_TIME = re.compile(rb"-?[0-9]+(\.[0-9]+)?")
_LENGTH = re.compile(rb"[1-9][0-9]{0,9}")
_KEY = re.compile(rb"[A-Za-z0-9._-]+")
UTF8_CHARSET = b"ISO-IR 10646 2000 UTF-8"


class Refused(Exception):
    """A header bundlecheck will not interpret: ``message`` says why, ``hint`` what to do."""

    def __init__(self, message: str, hint: str = "", *, check: str = "archive-ambiguous-header"):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.check = check


class BadChecksum(Exception):
    """The block is not a tar header at all (corruption, or not a tar)."""


RECREATE = ("Re-create the archive with GNU tar or bsdtar (e.g. tar -czf bundle.tar.gz DIRECTORY/), "
            "without appending to it or editing it.")


@dataclass(slots=True)
class Header:
    """The fields of one header block, checked; names are raw bytes."""

    typeflag: bytes
    name: bytes
    linkname: bytes
    mode: int
    size: int
    magic: bytes
    ustar: bool


def is_zero(block: bytes | memoryview) -> bool:
    return block == ZERO_BLOCK


def checksum_matches(block: bytes) -> bool:
    """True when the block's checksum field matches its unsigned or signed byte sum."""
    stored = _checksum_field(block)
    if stored is None:
        return False
    unsigned = sum(block[:148]) + 8 * 32 + sum(block[156:])
    return stored in (unsigned, _signed_sum(block))


def _signed_sum(block: bytes) -> int:
    unsigned = sum(block[:148]) + 8 * 32 + sum(block[156:])
    high = sum(1 for b in block[:148] if b > 127) + sum(1 for b in block[156:] if b > 127)
    return unsigned - 256 * high


def _byte_sum(block: bytes) -> int:
    """The sum of a 512-byte block's bytes, read off Adler-32 (zlib's C loop) half by half.

    Adler-32's first half is 1 + the sum of the bytes, modulo 65521; a half of
    256 bytes sums to at most 65,280, below the modulus, so that part of the
    checksum minus one is the exact sum.  ``sum(block)`` gives the same number
    five times slower, and the header loop does it once per member.
    """
    return (adler32(block[:256]) & 0xFFFF) + (adler32(block[256:512]) & 0xFFFF) - 2


def _checksum_field(block: bytes) -> int | None:
    return _octal_or_none(block[148:156])


@lru_cache(maxsize=4096)  # header checksums fall in a narrow range: most come back
def _octal_or_none(field: bytes) -> int | None:
    octal = _OCTAL.fullmatch(field)
    if octal is None:
        return None
    return int(octal[1], 8)


def _cstring(field: bytes, what: str) -> bytes:
    """The bytes before the first NUL; refuse non-NUL bytes hidden after it."""
    end = field.find(0)
    if end < 0:
        return field
    if field.count(0, end) != len(field) - end:  # not only NULs after the first one
        raise Refused(f"its {what} field holds bytes after the end of its name (after a NUL byte)",
                      RECREATE)
    return field[:end]


#: The ranges GNU tar checks numbers against (uid_t, gid_t, off_t, time_t on Linux):
#: past them it reports "out of range" and exits with status 2, where bsdtar reads on.
UID_MAX = GID_MAX = (1 << 32) - 1
OFF_MAX = TIME_MAX = (1 << 63) - 1
TIME_MIN = -(1 << 63)
_MAXIMUM = {"uid": UID_MAX, "gid": GID_MAX, "size": OFF_MAX, "mtime": TIME_MAX}


def out_of_range(what: str, value: int | str, low: int, high: int) -> Refused:
    return Refused(f"its {what} is {value}, out of the range GNU tar accepts ({low}..{high}): GNU tar "
                   "stops with an error there, bsdtar reads on, so they would not extract the same",
                   RECREATE)


@lru_cache(maxsize=4096)  # modes, owners and times repeat from header to header
def number(field: bytes, what: str, *, base256: bool = True, empty_ok: bool = False) -> int:
    """A numeric header field: octal digits, optional leading spaces, NUL/space terminators.

    Base-256 (first byte 0x80, as GNU tar and bsdtar write for large values) is
    accepted where the format allows it; a negative base-256 value is not, nor a
    value past the range GNU tar checks (uid and gid 0..2^32-1, size and mtime
    0..2^63-1).
    """
    octal = _OCTAL.fullmatch(field)
    if octal is not None:
        return int(octal[1], 8)
    if empty_ok and not field.strip(b"\x00"):
        return 0
    if base256 and field[:1] == b"\x80":
        value = int.from_bytes(field[1:], "big")
        if value > _MAXIMUM.get(what, value):
            raise out_of_range(f"{what} field", value, 0, _MAXIMUM[what])
        return value
    shown = field.rstrip(b"\x00").decode("latin-1")
    raise Refused(
        f"its {what} field is {shown!r}, not plain octal digits: GNU tar, bsdtar and Python's "
        f"tarfile read such a field differently, so they would not agree on the member's "
        f"{'data length and where the next member starts' if what == 'size' else what}",
        RECREATE,
    )


def parse_block(block: bytes) -> Header:
    """Check and decode one non-zero header block; BadChecksum if it is not a header."""
    field = block[148:156]
    stored = _octal_or_none(field)
    unsigned = _byte_sum(block) - sum(field) + 8 * 32
    if stored != unsigned:
        if stored is not None and stored == _signed_sum(block):
            raise Refused("its header checksum is computed over signed bytes, which some tar "
                          "programs reject", RECREATE)
        raise BadChecksum()
    magic = block[257:265]
    if magic not in (USTAR_MAGIC, GNU_MAGIC, V7_MAGIC):
        raise Refused(
            f"its header has the unknown magic {magic.decode('latin-1')!r}: bsdtar reads any "
            "'ustar' prefix as POSIX (and joins the prefix field to the name), GNU tar does not",
            RECREATE)
    typeflag = block[156:157]
    ustar = magic == USTAR_MAGIC
    name = _cstring(block[0:100], "name")
    linkname = _cstring(block[157:257], "link name")
    if ustar:
        prefix = _cstring(block[345:500], "prefix")
        if prefix:
            name = prefix + b"/" + name
    elif typeflag != b"S" and block.count(0, 345, 500) != 155:  # a byte other than NUL there
        # Old GNU keeps times and sparse maps there; tarfile joins it to the name anyway.
        raise Refused(
            "its header has bytes in the ustar prefix field without the ustar magic: Python's "
            "tarfile joins them to the name, GNU tar and bsdtar do not",
            RECREATE)
    mode = _mode_and_owner(block[100:124])
    size = number(block[124:136], "size")
    number(block[136:148], "mtime")
    if ustar:
        _devices(block[329:345])
    return Header(typeflag, name, linkname, mode, size, magic, ustar)


@lru_cache(maxsize=4096)  # the same mode, uid and gid come back header after header
def _mode_and_owner(fields: bytes) -> int:
    """The mode, checked with the uid and gid that follow it (each as :func:`number` reads it)."""
    mode = number(fields[0:8], "mode", base256=False)
    number(fields[8:16], "uid", empty_ok=True)
    number(fields[16:24], "gid", empty_ok=True)
    return mode


@lru_cache(maxsize=256)
def _devices(fields: bytes) -> None:
    number(fields[0:8], "devmajor", base256=False, empty_ok=True)
    number(fields[8:16], "devminor", base256=False, empty_ok=True)


# --- pax records ------------------------------------------------------------------

#: Keys that change nothing bundlecheck judges, read alike (or ignored) by both tools.
_HARMLESS = {b"mtime", b"atime", b"ctime", b"uid", b"gid", b"uname", b"gname", b"comment", b"charset",
             b"SCHILY.dev", b"SCHILY.ino", b"SCHILY.nlink", b"LIBARCHIVE.creationtime"}
_TIMES = {b"mtime", b"atime", b"ctime", b"LIBARCHIVE.creationtime"}
_INTEGERS = {b"uid", b"gid", b"size", b"SCHILY.dev", b"SCHILY.ino", b"SCHILY.nlink"}
#: Extended attributes that only describe a file (no capability, ACL or security label).
_XATTR_PREFIXES = (b"SCHILY.xattr.user.", b"LIBARCHIVE.xattr.user.", b"SCHILY.xattr.com.apple.",
                   b"LIBARCHIVE.xattr.com.apple.")


def pax_records(data: bytes) -> list[tuple[bytes, bytes]]:
    """'LEN KEY=VALUE\\n' records covering ``data`` exactly; refuse anything else."""
    out = []
    pos = 0
    while pos < len(data):
        space = data.find(b" ", pos, pos + 12)
        length = data[pos:space] if space > 0 else b""
        if not _LENGTH.fullmatch(length):
            raise Refused(f"its pax header holds a record without a valid length at byte {pos}",
                          RECREATE)
        end = pos + int(length)
        if end > len(data) or data[end - 1:end] != b"\n" or end <= space + 2:
            raise Refused(f"its pax header holds a record whose length ({int(length)}) does not "
                          "match its text: GNU tar and bsdtar would read the records differently",
                          RECREATE)
        key, eq, value = data[space + 1:end - 1].partition(b"=")
        if not eq or not _KEY.fullmatch(key):
            raise Refused(f"its pax header holds a malformed record at byte {pos}", RECREATE)
        out.append((key, value))
        pos = end
    return out


@dataclass(slots=True)
class PaxInfo:
    path: bytes | None = None
    linkpath: bytes | None = None
    size: int | None = None
    sparse: bool = False


def pax_extended(records: list[tuple[bytes, bytes]]) -> PaxInfo:
    """The attributes of an 'x' header that matter; refuse keys the tools treat differently."""
    info = PaxInfo()
    seen: set[bytes] = set()
    for key, value in records:
        k = key.decode("ascii")
        if key in seen:
            raise Refused(f"its pax header sets {k!r} twice", RECREATE)
        seen.add(key)
        if b"\x00" in value:
            raise Refused(f"its pax header's {k!r} holds a NUL byte: C tools cut the value there, "
                          "others do not", RECREATE)
        if not value:
            raise Refused(f"its pax header sets {k!r} to nothing, which some tools read as "
                          "'remove the field'", RECREATE)
        if key.startswith(b"GNU.sparse."):
            info.sparse = True
        elif key == b"path":
            info.path = value
        elif key == b"linkpath":
            info.linkpath = value
        elif key == b"size":
            if not _DECIMAL.fullmatch(value):
                raise Refused(f"its pax header gives size={value.decode('latin-1')}, not a decimal "
                              "number", RECREATE)
            _check_value(key, value)
            info.size = int(value)
        elif key == b"hdrcharset":
            if value != UTF8_CHARSET:
                raise Refused(f"its pax header sets hdrcharset={value.decode('latin-1')}: names "
                              "not in UTF-8 are read differently by GNU tar and bsdtar",
                              "Rename the files to UTF-8 and re-create the archive.")
        elif key in _HARMLESS or key.startswith(_XATTR_PREFIXES):
            _check_value(key, value)
        elif key.startswith((b"SCHILY.xattr.", b"LIBARCHIVE.xattr.", b"SCHILY.acl.", b"SCHILY.fflags",
                             b"LIBARCHIVE.acl")):
            raise Refused(
                f"its pax header sets {k!r} (an ACL, file flag or security attribute), which "
                "bsdtar restores and GNU tar by default does not: the permissions would differ",
                "Re-create the archive without them: bsdtar --no-acls --no-xattrs --no-fflags, "
                "or GNU tar without --acls/--xattrs/--selinux.")
        else:
            raise Refused(f"its pax header sets {k!r}, a keyword bundlecheck does not know: GNU tar "
                          "and bsdtar may read it differently", RECREATE)
    return info


#: What GNU tar checks each pax number against; SCHILY.dev/ino/nlink it ignores.
_PAX_RANGES = {b"uid": (0, UID_MAX), b"gid": (0, GID_MAX), b"size": (0, OFF_MAX)}


def _check_value(key: bytes, value: bytes) -> None:
    if (key in _TIMES and not _TIME.fullmatch(value)) or (key in _INTEGERS and not _DECIMAL.fullmatch(value)):
        raise Refused(f"its pax header gives {key.decode()}={value.decode('latin-1')!r}, not a number",
                      RECREATE)
    shown = f"pax header's {key.decode()}"
    if key in _PAX_RANGES:
        low, high = _PAX_RANGES[key]
        if len(value) > 20 or int(value) > high:
            raise out_of_range(shown, value.decode("ascii"), low, high)
    elif key in _TIMES:
        whole = value.split(b".", 1)[0]
        if len(whole) > 21 or not TIME_MIN <= int(whole) <= TIME_MAX:
            raise out_of_range(shown, value.decode("ascii"), TIME_MIN, TIME_MAX)


#: Global keys allowed: a comment (git archive writes the commit id there).
_GLOBAL_OK = {b"comment"}


def pax_global(records: list[tuple[bytes, bytes]]) -> None:
    """A global ('g') header may only carry a comment."""
    for key, _value in records:
        k = key.decode("ascii")
        if key in (b"path", b"linkpath", b"size"):
            raise Refused(
                f"a global pax header sets {k!r}: GNU tar applies it to every later member, "
                "bsdtar ignores it, so they would not agree on "
                f"{'where the data of the next members ends' if k == 'size' else 'their names'}",
                RECREATE)
        if key not in _GLOBAL_OK:
            raise Refused(
                f"a global pax header sets {k!r}: GNU tar applies global keywords to every later "
                "member and bsdtar ignores them (only a comment, as git archive writes, is allowed)",
                RECREATE)

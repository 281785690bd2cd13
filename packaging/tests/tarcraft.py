"""Tar archives written byte by byte, so that a test can say exactly which header bytes it means.

Field offsets and lengths are POSIX ustar's.  Numbers are written as zero-padded
octal with a NUL terminator unless a test passes the raw bytes of a field.
"""

from __future__ import annotations

from builders import CONF, CONTROL, POSTINST

BLOCK = 512
FIELDS: dict[str, tuple[int, int]] = {
    "name": (0, 100), "mode": (100, 8), "uid": (108, 8), "gid": (116, 8), "size": (124, 12),
    "mtime": (136, 12), "chksum": (148, 8), "typeflag": (156, 1), "linkname": (157, 100),
    "magic": (257, 6), "version": (263, 2), "uname": (265, 32), "gname": (297, 32),
    "devmajor": (329, 8), "devminor": (337, 8), "prefix": (345, 155),
}
USTAR = (b"ustar\x00", b"00")
OLDGNU = (b"ustar ", b" \x00")
V7 = (b"\x00" * 6, b"\x00\x00")
END = bytes(2 * BLOCK)


def octal(value: int, length: int) -> bytes:
    return b"%0*o\x00" % (length - 1, value)


def pad(data: bytes) -> bytes:
    return data + bytes(-len(data) % BLOCK)


def set_checksum(block: bytearray, how: str = "unsigned") -> None:
    block[148:156] = b" " * 8
    total = sum(b - 256 if b > 127 else b for b in block) if how == "signed" else sum(block)
    block[148:156] = b"%06o\x00 " % (total & 0o777777)


def header(
    name: bytes | str = b"", *, type: bytes = b"0", size: int = 0, mode: int = 0o644,
    linkname: bytes | str = b"", magic: tuple[bytes, bytes] = USTAR, prefix: bytes = b"",
    mtime: int = 1_200_000_000, raw: dict[str, bytes] | None = None, checksum: str = "unsigned",
) -> bytes:
    """One 512-byte header block; ``raw`` replaces whole fields (NUL-padded), as given."""
    b = bytearray(BLOCK)

    def put(field: str, value: bytes) -> None:
        start, length = FIELDS[field]
        if len(value) > length:
            raise ValueError(f"{field}: {len(value)} bytes do not fit in {length}")
        b[start:start + length] = value.ljust(length, b"\x00")

    name = name.encode("utf-8", "surrogateescape") if isinstance(name, str) else name
    linkname = linkname.encode("utf-8", "surrogateescape") if isinstance(linkname, str) else linkname
    put("name", name[:100])
    put("mode", octal(mode, 8))
    put("uid", octal(0, 8))
    put("gid", octal(0, 8))
    put("size", octal(size, 12))
    put("mtime", octal(mtime, 12))
    put("typeflag", type)
    put("linkname", linkname[:100])
    put("magic", magic[0])
    put("version", magic[1])
    if magic != V7:
        put("uname", b"root")
        put("gname", b"root")
    if magic == USTAR:
        put("devmajor", octal(0, 8))
        put("devminor", octal(0, 8))
    put("prefix", prefix)
    for field, value in (raw or {}).items():
        put(field, value)
    if checksum in ("unsigned", "signed"):
        set_checksum(b, checksum)
    return bytes(b)


def member(name: bytes | str, data: bytes = b"", *, size: int | None = None, **kw) -> bytes:
    """A header and its data, padded to whole blocks; ``size`` may lie about the data's length."""
    return header(name, size=len(data) if size is None else size, **kw) + pad(data)


def directory(name: str, mode: int = 0o755, **kw) -> bytes:
    return header(name.rstrip("/") + "/", type=b"5", mode=mode, **kw)


def symlink(name: str, target: str, **kw) -> bytes:
    return header(name, type=b"2", mode=0o777, linkname=target, **kw)


def hardlink(name: str, target: str, **kw) -> bytes:
    return header(name, type=b"1", linkname=target, **kw)


def pax_records(records: list[tuple[bytes | str, bytes | str]]) -> bytes:
    """'%d %s=%s\\n' records with correct lengths."""
    out = []
    for key, value in records:
        key = key.encode() if isinstance(key, str) else key
        value = value.encode("utf-8", "surrogateescape") if isinstance(value, str) else value
        body = b" " + key + b"=" + value + b"\n"
        n = len(body) + 1
        while len(str(n)) + len(body) != n:
            n += 1
        out.append(str(n).encode() + body)
    return b"".join(out)


def pax(records: list[tuple[bytes | str, bytes | str]] | bytes, *, type: bytes = b"x",
        name: str = "PaxHeader/x", **kw) -> bytes:
    """A pax extended (x) or global (g) header with its records (or raw record bytes)."""
    data = records if isinstance(records, bytes) else pax_records(records)
    return member(name, data, type=type, **kw)


def gnu_long(value: bytes | str, *, type: bytes = b"L", **kw) -> bytes:
    """A GNU long name (L) or long link (K) header with its NUL-terminated data."""
    value = value.encode("utf-8", "surrogateescape") if isinstance(value, str) else value
    return member("././@LongLink", value + b"\x00", type=type, magic=OLDGNU, **kw)


def good_bundle_members(prefix: str = "") -> list[bytes]:
    """The ubuntu bundle of builders.good_bundle(), as raw member blobs, names after ``prefix``."""
    return [
        directory(prefix + "distros"),
        directory(prefix + "distros/ubuntu"),
        member(prefix + "distros/ubuntu/convirt.conf", CONF),
        member(prefix + "distros/ubuntu/postinst", POSTINST, mode=0o755),
        directory(prefix + "distros/ubuntu/debian"),
        member(prefix + "distros/ubuntu/debian/control", CONTROL),
    ]


def bundle(*extra: bytes, end: bytes = END) -> bytes:
    """The good ubuntu bundle with ``extra`` blobs appended, then the end-of-archive blocks."""
    return b"".join(good_bundle_members()) + b"".join(extra) + end


#: A member that only a reader who takes the bytes after a header as a new header sees.
HIDDEN = member("distros/fedora/convirt.conf", b"[PATHS]\nexec_path=/tmp/evil\n")

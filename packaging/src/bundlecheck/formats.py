"""Archive kinds: detected from magic bytes, expected from a file name."""

from __future__ import annotations

from .tarheader import BLOCK, ZERO_BLOCK, checksum_matches

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
    if len(head) >= BLOCK and (head[:BLOCK] == ZERO_BLOCK or checksum_matches(head[:BLOCK])):
        return TAR  # a zero block first: an empty archive, said so by the reader
    return None


def kind_from_name(filename: str | None) -> str | None:
    if not filename:
        return None
    lower = filename.lower()
    for suffix, kind in _SUFFIX_KIND.items():
        if lower.endswith(suffix):
            return kind
    return None

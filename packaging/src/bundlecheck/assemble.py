"""Assemble the public source tarball: the pre-release plus each accepted distro contribution.

Reproducible: members sorted by name, owner root:root (0/0), one fixed mtime,
a gzip header without file name and with mtime 0, so identical inputs give
identical bytes (and so identical published checksums).  Inputs are read once,
through the same safe reader as verify(); member data is spooled, decompressed,
to one anonymous temporary file so that it can be written back in sorted order
without holding any member in memory.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO, Any

from .decompress import RawReader
from .errors import ArchiveError
from .formats import BLOCK, DEB, RPM, detect_kind
from .manifest import split_root
from .members import Member, Scan
from .policy import Policy, load_policy
from .safety import link_findings
from .tarscan import scan_tar_stream
from .view import root_parents

#: 2000-01-01T00:00:00Z: any fixed value will do; this one predates every input.
DEFAULT_MTIME = 946_684_800
COPY_CHUNK = 1 << 20


@dataclass(slots=True)
class _Entry:
    member: Member
    offset: int = -1  # where the data starts in the spool file (files only)


@dataclass(slots=True)
class _Indexed:
    root: str | None
    entries: dict[str, _Entry]  # relative path -> entry


def assemble(
    prerelease_fileobj: IO[bytes],
    contributions: Iterable[tuple[str, IO[bytes]]],
    out_fileobj: IO[bytes],
    *,
    policy: str | Policy = "convirt",
    root: str | None = None,
    mtime: int = DEFAULT_MTIME,
) -> dict[str, Any]:
    """Write the merged .tar.gz to ``out_fileobj``; return its sha256, sha512, size, member count."""
    pol = policy if isinstance(policy, Policy) else load_policy(policy)
    with tempfile.TemporaryFile() as spool:
        base = _index(prerelease_fileobj, spool, pol, "the pre-release tarball")
        entries = dict(base.entries)
        for distro, fileobj in contributions:
            roots = pol.roots_for(distro)
            contribution = _index(fileobj, spool, pol, f"the {distro} contribution")
            entries = {rel: e for rel, e in entries.items() if not _under(rel, roots)}
            entries.update({rel: e for rel, e in contribution.entries.items() if _under(rel, roots)})
        _add_missing_parents(entries)
        out_root = root or base.root
        if not out_root:
            raise ArchiveError("layout-single-root", "the pre-release has no single top-level directory "
                               "and no root was given", f"Pass root='{pol.example_root()}'.")
        return _write(entries, spool, out_fileobj, out_root, base.root, mtime)


def _under(rel: str, roots: tuple[str, ...]) -> bool:
    return any(rel.startswith(r) or rel + "/" == r for r in roots)


def _index(fileobj: IO[bytes], spool: IO[bytes], pol: Policy, what: str) -> _Indexed:
    raw = RawReader(fileobj, None, None)
    kind = detect_kind(raw.peek(BLOCK))
    if kind is None or kind in (DEB, RPM):
        raise ArchiveError("archive-unreadable", f"{what} is not a tar archive", "Give a source tarball.")
    offsets: dict[int, int] = {}

    def sink(member: Member):
        offsets[id(member)] = spool.tell()
        return spool.write

    scan = Scan(kind=kind)
    try:
        scan_tar_stream(raw, kind, pol.limits, scan, capture=None, hash_members=False,
                        data_sink=sink)
    except ArchiveError as exc:
        raise ArchiveError(exc.check, f"{what}: {exc.message}", exc.hint, exc.path) from None
    errors = [f for f in scan.findings + list(link_findings(scan)) if f.severity == "error"]
    if errors:
        raise ArchiveError(errors[0].check, f"{what}: {errors[0].message}", errors[0].hint, errors[0].path)
    return _relative(scan, offsets, pol)


def _relative(scan: Scan, offsets: dict[int, int], pol: Policy) -> _Indexed:
    tops = {p.split("/", 1)[0] for p in scan.members}
    bundle_tops = {p.split("/", 1)[0] for p in root_parents(pol)}
    root = None if tops and tops <= bundle_tops else split_root(scan.members)
    prefix = root + "/" if root else ""
    entries = {
        path[len(prefix):]: _Entry(m, offsets.get(id(m), -1))
        for path, m in scan.members.items()
        if path.startswith(prefix) and path != root
    }
    return _Indexed(root, entries)


def _add_missing_parents(entries: dict[str, _Entry]) -> None:
    for rel in list(entries):
        parts = rel.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            parent = "/".join(parts[:i])
            if parent not in entries:
                entries[parent] = _Entry(Member(parent, parent, "dir", 0o755, 0))


class _HashingWriter:
    """Counts and hashes the bytes on their way to the caller's file."""

    def __init__(self, out: IO[bytes]):
        self._out = out
        self.sha256, self.sha512, self.size = hashlib.sha256(), hashlib.sha512(), 0

    def write(self, data: bytes) -> int:
        self.sha256.update(data)
        self.sha512.update(data)
        self.size += len(data)
        self._out.write(data)
        return len(data)

    def flush(self) -> None:
        self._out.flush()


_TAR_TYPES = {"file": tarfile.REGTYPE, "dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE,
              "hardlink": tarfile.LNKTYPE}


def _write(entries: dict[str, _Entry], spool: IO[bytes], out: IO[bytes], root: str,
           old_root: str | None, mtime: int) -> dict[str, Any]:
    hashing = _HashingWriter(out)
    # filename="" and mtime=0 keep the gzip header free of anything that varies.
    with gzip.GzipFile(filename="", mode="wb", fileobj=hashing, mtime=0, compresslevel=9) as gz, \
            tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
        tar.addfile(_info(root, Member(root, root, "dir", 0o755, 0), mtime))
        for rel in sorted(entries):
            entry = entries[rel]
            m = entry.member
            info = _info(f"{root}/{rel}", m, mtime)
            if m.type == "hardlink" and old_root and m.linkname.startswith(old_root + "/"):
                info.linkname = f"{root}/{m.linkname[len(old_root) + 1:]}"
            if m.type == "file":
                spool.seek(entry.offset)
                tar.addfile(info, spool)
            else:
                tar.addfile(info)
        count = len(entries) + 1
    return {"sha256": hashing.sha256.hexdigest(), "sha512": hashing.sha512.hexdigest(),
            "size": hashing.size, "members": count}


def _info(name: str, m: Member, mtime: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = _TAR_TYPES[m.type]
    info.mode = m.mode & 0o7777
    info.size = m.size if m.type == "file" else 0
    info.linkname = m.linkname if m.type in ("symlink", "hardlink") else ""
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    info.mtime = mtime
    return info


def write_tarball(out: IO[bytes], members: Iterable[tuple[str, bytes | None, int]],
                  *, mtime: int = DEFAULT_MTIME) -> None:
    """Write ``members`` ((name, data, mode); data None for a directory) to ``out`` as a
    reproducible .tar.gz, like :func:`assemble`: the directories above each name made
    explicit, sorted, root:root, one ``mtime``, a gzip header that never varies."""
    entries: dict[str, tuple[bytes | None, int]] = {}
    for name, data, mode in members:
        parts = name.rstrip("/").split("/")
        for depth in range(1, len(parts)):
            entries.setdefault("/".join(parts[:depth]), (None, 0o755))
        entries[name.rstrip("/")] = (data, mode)
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0) as gz, \
            tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(entries):
            data, mode = entries[name]
            kind = "dir" if data is None else "file"
            info = _info(name, Member(name, name, kind, mode, len(data or b"")), mtime)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)

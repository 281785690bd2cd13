"""Binary packages (.deb, .rpm): their file list, modes, links and dependency fields.

A .deb goes through python-debian: ``debfile.DebFile`` needs a seekable file, so
the upload is spooled (in memory up to a few MiB, then to an anonymous temporary
file, capped), and its control and data tarballs are streamed through the same
safe tar reader as source archives.  A .rpm's file list and Requires are in its
headers, read with rpmfile from the head of the stream; the payload is only
drained, never unpacked.
"""

from __future__ import annotations

import stat
import tempfile
from dataclasses import dataclass, field
from typing import IO, Any

from .decompress import RawReader
from .errors import ArchiveError, is_passthrough
from .findings import Finding
from .formats import BLOCK, DEB, RPM, detect_kind
from .limits import Limits
from .members import Member, Scan
from .policy import Policy
from .recipes import Groups
from .recipes.deb import deb_depends_groups
from .recipes.rpm import rpm_header_groups
from .registry import CHECKS, Registry
from .tarscan import scan_tar_stream
from .view import PackageView

SPOOL_IN_MEMORY = 8 << 20
RPM_HEADER_MAX = 64 << 20  # rpm headers are kilobytes; refuse to read more while parsing them


@dataclass
class Package:
    """What the binary checks see: absolute installed path -> Member, and the dependencies."""

    kind: str  # "deb" or "rpm"
    family: str  # version-comparison family
    files: dict[str, Member] = field(default_factory=dict)
    groups: Groups = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    files_known: bool = True  # False when the data part could not be read
    tools: dict[str, str] = field(default_factory=dict)  # linters that ran, with their versions


def _finding(check: str, path: str | None, message: str, hint: str) -> Finding:
    return Finding(check, CHECKS[check][0], path, message, hint)


def read_package(raw: RawReader, kind: str, limits: Limits, *, lint: bool = False,
                 rpmlintrc: bytes | None = None, blocking: frozenset[str] = frozenset()) -> Package:
    """The package's contents; with ``lint``, a .deb is also run through lintian, a .rpm
    through rpmlint (with ``rpmlintrc``, when given). An override (lintian-overrides, a
    .rpmlintrc filter) of a tag in ``blocking`` is refused."""
    if kind == RPM:
        return _read_rpm(raw, limits, lint, rpmlintrc, blocking)
    return _read_deb(raw, limits, lint, blocking)


# --- .deb --------------------------------------------------------------------------


def _spool(raw: RawReader, limits: Limits) -> IO[bytes]:
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115 - returned
    while data := raw.read():
        if spool.tell() + len(data) > limits.max_spool_size:
            spool.close()
            raise ArchiveError("archive-too-large",
                               f"the package is larger than {limits.max_spool_size} bytes (the limit)",
                               "Ask the release managers to raise the limit for your package.")
        spool.write(data)
    spool.seek(0)
    return spool


def _read_deb(raw: RawReader, limits: Limits, lint: bool = False,
              blocking: frozenset[str] = frozenset()) -> Package:
    from debian import arfile  # python-debian's ar reader, as used by debian.debfile.DebFile

    pkg = Package(kind=DEB, family="deb")
    with _spool(raw, limits) as spool:
        try:
            ar = arfile.ArFile(fileobj=spool)
            names = ar.getnames()
        except Exception as exc:  # python-debian raises several types on a broken ar
            if is_passthrough(exc):
                raise
            raise ArchiveError("archive-corrupt", f"the .deb's ar container is broken ({exc})",
                               "Rebuild the package with dpkg-deb.") from None
        control = next((n for n in names if n.startswith("control.tar")), None)
        data = next((n for n in names if n.startswith("data.tar")), None)
        if control is None or data is None:
            raise ArchiveError("archive-corrupt", "the .deb lacks its control.tar or data.tar part",
                               "Rebuild the package with dpkg-deb.")
        control_scan = _scan_part(ar.getmember(control), limits, capture={"control"}, what=control)
        data_scan = _scan_part(ar.getmember(data), limits, capture=set(), what=data)
        if lint:
            from .linters import lint_deb

            found, pkg.tools = lint_deb(spool, limits.lint_timeout, blocking)
            pkg.findings += found
    pkg.findings += control_scan.findings + data_scan.findings
    pkg.files_known = data_scan.complete
    pkg.files = {"/" + p: m for p, m in data_scan.members.items() if p}
    fields = _control_fields(control_scan.captured.get("control", b""))
    for name in ("Pre-Depends", "Depends"):
        if fields.get(name):
            pkg.groups += deb_depends_groups(" ".join(fields[name].split()))
    return pkg


def _scan_part(member: Any, limits: Limits, *, capture: set[str], what: str) -> Scan:
    raw = RawReader(member, None, None)
    kind = detect_kind(raw.peek(BLOCK))
    scan = Scan(kind=kind)
    if kind is None or kind in (DEB, RPM):
        # A compression not read (lzma "alone", lz4, ...): say so and skip what
        # depends on it rather than fail a valid package.
        scan.log.add(_finding(
            "package-part-unsupported", what,
            f"cannot read {what}: only gzip, bzip2, xz, zstd or uncompressed parts are read; the checks "
            "that need it were skipped",
            "Build the package with 'dpkg-deb -Zxz' or '-Zzstd' to have it fully checked.",
        ))
        return scan
    try:
        scan_tar_stream(raw, kind, limits, scan, capture=lambda p: p in capture, hash_members=False)
        scan.complete = True
    except ArchiveError as exc:
        scan.log.add(_finding(exc.check, what, f"{what}: {exc.message}", exc.hint))
    return scan


def _control_fields(data: bytes) -> dict[str, str]:
    from debian.deb822 import Deb822

    try:
        return dict(Deb822(data.decode("utf-8", "replace").splitlines(keepends=True)))
    except Exception as exc:  # an unparsable control file just yields no dependencies
        if is_passthrough(exc):
            raise
        return {}


# --- .rpm --------------------------------------------------------------------------


class _HeadReader:
    """A read/tell view of the raw stream for rpmfile's header parser, with a read cap."""

    def __init__(self, raw: RawReader):
        self._raw = raw
        self._buf = b""
        self._pos = 0

    def read(self, n: int = -1) -> bytes:
        if n < 0 or self._pos + n > RPM_HEADER_MAX:
            raise ArchiveError("archive-corrupt", "the rpm header is implausibly large",
                               "Rebuild the package with rpmbuild.")
        while len(self._buf) < n:
            more = self._raw.read()
            if not more:
                break
            self._buf += more
        out, self._buf = self._buf[:n], self._buf[n:]
        self._pos += len(out)
        return out

    def tell(self) -> int:
        return self._pos


class _Tee:
    """The raw stream, each chunk also written to a spool (capped) for the linter."""

    def __init__(self, raw: RawReader, spool: IO[bytes], limit: int):
        self._raw, self._spool, self._limit = raw, spool, limit

    def read(self) -> bytes:
        data = self._raw.read()
        if self._spool.tell() + len(data) > self._limit:
            raise ArchiveError("archive-too-large",
                               f"the package is larger than {self._limit} bytes (the limit)",
                               "Ask the release managers to raise the limit for your package.")
        self._spool.write(data)
        return data


def _read_rpm(raw: RawReader, limits: Limits, lint: bool = False,
              rpmlintrc: bytes | None = None, blocking: frozenset[str] = frozenset()) -> Package:
    if not lint:
        return _read_rpm_headers(raw)
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY) as spool:
        pkg = _read_rpm_headers(_Tee(raw, spool, limits.max_spool_size))  # type: ignore[arg-type]
        from .linters import lint_rpm

        found, pkg.tools = lint_rpm(spool, limits.lint_timeout, rpmlintrc, blocking)
        pkg.findings += found
    return pkg


def _read_rpm_headers(raw: RawReader) -> Package:
    from rpmfile.headers import get_headers

    pkg = Package(kind=RPM, family="rpm")
    try:
        _range, headers = get_headers(_HeadReader(raw))
    except ArchiveError:
        raise
    except Exception as exc:  # rpmfile asserts and raises freely on bad input
        if is_passthrough(exc):
            raise
        raise ArchiveError("archive-corrupt", f"the rpm headers cannot be read ({type(exc).__name__})",
                           "Rebuild the package with rpmbuild.") from None
    while raw.read():  # drain: the payload is not unpacked, only counted
        pass
    pkg.files = _rpm_files(headers)
    pkg.groups = rpm_header_groups(_strings(headers.get("requirename")),
                                  _strings(headers.get("requireversion")),
                                  _ints(headers.get("requireflags")))
    return pkg


def _strings(value: Any) -> list[str]:
    if value is None:
        return []
    items = value if isinstance(value, list | tuple) else [value]
    return [v.decode("utf-8", "surrogateescape") if isinstance(v, bytes) else str(v) for v in items]


def _ints(value: Any) -> list[int]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [int(value)]


def _rpm_files(headers: dict[str, Any]) -> dict[str, Member]:
    basenames = _strings(headers.get("basenames"))
    dirnames = _strings(headers.get("dirnames"))
    indexes = _ints(headers.get("dirindexes"))
    modes = _ints(headers.get("filemodes"))
    links = _strings(headers.get("filelinktos"))
    sizes = _ints(headers.get("filesizes"))
    files = {}
    for i, base in enumerate(basenames):
        path = (dirnames[indexes[i]] if i < len(indexes) and indexes[i] < len(dirnames) else "/") + base
        mode = modes[i] if i < len(modes) else 0
        kind = ("dir" if stat.S_ISDIR(mode) else "symlink" if stat.S_ISLNK(mode)
                else "file" if stat.S_ISREG(mode) else "other")
        files[path.rstrip("/") or "/"] = Member(
            name=path, path=path.rstrip("/"), type=kind, mode=stat.S_IMODE(mode),
            size=sizes[i] if i < len(sizes) else 0, linkname=links[i] if i < len(links) else "")
    return files


def verify_binary(raw: RawReader, kind: str, *, distro: str, policy: Policy,
                  registry: Registry, lint: bool = True, rpmlintrc: bytes | None = None,
                  tools: dict[str, str] | None = None) -> tuple[list[Finding], int]:
    """The package's findings and file count; the linters that ran go into ``tools``."""
    try:
        pkg = read_package(raw, kind, policy.limits, lint=lint, rpmlintrc=rpmlintrc,
                           blocking=policy.linters_blocking)
    except ArchiveError as exc:
        return [_finding(exc.check, exc.path, exc.message, exc.hint)], 0
    if tools is not None:
        tools.update(pkg.tools)
    view = PackageView(distro=distro, policy=policy, package=pkg)
    return pkg.findings + registry.run("binary", view), len(pkg.files)

"""verify() and build_manifest(): one streaming pass, then the registered checks."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import replace
from typing import IO, Any

from .checks import default_registry
from .decompress import RawReader
from .errors import ArchiveError
from .findings import RPMLINTRC_MAX, Finding, FindingLog, Report
from .formats import BLOCK, DEB, RPM, detect_kind, kind_from_name
from .limits import Limits
from .manifest import manifest_from_scan, split_root
from .members import Member, Scan
from .names import shown
from .policy import Policy, fill_distro, load_policy
from .registry import CHECKS, Registry, is_family_id
from .safety import link_findings
from .tarscan import scan_tar_stream
from .view import SourceView, owner_distro, root_parents, roots_pattern

Progress = Callable[[int, int | None], None]
_DISTRO = re.compile(r"[A-Za-z0-9][A-Za-z0-9.+_-]{0,63}")
#: Built when the library is imported, so that a check marked with an undeclared
#: id fails at start-up rather than in the middle of a verification.
DEFAULT_REGISTRY = default_registry()


def _policy(policy: str | Policy | None) -> Policy:
    if isinstance(policy, Policy):
        return policy
    return load_policy(policy or "convirt")


def _archive_finding(exc: ArchiveError) -> Finding:
    return Finding(exc.check, CHECKS[exc.check][0], exc.path, exc.message, exc.hint)


def _unreadable(message: str, hint: str) -> Finding:
    return Finding("archive-unreadable", "error", None, message, hint)


def scan_source(
    raw: RawReader, kind: str, limits: Limits, *, capture: Callable[[str], bool] | None,
    hash_members: bool | Callable[[Member], bool], log: FindingLog | None = None,
) -> Scan:
    """Stream a tar archive once; archive problems end up as findings on the Scan."""
    scan = Scan(kind=kind, log=log if log is not None else FindingLog())
    try:
        scan_tar_stream(raw, kind, limits, scan, capture=capture, hash_members=hash_members)
        scan.complete = True
    except ArchiveError as exc:
        scan.log.add(_archive_finding(exc))
    scan.log.extend(link_findings(scan))
    scan.bytes_read = raw.bytes_read
    return scan


def verify(
    fileobj: IO[bytes],
    *,
    distro: str,
    policy: str | Policy = "convirt",
    reference: dict[str, Any] | None = None,
    progress: Progress | None = None,
    total_size: int | None = None,
    filename: str | None = None,
    registry: Registry | None = None,
    lint: bool = True,
    rpmlintrc: bytes | None = None,
) -> Report:
    """Verify a source submission or a binary package for ``distro``; never raises on bad input.

    With ``lint`` (the default), a .deb is also checked with lintian and a .rpm with
    rpmlint, when installed; ``rpmlintrc`` (the bundle's, as its own Report.rpmlintrc
    carries it from its one pass) is given to rpmlint with -r.
    """
    tools: dict[str, str] = {}
    started = time.monotonic()
    pol = _policy(policy)
    reg = registry or DEFAULT_REGISTRY
    if not _DISTRO.fullmatch(distro):
        raise ValueError(f"distro name {distro!r} must be letters, digits, '.+_-'")
    _check_reference(reference)
    raw = RawReader(fileobj, progress, total_size)
    head = raw.peek(BLOCK)
    kind = detect_kind(head)
    log = FindingLog()
    members = 0
    own_rpmlintrc = None
    if kind is None:
        log.add(_not_an_archive(head, pol))
    else:
        log.extend(_name_mismatch(filename, kind))
        if kind in (DEB, RPM):
            from .packages import verify_binary  # python-debian/rpmfile only when needed

            found, members = verify_binary(raw, kind, distro=distro, policy=pol, registry=reg,
                                           lint=lint, rpmlintrc=rpmlintrc, tools=tools)
            log.extend(found)
        else:
            members, own_rpmlintrc = _verify_source(raw, kind, distro, pol, reference, reg, log)
    raw.finish()
    findings = [_printable(_with_policy_severity(f, pol)) for f in log.findings()]
    if log.omitted:
        findings.append(Finding(
            "findings-omitted", pol.severity_of("findings-omitted"), None,
            f"{log.omitted} more findings were left out of this report (at most {len(log)} "
            "different ones are listed)",
            "Fix the problems listed first: they are usually the same few mistakes repeated.",
        ))
    stats = {"members": members, "bytes_read": raw.bytes_read,
             "seconds": round(time.monotonic() - started, 3)}
    return Report(findings=findings, stats=stats, omitted=log.omitted, tools=tools,
                  rpmlintrc=own_rpmlintrc)


def _with_policy_severity(f: Finding, pol: Policy) -> Finding:
    wanted = pol.severity_of(f.check, f.severity if is_family_id(f.check) else None)
    return f if wanted == f.severity else replace(f, severity=wanted)


def _printable(f: Finding) -> Finding:
    """Escape what a check may have copied from a hostile name: the portal stores and shows it."""
    path = shown(f.path) if f.path is not None else None
    message, hint = shown(f.message), shown(f.hint)
    if (path, message, hint) == (f.path, f.message, f.hint):
        return f
    return replace(f, path=path, message=message, hint=hint)


def _not_an_archive(head: bytes, pol: Policy | None) -> Finding:
    what = "the file is empty" if not head else "the file is not a tar archive"
    top = pol.example_root() if pol is not None else "the-source-tree"
    return _unreadable(
        f"{what}: expected a .tar, .tar.gz, .tar.bz2, .tar.xz or .tar.zst source archive, or a "
        ".deb/.rpm",
        f"Create the archive with tar (e.g. tar -czf {top}.tar.gz {top}/) and upload that file.",
    )


def _name_mismatch(filename: str | None, kind: str) -> list[Finding]:
    expected = kind_from_name(filename)
    if expected is None or expected == kind:
        return []
    return [_unreadable(
        f"{filename!r} is named as {expected} but its content is {kind}",
        "Give the file the extension of its real format, or recompress it.",
    )]


def _check_reference(reference: dict[str, Any] | None) -> None:
    if reference is None:
        return
    if not isinstance(reference, dict) or not isinstance(reference.get("members"), dict):
        raise ValueError("reference must be a manifest from build_manifest(): "
                         "{'root': ..., 'members': {...}}")


def _capture_for(pol: Policy, distro: str) -> Callable[[str], bool]:
    roots = pol.roots_for(distro)

    def wanted(path: str) -> bool:
        # The root is not known yet while streaming: accept the path with or
        # without its first component.
        rest = path.split("/", 1)[1] if "/" in path else ""
        return path.startswith(roots) or rest.startswith(roots)

    return wanted


def _hash_for(pol: Policy, distro: str, reference: dict[str, Any] | None) -> Callable[[Member], bool]:
    """Which members' data must be hashed: only those a digest can tell apart from the reference.

    A member is compared with the reference by type, mode, size and sha256
    (checks/layout.py): one the reference lacks, or holds with another type or
    size, is reported without its digest, and the distro's own files may change
    freely.  So only a file outside the distro's own directories that the
    reference holds as a file of the same size needs its sha256.  The root is
    not known while streaming: the path is tried with and without its first
    component, and hashed when either needs it.
    """
    if reference is None:
        return lambda _m: False
    ref: dict[str, Any] = reference["members"]
    pattern = roots_pattern(pol)

    def wanted(m: Member) -> bool:
        path = m.path
        for rel in (path, path.split("/", 1)[1]) if "/" in path else (path,):
            old = ref.get(rel)
            if (isinstance(old, dict) and old.get("type") == "file" and old.get("size") == m.size
                    and old.get("sha256") is not None and owner_distro(pattern, rel) != distro):
                return True
        return False

    return wanted


def _verify_source(
    raw: RawReader, kind: str, distro: str, pol: Policy, reference: dict[str, Any] | None,
    registry: Registry, log: FindingLog,
) -> tuple[int, bytes | None]:
    """(members read, the distro's .rpmlintrc) of a source archive; its findings go to ``log``."""
    scan = scan_source(raw, kind, pol.limits, capture=_capture_for(pol, distro),
                       hash_members=_hash_for(pol, distro, reference), log=log)
    if not scan.complete:
        # The tree is partial: layout and content checks would only mislead.
        return scan.members_seen, None
    view = source_view(scan, distro, pol, reference)
    log.extend(registry.run("source", view))
    rpmlintrc = view.captured.get(fill_distro(pol.distro_dir, distro) + ".rpmlintrc")
    if rpmlintrc is not None and len(rpmlintrc) > RPMLINTRC_MAX:
        rpmlintrc = None
    return scan.members_seen, rpmlintrc


def source_view(scan: Scan, distro: str, pol: Policy, reference: dict[str, Any] | None) -> SourceView:
    """What the checks read: a bundle (only distro directories, at the top or under the
    release's root directory) or a whole source package, with paths relative to its root."""
    tops = sorted({p.split("/", 1)[0] for p in scan.members})
    parents = root_parents(pol)
    bundle_tops = {p.split("/", 1)[0] for p in parents}
    if tops and set(tops) <= bundle_tops:
        shape, root = "bundle", None
    else:
        root = split_root(scan.members)
        shape = "bundle" if root and _only_distro_dirs(scan, root, pol, parents) else "package"
    members = _relative(scan.members, root)
    captured = _relative(scan.captured, root)
    too_large = set(_relative(dict.fromkeys(scan.too_large_to_capture), root))
    return SourceView(distro=distro, policy=pol, shape=shape, root=root, top_levels=tuple(tops),
                      members=members, captured=captured, too_large=too_large, reference=reference)


def _only_distro_dirs(scan: Scan, root: str, pol: Policy, parents: set[str]) -> bool:
    """True when every member under ``root`` is a distro's directory or one of their parents."""
    pattern = roots_pattern(pol)
    prefix = root + "/"
    rels = [p[len(prefix):] for p in scan.members if p.startswith(prefix)]
    return bool(rels) and all(r in parents or owner_distro(pattern, r) is not None for r in rels)


def _relative(mapping: dict[str, Any], root: str | None) -> dict[str, Any]:
    if root is None:
        return dict(mapping)
    prefix = root + "/"
    return {k[len(prefix):]: v for k, v in mapping.items() if k.startswith(prefix)}


def build_manifest(
    fileobj: IO[bytes],
    *,
    policy: str | Policy | None = None,
    progress: Progress | None = None,
    total_size: int | None = None,
) -> dict[str, Any]:
    """Index a reference (pre-release) tarball; raise ArchiveError if it is unsafe or corrupt."""
    pol = _policy(policy) if policy is not None else None
    limits = pol.limits if pol is not None else Limits()
    raw = RawReader(fileobj, progress, total_size)
    head = raw.peek(BLOCK)
    kind = detect_kind(head)
    if kind is None or kind in (DEB, RPM):
        f = _not_an_archive(head, pol)
        raise ArchiveError(f.check, f.message, f.hint)
    scan = scan_source(raw, kind, limits, capture=None, hash_members=True)
    raw.finish()
    errors = [f for f in scan.findings if f.severity == "error"]
    if errors:
        first = errors[0]
        more = f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""
        raise ArchiveError(first.check, first.message + more, first.hint, first.path)
    return manifest_from_scan(scan)

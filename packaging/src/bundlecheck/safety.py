"""Archive safety: judged on the header values themselves, never on what extraction would do.

Python's ``data`` extraction filter rewrites ('/abs' -> 'abs', 04755 -> 0755)
instead of refusing, so these checks look at the names, types, modes and links
as the strict reader decoded them.  Each member is inspected as it streams
past (:class:`MemberInspector`); links are judged after the pass
(:func:`link_findings`), when every symbolic link is known.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator

from .findings import Finding
from .limits import Limits
from .members import Member, Scan
from .names import is_clean, quoted, shown
from .registry import CHECKS

_UNSAFE_BITS = 0o7000  # setuid, setgid, sticky
_UNSAFE_OR_WRITABLE = _UNSAFE_BITS | 0o002  # or world-writable
_SPECIAL = {"char": "character device", "block": "block device", "fifo": "FIFO"}


def _finding(check: str, path: str | None, message: str, hint: str) -> Finding:
    return Finding(check, CHECKS[check][0], path, message, hint)


def _times(first: Finding, count: int) -> Finding:
    return Finding(first.check, first.severity, first.path,
                   f"{count + 1} members are named {quoted(first.path or '')}; tools would silently "
                   "take one of the copies", first.hint)


def _limit_summary(first: Finding, count: int) -> Finding:
    return Finding(first.check, first.severity, first.path,
                   f"{count} members have paths over the length or depth limit; the first: "
                   + first.message, first.hint)


class MemberInspector:
    """Inspects each member as it streams past; says whether it is kept for the checks."""

    def __init__(self, limits: Limits, scan: Scan):
        self._limits = limits
        self._scan = scan
        self._log = scan.log

    def __call__(self, m: Member) -> bool:
        """Log the member's problems; False when it is not to be kept (over the path limits)."""
        if not (m.name and is_clean(m.name) and (not m.linkname or is_clean(m.linkname))):
            self._name(m)
        if not self._path(m):
            return False
        kind = m.type
        if kind in _SPECIAL:
            self._type(m)
        if kind != "symlink" and m.mode & _UNSAFE_OR_WRITABLE:  # a link's mode is always 0777
            self._mode(m)
        if kind == "hardlink":
            self._hardlink(m)
        if m.path in self._scan.members:
            if self._log.bump(("archive-duplicate-member", m.path)):
                return False
            self._log.add(_finding(
                "archive-duplicate-member", shown(m.path),
                f"member {quoted(m.name)} appears more than once; tools would silently take "
                "one of the copies",
                "Recreate the archive from the tree in one go (no 'tar -r' appends).",
            ), key=("archive-duplicate-member", m.path), summary=_times)
            return False
        return True

    def _name(self, m: Member) -> None:
        what = "name" if not m.name or not is_clean(m.name) else "link target"
        self._log.add(_finding(
            "archive-bad-name", shown(m.name),
            f"member {quoted(m.name)} has a {what} that is empty, not UTF-8, or holds "
            "control characters",
            "Rename the file to plain UTF-8 without control characters and recreate the archive.",
        ))

    def _path(self, m: Member) -> bool:
        parts = m.name.split("/")
        if m.name.startswith("/") or ".." in parts:
            self._log.add(_finding(
                "archive-unsafe-path", shown(m.name),
                f"member {quoted(m.name)} is an absolute path or climbs out with '..'",
                "Create the archive with relative names, from the directory that holds the "
                "source tree (tar -czf out.tar.gz DIRECTORY/).",
            ))
            return False
        lim = self._limits
        length = len(m.name) if m.name.isascii() else len(m.name.encode("utf-8", "surrogateescape"))
        if length > lim.max_path_length or (
            m.path.count("/") + 1 > lim.max_path_depth
        ):
            if self._log.bump(("archive-too-large", "path")):
                return False
            self._log.add(_finding(
                "archive-too-large", shown(m.name[:200]),
                f"member {quoted(m.name[:200])}{'...' if len(m.name) > 200 else ''} has a path "
                f"longer than {lim.max_path_length} bytes or deeper than {lim.max_path_depth} levels",
                "Shorten the path; the source tree needs no such nesting.",
            ), key=("archive-too-large", "path"), summary=_limit_summary)
            return False
        return True

    def _type(self, m: Member) -> None:
        self._log.add(_finding(
            "archive-special-file", shown(m.name),
            f"member {quoted(m.name)} is a {_SPECIAL[m.type]}; only files, directories and links "
            "belong in a source package",
            "Remove it from the tree (or create it at install time from a script).",
        ))

    def _mode(self, m: Member) -> None:
        self._log.add(_finding(
            "archive-unsafe-mode", shown(m.name),
            f"member {quoted(m.name)} has mode {m.mode:04o}: setuid/setgid/sticky or "
            "world-writable",
            "chmod it to 0644 (files), 0755 (directories and executables) and recreate the archive.",
        ))

    def _hardlink(self, m: Member) -> None:
        """A hard link's target must be a regular file that came earlier in the archive."""
        target = m.linkname
        if not target or target.startswith("/") or ".." in target.split("/"):
            return  # link_findings says why
        path = "/".join(p for p in target.split("/") if p not in ("", "."))
        earlier = self._scan.members.get(path)
        if earlier is None:
            problem = ("its target is not an earlier member of the archive: extraction would fail "
                       "or link to a file outside the archive")
        elif earlier.type not in ("file", "hardlink"):
            problem = (f"its target is a {earlier.type}, not a regular file: extractors make "
                       "different things of such a link")
        else:
            return
        self._log.add(_finding(
            "archive-unsafe-link", shown(m.name),
            f"hard link {quoted(m.name)} -> {quoted(m.linkname)}: {problem}",
            "Archive the file itself, or make the link point to a file stored before it.",
        ))


def link_findings(scan: Scan) -> Iterator[Finding]:
    """Links that leave the tree, and members written through a linked directory.

    Done after the pass, when every link is known, since a link may come after
    the members that use it.  Members are only walked for the second kind when
    the archive has symbolic links, and then with a set of their paths.
    """
    members = scan.members
    # With one top-level directory (e.g. myproject-1.0/), that directory is the tree a
    # link must stay in; otherwise the archive's top.
    tops = {p.split("/", 1)[0] for p in members}
    root = next(iter(tops)) if len(tops) == 1 and any("/" in p for p in members) else None
    links = {p: members[p] for p in scan.symlinks if p in members}
    for m in members.values():
        if m.type in ("symlink", "hardlink"):
            problem = _link_problem(m, links, root)
            if problem:
                yield _finding(
                    "archive-unsafe-link", shown(m.name),
                    f"{m.type} {quoted(m.name)} -> {quoted(m.linkname)} {problem}",
                    "Make links relative and pointing inside the source tree, or drop them.",
                )
                continue
        if links:
            through = _through_link(m.path, links)
            if through:
                yield _finding(
                    "archive-unsafe-link", shown(m.name),
                    f"member {quoted(m.name)} is written through the symbolic link "
                    f"{quoted(through)}",
                    "Put the file at its real path; do not archive links to directories with "
                    "members below them.",
                )


def _link_problem(m: Member, links: dict[str, Member], root: str | None) -> str | None:
    target = m.linkname
    if not target:
        return "has an empty target"
    if target.startswith("/"):
        return "points to an absolute path, outside the archive"
    # Hard link targets are archive names; symbolic ones are relative to the link.
    base = "" if m.type == "hardlink" else posixpath.dirname(m.path)
    resolved = resolve(posixpath.join(base, target), links)
    if resolved is None or (root is not None and resolved != root and not resolved.startswith(root + "/")):
        return "leaves the archive's tree"
    return None


def resolve(path: str, links: dict[str, Member], depth: int = 0) -> str | None:
    """Resolve '..' and known symlinks component by component; None when it escapes."""
    if depth > 40:
        return None  # a link loop: treat as unsafe rather than spin
    parts: list[str] = []
    pieces = path.split("/")
    for i, piece in enumerate(pieces):
        if piece in ("", "."):
            continue
        if piece == "..":
            if not parts:
                return None
            parts.pop()
            continue
        parts.append(piece)
        if links:
            link = links.get("/".join(parts))
            if link is not None:
                if link.linkname.startswith("/"):
                    return None
                rest = "/".join(pieces[i + 1:])
                joined = posixpath.join(posixpath.dirname("/".join(parts)), link.linkname, rest)
                return resolve(joined, links, depth + 1)
    return "/".join(parts)


def _through_link(path: str, links: dict[str, Member]) -> str | None:
    at = path.find("/")
    while at > 0:
        link = links.get(path[:at])
        if link is not None:
            return link.name
        at = path.find("/", at + 1)
    return None

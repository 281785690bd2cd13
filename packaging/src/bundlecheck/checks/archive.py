"""Archive safety: judged on the raw TarInfo fields, never on what extraction would do.

Python's ``data`` extraction filter rewrites ('/abs' -> 'abs', 04755 -> 0755)
instead of refusing, so these checks look at the header values themselves.
"""

from __future__ import annotations

import posixpath
import tarfile
from collections.abc import Iterable

from ..findings import Finding
from ..limits import Limits
from ..names import is_clean, quoted, shown
from ..registry import CHECKS
from ..tarscan import Member

_UNSAFE_BITS = 0o7000  # setuid, setgid, sticky
_SPECIAL = {"char": "character device", "block": "block device", "fifo": "FIFO",
            "sparse": "sparse file", "other": "member of an unsupported type"}


def _finding(check: str, path: str | None, message: str, hint: str) -> Finding:
    return Finding(check, CHECKS[check][0], path, message, hint)


class MemberInspector:
    """Called for each member as it streams past; remembers names to catch duplicates."""

    def __init__(self, limits: Limits):
        self._limits = limits
        self._seen: set[str] = set()

    def __call__(self, member: Member, info: tarfile.TarInfo) -> list[Finding]:
        out: list[Finding] = []
        for check in (self._name, self._path, self._type, self._mode, self._duplicate):
            found = check(member, info)
            if found is not None:
                out.append(found)
        return out

    def _name(self, m: Member, _info: tarfile.TarInfo) -> Finding | None:
        if m.name and is_clean(m.name) and is_clean(m.linkname):
            return None
        what = "name" if not m.name or not is_clean(m.name) else "link target"
        return _finding(
            "archive-bad-name", shown(m.name),
            f"member {quoted(m.name)} has a {what} that is empty, not UTF-8, or holds "
            "control characters",
            "Rename the file to plain UTF-8 without control characters and recreate the archive.",
        )

    def _path(self, m: Member, _info: tarfile.TarInfo) -> Finding | None:
        parts = m.name.split("/")
        if m.name.startswith("/") or ".." in parts:
            return _finding(
                "archive-unsafe-path", shown(m.name),
                f"member {quoted(m.name)} is an absolute path or climbs out with '..'",
                "Create the archive from inside the source tree with relative names "
                "(tar -czf out.tar.gz convirt-2.0/).",
            )
        lim = self._limits
        if len(m.name.encode("utf-8", "surrogateescape")) > lim.max_path_length or (
            len(m.path.split("/")) > lim.max_path_depth
        ):
            return _finding(
                "archive-too-large", shown(m.name),
                f"member {quoted(m.name[:200])} has a path longer than {lim.max_path_length} "
                f"bytes or deeper than {lim.max_path_depth} levels",
                "Shorten the path; the source tree needs no such nesting.",
            )
        return None

    def _type(self, m: Member, info: tarfile.TarInfo) -> Finding | None:
        if m.type not in _SPECIAL:
            return None
        what = _SPECIAL[m.type]
        if m.type == "other":
            what += f" (type {info.type!r})"
        return _finding(
            "archive-special-file", shown(m.name),
            f"member {quoted(m.name)} is a {what}; only files, directories and links belong "
            "in a source package",
            "Remove it from the tree (or create it at install time from a script).",
        )

    def _mode(self, m: Member, _info: tarfile.TarInfo) -> Finding | None:
        if m.type == "symlink":  # a link's own mode is meaningless (always 0777)
            return None
        if not (m.mode & _UNSAFE_BITS or m.mode & 0o002):
            return None
        return _finding(
            "archive-unsafe-mode", shown(m.name),
            f"member {quoted(m.name)} has mode {m.mode:04o}: setuid/setgid/sticky or "
            "world-writable",
            "chmod it to 0644 (files), 0755 (directories and executables) and recreate the archive.",
        )

    def _duplicate(self, m: Member, _info: tarfile.TarInfo) -> Finding | None:
        if m.path not in self._seen:
            self._seen.add(m.path)
            return None
        return _finding(
            "archive-duplicate-member", shown(m.name),
            f"member {quoted(m.name)} appears more than once; tools would silently take "
            "one of the copies",
            "Recreate the archive from the tree in one go (no 'tar -r' appends).",
        )


def link_findings(members: Iterable[Member]) -> list[Finding]:
    """Links that leave the tree, and members written through a linked directory.

    Done after the pass, when every link is known, since a link may come after
    the members that use it.
    """
    members = list(members)
    links = {m.path: m for m in members if m.type == "symlink"}
    # With one top-level directory (convirt-2.0/), that directory is the tree a
    # link must stay in; otherwise the archive's top.
    tops = {m.path.split("/", 1)[0] for m in members}
    root = next(iter(tops)) if len(tops) == 1 and any("/" in m.path for m in members) else None
    out: list[Finding] = []
    for m in members:
        if m.type in ("symlink", "hardlink"):
            problem = _link_problem(m, links, root)
            if problem:
                out.append(_finding(
                    "archive-unsafe-link", shown(m.name),
                    f"{m.type} {quoted(m.name)} -> {quoted(m.linkname)} {problem}",
                    "Make links relative and pointing inside the source tree, or drop them.",
                ))
                continue
        through = _through_link(m.path, links)
        if through:
            out.append(_finding(
                "archive-unsafe-link", shown(m.name),
                f"member {quoted(m.name)} is written through the symbolic link "
                f"{quoted(through)}",
                "Put the file at its real path; do not archive links to directories with "
                "members below them.",
            ))
    return out


def _link_problem(m: Member, links: dict[str, Member], root: str | None) -> str | None:
    target = m.linkname
    if not target:
        return "has an empty target"
    if target.startswith("/"):
        return "points to an absolute path, outside the archive"
    # Hard link targets are archive names; symbolic ones are relative to the link.
    base = "" if m.type == "hardlink" else posixpath.dirname(m.path)
    resolved = _resolve(posixpath.join(base, target), links)
    if resolved is None or (root is not None and resolved != root and not resolved.startswith(root + "/")):
        return "leaves the archive's tree"
    return None


def _resolve(path: str, links: dict[str, Member], depth: int = 0) -> str | None:
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
        link = links.get("/".join(parts))
        if link is not None:
            if link.linkname.startswith("/"):
                return None
            rest = "/".join(pieces[i + 1:])
            joined = posixpath.join(posixpath.dirname("/".join(parts)), link.linkname, rest)
            return _resolve(joined, links, depth + 1)
    return "/".join(parts)


def _through_link(path: str, links: dict[str, Member]) -> str | None:
    parts = path.split("/")
    for i in range(1, len(parts)):
        prefix = "/".join(parts[:i])
        if prefix in links:
            return links[prefix].name
    return None

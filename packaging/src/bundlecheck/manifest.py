"""Reference manifests: what upstream delivered, member by member, and their differences."""

from __future__ import annotations

from typing import Any

from .members import Member, Scan

_COMPARED = ("type", "mode", "size", "sha256", "linkname")


def split_root(members: dict[str, Member]) -> str | None:
    """The single top-level directory holding every member, or None."""
    tops = {p.split("/", 1)[0] for p in members}
    if len(tops) != 1:
        return None
    (top,) = tops
    entry = members.get(top)
    if entry is not None and entry.type != "dir":
        return None
    if not any("/" in p for p in members):
        return None
    return top


def manifest_from_scan(scan: Scan) -> dict[str, Any]:
    root = split_root(scan.members)
    prefix = root + "/" if root else ""
    members = {
        path[len(prefix):]: m.manifest_entry()
        for path, m in sorted(scan.members.items())
        if path.startswith(prefix) and path != root
    }
    return {"root": root, "members": members}


def entry_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Which compared fields differ, as 'field old -> new' phrases for a message."""
    out = []
    for key in _COMPARED:
        a, b = old.get(key), new.get(key)
        if key == "sha256" and (a is None or b is None or old.get("type") != "file"):
            continue
        if a != b:
            if key == "mode":
                a, b = f"{a:04o}" if isinstance(a, int) else a, f"{b:04o}" if isinstance(b, int) else b
            if key == "sha256":
                out.append("content changed")
            else:
                out.append(f"{key} {a} -> {b}")
    return out


def manifest_diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, list[str]]:
    """Members added, removed and modified between two manifests (sorted relative paths)."""
    a, b = old["members"], new["members"]
    return {
        "added": sorted(set(b) - set(a)),
        "removed": sorted(set(a) - set(b)),
        "modified": sorted(p for p in set(a) & set(b) if entry_changes(a[p], b[p])),
    }

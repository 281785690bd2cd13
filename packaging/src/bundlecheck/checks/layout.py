"""Layout: one top-level directory, the distro's own directory, and nothing else touched."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator
from typing import Any

from ..findings import Finding
from ..manifest import entry_changes
from ..names import shown
from ..policy import fill_distro
from ..registry import check
from ..view import SourceView, owner_distro, root_parents, roots_pattern

#: Past this many members listed under one check, one summary finding says how many more.
MAX_LISTED = 50


@check("layout-single-root")
def single_root(view: SourceView) -> Iterator[Finding]:
    if view.shape == "bundle" and view.root is None:
        return
    ref_root = (view.reference or {}).get("root")
    expected = ref_root or view.policy.root
    if view.root is None:
        tops = ", ".join(shown(t) for t in view.top_levels[:10]) or "nothing"
        yield view.finding(
            "layout-single-root", None,
            f"the archive must hold one top-level directory ({expected}/) or only the distro "
            f"bundle (e.g. {view.roots[0]}); found at the top: {tops}",
            f"Pack the whole tree from its parent: tar -czf out.tar.gz {expected}/ — or only "
            f"your bundle: tar -czf out.tar.gz {view.roots[0]}",
        )
    elif (ref_root and view.root != ref_root) or not fnmatch.fnmatchcase(view.root, expected):
        yield view.finding(
            "layout-single-root", shown(view.root),
            f"the top-level directory is {shown(view.root)}/, expected {expected}/",
            f"Rename the directory to {expected}/ (the pre-release's name) and pack it again.",
        )


@check("distro-dir-missing")
def distro_dir(view: SourceView) -> Iterator[Finding]:
    wanted = fill_distro(view.policy.distro_dir, view.distro)
    if not any(p == wanted.rstrip("/") or p.startswith(wanted) for p in view.members):
        yield view.finding(
            "distro-dir-missing", wanted,
            f"there is no {wanted} directory for {view.distro}",
            f"Put your distro's files ({_distro_files(view)}) under {wanted}.",
        )


def _distro_files(view: SourceView) -> str:
    config = view.policy.config
    return ", ".join([*([config.file] if config else []), "install scripts", "packaging recipe"])


@check("contribution-outside-distro", "existing-distro-modified", "reference-missing")
def contribution_scope(view: SourceView) -> Iterator[Finding]:
    """Every change outside the distro's own roots, compared with the reference."""
    pattern = roots_pattern(view.policy)
    parents = root_parents(view.policy)
    changes = list(_changes(view, parents))
    if view.reference is None and view.shape == "package":
        yield view.finding(
            "reference-missing", None,
            "no reference given: changes outside the distro's directories were not checked",
            "Pass the pre-release tarball or its manifest (--against) to check them.",
        )
    listed = {"contribution-outside-distro": 0, "existing-distro-modified": 0}
    for rel, what in changes:
        owner = owner_distro(pattern, rel)
        if owner == view.distro:
            continue
        check = "contribution-outside-distro" if owner is None else "existing-distro-modified"
        listed[check] += 1
        if listed[check] <= MAX_LISTED:
            yield _scope_finding(view, check, rel, what, owner)
    for check, count in listed.items():
        if count > MAX_LISTED:
            yield view.finding(
                check, None, f"... and {count - MAX_LISTED} more such members",
                "Start again from the pre-release tarball and change only your distro's files.",
            )


def _scope_finding(view: SourceView, check: str, rel: str, what: str, owner: str | None) -> Finding:
    own = " or ".join(view.roots)
    if check == "existing-distro-modified":
        return view.finding(
            check, shown(rel),
            f"{shown(rel)} belongs to the {owner} distro and was {what}",
            f"Leave other distros' files as the pre-release has them; yours go under {own}.",
        )
    return view.finding(
        check, shown(rel),
        f"{shown(rel)} is outside {own} and was {what}",
        f"Revert it to the pre-release's version; send upstream fixes to the project instead. "
        f"Only {own} may change.",
    )


def _changes(view: SourceView, parents: set[str]) -> Iterator[tuple[str, str]]:
    """(relative path, what happened) for every member that differs from the reference."""
    ref: dict[str, Any] = (view.reference or {}).get("members", {})
    for rel, member in sorted(view.members.items()):
        if not rel or (rel in parents and member.type == "dir"):
            continue
        if view.reference is None:
            if view.shape == "bundle":
                yield rel, "added (a bundle holds only the distro's directories)"
            continue
        old = ref.get(rel)
        if old is None:
            yield rel, "added"
            continue
        diff = entry_changes(old, member.manifest_entry())
        if diff:
            yield rel, "changed (" + ", ".join(diff) + ")"
    if view.reference is not None and view.shape == "package":
        for rel in sorted(set(ref) - set(view.members)):
            yield rel, "removed"

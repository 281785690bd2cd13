"""Links of a distro's directories stay in them: a hard link's content must be the distro's own,
and no link may lead into another distro's directory."""

from __future__ import annotations

import posixpath
from collections.abc import Iterator

from ..findings import Finding
from ..names import normalise, quoted, shown
from ..registry import check
from ..view import SourceView, owner_distro, roots_pattern


@check("archive-unsafe-link")
def distro_links(view: SourceView) -> Iterator[Finding]:
    pattern = roots_pattern(view.policy)
    for rel, m in view.members.items():
        if m.type not in ("symlink", "hardlink"):
            continue
        owner = owner_distro(pattern, rel)
        if owner is None:
            continue
        if m.type == "hardlink":
            target = normalise(m.linkname)
            if view.root and target.startswith(view.root + "/"):
                target = target[len(view.root) + 1:]
        else:
            target = posixpath.normpath(posixpath.join(posixpath.dirname(rel), m.linkname))
        target_owner = owner_distro(pattern, target)
        if target_owner == owner or (m.type == "symlink" and target_owner is None):
            continue
        where = (f"the {target_owner} distro's directory" if target_owner is not None
                 else f"outside the {owner} distro's directories")
        yield view.finding(
            "archive-unsafe-link", shown(rel),
            f"{'hard' if m.type == 'hardlink' else 'symbolic'} link {quoted(rel)} -> "
            f"{quoted(m.linkname)} leads into {where}: a distro's links must stay in its own "
            "directories, or its files would be another distro's (or change with them)",
            f"Copy the file into {' or '.join(view.policy.roots_for(owner))} instead of linking to it.",
        )

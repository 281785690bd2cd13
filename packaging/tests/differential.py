"""The differential property, shared by the tests and the long fuzzing run.

When bundlecheck passes an archive (no error finding of the archive-safety kind),
GNU tar and bsdtar both extract it with exit status 0, extract the same tree,
and that tree is exactly the one bundlecheck reported: the same paths, types,
sizes, sha256 and link targets.  When the whole verification passes, every
member is inside the distro's directories and no link of the distro leads into
another distro's files.
"""

from __future__ import annotations

import hashlib
import io
import os
import posixpath
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bundlecheck

POLICY = bundlecheck.load_policy("convirt")
EXTRACT_TIMEOUT = 30
Tree = dict[str, tuple[Any, ...]]

#: Default options, as a packager would run them; owners are not restored, so
#: that running the tests as root extracts what a user would.
EXTRACTORS = {
    "gnu-tar": ["tar", "--no-same-owner", "-xf"],
    "bsdtar": ["bsdtar", "--no-same-owner", "-xf"],
}


def missing_extractors() -> list[str]:
    return [name for name, cmd in EXTRACTORS.items() if shutil.which(cmd[0]) is None]


class PropertyFailure(AssertionError):
    """One of the property's assertions, named by ``which``."""

    def __init__(self, which: str, detail: str):
        super().__init__(f"{which}: {detail}")
        self.which = which


@dataclass
class Extracted:
    status: int
    stderr: str
    tree: Tree
    links: dict[str, set[str]]  # path -> the other paths sharing its inode


def extract(tool: str, archive: Path, dest: Path) -> Extracted:
    dest.mkdir()
    env = {**os.environ, "LC_ALL": "C.UTF-8"}
    proc = subprocess.run([*EXTRACTORS[tool], str(archive), "-C", str(dest)], capture_output=True,
                          timeout=EXTRACT_TIMEOUT, env=env, check=False)
    tree, links = read_tree(dest)
    return Extracted(proc.returncode, proc.stderr.decode("utf-8", "replace")[-2000:], tree, links)


def read_tree(root: Path) -> tuple[Tree, dict[str, set[str]]]:
    tree: Tree = {}
    inodes: dict[tuple[int, int], list[str]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, root)
            st = os.lstat(full)
            if os.path.islink(full):
                tree[rel] = ("symlink", os.readlink(full))
            elif os.path.isdir(full):
                tree[rel] = ("dir",)
            elif os.path.isfile(full):
                with open(full, "rb") as f:
                    digest = hashlib.sha256(f.read()).hexdigest()
                tree[rel] = ("file", st.st_size, digest)
                inodes.setdefault((st.st_dev, st.st_ino), []).append(rel)
            else:
                tree[rel] = ("other",)
    links = {p: set(group) - {p} for group in inodes.values() if len(group) > 1 for p in group}
    return tree, links


def _norm(path: str) -> str:
    return "/".join(p for p in path.split("/") if p not in ("", "."))


def reported_tree(data: bytes) -> Tree:
    """The tree bundlecheck says the archive holds, from its public manifest."""
    manifest = bundlecheck.build_manifest(io.BytesIO(data), policy=POLICY)
    root = manifest["root"]
    entries: dict[str, dict[str, Any]] = {}
    if root:
        entries[root] = {"type": "dir"}
    for rel, entry in manifest["members"].items():
        entries[f"{root}/{rel}" if root else rel] = entry
    tree: Tree = {}
    for path, entry in entries.items():
        kind = entry["type"]
        if kind == "file":
            tree[path] = ("file", entry["size"], entry["sha256"])
        elif kind == "dir":
            tree[path] = ("dir",)
        elif kind == "symlink":
            tree[path] = ("symlink", entry["linkname"])
        elif kind == "hardlink":
            target = entries.get(_norm(entry["linkname"] or ""), {})
            tree[path] = ("file", target.get("size"), target.get("sha256"))
        else:
            tree[path] = (kind,)
    for path in list(tree):  # parents a tar need not list, which extraction creates
        parts = path.split("/")
        for i in range(1, len(parts)):
            tree.setdefault("/".join(parts[:i]), ("dir",))
    tree.pop("", None)
    return tree


_ROOT_DIR = re.compile(r"convirt-[^/]*")


def _relative(path: str) -> str:
    first, _, rest = path.partition("/")
    return rest if _ROOT_DIR.fullmatch(first) else path


def _owner(rel: str) -> str | None:
    for template in POLICY.contribution_roots:
        before, _, after = template.partition("{distro}")
        if rel.startswith(before):
            name = rel[len(before):].split("/", 1)[0]
            rest = rel[len(before) + len(name):]
            if name and (rest + "/").startswith(after.rstrip("/") + "/" if after.strip("/") else "/"):
                return name
    return None


def _parents() -> set[str]:
    parents = set()
    for template in POLICY.contribution_roots:
        head = template.partition("{distro}")[0].strip("/").split("/")
        parents.update("/".join(head[:i]) for i in range(1, len(head) + 1))
    return parents


def inside_distro(extracted: Extracted, distro: str, *, bundle: bool) -> None:
    parents = _parents()
    for path, entry in sorted(extracted.tree.items()):
        rel = _relative(path)
        if not rel:
            continue
        owner = _owner(rel)
        if bundle and owner != distro and rel not in parents:
            raise PropertyFailure("inside-distro", f"{path} is outside {distro}'s directories")
        if owner != distro:
            continue
        if entry[0] == "symlink":
            resolved = _relative(posixpath.normpath(posixpath.join(posixpath.dirname(path), entry[1])))
            if _owner(resolved) not in (None, distro):
                raise PropertyFailure("inside-distro", f"symlink {path} leads into {resolved}")
        for other in extracted.links.get(path, ()):
            if _owner(_relative(other)) != distro:
                raise PropertyFailure("inside-distro", f"{path} is a hard link to {other}")


def check(data: bytes, *, distro: str = "ubuntu", reference: dict[str, Any] | None = None,
          workdir: Path | None = None) -> str:
    """Assert the property for ``data``; return 'refused' or 'passed'."""
    report = bundlecheck.verify(io.BytesIO(data), distro=distro, policy=POLICY, reference=reference)
    safety = [f for f in report.findings if f.severity == "error" and f.check.startswith("archive-")]
    if safety:
        return "refused"
    try:
        reported = reported_tree(data)
    except bundlecheck.ArchiveError as exc:
        raise PropertyFailure("consistent", f"verify passed but build_manifest refused: {exc.message}") \
            from None
    with tempfile.TemporaryDirectory(dir=workdir) as scratch:
        archive = Path(scratch) / "archive"
        archive.write_bytes(data)
        results = {tool: extract(tool, archive, Path(scratch) / tool) for tool in EXTRACTORS}
    for tool, result in results.items():
        if result.status != 0:
            raise PropertyFailure("extractors-exit-0", f"{tool} exit {result.status}: {result.stderr}")
    (a, ra), (b, rb) = results.items()
    if ra.tree != rb.tree:
        raise PropertyFailure("extractors-agree", f"{a}: {_diff(ra.tree, rb.tree)} vs {b}")
    if ra.tree != reported:
        raise PropertyFailure("tree-is-reported", f"extracted vs reported: {_diff(ra.tree, reported)}")
    if report.verdict == "pass":
        for result in results.values():
            inside_distro(result, distro, bundle=_is_bundle_shape(reported))
    return "passed"


def _is_bundle_shape(tree: Tree) -> bool:
    parents = _parents()
    rels = [_relative(p) for p in tree if not _ROOT_DIR.fullmatch(p)]
    return all(_owner(r) is not None or r in parents for r in rels)


def _diff(x: Tree, y: Tree) -> str:
    only_x = sorted(set(x) - set(y))[:5]
    only_y = sorted(set(y) - set(x))[:5]
    changed = sorted(p for p in set(x) & set(y) if x[p] != y[p])[:5]
    return f"only in first {only_x}, only in second {only_y}, different {[(p, x[p], y[p]) for p in changed]}"

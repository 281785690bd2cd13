"""Binary packages against the guide's deployment layout, modes, symlink and prerequisites."""

from __future__ import annotations

import fnmatch
import posixpath
from collections.abc import Iterator

from ..findings import Finding
from ..policy import Deployment, fill_distro
from ..recipes import Reading
from ..registry import check
from ..view import PackageView
from .prereqs import evaluate

MAX_LISTED = 50


def _exists(files: dict, target: str) -> bool:
    t = target.rstrip("/")
    return t in files or any(p.startswith(t + "/") for p in files)


@check("deploy-missing-path", phase="binary")
def missing_paths(view: PackageView) -> Iterator[Finding]:
    dep, files = view.policy.deployment, view.package.files
    if dep is None or not view.package.files_known:
        return
    wanted = [(m.target, f"{m.source}*") for m in dep.tree if m.required]
    wanted += [(m.target, fill_distro(m.source, view.distro)) for m in dep.files if m.required]
    wanted += [(c.path, "") for c in dep.critical if c.required and "*" not in c.path]
    for target, source in wanted:
        accepted = (target, *dep.alternatives(target))
        if not any(_exists(files, place) for place in accepted):
            whence = f" (from {source} in the source package)" if source else ""
            where = " or ".join(accepted)
            yield view.finding("deploy-missing-path", target,
                               f"the package does not install {where}{whence}",
                               f"Install it as the guide's deployment layout says: {source or target} "
                               f"--> {where}.")


@check("deploy-mode-mismatch", phase="binary")
def modes(view: PackageView) -> Iterator[Finding]:
    dep, files = view.policy.deployment, view.package.files
    if dep is None or not view.package.files_known:
        return
    rules = [(c.path, c.mode) for c in dep.critical] + [(f.target, f.mode) for f in dep.files]
    for path, member in sorted(files.items()):
        if member.type != "file":
            continue
        expected = next((mode for pattern, mode in rules if fnmatch.fnmatchcase(path, pattern)), None)
        if expected is not None and member.mode != expected:
            yield view.finding("deploy-mode-mismatch", path,
                               f"{path} has mode {member.mode:04o}; the guide says {expected:04o}",
                               f"Install it with mode {expected:04o} (install -m {expected:04o}).")
        elif expected is None and member.mode & 0o022 and _in_tree(dep, path):
            yield view.finding("deploy-mode-mismatch", path,
                               f"{path} has mode {member.mode:04o}: writable by group or others",
                               "Install application files 0644 (0755 for executables).")


def _in_tree(dep: Deployment, path: str) -> bool:
    return any(path.startswith(m.target) for m in dep.tree)


@check("deploy-symlink-missing", phase="binary")
def symlinks(view: PackageView) -> Iterator[Finding]:
    dep, files = view.policy.deployment, view.package.files
    if dep is None or not view.package.files_known:
        return
    for rule in dep.symlinks:
        member = files.get(rule.path)
        if member is None or member.type != "symlink":
            yield view.finding("deploy-symlink-missing", rule.path,
                               f"the package does not create the symbolic link {rule.path} -> {rule.target}",
                               f"Ship it in the package: ln -s {rule.target} {rule.path} (not only from "
                               "a post-install script).")
            continue
        target = posixpath.normpath(posixpath.join(posixpath.dirname(rule.path), member.linkname))
        if target != rule.target.rstrip("/"):
            yield view.finding("deploy-symlink-missing", rule.path,
                               f"{rule.path} points to {member.linkname}, not {rule.target}",
                               f"Point it at {rule.target}.")


@check("deploy-unexpected-path", phase="binary")
def unexpected(view: PackageView) -> Iterator[Finding]:
    dep, files = view.policy.deployment, view.package.files
    if dep is None or not view.package.files_known:
        return
    expected = [m.target.rstrip("/") for m in dep.tree] + [f.target for f in dep.files]
    expected += [s.path for s in dep.symlinks]
    listed = 0
    for path in sorted(files):
        if any(path == e or path.startswith(e + "/") or e.startswith(path + "/") for e in expected):
            continue  # inside the layout, or one of its parent directories
        if any(fnmatch.fnmatchcase(path, pat) or fnmatch.fnmatchcase(path + "/", pat) for pat in dep.allowed):
            continue
        listed += 1
        if listed <= MAX_LISTED:
            yield view.finding("deploy-unexpected-path", path,
                               f"the package installs {path}, outside the guide's deployment layout",
                               "Move it under the layout's directories, or tell upstream why it is needed.")
    if listed > MAX_LISTED:
        yield view.finding("deploy-unexpected-path", None, f"... and {listed - MAX_LISTED} more",
                           "Compare the package's file list with the guide's deployment layout.")


@check("prereq-missing", "prereq-version-too-low", "prereq-unversioned", phase="binary")
def package_prerequisites(view: PackageView) -> Iterator[Finding]:
    field_name = "Depends" if view.package.kind == "deb" else "Requires"
    yield from evaluate(view.policy, view.package.family, Reading(view.package.groups),
                        f"{field_name} of the package", view.finding)

"""The check registry: every finding id, its default severity and description.

Ids are declared once, here, so that the portal's docs page and the policy
validator see the full list without importing the check modules.  A check
function registers with the ids it may emit; an undeclared or duplicated id is a
programming error and raises :class:`RegistryError` at import time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .errors import RegistryError
from .findings import SEVERITIES, Severity

_DECLARED: list[tuple[str, Severity, str]] = [
    # Archive safety (found while streaming).
    ("archive-unreadable", "error", "not a tar archive (plain, gzip, bzip2 or xz), .deb or .rpm"),
    ("archive-corrupt", "error", "the archive or its compression breaks before its end"),
    ("archive-trailing-data", "error", "data after the end of the archive (e.g. a hidden tar)"),
    ("archive-unsafe-path", "error", "absolute member name or one that climbs out with '..'"),
    ("archive-unsafe-link", "error", "link leaving the tree, or a member written through a link"),
    ("archive-special-file", "error", "device, FIFO, sparse or unsupported member type"),
    ("archive-unsafe-mode", "error", "setuid/setgid/sticky or world-writable member"),
    ("archive-duplicate-member", "error", "the same member name appears twice"),
    ("archive-bad-name", "error", "member name not UTF-8 or holding control characters"),
    ("archive-too-large", "error", "size, ratio, member count or path length over the limits"),
    # Layout, compared with the reference.
    ("layout-single-root", "error", "not one top-level directory, or not the expected one"),
    ("distro-dir-missing", "error", "the distro's own directory (distros/NAME/) is missing"),
    ("contribution-outside-distro", "error", "member added, removed or changed outside the distro"),
    ("existing-distro-modified", "error", "another distro's files were touched"),
    ("reference-missing", "info", "no reference given: changes outside the distro not checked"),
    # Distro files.
    ("config-missing", "error", "the distro's convirt.conf is missing"),
    ("config-unparsable", "error", "convirt.conf cannot be parsed"),
    ("config-exec-path-missing", "error", "[PATHS] exec_path is not set"),
    ("config-exec-path-incomplete", "error", "exec_path does not reach every tool ConVirt runs"),
    ("config-html-browser-missing", "error", "[CLIENT CONFIGURATION] html_browser is not set"),
    ("config-key-missing", "error", "a key the policy requires is not set"),
    ("member-too-large-to-inspect", "warning", "a distro file is too large to be read by checks"),
    ("script-not-executable", "error", "pre/post install script without execute permission"),
    ("script-no-shebang", "error", "pre/post install script without a #! line"),
    ("script-lint", "warning", "shellcheck reports a problem in a pre/post install script"),
    ("shellcheck-unavailable", "info", "shellcheck is not installed: scripts were not linted"),
    # Prerequisites.
    ("recipe-missing", "warning", "no .spec, debian/control, PKGBUILD or .ebuild to read"),
    ("prereq-missing", "error", "a prerequisite of the guide is not required by the package"),
    ("prereq-version-too-low", "error", "a prerequisite is required at a version below the minimum"),
    ("prereq-unversioned", "warning", "a prerequisite is required without its minimum version"),
    ("paramiko-patch-missing", "warning", "neither the paramiko patch nor a fixed paramiko"),
    # Binary packages.
    ("deploy-missing-path", "error", "a path of the deployment layout is not in the package"),
    ("deploy-mode-mismatch", "error", "a deployed file has a mode other than the guide's"),
    ("deploy-symlink-missing", "error", "the /usr/bin symlink is missing or points elsewhere"),
    ("deploy-unexpected-path", "warning", "the package installs outside the deployment layout"),
    ("package-part-unsupported", "warning", "a .deb part is compressed in a way not read"),
    # Advice.
    ("image-store-missing", "info", "no provisionable image for the distro in image_store/"),
    # The engine itself.
    ("check-crashed", "error", "a check raised an exception; the run went on without it"),
]


def _build_table(rows: Iterable[tuple[str, Severity, str]]) -> dict[str, tuple[Severity, str]]:
    table: dict[str, tuple[Severity, str]] = {}
    for check_id, severity, description in rows:
        if check_id in table:
            raise RegistryError(f"check id {check_id!r} is declared twice")
        if severity not in SEVERITIES:
            raise RegistryError(f"check id {check_id!r} has unknown severity {severity!r}")
        table[check_id] = (severity, description)
    return table


#: id -> (default severity, short description); the portal's docs page reads this.
CHECKS: dict[str, tuple[Severity, str]] = _build_table(_DECLARED)


@dataclass(frozen=True, slots=True)
class RegisteredCheck:
    name: str
    phase: str  # "source" (a source tree) or "binary" (a .deb/.rpm)
    ids: frozenset[str]
    func: Callable[[Any], Iterable[Any]]


_FUNCTIONS: dict[str, RegisteredCheck] = {}
PHASES = ("source", "binary")


def register(*ids: str, phase: str = "source") -> Callable[[Callable[..., Any]], Any]:
    """Register a check function that may emit ``ids``; fail loudly on mistakes."""

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        name = f"{func.__module__.rsplit('.', 1)[-1]}.{func.__name__}"
        unknown = [i for i in ids if i not in CHECKS]
        if unknown:
            raise RegistryError(f"check {name} emits undeclared id(s) {unknown}")
        if phase not in PHASES:
            raise RegistryError(f"check {name} has unknown phase {phase!r}")
        if name in _FUNCTIONS:
            raise RegistryError(f"check {name} is registered twice")
        _FUNCTIONS[name] = RegisteredCheck(name, phase, frozenset(ids), func)
        return func

    return decorate


def registered(phase: str) -> list[RegisteredCheck]:
    return [c for c in _FUNCTIONS.values() if c.phase == phase]

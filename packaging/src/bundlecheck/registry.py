"""The check catalogue and the registry that runs checks.

Ids are declared once, here, so that the portal's docs page and the policy
validator see the full list without importing the check modules.  A check
function is marked with :func:`check` and the ids it may emit; marking has no
side effect.  A :class:`Registry` is built from those functions (the default
one by :func:`bundlecheck.checks.default_registry`, when the library is
imported) and refuses, when it is built, an undeclared id, an unknown phase or a
check listed twice: a programming error fails at start-up, not in a verification.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from .errors import RegistryError, is_passthrough
from .findings import SEVERITIES, Finding, Severity

_DECLARED: list[tuple[str, Severity, str]] = [
    # Archive safety (found while streaming).
    ("archive-unreadable", "error", "not a tar archive (plain, gzip, bzip2, xz or zstd), .deb or .rpm, "
     "or an empty one"),
    ("archive-corrupt", "error", "the archive or its compression breaks before its end"),
    ("archive-trailing-data", "error", "data after the end of the archive (e.g. a hidden tar)"),
    ("archive-unsafe-path", "error", "absolute member name or one that climbs out with '..'"),
    ("archive-unsafe-link", "error",
     "link leaving the tree or the distro's directories, or a member written through a link"),
    ("archive-special-file", "error", "device, FIFO, sparse, volume or unsupported member type"),
    ("archive-ambiguous-header", "error",
     "a tar header GNU tar and bsdtar could read differently (name, size, link or type)"),
    ("archive-unsafe-mode", "error", "setuid/setgid/sticky or world-writable member"),
    ("archive-duplicate-member", "error", "the same member name appears twice"),
    ("archive-bad-name", "error", "member name not UTF-8 or holding control characters"),
    ("archive-too-large", "error", "size, ratio, member count or path length over the limits"),
    # Layout, compared with the reference.
    ("layout-single-root", "error", "not one top-level directory, or not the expected one"),
    ("distro-dir-missing", "error", "the distro's own directory (the policy's distro_dir) is missing"),
    ("contribution-outside-distro", "error", "member added, removed or changed outside the distro"),
    ("existing-distro-modified", "error", "another distro's files were touched"),
    ("reference-missing", "info", "no reference given: changes outside the distro not checked"),
    # Distro files.
    ("config-missing", "error", "the distro's configuration file is missing"),
    ("config-unparsable", "error", "the distro's configuration file cannot be parsed"),
    ("config-exec-path-missing", "error", "the configuration does not set the tools' search path"),
    ("config-exec-path-incomplete", "error",
     "the configuration's search path does not reach every tool the policy names"),
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
    ("prereq-unread", "info",
     "a recipe holds a macro, substvar or command the engine cannot read: checked by hand"),
    ("prereq-patch-missing", "warning",
     "a prerequisite with a known bug is neither patched nor required at a fixed version"),
    # Binary packages.
    ("deploy-missing-path", "error", "a path of the deployment layout is not in the package"),
    ("deploy-mode-mismatch", "error", "a deployed file has a mode other than the guide's"),
    ("deploy-symlink-missing", "error",
     "a symbolic link of the deployment layout is missing or points elsewhere"),
    ("deploy-unexpected-path", "warning", "the package installs outside the deployment layout"),
    ("package-part-unsupported", "warning", "a .deb part is compressed in a way not read"),
    ("lintian-unavailable", "info", "lintian is not installed: the .deb was not linted"),
    ("lintian-failed", "warning", "lintian could not finish (failed or past the time limit)"),
    ("rpmlint-unavailable", "info", "rpmlint is not installed: the .rpm was not linted"),
    ("rpmlint-failed", "warning", "rpmlint could not finish (failed or past the time limit)"),
    # Advice.
    ("image-store-missing", "info", "no provisionable image for the distro in the policy's image store"),
    # The engine itself.
    ("check-crashed", "error", "a check raised an exception; the run went on without it"),
    ("findings-omitted", "info", "more findings than a report lists (1000); how many were left out"),
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
#: Families of ids made by an external tool, prefix -> description: 'lintian:<tag>'
#: carries the tool's own severity.
#: Checks no policy may lower below error, id -> why: each stands between the portal and
#: an archive that is unsafe to unpack or that was not fully read or checked.
PINNED: dict[str, str] = {
    **{check_id: "it refuses an archive that is unsafe to unpack, or that the checks cannot read in "
       "full (" + description + ")"
       for check_id, (_, description) in CHECKS.items() if check_id.startswith("archive-")},
    "check-crashed": "it marks a check that did not run, so the archive was not fully checked",
}
FAMILIES: dict[str, str] = {"lintian:": "a lintian tag on the .deb, with lintian's severity",
                             "rpmlint:": "an rpmlint check on the .rpm, with rpmlint's severity"}


def is_family_id(check_id: str) -> bool:
    return any(check_id.startswith(p) and len(check_id) > len(p) for p in FAMILIES)


PHASES = ("source", "binary")
_SPEC = "__bundlecheck_check__"


@dataclass(frozen=True, slots=True)
class RegisteredCheck:
    name: str
    phase: str  # "source" (a source tree) or "binary" (a .deb/.rpm)
    ids: frozenset[str]
    func: Callable[[Any], Iterable[Finding]]
    declared: bool = False  # may also emit the ids its view's policy declares ([[checks]])


def check(*ids: str, phase: str = "source",
          declared: bool = False) -> Callable[[Callable[..., Any]], Any]:
    """Mark a check function that may emit ``ids`` (and, with ``declared``, the ids the
    policy declares); a :class:`Registry` validates the mark."""

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        setattr(func, _SPEC, (tuple(ids), phase, declared))
        return func

    return decorate


def _name(func: Callable[..., Any]) -> str:
    return f"{func.__module__.rsplit('.', 1)[-1]}.{func.__name__}"


def spec(func: Callable[..., Any], *, name: str | None = None) -> RegisteredCheck:
    """The RegisteredCheck of a function marked with :func:`check`."""
    marked = getattr(func, _SPEC, None)
    if marked is None:
        raise RegistryError(f"{_name(func)} is not marked with @check")
    ids, phase, declared = marked
    return RegisteredCheck(name or _name(func), phase, frozenset(ids), func, declared)


class Registry:
    """The checks a verification runs, validated once against the catalogue."""

    def __init__(self, checks: Iterable[RegisteredCheck],
                 catalogue: dict[str, tuple[Severity, str]] = CHECKS):
        self.catalogue = catalogue
        self._checks: dict[str, RegisteredCheck] = {}
        for c in checks:
            unknown = sorted(i for i in c.ids if i not in catalogue)
            if unknown:
                raise RegistryError(f"check {c.name} emits undeclared id(s) {unknown}")
            if c.phase not in PHASES:
                raise RegistryError(f"check {c.name} has unknown phase {c.phase!r}")
            if c.name in self._checks:
                raise RegistryError(f"check {c.name} is registered twice")
            self._checks[c.name] = c

    @classmethod
    def from_modules(cls, modules: Sequence[ModuleType]) -> Registry:
        """Every function marked with @check in ``modules``, in definition order."""
        found = [spec(obj) for module in modules for obj in vars(module).values()
                 if callable(obj) and hasattr(obj, _SPEC) and obj.__module__ == module.__name__]
        return cls(found)

    def with_checks(self, *extra: RegisteredCheck) -> Registry:
        """A new registry: these checks and ``extra`` (for tests and plug-ins)."""
        return Registry([*self._checks.values(), *extra], self.catalogue)

    def checks(self, phase: str) -> list[RegisteredCheck]:
        return [c for c in self._checks.values() if c.phase == phase]

    def __len__(self) -> int:
        return len(self._checks)

    def run(self, phase: str, view: Any) -> list[Finding]:
        """Run every check of ``phase``; a check that raises becomes one check-crashed finding."""
        out: list[Finding] = []
        for c in self.checks(phase):
            try:
                found = list(c.func(view))
                own = view.policy.declared if c.declared else {}
                stray = sorted({f.check for f in found if f.check not in c.ids and f.check not in own})
                if stray:
                    raise RuntimeError(f"emitted ids it did not register: {stray}")
            except Exception as exc:  # a buggy check must not sink the run
                if is_passthrough(exc):
                    raise
                out.append(Finding(
                    "check-crashed", self.catalogue["check-crashed"][0], None,
                    f"check {c.name} crashed ({type(exc).__name__}: {exc}); "
                    "its findings are missing from this report",
                    "This is a fault in the checker, not in your package: report it to the release "
                    "managers. The other checks ran.",
                ))
                continue
            out.extend(found)
        return out

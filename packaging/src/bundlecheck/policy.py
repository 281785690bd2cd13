"""Load and validate a policy: the upstream project's packaging rules as data."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field, fields
from importlib import resources
from pathlib import Path
from typing import Any

from .errors import PolicyError
from .findings import SEVERITIES, Severity
from .limits import Limits
from .registry import CHECKS

RECIPE_KINDS = ("rpm", "deb", "arch", "gentoo")


@dataclass(frozen=True)
class Prereq:
    name: str
    aliases: tuple[str, ...]
    min_version: str | None = None


@dataclass(frozen=True)
class RequiredKey:
    section: str
    key: str
    check: str = "config-key-missing"


@dataclass(frozen=True)
class ExecPath:
    section: str
    key: str
    tools: dict[str, tuple[str, ...]]
    variables: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ConfigRules:
    file: str
    locations: tuple[str, ...]
    exec_path: ExecPath | None = None
    required: tuple[RequiredKey, ...] = ()


@dataclass(frozen=True)
class PatchedPrereq:
    prereq: str
    fixed_version: str
    patch_pattern: re.Pattern[str]


@dataclass(frozen=True)
class TreeMapping:
    source: str
    target: str
    mode: int
    required: bool = True
    # Installing here instead of at that (required) target is accepted too.
    alternative_to: str | None = None


@dataclass(frozen=True)
class ModeRule:
    path: str  # may hold * globs
    mode: int
    required: bool = True


@dataclass(frozen=True)
class SymlinkRule:
    path: str
    target: str


@dataclass(frozen=True)
class Deployment:
    tree: tuple[TreeMapping, ...] = ()
    files: tuple[TreeMapping, ...] = ()
    critical: tuple[ModeRule, ...] = ()
    symlinks: tuple[SymlinkRule, ...] = ()
    allowed: tuple[str, ...] = ()

    def alternatives(self, target: str) -> tuple[str, ...]:
        """The targets accepted instead of a required one."""
        return tuple(m.target for m in self.tree if m.alternative_to == target)


@dataclass(frozen=True)
class Policy:
    name: str
    description: str
    root: str  # glob of the top-level directory of a full source package
    contribution_roots: tuple[str, ...]  # with {distro}
    distro_dir: str
    limits: Limits = field(default_factory=Limits)
    severity: dict[str, Severity] = field(default_factory=dict)
    config: ConfigRules | None = None
    script_patterns: tuple[str, ...] = ()
    lint_scripts: bool = True
    recipes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    prereqs: tuple[Prereq, ...] = ()
    patched_prereq: PatchedPrereq | None = None
    image_store: str | None = None
    deployment: Deployment | None = None
    #: Linter tags ('lintian:<tag>', 'rpmlint:<check>') that block acceptance (error) ...
    linters_blocking: frozenset[str] = frozenset()
    #: ... and those that never do (at most a warning), whatever the tool says.
    linters_advisory: frozenset[str] = frozenset()

    def roots_for(self, distro: str) -> tuple[str, ...]:
        return tuple(r.format(distro=distro) for r in self.contribution_roots)

    def severity_of(self, check: str, default: Severity | None = None) -> Severity:
        """The policy's severity for ``check``; for a family id ('lintian:tag'), ``default``
        (the tool's own) unless the policy names it."""
        if check not in CHECKS and default is not None:
            if check in self.linters_blocking:
                return "error"
            if check in self.linters_advisory and default == "error":
                return "warning"
            return default
        return self.severity.get(check, CHECKS[check][0])


# --- loading -------------------------------------------------------------------


def load_policy(name_or_path: str | Path) -> Policy:
    """Load a shipped policy by name (``"convirt"``) or a policy file by path."""
    text, origin = _read(name_or_path)
    return parse_policy(text, origin)


def parse_policy(text: str, origin: str = "policy") -> Policy:
    """Parse and validate policy text (TOML), as stored by the portal or read from a file."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"policy {origin}: not valid TOML: {exc}") from None
    try:
        return _build(data)
    except PolicyError as exc:
        raise PolicyError(f"policy {origin}: {exc}") from None


def shipped_policies() -> list[str]:
    folder = resources.files("bundlecheck") / "policies"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


def _read(name_or_path: str | Path) -> tuple[str, str]:
    candidate = Path(name_or_path)
    if candidate.suffix == ".toml" or "/" in str(name_or_path):
        try:
            return candidate.read_text(encoding="utf-8"), str(candidate)
        except (OSError, UnicodeDecodeError) as exc:
            raise PolicyError(f"cannot read policy file {candidate}: {exc}") from None
    name = str(name_or_path)
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", name) or name not in shipped_policies():
        raise PolicyError(
            f"no shipped policy named {name!r} (shipped: {', '.join(shipped_policies())}); "
            "give a path to a .toml file for your own"
        )
    res = resources.files("bundlecheck") / "policies" / f"{name}.toml"
    return res.read_text(encoding="utf-8"), name


class _Table:
    """Typed access to one TOML table that refuses unknown keys (typos fail loudly)."""

    def __init__(self, data: Any, where: str):
        if not isinstance(data, dict):
            raise PolicyError(f"{where} must be a table")
        self.data, self.where, self.used = data, where, set()

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = ..., ) -> Any:
        self.used.add(key)
        if key not in self.data:
            if default is ...:
                raise PolicyError(f"{self.where}: missing required key {key!r}")
            return default
        value = self.data[key]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise PolicyError(f"{self.where}.{key}: expected {_kind_name(kind)}")
        return value

    def strings(self, key: str, default: Any = ...) -> tuple[str, ...]:
        value = self.get(key, list, default)
        if value is default and default is not ...:
            return tuple(default)
        if not all(isinstance(v, str) and v for v in value):
            raise PolicyError(f"{self.where}.{key}: expected a list of non-empty strings")
        return tuple(value)

    def done(self) -> None:
        extra = set(self.data) - self.used
        if extra:
            raise PolicyError(f"{self.where}: unknown key(s) {sorted(extra)}")


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join({"str": "a string", "list": "a list", "dict": "a table", "int": "an integer",
                        "bool": "true/false", "float": "a number"}.get(k.__name__, k.__name__)
                       for k in kinds)


def _mode(text: str, where: str) -> int:
    if not re.fullmatch(r"0?[0-7]{3,4}", text):
        raise PolicyError(f"{where}: mode {text!r} is not an octal mode like '0644'")
    return int(text, 8)


def _build(data: dict[str, Any]) -> Policy:
    top = _Table(data, "policy")
    if top.get("schema", int) != 1:
        raise PolicyError("schema must be 1")
    name = top.get("name", str)
    description = top.get("description", str, "")
    layout = _Table(top.get("layout", dict), "[layout]")
    roots = layout.strings("contribution_roots")
    for r in roots:
        if "{distro}" not in r or not r.endswith("/"):
            raise PolicyError(f"[layout].contribution_roots: {r!r} must hold {{distro}} and end in /")
    policy = Policy(
        name=name,
        description=description,
        root=layout.get("root", str),
        contribution_roots=roots,
        distro_dir=layout.get("distro_dir", str),
        limits=_limits(top.get("limits", dict, {})),
        severity=_severity(top.get("severity", dict, {})),
        config=_config(top.get("config", dict, None)),
        script_patterns=_scripts(top, "patterns", ()),
        lint_scripts=_scripts(top, "lint", True),
        recipes=_recipes(top.get("recipes", dict, {})),
        prereqs=_prereqs(top.get("prereqs", list, [])),
        patched_prereq=_patched(top.get("patched_prereq", dict, None)),
        image_store=_Table(top.get("advice", dict, {}), "[advice]").get("image_store", str, None),
        deployment=_deployment(top.get("deployment", dict, None)),
        **_linters(top.get("linters", dict, {})),
    )
    layout.done()
    top.used.add("scripts")
    top.done()
    if policy.patched_prereq and policy.patched_prereq.prereq not in {p.name for p in policy.prereqs}:
        raise PolicyError("[patched_prereq].prereq must name one of the [[prereqs]]")
    return policy


_LINTER_TAG = re.compile(r"(lintian:[a-z0-9][a-z0-9.+_-]*|rpmlint:[A-Za-z0-9][A-Za-z0-9._+-]*)")


def _linters(data: dict[str, Any]) -> dict[str, frozenset[str]]:
    """[linters]: blocking / advisory lists of 'lintian:<tag>' or 'rpmlint:<check>'."""
    t = _Table(data, "[linters]")
    out = {}
    for key in ("blocking", "advisory"):
        tags = t.strings(key, [])
        bad = [x for x in tags if not _LINTER_TAG.fullmatch(x)]
        if bad:
            raise PolicyError(f"[linters].{key}: {bad[0]!r} is not 'lintian:<tag>' or 'rpmlint:<check>'")
        out[f"linters_{key}"] = frozenset(tags)
    t.done()
    if out["linters_blocking"] & out["linters_advisory"]:
        raise PolicyError("[linters]: a tag is both blocking and advisory")
    return out


def _limits(data: dict[str, Any]) -> Limits:
    known = {f.name for f in fields(Limits)}
    unknown = set(data) - known
    if unknown:
        raise PolicyError(f"[limits]: unknown key(s) {sorted(unknown)}; known: {sorted(known)}")
    for key, value in data.items():
        if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
            raise PolicyError(f"[limits].{key}: expected a positive number")
    return Limits.from_mapping(data)


def _severity(data: dict[str, Any]) -> dict[str, Severity]:
    for check, sev in data.items():
        if check not in CHECKS:
            raise PolicyError(f"[severity]: unknown check id {check!r}")
        if sev not in SEVERITIES:
            raise PolicyError(f"[severity].{check}: must be one of {', '.join(SEVERITIES)}")
    return dict(data)


def _config(data: dict[str, Any] | None) -> ConfigRules | None:
    if data is None:
        return None
    t = _Table(data, "[config]")
    exec_path = None
    if (raw := t.get("exec_path", dict, None)) is not None:
        e = _Table(raw, "[config.exec_path]")
        tools_raw = e.get("tools", dict)
        tools = {}
        for tool, dirs in tools_raw.items():
            if not isinstance(dirs, list) or not all(isinstance(d, str) for d in dirs):
                raise PolicyError(f"[config.exec_path.tools].{tool}: expected a list of directories")
            tools[tool] = tuple(d.rstrip("/") or "/" for d in dirs)
        variables = e.get("variables", dict, {})
        exec_path = ExecPath(e.get("section", str), e.get("key", str), tools, dict(variables))
        e.done()
    required = []
    for i, item in enumerate(t.get("required", list, [])):
        r = _Table(item, f"[[config.required]] #{i + 1}")
        check = r.get("check", str, "config-key-missing")
        if check not in CHECKS:
            raise PolicyError(f"[[config.required]] #{i + 1}: unknown check id {check!r}")
        required.append(RequiredKey(r.get("section", str), r.get("key", str), check))
        r.done()
    rules = ConfigRules(t.get("file", str), t.strings("locations"), exec_path, tuple(required))
    t.done()
    return rules


def _scripts(top: _Table, key: str, default: Any) -> Any:
    data = top.data.get("scripts", {})
    t = _Table(data, "[scripts]")
    value = t.strings(key, list(default)) if key == "patterns" else t.get(key, bool, default)
    t.used |= {"patterns", "lint"}
    t.done()
    return value


def _recipes(data: dict[str, Any]) -> dict[str, tuple[str, ...]]:
    t = _Table(data, "[recipes]")
    out = {kind: t.strings(kind, []) for kind in RECIPE_KINDS}
    t.done()
    return {k: v for k, v in out.items() if v}


def _prereqs(items: list[Any]) -> tuple[Prereq, ...]:
    out = []
    for i, item in enumerate(items):
        t = _Table(item, f"[[prereqs]] #{i + 1}")
        out.append(Prereq(t.get("name", str), t.strings("aliases"), t.get("min_version", str, None)))
        t.done()
    names = [p.name for p in out]
    if len(set(names)) != len(names):
        raise PolicyError("[[prereqs]]: a name appears twice")
    return tuple(out)


def _patched(data: dict[str, Any] | None) -> PatchedPrereq | None:
    if data is None:
        return None
    t = _Table(data, "[patched_prereq]")
    try:
        pattern = re.compile(t.get("patch_pattern", str))
    except re.error as exc:
        raise PolicyError(f"[patched_prereq].patch_pattern: invalid regular expression: {exc}") from None
    rule = PatchedPrereq(t.get("prereq", str), t.get("fixed_version", str), pattern)
    t.done()
    return rule


def _deployment(data: dict[str, Any] | None) -> Deployment | None:
    if data is None:
        return None
    t = _Table(data, "[deployment]")

    def mappings(key: str) -> tuple[TreeMapping, ...]:
        out = []
        for i, item in enumerate(t.get(key, list, [])):
            m = _Table(item, f"[deployment].{key} #{i + 1}")
            alternative_to = m.get("alternative_to", str, None)
            out.append(TreeMapping(m.get("source", str), m.get("target", str),
                                   _mode(m.get("mode", str), m.where),
                                   m.get("required", bool, alternative_to is None), alternative_to))
            m.done()
        required_targets = {entry.target for entry in out if entry.required}
        for i, entry in enumerate(out):
            if entry.alternative_to is not None and entry.alternative_to not in required_targets:
                raise PolicyError(f"[deployment].{key} #{i + 1}: alternative_to "
                                  f"{entry.alternative_to!r} is not the target of a required mapping")
        return tuple(out)

    critical = []
    for i, item in enumerate(t.get("critical", list, [])):
        m = _Table(item, f"[deployment].critical #{i + 1}")
        critical.append(ModeRule(m.get("path", str), _mode(m.get("mode", str), m.where),
                                 m.get("required", bool, True)))
        m.done()
    symlinks = []
    for i, item in enumerate(t.get("symlinks", list, [])):
        m = _Table(item, f"[deployment].symlinks #{i + 1}")
        symlinks.append(SymlinkRule(m.get("path", str), m.get("target", str)))
        m.done()
    dep = Deployment(mappings("tree"), mappings("files"), tuple(critical), tuple(symlinks),
                     t.strings("allowed", []))
    t.done()
    return dep

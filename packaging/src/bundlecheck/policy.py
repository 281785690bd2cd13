"""Parse and validate a policy: the upstream project's packaging rules as data.

What a policy may hold is declared once, in :mod:`bundlecheck.policyspec`; this
module turns text into a :class:`Policy`, with every problem reported as a
:class:`~bundlecheck.errors.Problem` at its line and column.
"""

from __future__ import annotations

import fnmatch
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from . import policyspec
from .errors import PolicyError, Problem
from .findings import Finding, Severity
from .limits import Limits
from .patterns import Compiled, compile_pattern
from .recipes import Relation
from .registry import CHECKS, PINNED
from .tomlpos import Positions, syntax_error_position

RECIPE_KINDS = ("rpm", "deb", "arch", "gentoo")
#: A policy is a few kilobytes of TOML; text over this is refused before it is parsed.
MAX_POLICY_BYTES = 256 * 1024
#: Arrays and tables inside one another; the deepest key of the format is 4 down.
MAX_NESTING = 16


def fill_distro(template: str, distro: str) -> str:
    """``template`` (a contribution root, ``distro_dir``, a config location, a file's source)
    with each ``{distro}`` replaced by ``distro``.

    Plain text replacement, never ``str.format``: a policy's other braces must not
    be read as fields (the loader refuses them anyway), nor a distro's name as one.
    """
    return template.replace("{distro}", distro)


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
    patch_pattern: Compiled
    check: str = "prereq-patch-missing"


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
    #: per family: symbol (substvar, macro, variable, eclass) -> the relations it stands for
    provides: dict[str, dict[str, tuple[Relation, ...]]] = field(default_factory=dict)
    image_store: str | None = None
    deployment: Deployment | None = None
    #: Linter tags ('lintian:<tag>', 'rpmlint:<check>') that block acceptance (error) ...
    linters_blocking: frozenset[str] = frozenset()
    #: ... and those that never do (at most a warning), whatever the tool says.
    linters_advisory: frozenset[str] = frozenset()
    #: The policy's own checks ([[checks]]), id -> (default severity, description): the
    #: ids its rules report under beside the engine's catalogue (CHECKS).
    declared: dict[str, tuple[Severity, str]] = field(default_factory=dict)
    #: Globs of what release tools generate into a tarball ([generated] patterns) ...
    generated: tuple[str, ...] = policyspec.GENERATED_DEFAULT
    #: ... and of the binary files among them ([generated] binary).
    generated_binary: tuple[str, ...] = ()

    @property
    def catalogue(self) -> dict[str, tuple[Severity, str]]:
        """Every check id a report under this policy may hold: the engine's and its own."""
        return {**CHECKS, **self.declared}

    def finding(self, check: str, path: str | None, message: str, hint: str) -> Finding:
        """A finding of ``check`` (an id of the catalogue or one the policy declares) at
        the policy's severity."""
        if check not in CHECKS and check not in self.declared:
            raise KeyError(f"undeclared check id {check!r}")
        return Finding(check, self.severity_of(check), path, message, hint)

    def example_root(self) -> str:
        """A directory name matching ``root`` (``myproject-*`` -> ``myproject-1.0``), for hints."""
        name = re.sub(r"\[!?\^?([^\]])[^\]]*\]", r"\1", self.root)
        return name.replace("*", "1.0").replace("?", "x")

    def roots_for(self, distro: str) -> tuple[str, ...]:
        return tuple(fill_distro(r, distro) for r in self.contribution_roots)

    @staticmethod
    def for_distro(template: str, distro: str) -> str:
        """:func:`fill_distro`, for callers holding a Policy."""
        return fill_distro(template, distro)

    def severity_of(self, check: str, default: Severity | None = None) -> Severity:
        """The policy's severity for ``check``; for a family id ('lintian:tag'), ``default``
        (the tool's own) unless the policy names it."""
        if check in self.declared:
            return self.severity.get(check, self.declared[check][0])
        if check not in CHECKS and default is not None:
            if check in self.linters_blocking:
                return "error"
            if check in self.linters_advisory and default == "error":
                return "warning"
            return default
        default_severity = CHECKS[check][0]
        if check in PINNED:  # the loader refuses lowering these; a Policy built by hand cannot either
            return default_severity
        return self.severity.get(check, default_severity)


# --- parsing -------------------------------------------------------------------


def parse_policy(text: str, origin: str = "policy", *, ceilings: Limits | None = None) -> Policy:
    """The Policy that ``text`` (TOML) encodes; PolicyError with every problem found.

    ``origin`` names the text in messages (``ORIGIN:LINE:COL: message``): a file
    name, or what the portal calls a stored version. With ``ceilings``, a
    ``[limits]`` value above its ceiling is a problem too: whoever edits the policy
    may tighten the verifier's limits but not loosen them past what the machine
    running it was sized for.
    """
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_POLICY_BYTES:
        raise PolicyError([_too_large(size)], origin)
    try:
        data = tomllib.loads(text)
    except RecursionError:
        raise PolicyError([_too_deep()], origin) from None
    except tomllib.TOMLDecodeError as exc:
        sentence, (line, column) = syntax_error_position(str(exc), text)
        raise PolicyError([Problem(line, column, "", (
            f"This is not valid TOML: {sentence[:1].lower()}{sentence[1:]}. Check the quotes, brackets "
            "and '=' here; a string goes in double quotes, a table header is [name] on its own line."
        ))], origin) from None
    if _nesting(data) > MAX_NESTING:
        raise PolicyError([_too_deep()], origin)
    issues = policyspec.validate(data)
    issues += _cross_checks(data, clean=lambda *tables: not any(i.path[:1] in tables for i in issues))
    if ceilings is not None:
        issues += _above_ceilings(data, ceilings)
    if not issues:
        return _build(data)
    positions = Positions(text)
    raise PolicyError([_problem(issue, positions) for issue in issues], origin)


def _above_ceilings(data: dict[str, Any], ceilings: Limits) -> list[policyspec.Issue]:
    limits = data.get("limits")
    if not isinstance(limits, dict):
        return []
    out = []
    for name, value in limits.items():
        ceiling = getattr(ceilings, name, None)
        if isinstance(value, int | float) and not isinstance(value, bool) and ceiling is not None \
                and value > ceiling:
            out.append(policyspec.Issue(("limits", name), (
                f"`{name}` in [limits] is {value:,}, above the ceiling of {ceiling:,} this portal "
                f"verifies with: a policy may tighten a limit, not loosen it. Write {name} = "
                f"{ceiling} or less, or leave the key out")))
    return out


def _too_deep() -> Problem:
    return Problem(1, 1, "", (
        f"The policy nests arrays or tables too deeply (more than {MAX_NESTING} inside one another); "
        "no key of the format goes past 4, so look for a run of '[' or '{' that does not close."))


def _nesting(data: Any) -> int:
    """How deep arrays and tables go in ``data``, counted without recursion."""
    deepest, stack = 0, [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            value = list(value.values())
        if isinstance(value, list):
            deepest = max(deepest, depth + 1)
            if depth + 1 <= MAX_NESTING:
                stack.extend((v, depth + 1) for v in value)
    return deepest


def _too_large(size: int) -> Problem:
    return Problem(None, None, "", (
        f"The policy is {size:,} bytes; a policy may be at most {MAX_POLICY_BYTES // 1024} KiB "
        f"({MAX_POLICY_BYTES:,} bytes). A policy is a few kilobytes of TOML: check that this is the "
        "policy file, and move long lists into globs."))


def _problem(issue: policyspec.Issue, positions: Positions) -> Problem:
    line, column = positions.locate(issue.path, value=issue.at_value) or (1, 1)
    message = issue.message[:1].upper() + issue.message[1:]
    if not message.endswith("."):
        message += "."
    return Problem(line, column, policyspec.key_path(issue.path), message)


def load_policy(name_or_path: str | Path) -> Policy:
    """Load a shipped policy by name (``"convirt"``) or a policy file by path."""
    text, origin = read_policy(name_or_path)
    return parse_policy(text, origin)


def shipped_policies() -> list[str]:
    folder = resources.files("bundlecheck") / "policies"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


def read_policy(name_or_path: str | Path) -> tuple[str, str]:
    """(text, origin) of a shipped policy's name or a policy file's path; PolicyError if unreadable."""
    candidate = Path(name_or_path)
    if candidate.suffix == ".toml" or "/" in str(name_or_path):
        try:
            with candidate.open("rb") as f:
                raw = f.read(MAX_POLICY_BYTES + 1)
                if len(raw) > MAX_POLICY_BYTES:
                    f.seek(0, 2)
                    raise PolicyError([_too_large(f.tell())], str(candidate))
        except OSError as exc:
            problem = Problem(None, None, "", f"cannot read the policy file: {exc.strerror or exc}.")
            raise PolicyError([problem], str(candidate)) from None
        try:
            return raw.decode("utf-8"), str(candidate)
        except UnicodeDecodeError as exc:
            raise PolicyError([Problem(None, None, "", (
                f"the file is not UTF-8 text (byte {exc.start} cannot be read): save it as UTF-8."))],
                str(candidate)) from None
    name = str(name_or_path)
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", name) or name not in shipped_policies():
        raise PolicyError(
            f"no shipped policy named {name!r} (shipped: {', '.join(shipped_policies())}); "
            "give a path to a .toml file for your own"
        )
    res = resources.files("bundlecheck") / "policies" / f"{name}.toml"
    return res.read_text(encoding="utf-8"), name


def _get(data: dict[str, Any], table: policyspec.Table, name: str) -> Any:
    """``data[name]``, or the definition's default (the data is already validated)."""
    return data.get(name, table.key(name).default)


def _sub(table: policyspec.Table, name: str) -> policyspec.Table:
    sub = table.key(name).table
    assert sub is not None
    return sub


def _build(data: dict[str, Any]) -> Policy:
    top = policyspec.POLICY
    layout = data["layout"]
    scripts_t = _sub(top, "scripts")
    scripts = data.get("scripts", {})
    linters = data.get("linters", {})
    linters_t = _sub(top, "linters")
    generated = data.get("generated", {})
    generated_t = _sub(top, "generated")
    return Policy(
        name=data["name"],
        description=_get(data, top, "description"),
        root=layout["root"],
        contribution_roots=tuple(layout["contribution_roots"]),
        distro_dir=layout["distro_dir"],
        limits=Limits.from_mapping(data.get("limits", {})),
        severity=dict(_get(data, top, "severity")),
        config=_config(data.get("config")),
        script_patterns=tuple(_get(scripts, scripts_t, "patterns")),
        lint_scripts=_get(scripts, scripts_t, "lint"),
        recipes={k: tuple(v) for k, v in data.get("recipes", {}).items() if v},
        prereqs=tuple(Prereq(p["name"], tuple(p["aliases"]), p.get("min_version"))
                      for p in data.get("prereqs", [])),
        patched_prereq=_patched(data.get("patched_prereq")),
        provides=_provides(data.get("provides", {})),
        image_store=data.get("advice", {}).get("image_store"),
        deployment=_deployment(data.get("deployment")),
        linters_blocking=frozenset(_get(linters, linters_t, "blocking")),
        linters_advisory=frozenset(_get(linters, linters_t, "advisory")),
        declared={c["id"]: (c["severity"], c["description"]) for c in data.get("checks", [])},
        generated=tuple(_get(generated, generated_t, "patterns")),
        generated_binary=tuple(_get(generated, generated_t, "binary")),
    )


def _config(data: dict[str, Any] | None) -> ConfigRules | None:
    if data is None:
        return None
    exec_path = None
    if (raw := data.get("exec_path")) is not None:
        tools = {tool: tuple(d.rstrip("/") or "/" for d in dirs) for tool, dirs in raw["tools"].items()}
        exec_path = ExecPath(raw["section"], raw["key"], tools, dict(raw.get("variables", {})))
    required_t = _sub(_sub(policyspec.POLICY, "config"), "required")
    required = tuple(RequiredKey(r["section"], r["key"], _get(r, required_t, "check"))
                     for r in data.get("required", []))
    return ConfigRules(data["file"], tuple(data["locations"]), exec_path, required)


def _patched(data: dict[str, Any] | None) -> PatchedPrereq | None:
    if data is None:
        return None
    patched_t = _sub(policyspec.POLICY, "patched_prereq")
    return PatchedPrereq(data["prereq"], data["fixed_version"], compile_pattern(data["patch_pattern"]),
                         _get(data, patched_t, "check"))


def _provides(data: dict[str, Any]) -> dict[str, dict[str, tuple[Relation, ...]]]:
    out: dict[str, dict[str, tuple[Relation, ...]]] = {}
    for family, symbols in data.items():
        out[family] = {}
        for symbol, packages in symbols.items():
            forms = [policyspec.PROVIDED_FORM.fullmatch(p) for p in packages]
            out[family][symbol] = tuple(Relation(m.group(1), m.group(2), m.group(3)) for m in forms if m)
    return out


def _deployment(data: dict[str, Any] | None) -> Deployment | None:
    if data is None:
        return None

    def mappings(key: str) -> tuple[TreeMapping, ...]:
        return tuple(
            TreeMapping(m["source"], m["target"], int(m["mode"], 8),
                        m.get("required", m.get("alternative_to") is None), m.get("alternative_to"))
            for m in data.get(key, []))

    critical = tuple(ModeRule(m["path"], int(m["mode"], 8), m.get("required", True))
                     for m in data.get("critical", []))
    symlinks = tuple(SymlinkRule(m["path"], m["target"]) for m in data.get("symlinks", []))
    return Deployment(mappings("tree"), mappings("files"), critical, symlinks, tuple(data.get("allowed", [])))


# --- rules between keys -----------------------------------------------------------


def _cross_checks(data: dict[str, Any], clean: Callable[..., bool]) -> list[policyspec.Issue]:
    """What no single key can say wrong on its own: names, targets and modes that disagree.

    Each rule runs when the tables it reads are right on their own (``clean``), so
    a typo in one table does not hide a disagreement in another.
    """
    Issue = policyspec.Issue
    issues: list[Issue] = []
    seen: dict[str, int] = {}
    if clean(("prereqs",)):
        for i, p in enumerate(data.get("prereqs", [])):
            if p["name"] in seen:
                first = seen[p["name"]] + 1
                issues.append(Issue(("prereqs", i, "name"), (
                    f"`name` in [[prereqs]] #{i + 1} is {p['name']!r}, like [[prereqs]] #{first}: "
                    "each prerequisite is listed once; merge their aliases into one entry")))
            seen.setdefault(p["name"], i)
    rule = data.get("patched_prereq")
    if rule and clean(("prereqs",), ("patched_prereq",)) and rule["prereq"] not in seen:
        names = ", ".join(repr(n) for n in seen) or "none are listed"
        issues.append(Issue(("patched_prereq", "prereq"), (
            f"`prereq` in [patched_prereq] is {rule['prereq']!r}, which is not the name of one of the "
            f"[[prereqs]] ({names}): name one of them, or add it as a [[prereqs]] entry")))
    if clean(("checks",), ("config",), ("patched_prereq",), ("severity",)):
        issues += _declared_checks(data)
    linters = data.get("linters", {})
    if clean(("linters",)):
        both = sorted(set(linters.get("blocking", [])) & set(linters.get("advisory", [])))
        if both:
            issues.append(Issue(("linters", "advisory"), (
                f"[linters] lists {', '.join(both)} as both blocking and advisory: keep each tag in one "
                "of the two lists")))
    if data.get("deployment") is not None and clean(("deployment",)):
        dep = _deployment(data["deployment"])
        assert dep is not None
        issues += _deployment_checks(dep)
    return issues


def _declared_checks(data: dict[str, Any]) -> list[policyspec.Issue]:
    """The policy's own checks ([[checks]]): each declared once and reported by a rule; each
    id a rule or [severity] names is the engine's or declared."""
    Issue = policyspec.Issue
    issues: list[Issue] = []
    first: dict[str, int] = {}
    for i, c in enumerate(data.get("checks", [])):
        if c["id"] in first:
            issues.append(Issue(("checks", i, "id"), (
                f"`id` in [[checks]] #{i + 1} is {c['id']!r}, like [[checks]] #{first[c['id']] + 1}: "
                "declare each check once")))
        first.setdefault(c["id"], i)
    refs: list[tuple[policyspec.Path, str, str, str]] = [
        (("config", "required", i, "check"), r.get("check", "config-key-missing"), "config-key-missing",
         f"[[config.required]] #{i + 1}")
        for i, r in enumerate(data.get("config", {}).get("required", []))]
    if (rule := data.get("patched_prereq")) is not None:
        refs.append((("patched_prereq", "check"), rule.get("check", "prereq-patch-missing"),
                     "prereq-patch-missing", "[patched_prereq]"))
    for path, check_id, generic, table in refs:
        if check_id == generic or check_id in first:
            continue
        why = (f"it is one of the engine's checks, for something else: use {generic!r}, or an id the "
               "policy declares in [[checks]]" if check_id in CHECKS
               else policyspec.unknown_check(check_id, first))
        issues.append(Issue(path, f"`check` in {table} is {policyspec.toml_value(check_id)}: {why}"))
    for check_id in data.get("severity", {}):
        if check_id not in CHECKS and check_id not in first:
            issues.append(Issue(("severity", check_id), (
                f"[severity] names {policyspec.toml_value(check_id)}: "
                f"{policyspec.unknown_check(check_id, first)}"),
                at_value=False))
    used = {check_id for _p, check_id, _g, _t in refs}
    for check_id, i in first.items():
        if check_id not in used:
            issues.append(Issue(("checks", i, "id"), (
                f"[[checks]] #{i + 1} declares {check_id!r}, but no rule reports under it: name it as "
                "the `check` of a [[config.required]] or of [patched_prereq], or remove it")))
    return issues


def _deployment_checks(dep: Deployment) -> list[policyspec.Issue]:
    Issue = policyspec.Issue
    issues: list[Issue] = []
    for key, entries in (("tree", dep.tree), ("files", dep.files)):
        required_targets = {e.target for e in entries if e.required}
        for i, e in enumerate(entries):
            if e.alternative_to is not None and e.alternative_to not in required_targets:
                issues.append(Issue(("deployment", key, i, "alternative_to"), (
                    f"`alternative_to` in [[deployment.{key}]] #{i + 1} is {e.alternative_to!r}, which is "
                    f"not the target of a required entry of [[deployment.{key}]]: give the target of the "
                    "entry this one may replace")))
    # One mode per path: the same place named twice with different modes would make
    # one of the two rules a lie (the check applies only the first that matches).
    moded: list[tuple[str, int, str, int]] = (
        [("tree", i, e.target, e.mode) for i, e in enumerate(dep.tree)]
        + [("files", i, e.target, e.mode) for i, e in enumerate(dep.files)]
        + [("critical", i, c.path, c.mode) for i, c in enumerate(dep.critical)])
    first: dict[str, tuple[str, int, int]] = {}
    for key, i, path, mode in moded:
        place = path.rstrip("/") or "/"
        if place in first and first[place][2] != mode:
            other_key, other_i, other_mode = first[place]
            issues.append(Issue(("deployment", key, i, "mode"), (
                f"[[deployment.{key}]] #{i + 1} gives {path} mode {mode:04o}, but "
                f"[[deployment.{other_key}]] #{other_i + 1} gives it {other_mode:04o}: one path has one "
                "mode; keep one of the two entries, or give both the same mode")))
        first.setdefault(place, (key, i, mode))
    for i, c in enumerate(dep.critical):
        if "*" not in c.path and "?" not in c.path and "[" not in c.path:
            continue
        for j, f in enumerate(dep.files):
            if fnmatch.fnmatchcase(f.target, c.path) and f.mode != c.mode:
                issues.append(Issue(("deployment", "files", j, "mode"), (
                    f"[[deployment.files]] #{j + 1} installs {f.target} with mode {f.mode:04o}, but "
                    f"[[deployment.critical]] #{i + 1} ({c.path}) gives it {c.mode:04o}: one path has "
                    "one mode; make them agree")))
    return issues


def policy_schema() -> dict[str, Any]:
    """The policy format as JSON Schema (draft 2020-12); shipped as ``policy.schema.json``."""
    return policyspec.json_schema()

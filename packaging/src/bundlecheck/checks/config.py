"""The distro's configuration file (the policy's [config]): present, parsable, the keys it names."""

from __future__ import annotations

import configparser
import posixpath
from collections.abc import Iterator

from ..findings import Finding
from ..names import normalise, shown
from ..policy import ConfigRules, ExecPath, fill_distro
from ..registry import check
from ..view import SourceView, owner_distro, roots_pattern


@check("config-missing", "config-unparsable", "config-exec-path-missing",
       "config-exec-path-incomplete", "config-key-missing", "member-too-large-to-inspect", declared=True)
def config_file(view: SourceView) -> Iterator[Finding]:
    rules = view.policy.config
    if rules is None:
        return
    locations = [fill_distro(loc, view.distro) for loc in rules.locations]
    present = [loc for loc in locations if getattr(view.members.get(loc), "type", None) == "file"]
    if not present:
        links = [loc for loc in locations
                 if getattr(view.members.get(loc), "type", None) in ("symlink", "hardlink")]
        if links:
            yield _linked(view, rules, links[0])
            return
        yield view.finding(
            "config-missing", locations[0],
            f"no {rules.file} for {view.distro} (looked at {', '.join(locations)})",
            f"Copy {rules.file} from an existing distro's directory to {locations[0]} and adapt it.",
        )
        return
    for loc in present:
        yield from _check_one(view, rules, loc)


def _linked(view: SourceView, rules: ConfigRules, loc: str) -> Finding:
    """A configuration file that is a link: say where it points and why that is not accepted."""
    m = view.members[loc]
    if m.type == "symlink":
        target = posixpath.normpath(posixpath.join(posixpath.dirname(loc), m.linkname))
        kind = "a symbolic link"
    else:
        target, kind = normalise(m.linkname), "a hard link"
        if view.root and target.startswith(view.root + "/"):
            target = target[len(view.root) + 1:]
    owner = owner_distro(roots_pattern(view.policy), target)
    where = (f"in the {owner} distro's directory" if owner not in (None, view.distro)
             else "in your own directory" if owner == view.distro else "outside the distro directories")
    return view.finding(
        "config-missing", loc,
        f"{loc} is {kind} to {shown(target)} ({where}), not a file: {rules.file} must be a regular "
        f"file in {view.distro}'s own directory, because the release installs it from there and "
        "a link would make another file (or nothing, once the release is merged) the "
        f"{view.distro} configuration",
        f"Replace the link with a copy of the file: cp --remove-destination {shown(target)} {loc}",
    )


def _check_one(view: SourceView, rules: ConfigRules, loc: str) -> Iterator[Finding]:
    data = view.captured.get(loc)
    if data is None:
        yield view.finding(
            "member-too-large-to-inspect", loc, f"{loc} is too large to be read by the checks",
            f"A {rules.file} is a few kilobytes; check that the right file is there.",
        )
        return
    parser, problem = _parse(data)
    if parser is None:
        yield view.finding(
            "config-unparsable", loc, f"{loc} cannot be parsed: {problem}",
            "Use INI syntax: [SECTION] headers, then key=value lines; compare with another "
            "distro's file.",
        )
        return
    if rules.exec_path is not None:
        yield from _exec_path(view, rules.exec_path, parser, loc)
    for req in rules.required:
        if not _value(parser, req.section, req.key):
            # The policy's own id, when it declares one for this key ([[checks]]).
            yield view.policy.finding(
                req.check, loc, f"{loc} does not set [{req.section}] {req.key}",
                f"Add '{req.key}=...' under [{req.section}] (the guide explains what it is for).",
            )


def _parse(data: bytes) -> tuple[configparser.RawConfigParser | None, str]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, f"not UTF-8 text (byte {exc.start})"
    parser = configparser.RawConfigParser(strict=True, interpolation=None)
    try:
        parser.read_string(text)
    except configparser.MissingSectionHeaderError as exc:
        return None, f"line {exc.lineno}: {exc.line.strip()!r} comes before any [SECTION] header"
    except configparser.ParsingError as exc:
        lineno, line = exc.errors[0]
        return None, f"line {lineno}: cannot parse {line.strip()!r}"
    except (configparser.DuplicateSectionError, configparser.DuplicateOptionError) as exc:
        return None, f"line {exc.lineno}: {exc.message.split(':', 1)[-1].strip()}"
    except configparser.Error as exc:
        return None, str(exc)
    return parser, ""


def _value(parser: configparser.RawConfigParser, section: str, key: str) -> str:
    # Section names are matched case-insensitively: '[Paths]' means what the guide means.
    for name in parser.sections():
        if name.lower() == section.lower() and parser.has_option(name, key):
            return parser.get(name, key).strip()
    return ""


def _exec_path(
    view: SourceView, rule: ExecPath, parser: configparser.RawConfigParser, loc: str,
) -> Iterator[Finding]:
    value = _value(parser, rule.section, rule.key)
    if not value:
        yield view.finding(
            "config-exec-path-missing", loc, f"{loc} does not set [{rule.section}] {rule.key}",
            f"Add '{rule.key}=' with the directories holding {', '.join(rule.tools)} on "
            f"{view.distro}, separated by ':'.",
        )
        return
    dirs = set()
    for part in value.split(":"):
        expanded = rule.variables.get(part.strip(), part.strip())
        dirs.update(d.rstrip("/") or "/" for d in expanded.split(":") if d)
    unreachable = {tool: where for tool, where in rule.tools.items() if not dirs & set(where)}
    if unreachable:
        detail = "; ".join(f"{tool} (in {' or '.join(where)})" for tool, where in unreachable.items())
        needed = sorted({where[0] for where in unreachable.values()})
        yield view.finding(
            "config-exec-path-incomplete", loc,
            f"[{rule.section}] {rule.key}={value} does not reach: {detail}",
            f"Append the directories where {view.distro} installs them, e.g. "
            f"{rule.key}={value}:{':'.join(needed)}",
        )

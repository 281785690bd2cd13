"""Read the dependency declarations of packaging recipes, tolerantly.

Each parser returns alternative groups: a list of groups, each a list of
Relation, any one of which satisfies the group ('a | b' in Debian, '|| ( a b )'
in Gentoo).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from debian.deb822 import Deb822, PkgRelation


@dataclass(frozen=True, slots=True)
class Relation:
    name: str
    op: str | None = None  # '>=', '>', '=', '<=', '<' (Debian's '>>'/'<<' become '>'/'<')
    version: str | None = None


Groups = list[list[Relation]]
_OPS = {">=": ">=", ">>": ">", ">": ">", "=": "=", "==": "=", "<=": "<=", "<<": "<", "<": "<"}


# --- RPM .spec -------------------------------------------------------------------

_DEFINE = re.compile(r"^\s*%(?:define|global)\s+(\w+)\s+(.*?)\s*$", re.M)
_REQUIRES = re.compile(r"^\s*(?:Requires(?:\([^)]*\))?|PreReq)\s*:\s*(.*)$", re.M | re.I)
_COND_MACRO = re.compile(r"%\{(!?)\?(\w+)(?::([^{}]*))?\}")
_MACRO = re.compile(r"%\{(\w+)\}|%(\w+)")


def _expand(text: str, macros: dict[str, str]) -> str:
    # %{?m:text} / %{!?m:text}: keep the text (we cannot know which distro builds it,
    # so a conditional requirement counts); %{?m}: the value or nothing.
    for _ in range(5):  # macros may nest; a few rounds are enough in practice
        new = _COND_MACRO.sub(lambda m: m.group(3) if m.group(3) is not None else macros.get(m.group(2), ""),
                              text)
        new = _MACRO.sub(lambda m: macros.get(m.group(1) or m.group(2), m.group(0)), new)
        if new == text:
            break
        text = new
    return text


def parse_spec(text: str) -> Groups:
    macros = {m.group(1): m.group(2) for m in _DEFINE.finditer(text)}
    groups: Groups = []
    for line in _expand(text, macros).splitlines():
        m = _REQUIRES.match(line)
        if m:
            groups.extend([r] for r in _rpm_relations(m.group(1)))
    return groups


def _rpm_relations(value: str) -> list[Relation]:
    tokens = [t for t in re.split(r"[\s,()]+", value) if t and t not in ("or", "and", "if", "else")]
    out: list[Relation] = []
    i = 0
    while i < len(tokens):
        name = tokens[i]
        if i + 2 < len(tokens) and tokens[i + 1] in _OPS:
            out.append(Relation(name, _OPS[tokens[i + 1]], tokens[i + 2]))
            i += 3
        else:
            if name not in _OPS and not name.startswith("%"):
                out.append(Relation(name))
            i += 1
    return out


def parse_rpm_header(names: list[str], versions: list[str], flags: list[int]) -> Groups:
    """Requires of a binary .rpm: RPMSENSE_LESS=2, GREATER=4, EQUAL=8."""
    groups: Groups = []
    for name, version, flag in zip(names, versions, flags, strict=False):
        if name.startswith("rpmlib("):
            continue
        op = {4 | 8: ">=", 4: ">", 8: "=", 2 | 8: "<=", 2: "<"}.get(flag & 0xE)
        groups.append([Relation(name, op if version else None, version or None)])
    return groups


# --- debian/control ---------------------------------------------------------------


def parse_deb_depends(value: str) -> Groups:
    groups: Groups = []
    for alternatives in PkgRelation.parse_relations(value):
        group = []
        for rel in alternatives:
            version = rel.get("version")
            op, ver = (version if version else (None, None))
            group.append(Relation(rel["name"], _OPS.get(op) if op else None, ver))
        if group:
            groups.append(group)
    return groups


def parse_debian_control(text: str) -> Groups:
    groups: Groups = []
    for para in Deb822.iter_paragraphs(text.splitlines(keepends=True)):
        if "Package" not in para:
            continue  # the source paragraph: build dependencies are not runtime prerequisites
        for field in ("Pre-Depends", "Depends"):
            if para.get(field):
                groups.extend(parse_deb_depends(" ".join(para[field].split())))
    return groups


# --- Arch PKGBUILD ---------------------------------------------------------------

_PKGBUILD_DEPENDS = re.compile(r"^\s*depends=\((.*?)\)", re.M | re.S)
_ARCH_DEP = re.compile(r"^([^<>=]+?)(>=|<=|=|>|<)(.+)$")


def parse_pkgbuild(text: str) -> Groups:
    groups: Groups = []
    for m in _PKGBUILD_DEPENDS.finditer(text):
        try:
            items = shlex.split(m.group(1), comments=True)
        except ValueError:
            items = m.group(1).replace("'", " ").replace('"', " ").split()
        for item in items:
            dep = _ARCH_DEP.match(item)
            groups.append([Relation(dep.group(1), dep.group(2), dep.group(3)) if dep else Relation(item)])
    return groups


# --- Gentoo .ebuild ---------------------------------------------------------------

_EBUILD_VAR = re.compile(r'^\s*(R?DEPEND)="(.*?)"', re.M | re.S)
_ATOM = re.compile(
    r"^(?P<op>>=|<=|=|~|>|<)?(?P<name>[A-Za-z0-9+_.-]+/[A-Za-z0-9+_-]+?)"
    r"(?:-(?P<ver>[0-9][0-9.]*[a-z]?(?:_[a-z]+[0-9]*)*(?:-r[0-9]+)?)\*?)?(?::[^\[\s]*)?(?:\[[^\]]*\])?$"
)


def parse_ebuild(text: str) -> Groups:
    variables = {m.group(1): m.group(2) for m in _EBUILD_VAR.finditer(text)}
    rdepend = variables.get("RDEPEND", "")
    rdepend = rdepend.replace("${DEPEND}", variables.get("DEPEND", "")).replace(
        "$DEPEND", variables.get("DEPEND", ""))
    return _gentoo_groups(rdepend.split())


def _gentoo_groups(tokens: list[str]) -> Groups:
    groups: Groups = []
    any_of: list[Relation] | None = None
    depth = 0
    pending_any = False
    for tok in tokens:
        if tok == "||":
            pending_any = True
        elif tok == "(":
            depth += 1
            if pending_any and any_of is None:
                any_of, any_depth, pending_any = [], depth, False
        elif tok == ")":
            if any_of is not None and depth == any_depth:
                groups.append(any_of)
                any_of = None
            depth -= 1
        elif tok.endswith("?") or tok.startswith("!"):
            continue  # USE conditionals are kept optimistically; blockers are not deps
        else:
            m = _ATOM.match(tok)
            if not m:
                continue
            op, ver = m.group("op"), m.group("ver")
            versioned = bool(op and ver)
            norm = ("=" if op == "~" else _OPS[op]) if versioned else None
            rel = Relation(m.group("name"), norm, ver if versioned else None)
            if any_of is not None:
                any_of.append(rel)
            else:
                groups.append([rel])
    return groups


PARSERS = {"rpm": parse_spec, "deb": parse_debian_control, "arch": parse_pkgbuild, "gentoo": parse_ebuild}

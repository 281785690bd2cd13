"""Gentoo ebuilds: RDEPEND as Portage reads it, with the python eclasses' idioms.

Variables the ebuild assigns itself (``COMMON_DEPEND``, ``DEPEND``) are
expanded; the eclasses' variables (``${PYTHON_DEPS}``) are kept as symbols, and
each inherited eclass (``inherit distutils-r1``) becomes an eclass symbol, for
the policy's ``[provides]`` to say what they stand for.  ``$(python_gen_cond_dep
'atoms' ...)`` and ``$(python_gen_any_dep ...)`` are read as their atoms; any
other command substitution is unread.
"""

from __future__ import annotations

import re

from .base import MAX_FIELD_CHARS, Reading, Relation, norm_op

_ASSIGN = re.compile(r'^\s*([A-Z_][A-Z0-9_]*)(\+?)="(.*?)"', re.M | re.S)
_INHERIT = re.compile(r"^\s*inherit\s+([^\n#]*)", re.M)
_GEN_DEP = re.compile(r"\$\(\s*python_gen(?:_cond|_any)?_dep\s+(['\"])(.*?)\1[^)]*\)", re.S)
_COMMAND = re.compile(r"\$\([^)]*\)")
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")
_ATOM = re.compile(
    r"^(?P<op>>=|<=|=|~|>|<)?(?P<name>[A-Za-z0-9+_.-]+/[A-Za-z0-9+_-]+?)"
    r"(?:-(?P<ver>[0-9][0-9.]*[a-z]?(?:_[a-z]+[0-9]*)*(?:-r[0-9]+)?)\*?)?(?::[^\[\s]*)?(?:\[[^\]]*\])?$"
)
# Variables the python eclasses define for use inside atoms: not dependencies of their own.
_IN_ATOM = re.compile(r"\[[^\]]*\]")
_ROUNDS = 8


def parse_ebuild(text: str) -> Reading:
    reading = Reading()
    variables: dict[str, str] = {}
    for m in _ASSIGN.finditer(text):
        name, append, value = m.groups()
        before = variables.get(name, "")
        # RDEPEND="${RDEPEND} x" and RDEPEND+=" x" both add to what was there
        value = re.sub(rf"\$\{{{name}\}}|\${name}\b", lambda _, b=before: f" {b} ", value)
        variables[name] = f"{before} {value}" if append else value
    for m in _INHERIT.finditer(text):
        for eclass in m.group(1).split():
            reading.groups.append([Relation(eclass, kind="eclass")])
    rdepend = variables.get("RDEPEND", "")
    if len(rdepend) > MAX_FIELD_CHARS:
        reading.add_unread(f"an RDEPEND of {len(rdepend):,} characters")
        return reading
    rdepend = _expand(rdepend, variables, reading)
    _groups(rdepend, reading)
    return reading


def _expand(value: str, variables: dict[str, str], reading: Reading) -> str:
    own = {k: v for k, v in variables.items() if k != "RDEPEND"}
    for _ in range(_ROUNDS):
        new = _GEN_DEP.sub(lambda m: f" {m.group(2)} ", value)
        new = _IN_ATOM.sub("", new)  # USE dependencies ([${PYTHON_USEDEP}], [gtk]) do not matter here
        new = _VARIABLE.sub(lambda m: f" {own[n]} " if (n := m.group(1) or m.group(2)) in own
                            else m.group(0), new)
        if len(new) > 2 * MAX_FIELD_CHARS:
            reading.add_unread("RDEPEND (a variable that does not stop expanding)")
            return value
        if new == value:
            break
        value = new
    for command in _COMMAND.findall(value):
        reading.add_unread(command)
    return _COMMAND.sub(" ", value)


def _groups(value: str, reading: Reading) -> None:
    # Iterative over the words, so that 10,000 nested ( ) cost linear time.
    any_of: list[Relation] | None = None
    any_depth = 0
    depth = 0
    pending_any = False
    for tok in value.split():
        if tok == "||":
            pending_any = True
        elif tok == "(":
            depth += 1
            if pending_any and any_of is None:
                any_of, any_depth = [], depth
            pending_any = False
        elif tok == ")":
            if depth == 0:
                reading.add_unread("RDEPEND (a ')' closes no group)")
                continue
            if any_of is not None and depth == any_depth:
                if any_of:
                    reading.groups.append(any_of)
                any_of = None
            depth -= 1
        elif tok.endswith("?") or tok.startswith("!"):
            continue  # USE conditionals are kept optimistically; blockers are not dependencies
        elif _VARIABLE.fullmatch(tok):
            rel = Relation("${" + (tok[2:-1] if tok.startswith("${") else tok[1:]) + "}", kind="variable")
            _add(reading, any_of, rel)
        elif m := _ATOM.match(tok):
            op, ver = m.group("op"), m.group("ver")
            versioned = bool(op and ver)
            norm = ("=" if op == "~" else norm_op(op)) if versioned else None
            _add(reading, any_of, Relation(m.group("name"), norm, ver if versioned else None))
        else:
            reading.add_unread(tok)
    if depth:
        reading.add_unread(f"RDEPEND ({depth:,} groups '(' left open)")


def _add(reading: Reading, any_of: list[Relation] | None, rel: Relation) -> None:
    if any_of is not None:
        any_of.append(rel)
    else:
        reading.groups.append([rel])

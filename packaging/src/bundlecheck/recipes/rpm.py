"""RPM .spec files and a binary .rpm's Requires, read as rpmbuild reads them.

A name runs to the next blank or comma, so ``python(abi)``, ``perl(Foo::Bar)``
and ``pkgconfig(glib-2.0)`` are one name each; a word that starts with ``(`` is
a rich (boolean) dependency.  Macros defined in the spec (``%define``,
``%global``, the ``Name:``/``Version:``/``Release:`` tags) are expanded as
``rpmspec --parse`` would; ``%{?m:text}`` keeps its text, since the distro that
builds it is unknown.  A macro left unexpanded (``%pyrequires_eq
python-modules``, ``%{py_requires}``) is reported as unread, never guessed.
"""

from __future__ import annotations

import re

from .base import MAX_FIELD_CHARS, MAX_NESTING, Groups, Reading, Relation, norm_op

_DEFINE = re.compile(r"^\s*%(?:define|global)\s+(\w+)(?:\(\S*\))?\s+(.*?)\s*$")
_TAG = re.compile(r"^\s*(Name|Version|Release|Epoch)\s*:\s*(\S+)", re.I)
_REQUIRES = re.compile(r"^\s*(?:Requires(?:\([^)]*\))?|PreReq)\s*:\s*(.*)$", re.I)
_SECTION = re.compile(r"^%(description|prep|build|install|check|clean|files|changelog|pre|post|preun|"
                      r"postun|pretrans|posttrans|trigger\w*|verifyscript|filetriggerin|filetriggerun|"
                      r"generate_buildrequires|conf)\b")
_PACKAGE = re.compile(r"^%package\b")
# Directives a preamble may hold that add no runtime dependency.
_DIRECTIVES = frozenset((
    "define", "global", "undefine", "if", "ifarch", "ifnarch", "ifos", "ifnos", "else", "elif",
    "elifarch", "elifos", "endif", "bcond_with", "bcond_without", "bcond", "include", "package",
    "description", "dnl", "debug_package", "python_provide", "py_provides", "python_subpackages",
    "sourcelist", "patchlist", "setup", "autosetup", "patch", "autopatch", "find_lang"))
_COND_MACRO = re.compile(r"%\{(!?)\?([\w.]+)(?::([^{}]*))?\}")
_MACRO = re.compile(r"%\{([\w.]+)\}|%([A-Za-z_]\w*)")
_LINE_MACRO = re.compile(r"^\s*%\{?([A-Za-z_]\w*)\}?(.*)$")
_MACRO_WORD = re.compile(r"%\{?[?!]*([A-Za-z_][\w.]*)(?::[^{}]*)?\}?")
_RICH_OPS = frozenset(("and", "or", "if", "else", "with", "without", "unless"))
_OPS = frozenset(("<", ">", "<=", ">=", "=", "==", "<<", ">>"))
#: An expanded line over this many characters is not expanded further (a macro that grows itself).
MAX_EXPANDED = 64 * 1024
_ROUNDS = 8


def expand(text: str, macros: dict[str, str]) -> tuple[str, bool]:
    """``text`` with the spec's macros expanded; False when it would not stop growing."""
    for _ in range(_ROUNDS):
        new = _COND_MACRO.sub(
            lambda m: (m.group(3) if m.group(3) is not None else macros.get(m.group(2), ""))
            if not m.group(1) else (m.group(3) or "" if m.group(2) not in macros else ""), text)
        new = _MACRO.sub(lambda m: macros.get(m.group(1) or m.group(2), m.group(0)), new)
        if len(new) > MAX_EXPANDED:
            return text, False
        if new == text:
            return text, True
        text = new
    return text, False


def parse_spec(text: str) -> Reading:
    reading = Reading()
    macros: dict[str, str] = {}
    in_preamble = True
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if _PACKAGE.match(line):
            in_preamble = True
            continue
        if _SECTION.match(line):
            in_preamble = False
            continue
        if m := _DEFINE.match(line):
            macros[m.group(1)] = m.group(2)
            continue
        if not in_preamble:
            continue
        if (m := _TAG.match(line)) and m.group(1).lower() not in macros:
            macros[m.group(1).lower()] = m.group(2)
        if "%" not in line and not _REQUIRES.match(line):
            continue
        expanded, finite = expand(line, macros)
        if not finite:
            reading.add_unread(f"{line[:60]} (a macro that does not stop expanding)")
            continue
        for part in expanded.splitlines():  # %{?fedora:Requires: x} may expand to a whole line
            if m := _REQUIRES.match(part):
                read_requires(m.group(1), reading)
            elif (m := _LINE_MACRO.match(part)) and m.group(1) not in _DIRECTIVES:
                # e.g. Mandriva's %py_requires -d, PLD's %pyrequires_eq python-modules
                reading.groups.append([Relation("%" + m.group(1), kind="variable",
                                                written=" ".join(part.split()))])
    return reading


def read_requires(value: str, reading: Reading) -> None:
    """One Requires: value (names, versions, rich dependencies) into ``reading``."""
    if len(value) > MAX_FIELD_CHARS:
        reading.add_unread(f"a Requires line of {len(value):,} characters")
        return
    tokens = _tokens(value)
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok.startswith("("):
            try:
                reading.groups.extend(_rich(tok))
            except ValueError as exc:
                reading.add_unread(f"{tok[:40]} ({exc})")
            i += 1
            continue
        if i + 2 < len(tokens) and tokens[i + 1] in _OPS:
            rel = _relation(tok, tokens[i + 1], tokens[i + 2], reading)
            i += 3
        else:
            rel = _relation(tok, None, None, reading)
            i += 1
        if rel is not None:
            reading.groups.append([rel])


def _relation(name: str, op: str | None, version: str | None, reading: Reading) -> Relation | None:
    if m := _MACRO_WORD.fullmatch(name):
        return Relation("%" + m.group(1), kind="variable")  # %{py_requires}: the policy may say
    if "%" in name or name in _OPS:
        reading.add_unread(name)
        return None
    if version is not None and "%" in version:
        return Relation(name, unread_version=f"{name} {op} {version}")
    return Relation(name, norm_op(op), version)


_WORD = re.compile(r"[^\s,(][^\s,]*|\(")


def _tokens(value: str) -> list[str]:
    """Words of a Requires value: a name runs to a blank or comma; ``(...)`` is one word."""
    out: list[str] = []
    pos, n = 0, len(value)
    while (m := _WORD.search(value, pos)) is not None:
        if m.group() != "(":
            out.append(m.group())
            pos = m.end()
            continue
        depth, j = 0, m.start()
        for j in range(m.start(), n):  # to the matching ')', or the end
            c = value[j]
            if c == "(":
                depth += 1
            elif c == ")":
                depth -= 1
                if depth == 0:
                    break
        out.append(value[m.start():j + 1])
        pos = j + 1
    return out


def _rich(expr: str) -> Groups:
    """A rich dependency ``(a or (b and c))``, as groups: what satisfies it, read optimistically."""
    if expr.count("(") != expr.count(")"):
        raise ValueError("unbalanced parentheses")
    # Iterative, so that 10,000 nested parentheses cost linear time and no recursion.
    stack: list[list] = [[]]
    for tok in re.findall(r"\(|\)|[^\s()]+(?:\([^\s()]*\))?[^\s()]*", expr):
        if tok == "(":
            if len(stack) > MAX_NESTING:
                raise ValueError(f"nested more than {MAX_NESTING} deep")
            stack.append([])
        elif tok == ")":
            inner = _combine(stack.pop())
            stack[-1].append(inner)
        else:
            stack[-1].append(tok)
    return _combine(stack[0]) if stack[0] else []


def _combine(items: list) -> Groups:
    """Terms and operators of one parenthesised level into groups."""
    terms: list = []
    i = 0
    while i < len(items):  # name [op version] becomes one term
        item = items[i]
        if isinstance(item, str) and item not in _RICH_OPS:
            if i + 2 < len(items) and items[i + 1] in _OPS and isinstance(items[i + 2], str):
                terms.append([[Relation(item, norm_op(items[i + 1]), items[i + 2])]])
                i += 3
                continue
            terms.append([[Relation(item)]])
        else:
            terms.append(item)
        i += 1
    if not terms:
        return []
    result: Groups = terms[0] if not isinstance(terms[0], str) else []
    op = None
    for term in terms[1:]:
        if isinstance(term, str):
            op = term
            continue
        if op == "or" or op == "else":
            # any one of the alternatives: one group holding them all
            result = [[r for g in result for r in g] + [r for g in term for r in g]]
        elif op in ("and", "with"):
            result = result + term
        # 'if', 'unless', 'without': the condition adds no requirement
    return result


def rpm_header_groups(names: list[str], versions: list[str], flags: list[int]) -> Groups:
    """Requires of a binary .rpm: RPMSENSE_LESS=2, GREATER=4, EQUAL=8; rich ones read as in a spec."""
    groups: Groups = []
    for name, version, flag in zip(names, versions, flags, strict=False):
        if name.startswith("rpmlib("):
            continue
        if name.startswith("("):
            try:
                groups.extend(_rich(name))
            except ValueError:
                groups.append([Relation(name)])  # kept as written: rpm refuses to build such a header
            continue
        op = {4 | 8: ">=", 4: ">", 8: "=", 2 | 8: "<=", 2: "<"}.get(flag & 0xE)
        groups.append([Relation(name, op if version else None, version or None)])
    return groups

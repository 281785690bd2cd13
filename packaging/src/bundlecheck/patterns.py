"""Regular expressions written in a policy, kept fast on text an uploader controls.

Python's ``re`` backtracks: a pattern that repeats a group which can itself match
the same text in several ways (``(a+)+``, ``(\\w+)*``, ``(a|aa)+``) takes time
exponential in the length of a line that almost matches. :func:`slow_pattern`
finds those shapes in the parsed pattern so the loader can refuse them, and
:func:`search_lines` applies a pattern one bounded line at a time, so even a slow
shape nobody foresaw costs at most the square (or so) of :data:`MAX_LINE`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from re import _parser as sre  # type: ignore[attr-defined]  # Python 3.11+
from typing import Any

#: Characters of a pattern a policy may give.
MAX_PATTERN_CHARS = 500
#: Characters of one line (or path) a pattern is applied to; the rest of a longer line is not read.
MAX_LINE = 2048

_REPEATS = (sre.MAX_REPEAT, sre.MIN_REPEAT)
# A repeat that may run this many times counts as a loop (backtracking multiplies).
_LOOP = 10
_ANY = None  # a first-character set standing for "any character"
_CATEGORIES = {
    sre.CATEGORY_DIGIT: frozenset(map(ord, "0123456789")),
    sre.CATEGORY_WORD: frozenset(c for c in range(128) if chr(c).isalnum() or c == ord("_")),
    sre.CATEGORY_SPACE: frozenset(map(ord, " \t\n\r\f\v")),
}

NESTED = ("it repeats a group that itself holds a repetition (like (a+)+ or ([\\w.+-]+)*), which can "
          "take minutes on one ordinary line; repeat the inner part once instead, e.g. [\\w.+-]+ "
          "rather than ([\\w.+-]+)*")
AMBIGUOUS = ("it repeats a group whose parts can match the same text in more than one way (like "
             "(a|aa)+ or (\\w|\\d)+), which can take minutes on one ordinary line; make the "
             "alternatives start differently, or repeat a single character class")


def slow_pattern(pattern: str) -> str | None:
    """Why ``pattern`` may backtrack without bound (a sentence fragment), else None.

    ``pattern`` compiles (the caller checked). Cheap and conservative: a repeated
    group holding another repetition, or holding a choice or an optional part that
    can start like the next part or the next round.
    """
    try:
        parsed = sre.parse(pattern)
    except (re.error, RecursionError):
        return "it nests groups too deeply"
    fold = bool(parsed.state.flags & re.IGNORECASE)
    return _walk(list(parsed), loop=False, fold=fold)


def _walk(items: list[Any], *, loop: bool, fold: bool) -> str | None:
    for op, av in items:
        if op in _REPEATS:
            _, hi, body = av
            body = list(body)
            many = hi == sre.MAXREPEAT or hi > _LOOP
            if loop and many:
                return NESTED
            if why := _walk(body, loop=loop or many, fold=fold):
                return why
            if many and _ambiguous(body, fold):
                return AMBIGUOUS
        elif op is sre.SUBPATTERN:
            if why := _walk(list(av[3]), loop=loop, fold=fold):
                return why
        elif op is sre.BRANCH:
            for alt in av[1]:
                if why := _walk(list(alt), loop=loop, fold=fold):
                    return why
        elif op in (sre.ASSERT, sre.ASSERT_NOT):
            if why := _walk(list(av[1]), loop=False, fold=fold):
                return why
        elif op is sre.GROUPREF_EXISTS:
            for part in av[1:]:
                if part is not None and (why := _walk(list(part), loop=loop, fold=fold)):
                    return why
        # ATOMIC_GROUP and POSSESSIVE_REPEAT do not backtrack into themselves.
    return None


def _ambiguous(body: list[Any], fold: bool) -> bool:
    """Whether one round of a repeated ``body`` can split the same text two ways: a choice
    whose alternatives start alike, or a part of varying length that can start like what
    follows it (the rest of the round, or the next round)."""
    items = _flat(body)
    start, _ = _first(items, fold)
    for i, (op, av) in enumerate(items):
        if op is sre.BRANCH:
            firsts = [_first(alt, fold)[0] for alt in av[1]]
            if any(_overlap(firsts[a], firsts[b])
                   for a in range(len(firsts)) for b in range(a + 1, len(firsts))):
                return True
        first, nullable = _first_one(op, av, fold)
        varies = nullable or (op in _REPEATS and av[0] < av[1])
        if varies and _overlap(first, _follow(items[i + 1:], start, fold)):
            return True
    return False


def _flat(items: Iterable[Any]) -> list[Any]:
    """``items`` with each plain group replaced by what it holds."""
    out: list[Any] = []
    for op, av in items:
        if op is sre.SUBPATTERN:
            out += _flat(av[3])
        else:
            out.append((op, av))
    return out


def _follow(rest: list[Any], start: Any, fold: bool) -> Any:
    """What can come next: the rest of this round, or (if it may match nothing) the next round."""
    first, nullable = _first(rest, fold)
    return _union(first, start) if nullable else first


def _union(a: Any, b: Any) -> Any:
    return _ANY if a is _ANY or b is _ANY else a | b


def _overlap(a: Any, b: Any) -> bool:
    if a is _ANY:
        return b is _ANY or bool(b)
    if b is _ANY:
        return bool(a)
    return bool(a & b)


def _first(items: Iterable[Any], fold: bool) -> tuple[Any, bool]:
    """(the characters a match of ``items`` can start with, whether it can be empty)."""
    out: frozenset[int] = frozenset()
    for op, av in items:
        first, nullable = _first_one(op, av, fold)
        if first is _ANY:
            return _ANY, False
        out |= first
        if not nullable:
            return out, False
    return out, True


def _first_one(op: Any, av: Any, fold: bool) -> tuple[Any, bool]:
    if op is sre.LITERAL:
        return _fold(frozenset((av,)), fold), False
    if op is sre.IN:
        return _fold(_class(av), fold), False
    if op in (*_REPEATS, sre.POSSESSIVE_REPEAT):
        first, nullable = _first(av[2], fold)
        return first, nullable or av[0] == 0
    if op is sre.SUBPATTERN:
        return _first(av[3], fold)
    if op is sre.ATOMIC_GROUP:
        return _first(av, fold)
    if op is sre.BRANCH:
        out: Any = frozenset()
        empty = False
        for alt in av[1]:
            first, nullable = _first(alt, fold)
            out, empty = _union(out, first), empty or nullable
        return out, empty
    if op in (sre.AT, sre.ASSERT, sre.ASSERT_NOT):
        return frozenset(), True
    return _ANY, False  # any character, a back-reference, a conditional group


def _class(items: list[Any]) -> Any:
    out: set[int] = set()
    for op, av in items:
        if op is sre.LITERAL:
            out.add(av)
        elif op is sre.RANGE and av[1] - av[0] < 1024:
            out.update(range(av[0], av[1] + 1))
        elif op is sre.CATEGORY and av in _CATEGORIES:
            out |= _CATEGORIES[av]
        else:  # a negated class, a wide range, a negated category
            return _ANY
    return frozenset(out)


def _fold(chars: Any, fold: bool) -> Any:
    if not fold or chars is _ANY:
        return chars
    return frozenset(ord(v) for c in chars for v in (chr(c).lower(), chr(c).upper()) if len(v) == 1)


def search_lines(pattern: re.Pattern[str], text: str) -> bool:
    """Whether ``pattern`` matches in one of the lines of ``text``, each read up to MAX_LINE."""
    return any(pattern.search(line, 0, MAX_LINE) for line in text.splitlines())

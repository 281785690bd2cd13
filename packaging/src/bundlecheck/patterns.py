"""Regular expressions written in a policy, run in time linear in the text an uploader sends.

A policy's pattern runs on RE2 (``google-re2``), an automaton with no backtracking:
``(a+)+``, ``(.*){10}x`` or five ``\\s*`` in a row cost what ``a`` costs, per
character of text. RE2 has no backreferences, lookaround, atomic groups or
possessive repeats (no linear-time engine can have them); :func:`pattern_problem`
refuses those with a sentence the loader puts at the pattern's line, and a pattern
whose compiled program is over :data:`MAX_PROGRAM` steps (nested counted repeats,
``((a{1,10}){1,10}){1,10}``, multiply), because the time per character grows with it.
The subset a policy may use is documented in packaging/README.md ("Patterns").

This module is the only one that imports ``re2``.
"""

from __future__ import annotations

from typing import Any, Protocol

import re2

#: Characters of a pattern a policy may give.
MAX_PATTERN_CHARS = 500
#: Steps (RE2 instructions) of a compiled pattern: the cost per character of text grows
#: with it. The shipped ConVirt pattern takes 69.
MAX_PROGRAM = 1000
#: Characters of one line (or path) a pattern is applied to; the rest of a longer line is not read.
MAX_LINE = 2048


class Compiled(Protocol):
    """A compiled policy pattern: its text, and a search that says whether it matches."""

    pattern: str

    def search(self, text: str, pos: int | None = None, endpos: int | None = None) -> Any: ...


def _options() -> Any:
    options = re2.Options()
    options.log_errors = False
    # Only whether it matches is asked: without groups RE2 never needs its slower engines.
    options.never_capture = True
    return options


# What RE2 says (the start of its message) -> what a policy author reads.
_UNSUPPORTED = (
    ("invalid escape sequence: \\" + d, "a backreference (\\1 .. \\9)") for d in "123456789"
)
_REFUSED = (
    *_UNSUPPORTED,
    ("invalid perl operator: (?P=", "a named backreference ((?P=name))"),
    ("invalid perl operator: (?=", "a lookahead ((?=...))"),
    ("invalid perl operator: (?!", "a negative lookahead ((?!...))"),
    ("invalid perl operator: (?<=", "a lookbehind ((?<=...))"),
    ("invalid perl operator: (?<!", "a negative lookbehind ((?<!...))"),
    ("invalid perl operator: (?>", "an atomic group ((?>...))"),
    ("invalid perl operator: (?(", "a conditional group ((?(1)...))"),
    ("bad repetition operator: *+", "a possessive repeat (*+)"),
    ("bad repetition operator: ++", "a possessive repeat (++)"),
    ("bad repetition operator: ?+", "a possessive repeat (?+)"),
)
_SUBSET = 'the syntax a policy may use is in the bundlecheck README, "Policy patterns"'


def pattern_problem(text: str) -> str | None:
    """Why ``text`` cannot be a policy pattern (a sentence fragment), else None."""
    if len(text) > MAX_PATTERN_CHARS:
        return (f"it is {len(text):,} characters long; a pattern may be at most {MAX_PATTERN_CHARS} "
                "characters, and one that finds a file name is far shorter")
    try:
        compiled = re2.compile(text, _options())
    except re2.error as exc:
        said = _said(exc)
        if "(?P=" in text:
            said = "invalid perl operator: (?P="
        for start, what in _REFUSED:
            if said.startswith(start):
                return (f"it uses {what}, which RE2, the linear-time engine policy patterns run on, "
                        f"does not have: match the text itself instead ({_SUBSET})")
        return f"RE2, the engine policy patterns run on, cannot read it: {said} ({_SUBSET})"
    if compiled.programsize > MAX_PROGRAM:
        return (f"it compiles to {compiled.programsize:,} steps, over the {MAX_PROGRAM:,} a policy "
                "pattern may take: counted repeats inside counted repeats multiply (like "
                "((a{1,10}){1,10}){1,10}); count once, or use * or + instead of a large count "
                f"({_SUBSET})")
    return None


def _said(exc: Exception) -> str:
    said = exc.args[0] if exc.args else ""
    return said.decode("utf-8", "replace") if isinstance(said, bytes) else str(said)


def compile_pattern(text: str) -> Compiled:
    """The compiled form of a policy pattern that :func:`pattern_problem` accepted."""
    problem = pattern_problem(text)
    if problem is not None:
        raise ValueError(f"pattern {text!r}: {problem}")
    return re2.compile(text, _options())


def search_lines(pattern: Compiled, text: str) -> bool:
    """Whether ``pattern`` matches in one of the lines of ``text``, each read up to MAX_LINE."""
    return any(pattern.search(line, 0, MAX_LINE) for line in text.splitlines())

"""Where each key and value of a TOML text is: tomllib parses without positions.

A small scanner over text that tomllib has already accepted, so it can be
lenient: it follows table headers (``[a.b]``, ``[[a]]`` with its entry count),
dotted and quoted keys, strings of the four kinds, arrays and inline tables, and
records, for every key path (``("deployment", "tree", 2, "mode")``, entries
numbered from 0), the 1-based line and column of the key and of its value.
"""

from __future__ import annotations

import bisect
import contextlib
import json
import re
from collections.abc import Iterator

Pos = tuple[int, int]
Path = tuple[str | int, ...]

#: Arrays and inline tables inside one another that are followed; deeper text keeps
#: the positions found so far (the loader refuses such a policy anyway).
MAX_DEPTH = 64

_BARE = re.compile(r"[A-Za-z0-9_-]+")
_SYNTAX_AT = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")
_SYNTAX_END = re.compile(r"\s*\(at end of document\)\s*$")


def syntax_error_position(message: str, text: str) -> tuple[str, Pos]:
    """Split tomllib's error message into its sentence and its (line, column)."""
    if m := _SYNTAX_AT.search(message):
        return message[: m.start()], (int(m.group(1)), int(m.group(2)))
    lines = text.split("\n")
    end = (len(lines), len(lines[-1]) + 1)
    if m := _SYNTAX_END.search(message):
        return message[: m.start()], end
    return message, end


class Positions:
    """Key path -> positions of the key and of its value in one TOML text."""

    def __init__(self, text: str):
        self.keys: dict[Path, Pos] = {}
        self.values: dict[Path, Pos] = {}
        # On a surprise, keep what was found: a position is help, not a requirement.
        with contextlib.suppress(IndexError, ValueError):
            _Scanner(text, self).document()

    def locate(self, path: Path, *, value: bool = False) -> Pos | None:
        """The position of ``path`` (its value's with ``value``), else of its nearest parent."""
        for n in range(len(path), 0, -1):
            prefix = path[:n]
            if value and n == len(path) and prefix in self.values:
                return self.values[prefix]
            if prefix in self.keys:
                return self.keys[prefix]
            if prefix in self.values:
                return self.values[prefix]
        return None


class _Scanner:
    def __init__(self, text: str, out: Positions):
        self.s, self.i, self.out = text, 0, out
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self.arrays: dict[Path, int] = {}  # array-of-tables path -> entries so far
        self.depth = 0  # arrays and inline tables open

    def pos(self, index: int) -> Pos:
        line = bisect.bisect_right(self.line_starts, index)
        return line, index - self.line_starts[line - 1] + 1

    def peek(self, n: int = 1) -> str:
        return self.s[self.i : self.i + n]

    def skip(self, newlines: bool) -> None:
        """Skip blanks and comments (and newlines when ``newlines``)."""
        while self.i < len(self.s):
            c = self.s[self.i]
            if c in " \t\r" or (newlines and c == "\n"):
                self.i += 1
            elif c == "#":
                end = self.s.find("\n", self.i)
                self.i = len(self.s) if end < 0 else end
            else:
                return

    def document(self) -> None:
        table: Path = ()
        while True:
            self.skip(newlines=True)
            if self.i >= len(self.s):
                return
            if self.peek(2) == "[[":
                table = self.header(2)
            elif self.peek() == "[":
                table = self.header(1)
            else:
                self.keyval(table)

    def header(self, brackets: int) -> Path:
        start = self.i
        self.i += brackets
        names = list(self.key_segments())
        self.skip(newlines=False)
        self.i += brackets  # ']' or ']]'
        path = (*self.resolve(names[:-1]), names[-1])
        if brackets == 2:
            count = self.arrays.get(path, 0)
            self.arrays[path] = count + 1
            path = (*path, count)
        where = self.pos(start)
        for n in range(1, len(path) + 1):
            self.out.keys.setdefault(path[:n], where)
        return path

    def resolve(self, names: list[str]) -> Path:
        """A header's dotted names with the current entry of each array of tables."""
        path: Path = ()
        for name in names:
            path = (*path, name)
            if path in self.arrays:
                path = (*path, self.arrays[path] - 1)
        return path

    def key_segments(self) -> Iterator[str]:
        while True:
            self.skip(newlines=False)
            c = self.peek()
            if c == '"':
                yield self.basic_string_value()
            elif c == "'":
                end = self.s.index("'", self.i + 1)
                yield self.s[self.i + 1 : end]
                self.i = end + 1
            else:
                m = _BARE.match(self.s, self.i)
                if not m:
                    raise ValueError("no key")
                yield m.group()
                self.i = m.end()
            self.skip(newlines=False)
            if self.peek() != ".":
                return
            self.i += 1

    def keyval(self, table: Path) -> None:
        start = self.i
        path = (*table, *self.key_segments())
        where = self.pos(start)
        for n in range(len(table) + 1, len(path) + 1):
            self.out.keys.setdefault(path[:n], where)
        self.skip(newlines=False)
        self.i += 1  # '='
        self.skip(newlines=False)
        self.value(path)

    def value(self, path: Path) -> None:
        self.out.values.setdefault(path, self.pos(self.i))
        c = self.peek()
        if self.peek(3) in ('"""', "'''"):
            self.multiline_string(self.peek(3))
        elif c == '"':
            self.basic_string_value()
        elif c == "'":
            self.i = self.s.index("'", self.i + 1) + 1
        elif c in "[{":
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise ValueError("nested too deeply")
            if c == "[":
                self.array(path)
            else:
                self.inline_table(path)
            self.depth -= 1
        else:
            m = re.compile(r"[^,\]}#\n]*").match(self.s, self.i)
            self.i = max(m.end() if m else 0, self.i + 1)

    def basic_string_value(self) -> str:
        j = self.i + 1
        while self.s[j] != '"':
            j += 2 if self.s[j] == "\\" else 1
        raw = self.s[self.i : j + 1]
        self.i = j + 1
        try:
            return json.loads(raw)
        except ValueError:
            return raw[1:-1]

    def multiline_string(self, quotes: str) -> None:
        j = self.i + 3
        while not self.s.startswith(quotes, j):
            if j >= len(self.s):
                raise IndexError("unclosed string")
            j += 2 if quotes == '"""' and self.s[j] == "\\" else 1
        j += 3
        while self.s.startswith(quotes[0], j):  # up to two quotes may close the content
            j += 1
        self.i = j

    def array(self, path: Path) -> None:
        self.i += 1
        index = 0
        while True:
            self.skip(newlines=True)
            if self.peek() == "]":
                self.i += 1
                return
            self.value((*path, index))
            index += 1
            self.skip(newlines=True)
            if self.peek() == ",":
                self.i += 1

    def inline_table(self, path: Path) -> None:
        self.i += 1
        while True:
            self.skip(newlines=True)
            if self.peek() == "}":
                self.i += 1
                return
            self.keyval(path)
            self.skip(newlines=True)
            if self.peek() == ",":
                self.i += 1

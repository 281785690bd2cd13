"""Known copies of autotools macros, and what a tarball's vendored macros are beside them.

A release tarball carries copies of Autoconf, Automake, libtool, gettext and
autoconf-archive macros: as files (``m4/build-to-host.m4``) or pasted into
``aclocal.m4`` by aclocal, one file after another.  Each such file names its
revision on a ``# serial N`` line.  A vendored macro whose file name and serial
match a known copy but whose text does not was changed after it left its
upstream, which is how CVE-2024-3094 (the xz backdoor) reached every distro
building from the tarball.

The known copies are the system's: ``/usr/share/aclocal*`` and
``/usr/share/autoconf`` (Debian's autoconf, automake, libtool, gettext,
autoconf-archive).  Texts are compared line by line after dropping blank
lines, trailing blanks, copyright lines and ``##`` lines (aclocal drops them
when it pastes a file), so a copy whose only change is a
copyright year is not flagged.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

#: Where the system's macros are: every directory of .m4 files below these.
DEFAULT_MACRO_DIRS = ("/usr/share/aclocal", "/usr/share/aclocal-*", "/usr/share/autoconf",
                      "/usr/share/gettext/m4")
#: A known copy larger than this is not read (libtool.m4, the largest, is ~300 KB).
MAX_MACRO_FILE = 2 << 20

_SERIAL = re.compile(r"^#\s*(?:[\w.~+-]+\.m4\s+)?serial\s+(\d+)", re.MULTILINE)
_DEFUN = re.compile(r"^\s*(?:AC_DEFUN(?:_ONCE)?|AU_DEFUN|m4_define)\(\[?([A-Za-z_][\w]*)", re.MULTILINE)
_COPYRIGHT = re.compile(r"^\s*(#|dnl)\s*Copyright\b", re.IGNORECASE)


def serial_of(text: str) -> int | None:
    """The first ``# serial N`` (or ``# file.m4 serial N``) of a macro file, or None."""
    m = _SERIAL.search(text)
    return int(m.group(1)) if m else None


def code_lines(text: str) -> tuple[str, ...]:
    """The lines that are compared: no blank lines, trailing blanks, copyright or ``##`` lines."""
    out = []
    for line in text.splitlines():
        line = line.rstrip()
        if line and not line.startswith("##") and not _COPYRIGHT.match(line):
            out.append(line)
    return tuple(out)


@dataclass(frozen=True, slots=True)
class KnownMacro:
    path: str  # where the known copy is, e.g. /usr/share/aclocal/po.m4
    name: str  # its base name
    serial: int | None
    lines: tuple[str, ...]
    defines: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class MacroVerdict:
    """What a vendored macro (file or aclocal.m4 section) is beside the known copies."""

    state: str  # "known" (a known copy's text), "modified" (a known serial, other text), "unknown"
    name: str
    serial: int | None
    known: str | None = None  # the path of the known copy it was compared with

    def sentence(self) -> str:
        if self.state == "known":
            return f"the same text as {self.known} (serial {self.serial})"
        if self.state == "modified":
            return (f"{self.name} says serial {self.serial}, the serial of {self.known}, but its text "
                    "differs from that copy: the macro was changed after it left its upstream")
        return f"{self.name} is not a macro this system knows at that serial; not compared"


@dataclass
class MacroIndex:
    """The known copies, by base name and by their first compared line."""

    by_name: dict[str, list[KnownMacro]] = field(default_factory=dict)
    by_first_line: dict[str, list[KnownMacro]] = field(default_factory=dict)
    by_defined: dict[str, list[KnownMacro]] = field(default_factory=dict)
    sources: tuple[str, ...] = ()

    def __len__(self) -> int:
        return sum(len(v) for v in self.by_name.values())

    def add(self, known: KnownMacro) -> None:
        self.by_name.setdefault(known.name, []).append(known)
        if known.lines:
            self.by_first_line.setdefault(known.lines[0], []).append(known)
        for name in known.defines:
            self.by_defined.setdefault(name, []).append(known)

    def judge_file(self, name: str, text: str) -> MacroVerdict:
        """A vendored macro file (``m4/NAME``) beside the known copies of that name."""
        serial = serial_of(text)
        lines = code_lines(text)
        candidates = self.by_name.get(name, [])
        for known in candidates:
            if known.lines == lines:
                return MacroVerdict("known", name, serial, known.path)
        if serial is not None:
            for known in candidates:
                if known.serial == serial:
                    return MacroVerdict("modified", name, serial, known.path)
        return MacroVerdict("unknown", name, serial)

    def judge_aclocal(self, text: str) -> list[MacroVerdict]:
        """Each section of an ``aclocal.m4``: known copies, and known serials with other text.

        aclocal pastes each macro file it needs whole, one after another.  The text
        is covered greedily by whole known copies; what is left between them is
        judged by the macros it defines: a leftover that defines a known file's
        macro and carries that file's serial line is that file, modified.
        """
        lines = code_lines(text)
        out: list[MacroVerdict] = []
        leftover: list[str] = []
        i = 0
        while i < len(lines):
            match = None
            for known in self.by_first_line.get(lines[i], ()):
                n = len(known.lines)
                if tuple(lines[i:i + n]) == known.lines and (match is None or n > len(match.lines)):
                    match = known
            if match is None:
                leftover.append(lines[i])
                i += 1
                continue
            out.extend(self._leftover(leftover))
            leftover = []
            out.append(MacroVerdict("known", match.name, match.serial, match.path))
            i += len(match.lines)
        out.extend(self._leftover(leftover))
        return out

    def _leftover(self, lines: list[str]) -> Iterator[MacroVerdict]:
        if not lines:
            return
        text = "\n".join(lines)
        serials = {int(s) for s in _SERIAL.findall(text)}
        seen: set[str] = set()
        for defined in _DEFUN.findall(text):
            for known in self.by_defined.get(defined, ()):
                if known.path in seen or known.serial is None or known.serial not in serials:
                    continue
                seen.add(known.path)
                yield MacroVerdict("modified", known.name, known.serial, known.path)


def _files(dirs: Iterable[str]) -> Iterator[Path]:
    for pattern in dirs:
        base = Path(pattern)
        roots = sorted(base.parent.glob(base.name)) if "*" in base.name else [base]
        for root in roots:
            if root.is_dir():
                yield from sorted(p for p in root.rglob("*.m4") if p.is_file() and not p.is_symlink())


def load_macro_index(dirs: Iterable[str] = DEFAULT_MACRO_DIRS) -> MacroIndex:
    """Read the known copies under ``dirs`` (globs allowed in the last component)."""
    dirs = tuple(dirs)
    index = MacroIndex(sources=dirs)
    for path in _files(dirs):
        try:
            if path.stat().st_size > MAX_MACRO_FILE:
                continue
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        index.add(KnownMacro(str(path), path.name, serial_of(text), code_lines(text),
                             tuple(dict.fromkeys(_DEFUN.findall(text)))))
    return index

"""What every family's parser returns, and how symbols become relations."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["package", "variable", "eclass"]
#: Over this many characters a recipe's dependency text is not read further.
MAX_FIELD_CHARS = 1 << 20
#: Rich dependencies and Gentoo groups nested deeper than this are not read.
MAX_NESTING = 64
_OPS = {">=": ">=", ">>": ">", ">": ">", "=": "=", "==": "=", "<=": "<=", "<<": "<", "<": "<"}


@dataclass(frozen=True, slots=True)
class Relation:
    name: str
    op: str | None = None  # '>=', '>', '=', '<=', '<' (Debian's '>>'/'<<' become '>'/'<')
    version: str | None = None
    kind: Kind = "package"
    #: the symbol this relation stands in for (set by :func:`resolve`)
    via: str | None = None
    #: a version the parser could not read (an unexpanded macro), as written
    unread_version: str | None = None
    #: a symbol as the recipe writes it, with its arguments (``%pyrequires_eq python-modules``)
    written: str | None = field(default=None, compare=False)


Groups = list[list[Relation]]


@dataclass
class Reading:
    groups: Groups = field(default_factory=list)
    #: words the parser could not read (shown to the packager as they wrote them)
    unread: list[str] = field(default_factory=list)

    def add_unread(self, word: str) -> None:
        word = word if len(word) <= 80 else word[:77] + "..."
        if word not in self.unread and len(self.unread) < 20:
            self.unread.append(word)


def norm_op(op: str | None) -> str | None:
    return _OPS.get(op) if op else None


#: What the families' own tools put behind a symbol, whatever the project: debhelper's
#: ${misc:Depends} and ${misc:Pre-Depends} add only its helpers (debconf,
#: init-system-helpers).  A policy's [provides] entry for the same symbol wins.
FAMILY_PROVIDES: dict[str, dict[str, tuple[Relation, ...]]] = {
    "deb": {"${misc:Depends}": (), "${misc:Pre-Depends}": ()},
}


def resolve(reading: Reading, provides: Mapping[str, tuple[Relation, ...]]) -> Reading:
    """``reading`` with each symbol replaced by what the policy says it provides.

    A symbol the policy does not name is kept (an alias may name it) and, unless
    it is an eclass (most eclasses add no dependency), listed as unread.
    """
    out = Reading(unread=list(reading.unread))
    for group in reading.groups:
        new: list[Relation] = []
        for rel in group:
            if rel.kind == "package":
                new.append(rel)
                continue
            provided = provides.get(rel.name)
            if provided is None:
                if rel.kind != "eclass":
                    new.append(rel)
                    out.add_unread(rel.written or rel.name)
                continue
            new.extend(Relation(p.name, p.op, p.version, "package", rel.name) for p in provided)
            new.append(rel)  # an alias may name the symbol itself (${python:Depends})
        if new:
            out.groups.append(new)
    return out


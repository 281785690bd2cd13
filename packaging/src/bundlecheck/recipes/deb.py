"""debian/control and a .deb's control fields, read with python-debian.

Substitution variables (``${python:Depends}``, ``${misc:Depends}``) are kept
whole as symbols: dpkg-gencontrol replaces them at build time.  They are told
apart from architecture qualifiers (``python:any``), which python-debian strips
from real package names only.
"""

from __future__ import annotations

import logging
import re

from debian.deb822 import Deb822, PkgRelation

from .base import MAX_FIELD_CHARS, Groups, Reading, Relation, norm_op

_SUBSTVAR = re.compile(r"\$\{[A-Za-z0-9][A-Za-z0-9:._+-]*\}")
_NAME = re.compile(r"[a-z0-9][a-z0-9+.-]+")
_FIELDS = ("Pre-Depends", "Depends")


class _Quiet(logging.Filter):
    # python-debian logs each relation it cannot parse; it is reported as a finding instead.
    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("cannot parse package relationship")


logging.getLogger("debian.deb822").addFilter(_Quiet())


def parse_depends(value: str) -> Reading:
    """A Depends-like field's value: groups of alternatives, substvars kept whole."""
    reading = Reading()
    _read_field(value, reading)
    return reading


def deb_depends_groups(value: str) -> Groups:
    """The groups of a binary package's (already substituted) Depends."""
    return parse_depends(value).groups


def _read_field(value: str, reading: Reading) -> None:
    if len(value) > MAX_FIELD_CHARS:
        reading.add_unread(f"a dependency field of {len(value):,} characters")
        value = value[:MAX_FIELD_CHARS].rsplit(",", 1)[0]
    for element in value.split(","):
        group: list[Relation] = []
        for alternative in element.split("|"):
            alternative = alternative.strip()
            if not alternative:
                continue
            if _SUBSTVAR.fullmatch(alternative):
                group.append(Relation(alternative, kind="variable"))
                continue
            parsed = PkgRelation.parse_relations(alternative)
            rel = parsed[0][0] if parsed and parsed[0] else None
            if rel is None or not _NAME.fullmatch(rel["name"]):
                reading.add_unread(alternative)
                continue
            op, version = rel.get("version") or (None, None)
            group.append(Relation(rel["name"], norm_op(op), version))
        if group:
            reading.groups.append(group)


def parse_control(text: str) -> Reading:
    reading = Reading()
    for para in Deb822.iter_paragraphs(text.splitlines(keepends=True)):
        if "Package" not in para:
            continue  # the source paragraph: build dependencies are not runtime prerequisites
        for name in _FIELDS:
            if para.get(name):
                _read_field(" ".join(para[name].split()), reading)
    return reading

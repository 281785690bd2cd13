"""Arch PKGBUILDs: ``depends`` arrays, with versions, as makepkg reads them.

Split packages are read too: ``depends_<pkg>=(...)`` and ``depends=(...)``
inside ``package_<pkg>()``; ``depends+=(...)`` adds.  Simple variables the
PKGBUILD assigns (``_py=python2``) are expanded; any other ``$`` word is unread.
"""

from __future__ import annotations

import re
import shlex

from .base import MAX_FIELD_CHARS, Reading, Relation, norm_op

_DEPENDS = re.compile(r"^\s*depends(?:_[A-Za-z0-9@._+-]+)?\+?=\((.*?)\)", re.M | re.S)
_ASSIGN = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)=(['\"]?)([^'\"\s()$]*)\2\s*$", re.M)
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")
_DEP = re.compile(r"^([^<>=]+?)(>=|<=|=|>|<)(.+)$")
_NAME = re.compile(r"[A-Za-z0-9@._+-]+")


def parse_pkgbuild(text: str) -> Reading:
    reading = Reading()
    if len(text) > MAX_FIELD_CHARS * 4:
        reading.add_unread(f"a PKGBUILD of {len(text):,} characters")
        return reading
    variables = {m.group(1): m.group(3) for m in _ASSIGN.finditer(text)}
    for m in _DEPENDS.finditer(text):
        body = m.group(1)
        try:
            items = shlex.split(body, comments=True)
        except ValueError:
            items = body.replace("'", " ").replace('"', " ").split()
        for item in items:
            item = _VARIABLE.sub(lambda v: variables.get(v.group(1) or v.group(2), v.group(0)), item)
            dep = _DEP.match(item)
            name = dep.group(1) if dep else item
            if not _NAME.fullmatch(name):
                reading.add_unread(item)
                continue
            reading.groups.append([Relation(name, norm_op(dep.group(2)), dep.group(3)) if dep
                                   else Relation(name)])
    return reading

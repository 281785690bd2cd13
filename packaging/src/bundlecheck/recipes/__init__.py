"""Read the dependency declarations of packaging recipes as their own tools read them.

Each family has its module (:mod:`.rpm`, :mod:`.deb`, :mod:`.arch`,
:mod:`.gentoo`); each parser returns a :class:`Reading`: alternative groups (a
list of groups, each a list of :class:`Relation`, any one of which satisfies the
group: ``a | b`` in Debian, ``|| ( a b )`` in Gentoo, ``(a or b)`` in RPM), and
the words it could not read (a macro it cannot expand, a shell command).

A relation is a package name, or a *symbol*: a word the family's tools replace
by dependencies later (a Debian substvar ``${python:Depends}``, a Gentoo
variable ``${PYTHON_DEPS}`` or eclass ``distutils-r1``).  Parsers know no
project: what a symbol provides is the policy's ``[provides]`` (see
:func:`resolve`).
"""

from __future__ import annotations

from collections.abc import Callable

from . import arch, deb, gentoo, rpm
from .base import FAMILY_PROVIDES, MAX_FIELD_CHARS, Groups, Reading, Relation, resolve

PARSERS: dict[str, Callable[[str], Reading]] = {
    "rpm": rpm.parse_spec, "deb": deb.parse_control, "arch": arch.parse_pkgbuild,
    "gentoo": gentoo.parse_ebuild,
}

__all__ = ["FAMILY_PROVIDES", "MAX_FIELD_CHARS", "PARSERS", "Groups", "Reading", "Relation", "resolve"]

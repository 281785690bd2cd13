"""Version comparison per packaging family."""

from __future__ import annotations

import re

from debian.debian_support import Version as DebVersion

_SEGMENT = re.compile(r"([0-9]+|[a-zA-Z]+|~|\^)")


def rpmvercmp(a: str, b: str) -> int:
    """rpm's rpmvercmp: alternate digit/alpha segments; '~' sorts before anything, '^' after.

    Also serves pacman's vercmp and Gentoo versions well enough for minimum checks.
    """
    if a == b:
        return 0
    sa, sb = _segments(a), _segments(b)
    for x, y in zip(sa, sb, strict=False):
        if x == y:
            continue
        if x == "~" or y == "~":
            return -1 if x == "~" else 1
        if x == "^" or y == "^":
            return 1 if x == "^" else -1
        if x.isdigit() != y.isdigit():
            return 1 if x.isdigit() else -1  # a number beats letters
        if x.isdigit():
            return (int(x) > int(y)) - (int(x) < int(y))
        return (x > y) - (x < y)
    extra_a, extra_b = sa[len(sb):], sb[len(sa):]
    if extra_a:
        return -1 if extra_a[0] == "~" else 1
    if extra_b:
        return 1 if extra_b[0] == "~" else -1
    return 0


def _segments(v: str) -> list[str]:
    return _SEGMENT.findall(v)


def _split_evr(v: str) -> tuple[int, str, str]:
    epoch, _, rest = v.rpartition(":") if ":" in v else ("0", "", v)
    version, _, release = rest.partition("-")
    return int(epoch) if epoch.isdigit() else 0, version, release


def rpm_compare(a: str, b: str) -> int:
    ea, va, ra = _split_evr(a)
    eb, vb, rb = _split_evr(b)
    if ea != eb:
        return (ea > eb) - (ea < eb)
    c = rpmvercmp(va, vb)
    if c or not ra or not rb:  # a missing release matches any release
        return c
    return rpmvercmp(ra, rb)


def deb_compare(a: str, b: str) -> int:
    va, vb = DebVersion(a), DebVersion(b)
    return (va > vb) - (va < vb)


def compare(family: str, a: str, b: str) -> int:
    """-1, 0, 1 as a <, ==, > b for the family ('deb', 'rpm', 'arch', 'gentoo')."""
    if family == "deb":
        return deb_compare(a, b)
    if family == "gentoo":
        a, b = re.sub(r"-r(\d+)$", r"-\1", a), re.sub(r"-r(\d+)$", r"-\1", b)
    return rpm_compare(a, b)


_OPERATOR = re.compile(r"^\s*(>=|<=|=>|=<|>>|<<|==|>|<|=|~=)")
_PLAIN_VERSION = re.compile(r"(?:[0-9]+:)?[0-9][A-Za-z0-9.+~^-]*")


def version_problem(text: str) -> str | None:
    """Why ``text`` cannot be a minimum version the checks compare with, or None.

    It must read as a version under every family's rules (Debian's, which are the
    strictest, and rpm's segments): a digit first, then letters, digits and
    ``. + ~ ^ -``, with an optional ``EPOCH:`` in front.
    """
    if not text.strip():
        return "it is empty"
    if _OPERATOR.match(text):
        return "it starts with a comparison operator; write only the version (the minimum is implied)"
    if any(c.isspace() for c in text):
        return "it holds spaces"
    if not _PLAIN_VERSION.fullmatch(text):
        return "a version starts with a digit and holds only letters, digits and . + ~ ^ -"
    try:
        DebVersion(text)
    except ValueError as exc:
        return f"it is not a valid Debian version ({exc})"
    return None

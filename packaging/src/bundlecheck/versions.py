"""Version comparison per packaging family, as each family's own tool compares.

- Debian: python-debian's ``Version`` (what ``dpkg --compare-versions`` does).
- RPM: ``rpmvercmp`` and the epoch:version-release rule of rpm's ``rpmverCmp``
  (what ``rpmdev-vercmp`` and ``rpm.vercmp`` print), '~' and '^' included.
- Arch: pacman's ``alpm_pkg_vercmp``: rpm's older algorithm, without '~' and '^',
  where a longer run of separators wins.
- Alpine: apk-tools' rules: numbers, one letter, ``_alpha``.. ``_p`` suffixes, ``-rN``.

Each is a transcription of the C code's behaviour (none of these tools has a
maintained Python binding on PyPI); tests/ compare them with the real tools.
"""

from __future__ import annotations

import re

from debian.debian_support import Version as DebVersion

FAMILIES = ("deb", "rpm", "arch", "apk")


class VersionInvalid(ValueError):
    """A version string the family's rules do not accept; the message says why."""


def _isalnum(c: str) -> bool:
    return c.isascii() and c.isalnum()


def _isdigit(c: str) -> bool:
    return "0" <= c <= "9"


def _isalpha(c: str) -> bool:
    return c.isascii() and c.isalpha()


def _segment_cmp(one: str, two: str, isnum: bool) -> int:
    if isnum:
        one, two = one.lstrip("0"), two.lstrip("0")
        if len(one) != len(two):
            return 1 if len(one) > len(two) else -1
    return (one > two) - (one < two)


def _segment_end(s: str, i: int, isnum: bool) -> int:
    test = _isdigit if isnum else _isalpha
    while i < len(s) and test(s[i]):
        i += 1
    return i


def rpmvercmp(a: str, b: str) -> int:
    """rpm's rpmvercmp (lib/rpmvercmp.c, rpm >= 4.15): -1, 0 or 1."""
    if a == b:
        return 0
    i = j = 0
    while i < len(a) or j < len(b):
        while i < len(a) and not _isalnum(a[i]) and a[i] not in "~^":
            i += 1
        while j < len(b) and not _isalnum(b[j]) and b[j] not in "~^":
            j += 1
        one = a[i] if i < len(a) else ""
        two = b[j] if j < len(b) else ""
        if one == "~" or two == "~":  # a tilde sorts before everything, even the end
            if one != "~":
                return 1
            if two != "~":
                return -1
            i, j = i + 1, j + 1
            continue
        if one == "^" or two == "^":  # a caret sorts after the end, before anything else
            if not one:
                return -1
            if not two:
                return 1
            if one != "^":
                return 1
            if two != "^":
                return -1
            i, j = i + 1, j + 1
            continue
        if not (one and two):
            break
        isnum = _isdigit(one)
        end_a, end_b = _segment_end(a, i, isnum), _segment_end(b, j, isnum)
        if end_b == j:  # different kinds: a number is newer than letters
            return 1 if isnum else -1
        rc = _segment_cmp(a[i:end_a], b[j:end_b], isnum)
        if rc:
            return rc
        i, j = end_a, end_b
    if i >= len(a) and j >= len(b):
        return 0
    return -1 if i >= len(a) else 1


def pacman_vercmp(a: str, b: str) -> int:
    """pacman's rpmvercmp (lib/libalpm/version.c): the same segments, no '~' or '^',
    and when the separators before a segment differ in length, the longer wins."""
    if a == b:
        return 0
    i = j = 0  # one, two
    pi = pj = 0  # ptr1, ptr2: the end of the previous segment
    while i < len(a) and j < len(b):
        while i < len(a) and not _isalnum(a[i]):
            i += 1
        while j < len(b) and not _isalnum(b[j]):
            j += 1
        if not (i < len(a) and j < len(b)):
            break
        if i - pi != j - pj:
            return -1 if i - pi < j - pj else 1
        isnum = _isdigit(a[i])
        end_a, end_b = _segment_end(a, i, isnum), _segment_end(b, j, isnum)
        if end_b == j:
            return 1 if isnum else -1
        rc = _segment_cmp(a[i:end_a], b[j:end_b], isnum)
        if rc:
            return rc
        i, j = pi, pj = end_a, end_b
    if i >= len(a) and j >= len(b):
        return 0
    one = a[i] if i < len(a) else ""
    two = b[j] if j < len(b) else ""
    # A remaining alpha part never beats the end of the other version.
    if (not one and not _isalpha(two)) or _isalpha(one):
        return -1
    return 1


def split_evr(v: str) -> tuple[str, str, str | None]:
    """epoch, version, release as rpm's and pacman's parseEVR split them: the epoch is
    the leading digits before a ':' ("0" when absent), the release follows the last '-'."""
    k = 0
    while k < len(v) and _isdigit(v[k]):
        k += 1
    if k < len(v) and v[k] == ":":
        epoch, rest = v[:k] or "0", v[k + 1 :]
    else:
        epoch, rest = "0", v
    version, dash, release = rest.rpartition("-")
    if not dash:
        return epoch, rest, None
    return epoch, version, release


def _evr_compare(a: str, b: str, vercmp, missing_release: str | None) -> int:
    if a == b:
        return 0
    ea, va, ra = split_evr(a)
    eb, vb, rb = split_evr(b)
    rc = vercmp(ea, eb)
    if rc == 0:
        rc = vercmp(va, vb)
        ra = missing_release if ra is None else ra
        rb = missing_release if rb is None else rb
        if rc == 0 and ra is not None and rb is not None:
            rc = vercmp(ra, rb)
    return rc


def rpm_compare(a: str, b: str) -> int:
    """epoch:version-release as rpm compares them (``rpm.vercmp``): a missing release
    is an empty one, older than any."""
    return _evr_compare(a, b, rpmvercmp, "")


def rpm_dependency_compare(a: str, b: str) -> int:
    """As rpm matches a dependency's version (rpmdsCompare): a missing release
    matches any release, so ``1.6.4-2.fc9`` satisfies ``>= 1.6.4``."""
    return _evr_compare(a, b, rpmvercmp, None)


def arch_compare(a: str, b: str) -> int:
    """epoch:pkgver-pkgrel as pacman's vercmp compares them."""
    return _evr_compare(a, b, pacman_vercmp, None)  # a missing pkgrel matches any


def deb_compare(a: str, b: str) -> int:
    va, vb = DebVersion(a), DebVersion(b)
    return (va > vb) - (va < vb)


# --- Alpine (apk-tools src/version.c) ------------------------------------------------

_APK_PRE = ("alpha", "beta", "pre", "rc")
_APK_POST = ("cvs", "svn", "git", "hg", "p")
_APK_VERSION = re.compile(
    r"^(?P<numbers>[0-9]+(?:\.[0-9]+)*)(?P<letter>[a-z]?)"
    r"(?P<suffixes>(?:_(?:alpha|beta|pre|rc|cvs|svn|git|hg|p)[0-9]*)*)"
    r"(?:~(?P<hash>[0-9a-f]+))?(?:-r(?P<revision>[0-9]+))?$"
)
_APK_SUFFIX = re.compile(r"_([a-z]+)([0-9]*)")


def _apk_parse(v: str):
    m = _APK_VERSION.match(v)
    if m is None:
        raise VersionInvalid(
            f"{v!r} is not an Alpine version (numbers separated by dots, an optional letter, "
            "suffixes such as _rc1 or _p2, then -rN)"
        )
    numbers = m["numbers"].split(".")
    suffixes = []
    for name, number in _APK_SUFFIX.findall(m["suffixes"]):
        rank = -len(_APK_PRE) + _APK_PRE.index(name) if name in _APK_PRE else 1 + _APK_POST.index(name)
        suffixes.append((rank, int(number or 0)))
    return numbers, m["letter"], suffixes, m["hash"] or "", int(m["revision"] or 0)


def _apk_number_cmp(x: str, y: str, first: bool) -> int:
    # After the first, a number with a leading zero is a fraction: compared as text.
    if not first and (x.startswith("0") or y.startswith("0")):
        return (x > y) - (x < y)
    return (int(x) > int(y)) - (int(x) < int(y))


def apk_compare(a: str, b: str) -> int:
    """Alpine's version order: numbers, then the letter, then suffixes (pre-release ones
    before the plain version, _cvs.._p after it), the commit hash, then -rN."""
    if a == b:
        return 0
    na, la, sa, ha, ra = _apk_parse(a)
    nb, lb, sb, hb, rb = _apk_parse(b)
    for k, (x, y) in enumerate(zip(na, nb, strict=False)):
        rc = _apk_number_cmp(x, y, k == 0)
        if rc:
            return rc
    if len(na) != len(nb):
        return 1 if len(na) > len(nb) else -1
    if la != lb:
        return 1 if la > lb else -1
    for x, y in zip(sa, sb, strict=False):
        if x != y:
            return 1 if x > y else -1
    if len(sa) != len(sb):
        longer, sign = (sa, 1) if len(sa) > len(sb) else (sb, -1)
        extra = longer[min(len(sa), len(sb))]
        return sign if extra[0] > 0 else -sign  # a pre-release suffix makes it older
    if ha != hb:
        return 1 if ha > hb else -1
    return (ra > rb) - (ra < rb)


# --- validity and family dispatch ----------------------------------------------------

_RPM_LIKE = re.compile(r"^(?:[0-9]+:)?[A-Za-z0-9][A-Za-z0-9._+~^-]*$")


def version_invalid(family: str, v: str) -> str | None:
    """Why ``v`` is not a version of ``family``, as a sentence; None when it is one."""
    if not v or len(v) > 256:
        return "the version is empty or longer than 256 characters"
    if family == "deb":
        try:
            DebVersion(v)
        except ValueError as exc:
            return f"{v!r} is not a Debian version ({exc})"
        if not _isdigit(DebVersion(v).upstream_version[:1]):
            return f"{v!r} is not a Debian version (its upstream part must start with a digit)"
        return None
    if family == "apk":
        try:
            _apk_parse(v)
        except VersionInvalid as exc:
            return str(exc)
        return None
    if family in ("rpm", "arch"):
        if not _RPM_LIKE.match(v):
            return (f"{v!r} is not an {'RPM' if family == 'rpm' else 'Arch'} version (letters, "
                    "digits and . _ + ~ ^ -, with an optional EPOCH: in front)")
        return None
    return f"unknown version family {family!r}"


def compare(family: str, a: str, b: str) -> int:
    """-1, 0, 1 as a <, ==, > b for the family ('deb', 'rpm', 'arch', 'apk', 'gentoo'),
    as a dependency's version is matched (an RPM version without release matches any)."""
    if family == "deb":
        return deb_compare(a, b)
    if family == "arch":
        return arch_compare(a, b)
    if family == "apk":
        return apk_compare(a, b)
    if family == "gentoo":
        a, b = re.sub(r"-r(\d+)$", r"-\1", a), re.sub(r"-r(\d+)$", r"-\1", b)
    return rpm_dependency_compare(a, b)


def package_compare(family: str, a: str, b: str) -> int:
    """-1, 0, 1 as two packages' versions are ordered by the family's own tool."""
    return {"deb": deb_compare, "rpm": rpm_compare, "arch": arch_compare,
            "apk": apk_compare}[family](a, b)


def upstream_part(family: str, v: str) -> str:
    """The upstream version a package version carries: no epoch, no Debian revision,
    RPM or Arch release, Alpine -rN; Debian's ``+really`` names what it really is."""
    if family == "deb":
        upstream = DebVersion(v).upstream_version
        if "+really" in upstream:
            upstream = upstream.rsplit("+really", 1)[1]
        for marker in ("+dfsg", "+ds", "~dfsg", "+repack", "+ds1"):
            upstream = upstream.split(marker, 1)[0]
        return upstream
    if family == "apk":
        return re.sub(r"-r[0-9]+$", "", v)
    _epoch, version, _release = split_evr(v)
    return version


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

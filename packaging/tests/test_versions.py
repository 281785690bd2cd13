"""Each family's comparison against the family's own tool, on pairs that trip naive code.

dpkg (Debian), rpm's ``rpm.vercmp`` (RPM) and libalpm's ``alpm_pkg_vercmp`` (Arch, the
function pacman's ``vercmp`` prints) are asked about every pair; the transcriptions
must agree with them. Alpine's apk is not in Debian: its pairs follow the order
apk-tools documents (numbers, a letter, _alpha < _beta < _pre < _rc < release <
_cvs < _svn < _git < _hg < _p, then -rN), checked both ways.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import shutil
import subprocess

import pytest

from bundlecheck.versions import (
    apk_compare,
    arch_compare,
    compare,
    deb_compare,
    package_compare,
    rpm_compare,
    upstream_part,
    version_invalid,
)

DEB_PAIRS = [
    ("1.0", "1.0"), ("1.0", "1.0-1"), ("1:1.0", "2.0"), ("1.0~rc1", "1.0"), ("1.0~~", "1.0~"),
    ("1.0", "1.0+dfsg-1"), ("2.0+really1.9-1", "2.0-1"), ("2.0+really1.9-1", "1.9-1"),
    ("1.0-1", "1.0-1ubuntu1"), ("1.0-1~bpo12+1", "1.0-1"), ("1.0a", "1.0"), ("1.0-10", "1.0-9"),
    ("0:1.0", "1.0"), ("1.0.0", "1.0"), ("1.01", "1.1"), ("1.0+git20240101", "1.0.1"),
    ("2.0~beta1+dfsg-1", "2.0~beta1-1"), ("1:0.9", "9.9"), ("1.2-3", "1.2-3.1"),
    ("1.0-1+deb12u1", "1.0-1"), ("7.6p2-4", "7.6-0"),
]
RPM_PAIRS = [
    ("1.0", "1.0"), ("1.0", "1.0.1"), ("1.0~rc1", "1.0"), ("1.0^20240101", "1.0"),
    ("1.0^1", "1.0.1"), ("1.0~rc1^git1", "1.0~rc1"), ("1:1.0-1", "2.0-1"), ("0:1.0-1", "1.0-1"),
    ("1.0-1.fc42", "1.0-2.fc42"), ("1.0-1.fc41", "1.0-1.fc42"), ("1.0a", "1.0"), ("1.0", "1.0a"),
    ("1.a", "1.1"), ("1.010", "1.9"), ("1.0.0", "1.0"), ("1_0", "1.0"), ("1..0", "1.0"),
    ("2.0-1.el9_4", "2.0-1.el9"), ("1.0-1", "1.0"), ("5.5p1", "5.5p10"), ("xyz10", "xyz10.1"),
    ("1.0~~", "1.0~"), ("1.0-0.1.rc1", "1.0-1"), ("2.0+really1.9", "2.0"),
]
ARCH_PAIRS = [
    ("1.0", "1.0"), ("1.0-1", "1.0-2"), ("1:1.0-1", "2.0-1"), ("1.0a", "1.0"), ("1.0", "1.0a"),
    ("1.0alpha", "1.0"), ("1.0.a", "1.0"), ("1.0..0", "1.0.0"), ("1.0_1", "1.0.1"),
    ("1.0rc1", "1.0"), ("1.0-1", "1.0"), ("2.0.r10.gabcdef", "2.0"), ("1.010", "1.9"),
    ("1.0+1", "1.0.1"), ("1.5.0", "1.5"), ("1.5b", "1.5"), ("1.0~rc1", "1.0"),
    ("1:0.1-1", "0:9.9-1"), ("20240101", "1.0"),
]
APK_PAIRS = [  # (a, b, expected) by apk-tools' documented order
    ("2.34", "2.34", 0), ("2.34", "2.35", -1), ("2.34a", "2.34", 1), ("2.34_rc1", "2.34", -1),
    ("2.34_alpha1", "2.34_beta1", -1), ("2.34_p1", "2.34", 1), ("2.34-r1", "2.34", 1),
    ("2.34-r10", "2.34-r9", 1), ("1.01", "1.1", -1), ("1.0.1", "1.0", 1), ("1.9", "1.10", -1),
    ("2.0_rc1-r1", "2.0-r0", -1), ("2.0_git20240101", "2.0", 1), ("2.0_pre1", "2.0_rc1", -1),
    ("0.9.8z", "0.9.8", 1),
]


def _sign(n: int) -> int:
    return (n > 0) - (n < 0)


@pytest.mark.skipif(shutil.which("dpkg") is None, reason="dpkg is not installed")
@pytest.mark.parametrize(("a", "b"), DEB_PAIRS)
def test_debian_agrees_with_dpkg(a, b):
    def dpkg(op):
        return subprocess.run(["dpkg", "--compare-versions", a, op, b]).returncode == 0

    expected = -1 if dpkg("lt") else 1 if dpkg("gt") else 0
    assert deb_compare(a, b) == expected
    assert deb_compare(b, a) == -expected


@pytest.mark.skipif(shutil.which("rpm") is None, reason="rpm is not installed")
def test_rpm_agrees_with_rpm():
    script = "".join(f'print(rpm.vercmp("{a}", "{b}"), " ")' for a, b in RPM_PAIRS)
    out = subprocess.run(["rpm", "--eval", f"%{{lua: {script}}}"], capture_output=True,
                         text=True, check=True).stdout.split()
    expected = [int(x) for x in out]
    got = [rpm_compare(a, b) for a, b in RPM_PAIRS]
    assert dict(zip(RPM_PAIRS, got, strict=True)) == dict(zip(RPM_PAIRS, expected, strict=True))
    assert all(rpm_compare(b, a) == -e for (a, b), e in zip(RPM_PAIRS, expected, strict=True))


def _alpm():
    name = ctypes.util.find_library("alpm")
    if name is None:
        return None
    lib = ctypes.CDLL(name)
    lib.alpm_pkg_vercmp.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    lib.alpm_pkg_vercmp.restype = ctypes.c_int
    return lib


@pytest.mark.skipif(_alpm() is None, reason="libalpm (pacman-package-manager) is not installed")
def test_arch_agrees_with_libalpm():
    lib = _alpm()
    for a, b in ARCH_PAIRS:
        expected = _sign(lib.alpm_pkg_vercmp(a.encode(), b.encode()))
        assert (a, b, arch_compare(a, b)) == (a, b, expected)
        assert (b, a, arch_compare(b, a)) == (b, a, -expected)


@pytest.mark.parametrize(("a", "b", "expected"), APK_PAIRS)
def test_alpine_order(a, b, expected):
    assert apk_compare(a, b) == expected
    assert apk_compare(b, a) == -expected


@pytest.mark.parametrize(("family", "version"), [
    ("deb", "a1.0"), ("deb", "1.0 beta"), ("deb", ""), ("rpm", "1.0 beta"), ("rpm", "-1"),
    ("arch", "é1"), ("apk", "1.0-beta"), ("apk", "v1.0"),
])
def test_a_version_no_rule_accepts_is_named(family, version):
    assert version_invalid(family, version)


@pytest.mark.parametrize(("family", "version", "upstream"), [
    ("deb", "1:2.0-1", "2.0"), ("deb", "2.0+dfsg-3", "2.0"), ("deb", "2.0+really1.9-1", "1.9"),
    ("deb", "2.0~rc1-1", "2.0~rc1"), ("rpm", "1:2.0-2.fc42", "2.0"), ("arch", "2:1.9-3", "1.9"),
    ("apk", "2.0-r1", "2.0"), ("apk", "2.0_rc1-r0", "2.0_rc1"),
])
def test_upstream_part(family, version, upstream):
    assert upstream_part(family, version) == upstream


def test_compare_dispatches_per_family():
    assert compare("deb", "1.0~rc1", "1.0") == -1
    assert compare("rpm", "1.0^1", "1.0") == 1
    assert compare("rpm", "1.6.4-2.fc9", "1.6.4") == 0  # a dependency without release
    assert package_compare("rpm", "1.6.4-2.fc9", "1.6.4") == 1
    assert compare("arch", "1.0~rc1", "1.0") == 1  # pacman has no tilde rule
    assert compare("apk", "1.0_rc1", "1.0") == -1

"""Prerequisites from .spec, debian/control, PKGBUILD and .ebuild."""

from __future__ import annotations

import pytest
from builders import CONF, CONTROL, SPEC, E, d, gz, ids, tar_bytes

from bundlecheck.recipes import Relation
from bundlecheck.recipes.arch import parse_pkgbuild
from bundlecheck.recipes.deb import parse_control
from bundlecheck.recipes.gentoo import parse_ebuild
from bundlecheck.recipes.rpm import parse_spec
from bundlecheck.versions import compare

B = "distros/ubuntu/"
PKGBUILD_OK = b"""pkgname=convirt
depends=('python2>=2.4' 'xen>=3.0.4' 'pygtk'
         'python2-paramiko>=1.7' vte)  # trailing comment
"""
EBUILD_OK = b"""EAPI=2
DEPEND=">=dev-lang/python-2.4"
RDEPEND="${DEPEND}
    >=app-emulation/xen-3.0.4
    dev-python/pygtk
    || ( x11-libs/vte app-misc/other )
    >=dev-python/paramiko-1.7.1"
"""


def bundle(name: str, text: bytes, *extra: E) -> bytes:
    return gz(tar_bytes([d("distros"), d(B.rstrip("/")), E(B + "convirt.conf", CONF),
                         E(B + name, text), *extra]))


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        pytest.param("debian/control", CONTROL, set(), id="deb-good"),
        pytest.param("convirt.spec", SPEC, set(), id="rpm-good-with-patch"),
        pytest.param("PKGBUILD", PKGBUILD_OK, set(), id="arch-good"),
        pytest.param("convirt-2.0.ebuild", EBUILD_OK, set(), id="gentoo-good"),
        pytest.param("debian/control", CONTROL.replace(b"python (>= 2.4)", b"python (>= 2.3)"),
                     {"prereq-version-too-low"}, id="deb-python-too-low"),
        pytest.param("debian/control", CONTROL.replace(b"xen-utils (>= 3.0.4)", b"xen-utils"),
                     {"prereq-unversioned"}, id="deb-xen-unversioned"),
        pytest.param("debian/control", CONTROL.replace(b" python-gtk2,", b""),
                     {"prereq-missing"}, id="deb-gtk-missing"),
        pytest.param("debian/control", CONTROL.replace(b"(>= 1.7.1)", b"(>= 1.6.4)"),
                     {"paramiko-patch-missing"}, id="deb-old-paramiko-no-patch"),
        pytest.param("convirt.spec", SPEC.replace(b"Patch0: paramiko-1.6.4-fix.patch\n", b""),
                     {"paramiko-patch-missing"}, id="rpm-no-patch"),
        pytest.param("convirt.spec", SPEC.replace(b"xen >= 3.0.4", b"xen >= 3.0.2"),
                     {"prereq-version-too-low"}, id="rpm-xen-too-low"),
        pytest.param("PKGBUILD", PKGBUILD_OK.replace(b"'pygtk'", b""), {"prereq-missing"},
                     id="arch-gtk-missing"),
        pytest.param("convirt-2.0.ebuild", EBUILD_OK.replace(b"paramiko-1.7.1", b"paramiko-1.5"),
                     {"prereq-version-too-low", "paramiko-patch-missing"}, id="gentoo-old-paramiko"),
        pytest.param("README", b"no recipe", {"recipe-missing"}, id="no-recipe"),
    ],
)
def test_prereq_findings(run, name, text, expected):
    report = run(bundle(name, text))
    found = {c for c in ids(report) if c.startswith(("prereq-", "paramiko-", "recipe-"))}
    assert found == expected, report.findings


def test_patch_in_debian_patches_counts_as_applied(run):
    text = CONTROL.replace(b"(>= 1.7.1)", b"(>= 1.6.4)")
    report = run(bundle("debian/control", text, E(B + "debian/patches/paramiko-fix.patch", b"--- a")))
    assert "paramiko-patch-missing" not in ids(report)


def test_spec_macros_are_tolerated():
    spec = "%global pyver 2.4\nRequires: python >= %{pyver}, %{?fedora:pygtk2} %{!?fedora:python-gtk}\n"
    assert parse_spec(spec).groups == [[Relation("python", ">=", "2.4")], [Relation("pygtk2")],
                                [Relation("python-gtk")]]


def test_deb_alternatives_and_arch_qualifiers():
    groups = parse_control("Package: x\nDepends: python:any (>= 2.5) | python2, vte\n").groups
    assert groups == [[Relation("python", ">=", "2.5"), Relation("python2")], [Relation("vte")]]


def test_pkgbuild_and_ebuild_parsers():
    assert [r.name for [r] in parse_pkgbuild(PKGBUILD_OK.decode()).groups] == [
        "python2", "xen", "pygtk", "python2-paramiko", "vte"]
    groups = parse_ebuild(EBUILD_OK.decode()).groups
    assert [Relation("x11-libs/vte"), Relation("app-misc/other")] in groups
    assert [Relation("dev-lang/python", ">=", "2.4")] in groups


@pytest.mark.parametrize(
    ("family", "a", "b", "sign"),
    [
        ("deb", "1.6.4-1", "1.6.4", 1), ("deb", "1:1.0", "2.0", 1), ("deb", "1.6~rc1", "1.6", -1),
        ("deb", "2.4", "2.4", 0), ("rpm", "1.10", "1.9", 1), ("rpm", "3.0.4", "3.0.10", -1),
        ("rpm", "1.6.4-2.fc9", "1.6.4", 0), ("rpm", "1.0~rc1", "1.0", -1), ("rpm", "2.4a", "2.4", 1),
        ("rpm", "1:0.1", "9.9", 1), ("gentoo", "1.7.2-r1", "1.7.1", 1), ("arch", "3.0.4", "3.0.4", 0),
    ],
)
def test_version_compare(family, a, b, sign):
    assert compare(family, a, b) == sign


class _CountingPattern:
    """A compiled pattern that counts the lines it is asked about."""

    def __init__(self, pattern):
        self.pattern, self.searches = pattern, 0

    def search(self, *args):
        self.searches += 1
        return self.pattern.search(*args)


@pytest.mark.parametrize("recipes", [20, 80])
def test_recipes_and_files_are_read_once_each(policy, recipes):
    # Each recipe beside each file was searched for the patch: recipes x files lines.
    # Now the files are searched once per bundle, and each recipe once.
    import dataclasses
    import io

    import bundlecheck

    counting = _CountingPattern(policy.patched_prereq.patch_pattern)
    pol = dataclasses.replace(policy, patched_prereq=dataclasses.replace(policy.patched_prereq,
                                                                         patch_pattern=counting))
    spec = b"Name: convirt\nRequires: python >= 2.4, xen >= 3.0.4, pygtk2, vte, python-paramiko >= 1.6.4\n"
    files = recipes
    entries = [E(f"{B}specs/c{i}.spec", spec) for i in range(recipes)]
    entries += [E(f"{B}files/f{i}.txt", b"x") for i in range(files)]
    report = bundlecheck.verify(io.BytesIO(bundle("README", b"x", *entries)), distro="ubuntu", policy=pol,
                                lint=False)
    assert sum(f.check == "paramiko-patch-missing" for f in report.findings) == recipes
    own_files = recipes + files + 2  # with convirt.conf and README
    assert counting.searches == own_files + recipes * spec.count(b"\n")

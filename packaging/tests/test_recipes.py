"""Recipes written the way distributions write them, read as their tools read them.

The corpus in ``recipes/`` is written for these tests in each family's real
idioms (Mandriva and PLD macros, Fedora's python(abi) and rich dependencies, an
AUR PKGBUILD and a split one, a Gentoo ebuild on the python eclasses, Debian
control files with substvars and arch qualifiers).  Each is judged whole, then
with one prerequisite taken out, which must still be reported.
"""

from __future__ import annotations

import random
import re
import time
from pathlib import Path

import pytest
from builders import CONF, E, d, gz, ids, tar_bytes

from bundlecheck.recipes import Reading, Relation, resolve
from bundlecheck.recipes.arch import parse_pkgbuild
from bundlecheck.recipes.deb import parse_control, parse_depends
from bundlecheck.recipes.gentoo import parse_ebuild
from bundlecheck.recipes.rpm import parse_spec, read_requires, rpm_header_groups

CORPUS = Path(__file__).parent / "recipes"
B = "distros/ubuntu/"
PREREQ_CHECKS = ("prereq-", "paramiko-", "recipe-")

# fixture -> (its name in the bundle, the findings a packager expects)
EXPECTED = {
    "mandriva-convirt.spec": ("convirt.spec", set()),
    "pld-convirt.spec": ("convirt.spec", {"prereq-unread"}),
    "fedora-convirt.spec": ("convirt.spec", set()),
    "aur-PKGBUILD": ("PKGBUILD", set()),
    "aur-split-PKGBUILD": ("PKGBUILD", set()),
    "virt-manager-like-2.0.ebuild": ("convirt-2.0.ebuild", set()),
    "debian-control": ("debian/control", set()),
    "debian-control-multiarch": ("debian/control", set()),
}

# fixture -> (text taken out, the prerequisite then missing): a true error stays an error
REMOVED = {
    "mandriva-convirt.spec": ("Requires:\txen >= 3.0.4\n", "xen"),
    "fedora-convirt.spec": ("Requires:       xen >= 3.0.4\n", "xen"),
    "aur-PKGBUILD": (" 'vte')", ")", "vte"),
    "aur-split-PKGBUILD": (" 'pygtk'", "", "python-gtk"),
    "virt-manager-like-2.0.ebuild": ("\tx11-libs/vte:0[python]\n", "vte"),
    "debian-control": (" python-vte,", "", "vte"),
    "debian-control-multiarch": (" libvte9,", "", "vte"),
}


def bundle(name: str, text: bytes) -> bytes:
    parents = [d(B + p) for p in _parents(name)]
    return gz(tar_bytes([d("distros"), d(B.rstrip("/")), *parents, E(B + "convirt.conf", CONF),
                         E(B + name, text)]))


def _parents(name: str) -> list[str]:
    parts = name.split("/")[:-1]
    return ["/".join(parts[:i + 1]) for i in range(len(parts))]


def _prereq_findings(report) -> set[str]:
    return {c for c in ids(report) if c.startswith(PREREQ_CHECKS)}


@pytest.mark.parametrize("fixture", sorted(EXPECTED))
def test_corpus_gets_the_findings_a_packager_expects(run, fixture):
    name, expected = EXPECTED[fixture]
    report = run(bundle(name, (CORPUS / fixture).read_bytes()))
    assert _prereq_findings(report) == expected, [str(f) for f in report.findings]


@pytest.mark.parametrize("fixture", sorted(REMOVED))
def test_a_prerequisite_taken_out_is_still_missing(run, fixture):
    *replace, prereq = REMOVED[fixture]
    old, new = (replace[0], "") if len(replace) == 1 else replace
    text = (CORPUS / fixture).read_text()
    assert old in text
    report = run(bundle(EXPECTED[fixture][0], text.replace(old, new, 1).encode()))
    missing = [f for f in report.findings if f.check == "prereq-missing"]
    assert [f.message.split(" does not require ")[1].split(" ")[0] for f in missing] == [prereq], missing


def test_pld_macro_is_unread_not_missing(run):
    report = run(bundle("convirt.spec", (CORPUS / "pld-convirt.spec").read_bytes()))
    [unread] = [f for f in report.findings if f.check == "prereq-unread"]
    assert unread.severity == "info"
    assert "could not read %pyrequires_eq python-modules in" in unread.message
    assert "python, python-curses not found" in unread.message
    assert "checked by hand" in unread.message


def test_missing_message_names_every_alias(run):
    text = (CORPUS / "debian-control").read_text().replace("${python:Depends}, ", "")
    report = run(bundle("debian/control", text.encode()))
    [python] = [f for f in report.findings if f.check == "prereq-missing" and "require python " in f.message]
    assert python.message.endswith("${python:Depends})")  # the seventh alias, once cut off


# --- each family's idioms, parser by parser -----------------------------------------


def names(reading: Reading) -> list[list[str]]:
    return [[r.name for r in group] for group in reading.groups]


def test_debian_substvars_are_kept_whole_and_arch_qualifiers_dropped():
    reading = parse_depends("${python:Depends}, ${shlibs:Depends}, python:any (>= 2.5) | python2:native")
    assert names(reading) == [["${python:Depends}"], ["${shlibs:Depends}"], ["python", "python2"]]
    assert reading.groups[2][0] == Relation("python", ">=", "2.5")
    assert [r.kind for g in reading.groups[:2] for r in g] == ["variable", "variable"]


def test_rpm_names_with_parentheses_are_one_name():
    reading = Reading()
    read_requires("python(abi) = 2.6, pkgconfig(glib-2.0) >= 2.80.0 perl(Foo::Bar)", reading)
    assert reading.groups == [[Relation("python(abi)", "=", "2.6")],
                              [Relation("pkgconfig(glib-2.0)", ">=", "2.80.0")], [Relation("perl(Foo::Bar)")]]


@pytest.mark.parametrize(("value", "expected"), [
    ("(python-a or python-b)", [["python-a", "python-b"]]),
    ("(python-a and python-b)", [["python-a"], ["python-b"]]),
    ("(python-a if fedora-release)", [["python-a"]]),
    ("(python-a if fedora-release else python-b)", [["python-a", "python-b"]]),
    ("(python-a >= 1.0 or (python-b with python-c))", [["python-a", "python-b", "python-c"]]),
    ("(pkgconfig(x) >= 2 unless foo)", [["pkgconfig(x)"]]),
])
def test_rpm_rich_dependencies(value, expected):
    reading = Reading()
    read_requires(value, reading)
    assert names(reading) == expected


def test_rpm_macros_expand_as_rpmspec_would():
    spec = ("%global pyver 2.4\n%define pkg python\nName: convirt\nVersion: 2.0\n"
            "Requires: %{pkg} >= %{pyver}, %{?fedora:pygtk2} %{!?fedora:python-gtk}\n"
            "Requires: %{name}-common = %{version}\n%{?rhel:Requires: vte}\n%py_requires -d\n"
            "%description\nRequires: not-read-after-the-preamble\n")
    reading = parse_spec(spec)
    assert reading.groups == [[Relation("python", ">=", "2.4")], [Relation("pygtk2")],
                              [Relation("python-gtk")], [Relation("convirt-common", "=", "2.0")],
                              [Relation("vte")],
                              [Relation("%py_requires", kind="variable")]]
    assert reading.unread == []


def test_rpm_spec_and_binary_header_read_the_same():
    spec = parse_spec("Requires: python(abi) = 2.6, (vte or python-vte), pkgconfig(glib-2.0) >= 2.80.0\n")
    header = rpm_header_groups(["python(abi)", "(vte or python-vte)", "pkgconfig(glib-2.0)", "rpmlib(X)"],
                               ["2.6", "", "2.80.0", "1"], [8, 0, 12, 8])
    assert header == spec.groups


def test_rpm_unexpanded_version_is_unread_not_too_low(run):
    spec = (CORPUS / "fedora-convirt.spec").read_text().replace("python(abi) = 2.6", "python >= %{pyver}")
    report = run(bundle("convirt.spec", spec.encode()))
    assert _prereq_findings(report) == {"prereq-unread"}
    [unread] = [f for f in report.findings if f.check == "prereq-unread"]
    assert "python >= %{pyver}" in unread.message


def test_gentoo_eclasses_variables_and_gen_cond_dep():
    reading = parse_ebuild((CORPUS / "virt-manager-like-2.0.ebuild").read_text())
    assert ["distutils-r1"] in names(reading) and ["${PYTHON_DEPS}"] in names(reading)
    assert [Relation("dev-python/paramiko", ">=", "1.7")] in reading.groups
    assert ["dev-python/pygtk"] in names(reading) and ["x11-libs/vte"] in names(reading)
    assert reading.unread == []
    resolved = resolve(reading, {"distutils-r1": (Relation("dev-lang/python"),)})
    assert [Relation("dev-lang/python", via="distutils-r1"), Relation("distutils-r1", kind="eclass")] \
        in resolved.groups
    assert resolved.unread == ["${PYTHON_DEPS}"]  # the eclass gnome2 is no dependency: not listed


def test_gentoo_unknown_command_is_unread():
    reading = parse_ebuild('RDEPEND="$(my_helper foo) >=dev-lang/python-2.7"\n')
    assert reading.unread == ["$(my_helper foo)"]
    assert reading.groups == [[Relation("dev-lang/python", ">=", "2.7")]]


def test_arch_split_packages_and_variables():
    reading = parse_pkgbuild((CORPUS / "aur-split-PKGBUILD").read_text())
    assert names(reading) == [["python2"], ["xen"], ["pygtk"], ["vte"], ["python2-paramiko"]]
    assert reading.groups[0] == [Relation("python2", ">=", "2.4")]
    reading = parse_pkgbuild("depends_convirt=('python2>=2.4')\ndepends=(\"$unknown\")\n")
    assert names(reading) == [["python2"]] and reading.unread == ["$unknown"]


def test_policy_provides_names_a_symbol_for_another_project(tmp_path):
    import io

    import bundlecheck

    text = (Path(bundlecheck.__file__).parent / "policies" / "convirt.toml").read_text()
    control = (CORPUS / "debian-control").read_text().replace("${python:Depends}", "${convirt:Depends}")
    data = bundle("debian/control", control.encode())
    before = bundlecheck.verify(io.BytesIO(data), distro="ubuntu", policy=bundlecheck.parse_policy(text),
                                lint=False)
    assert _prereq_findings(before) == {"prereq-unread"}  # not "python missing"
    text = text.replace('"${shlibs:Depends}" = []',
                        '"${shlibs:Depends}" = []\n"${convirt:Depends}" = ["python >= 2.5"]')
    after = bundlecheck.verify(io.BytesIO(data), distro="ubuntu", policy=bundlecheck.parse_policy(text),
                               lint=False)
    assert _prereq_findings(after) == set()


def test_policy_provides_refuses_a_malformed_entry():
    import bundlecheck

    text = (Path(bundlecheck.__file__).parent / "policies" / "convirt.toml").read_text()
    with pytest.raises(bundlecheck.PolicyError, match="package name, optionally followed"):
        bundlecheck.parse_policy(text.replace('"${shlibs:Depends}" = []', '"${shlibs:Depends}" = ["a b c"]'))


# --- the general property, not just the examples ------------------------------------

_NAME_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789-._+"


def _random_name(rng: random.Random) -> str:
    name = rng.choice("abcdefghijklmnopqrstuvwxyz") + "".join(rng.choice(_NAME_CHARS)
                                                              for _ in range(rng.randint(1, 12)))
    if rng.random() < 0.4:  # python(abi), perl(Foo::Bar), pkgconfig(glib-2.0)
        name += "(" + "".join(rng.choice(_NAME_CHARS + ":") for _ in range(rng.randint(1, 10))) + ")"
    return name


@pytest.mark.parametrize("seed", range(30))
def test_rpm_every_written_name_is_read_back_whole(seed):
    rng = random.Random(seed)
    rels = []
    for _ in range(rng.randint(1, 8)):
        version = rng.choice([None, "2.4", "1:2.8-3", "0.1~rc1"])
        rels.append(Relation(_random_name(rng), rng.choice([">=", "=", "<"]) if version else None, version))
    sep = rng.choice([", ", " ", ",", "  ,  "])
    value = sep.join(r.name + (f" {r.op} {r.version}" if r.op else "") for r in rels)
    rich = rng.random() < 0.5
    if rich:
        value += f", ({rels[0].name} or {rels[-1].name})"
    reading = parse_spec(f"Name: x\nRequires: {value}\n")
    expected = [[r] for r in rels] + ([[Relation(rels[0].name), Relation(rels[-1].name)]] if rich else [])
    assert reading.groups == expected and reading.unread == []


@pytest.mark.parametrize("seed", range(30))
def test_debian_every_substvar_and_name_is_read_back(seed):
    rng = random.Random(seed)
    items: list[Relation] = []
    for _ in range(rng.randint(1, 8)):
        if rng.random() < 0.4:
            word = "".join(rng.choice("abcdefghij") for _ in range(rng.randint(1, 8)))
            items.append(Relation("${" + word + rng.choice([":Depends", ":Recommends", "-x:Depends"]) + "}",
                                  kind="variable"))
        else:
            name = rng.choice("abcdefghijklmnopqrstuvwxyz") + "".join(
                rng.choice("abcdefghijklmnopqrstuvwxyz0123456789-.+") for _ in range(rng.randint(1, 12)))
            items.append(Relation(name, ">=", "2.4") if rng.random() < 0.5 else Relation(name))
    text = ", ".join(r.name + (rng.choice([":any", ":native", ""]) if r.kind == "package" else "")
                     + (f" ({r.op} {r.version})" if r.op else "") for r in items)
    reading = parse_control(f"Source: x\n\nPackage: x\nDepends: {text}\n")
    assert reading.groups == [[r] for r in items] and reading.unread == []


# --- bad input: linear time, a finding, never a stall ------------------------------


@pytest.mark.parametrize(("family", "text"), [
    ("rpm", "Requires: " + "a, " * 50_000),  # a dependency line of 150,000 characters
    ("rpm", "%define a %{a}%{a}\nRequires: %{a}\n"),  # a macro that expands to itself
    ("rpm", "Name: x\n" + "# filler\n" * 1_100_000),  # a 10 MB recipe
    ("rpm", "Requires: " + "(" * 10_000 + "a" + ")" * 10_000 + "\n"),
    ("gentoo", 'RDEPEND="' + "|| ( " * 10_000 + "a/b" + " )" * 10_000 + '"\n'),
    ("gentoo", 'RDEPEND="' + "( " * 10_000 + "a/b\n"),
    ("deb", "Package: x\nDepends: " + "a | " * 30_000 + "b\n"),
    ("arch", "depends=(" + "'a' " * 50_000 + ")\n"),
])
def test_hostile_recipes_are_read_in_linear_time(family, text):
    from bundlecheck.recipes import PARSERS

    start = time.perf_counter()
    reading = PARSERS[family](text)
    assert time.perf_counter() - start < 5
    assert isinstance(reading, Reading)


def test_a_macro_that_expands_to_itself_is_unread():
    reading = parse_spec("%define a %{a}%{a}\nRequires: %{a}\n")
    assert reading.groups == [] and re.search(r"does not stop expanding", " ".join(reading.unread))


def test_nesting_past_the_limit_is_unread():
    reading = Reading()
    read_requires("(" * 100 + "a" + ")" * 100, reading)
    assert reading.unread and "nested more than" in reading.unread[0]


def test_debhelper_misc_depends_hides_no_missing_prerequisite(tmp_path):
    # A policy without [provides] (another project's): ${misc:Depends} is debhelper's own,
    # so a prerequisite missing beside it is still an error, not "checked by hand".
    import io

    import bundlecheck

    text = (Path(bundlecheck.__file__).parent / "policies" / "convirt.toml").read_text()
    text = re.sub(r"\[provides\.deb\].*?\n\n", "", text, flags=re.S)
    control = (CORPUS / "debian-control").read_text().replace(" python-vte,", "").replace(
        "${python:Depends}", "python (>= 2.4)")
    report = bundlecheck.verify(io.BytesIO(bundle("debian/control", control.encode())), distro="ubuntu",
                                policy=bundlecheck.parse_policy(text), lint=False)
    assert "prereq-missing" in ids(report)
    assert "${misc:Depends}" not in " ".join(f.message for f in report.findings)

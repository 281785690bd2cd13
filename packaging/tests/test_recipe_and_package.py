"""The recipe and the package built from it are read alike.

A real .rpm is built with rpmbuild from a spec, and a real .deb with dpkg-deb
from a control file; bundlecheck reads the same prerequisites from the recipe
as from the package's header, and judges both the same way.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import pytest

import bundlecheck
from bundlecheck.checks.prereqs import evaluate
from bundlecheck.decompress import RawReader
from bundlecheck.formats import DEB, RPM
from bundlecheck.limits import Limits
from bundlecheck.packages import read_package
from bundlecheck.recipes import Reading
from bundlecheck.recipes.deb import parse_control
from bundlecheck.recipes.rpm import parse_spec

POLICY = bundlecheck.load_policy("convirt")

SPEC = """\
%global pyabi 2.6
Name:           convirt
Version:        2.0
Release:        1
Summary:        Graphical manager of Xen virtual machines
License:        GPLv2
BuildArch:      noarch
AutoReqProv:    no
Requires:       python(abi) = %{pyabi}
Requires:       xen >= 3.0.4, pygtk2 >= 2.8
Requires:       (vte or python-vte)
Requires:       (python-paramiko >= 1.7 or python2-paramiko >= 1.7)
Requires:       pkgconfig(glib-2.0) >= 2.80.0
Requires:       perl(File::Temp)
Requires(post): coreutils

%description
ConVirt manages Xen virtual machines.

%install
mkdir -p %{buildroot}/usr/share/convirt
echo convirt > %{buildroot}/usr/share/convirt/README

%files
/usr/share/convirt/README
"""

CONTROL = """\
Package: convirt
Version: 2.0-1
Architecture: all
Maintainer: Packager <packager@example.org>
Pre-Depends: dpkg (>= 1.15)
Depends: python:any (>= 2.5) | python2:any (>= 2.7), xen-utils (>= 3.0.4) | xen-utils-common,
 python-gtk2 (>= 2.8), python-vte, python-paramiko (>= 1.7.1)
Description: graphical management of Xen virtual machines
 ConVirt manages Xen.
"""


def _findings(reading: Reading, family: str) -> list[tuple[str, str]]:
    def emit(check, path, message, hint):
        return (check, message.split(" ", 1)[1])  # without the path, which names the file or field

    return list(evaluate(POLICY, family, reading, "x", emit))


def _package(data: bytes, kind: str):
    return read_package(RawReader(io.BytesIO(data), None, len(data)), kind, Limits())


@pytest.mark.skipif(shutil.which("rpmbuild") is None, reason="rpmbuild is not installed")
def test_spec_and_the_rpm_built_from_it_agree(tmp_path: Path):
    spec = tmp_path / "convirt.spec"
    spec.write_text(SPEC)
    subprocess.run(["rpmbuild", "-bb", "--quiet", "--define", f"_topdir {tmp_path / 'top'}",
                    "--define", "_build_id_links none", str(spec)],
                   check=True, capture_output=True, timeout=120)
    [rpm] = (tmp_path / "top" / "RPMS" / "noarch").glob("*.rpm")
    package = _package(rpm.read_bytes(), RPM)
    recipe = parse_spec(SPEC)
    assert sorted(map(repr, package.groups)) == sorted(map(repr, recipe.groups))  # rpm sorts them
    assert [r.name for g in recipe.groups for r in g][:2] == ["python(abi)", "xen"]
    assert _findings(recipe, "rpm") == _findings(Reading(package.groups), "rpm") == []


@pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="dpkg-deb is not installed")
def test_control_and_the_deb_built_from_it_agree(tmp_path: Path):
    root = tmp_path / "convirt"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN" / "control").write_text(CONTROL)
    (root / "usr/share/convirt").mkdir(parents=True)
    (root / "usr/share/convirt/README").write_text("convirt\n")
    subprocess.run(["dpkg-deb", "--root-owner-group", "--build", str(root), str(tmp_path / "c.deb")],
                   check=True, capture_output=True, timeout=120)
    package = _package((tmp_path / "c.deb").read_bytes(), DEB)
    recipe = parse_control(CONTROL)
    assert package.groups == recipe.groups
    assert [r.name for r in recipe.groups[1]] == ["python", "python2"]  # ':any' dropped, on both
    assert _findings(recipe, "deb") == _findings(Reading(package.groups), "deb") == []


@pytest.mark.skipif(shutil.which("rpmbuild") is None, reason="rpmbuild is not installed")
def test_a_missing_prerequisite_is_missing_in_both(tmp_path: Path):
    text = SPEC.replace("Requires:       xen >= 3.0.4, pygtk2 >= 2.8\n", "Requires:       pygtk2 >= 2.8\n")
    spec = tmp_path / "convirt.spec"
    spec.write_text(text)
    subprocess.run(["rpmbuild", "-bb", "--quiet", "--define", f"_topdir {tmp_path / 'top'}",
                    "--define", "_build_id_links none", str(spec)],
                   check=True, capture_output=True, timeout=120)
    [rpm] = (tmp_path / "top" / "RPMS" / "noarch").glob("*.rpm")
    package = _package(rpm.read_bytes(), RPM)
    expected = [("prereq-missing", "does not require xen (known as xen, xen-utils, xen-tools, "
                 "xen-utils-common, xen-hypervisor, app-emulation/xen, app-emulation/xen-tools, xen-libs)")]
    assert _findings(parse_spec(text), "rpm") == _findings(Reading(package.groups), "rpm") == expected


def _rpmspec_requires(text: str, tmp_path: Path) -> Reading:
    """What rpmspec itself expands the spec's Requires to (with a Fedora's %fedora set),
    read back by the same Requires reader."""
    from bundlecheck.recipes.rpm import read_requires

    spec = tmp_path / "x.spec"
    spec.write_text(text)
    out = subprocess.run(["rpmspec", "-q", "--requires", "--define", "fedora 40", str(spec)],
                         capture_output=True, text=True, check=True, timeout=60).stdout
    reading = Reading()
    for line in out.splitlines():
        read_requires(line, reading)
    return reading


@pytest.mark.skipif(shutil.which("rpmspec") is None, reason="rpmspec is not installed")
@pytest.mark.parametrize("name", ["fedora-convirt.spec", "SPEC"])
def test_macros_expand_as_rpmspec_expands_them(name, tmp_path):
    text = SPEC if name == "SPEC" else (Path(__file__).parent / "recipes" / name).read_text()
    ours = parse_spec(text)
    theirs = _rpmspec_requires(text, tmp_path)
    assert sorted(map(repr, ours.groups)) == sorted(map(repr, theirs.groups))


@pytest.mark.skipif(shutil.which("rpmspec") is None, reason="rpmspec is not installed")
@pytest.mark.parametrize("seed", range(8))
def test_random_specs_read_as_rpmspec_reads_them(seed, tmp_path):
    import random

    rng = random.Random(seed)
    chars = "abcdefghijklmnopqrstuvwxyz0123456789-._+"

    def name() -> str:
        word = rng.choice("abcdefghijklmnopqrstuvwxyz") + "".join(rng.choice(chars) for _ in range(6))
        return word + ("(" + "".join(rng.choice(chars + ":") for _ in range(5)) + ")" if rng.random() < 0.5
                       else "")

    lines = []
    for i in range(rng.randint(2, 6)):
        rel = name() + rng.choice(["", " >= %{v" + str(i) + "}", " = 1.0-1"])
        lines.append(f"%global v{i} {rng.randint(1, 9)}.{rng.randint(0, 20)}\n"
                     + rng.choice(["Requires: {}\n", "Requires(post): {}\n", "%{{?fedora:Requires: {}}}\n",
                                   "Requires: ({} or " + name() + ")\n"]).format(rel))
    text = ("Name: x\nVersion: 1.0\nRelease: 1\nSummary: x\nLicense: MIT\n" + "".join(lines)
            + "%description\nx\n")
    theirs = _rpmspec_requires(text, tmp_path)
    assert sorted(map(repr, parse_spec(text).groups)) == sorted(map(repr, theirs.groups))

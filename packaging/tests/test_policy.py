"""Policies: the shipped one loads; broken ones fail with a clear message; others work."""

from __future__ import annotations

import io

import pytest
from builders import E, d, gz, ids, tar_bytes

import bundlecheck

MINIMAL = """schema = 1
name = "other"
[layout]
root = "other-*"
contribution_roots = ["pkg/{distro}/"]
distro_dir = "pkg/{distro}/"
[config]
file = "other.ini"
locations = ["pkg/{distro}/other.ini"]
[[config.required]]
section = "main"
key = "prefix"
[recipes]
deb = ["debian/control"]
[[prereqs]]
name = "libfoo"
min_version = "2.0"
aliases = ["libfoo2", "foo-libs"]
[severity]
"prereq-unversioned" = "error"
"""


def test_shipped_policy_encodes_the_guide():
    p = bundlecheck.load_policy("convirt")
    assert {x.name for x in p.prereqs} >= {"python", "xen", "python-gtk", "python-curses", "vte",
                                           "python-paramiko"}
    assert p.roots_for("ubuntu") == ("distros/ubuntu/", "install/client/distros/ubuntu/")
    assert p.deployment and p.deployment.symlinks[0].path == "/usr/bin/convirt"
    assert any(c.mode == 0o744 for c in p.deployment.critical)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("schema = 1\nname = 'x'\n[layout\n", "not valid TOML"),
        ("schema = 2\nname = 'x'\n", "schema must be 1"),
        (MINIMAL.replace('root = "other-*"\n', ""), "missing required key 'root'"),
        (MINIMAL.replace("[layout]\n", "[layout]\nrooot = 'x'\n"), "unknown key(s) ['rooot']"),
        (MINIMAL.replace('"pkg/{distro}/"]', '"pkg/"]'), "must hold {distro}"),
        (MINIMAL.replace('"prereq-unversioned" = "error"', '"no-such-check" = "error"'),
         "unknown check id 'no-such-check'"),
        (MINIMAL.replace('"prereq-unversioned" = "error"', '"prereq-unversioned" = "fatal"'),
         "must be one of"),
        (MINIMAL + "[limits]\nmax_members = -1\n", "positive"),
        (MINIMAL + "[limits]\nmax_bananas = 1\n", "unknown key(s) ['max_bananas']"),
        (MINIMAL.replace('min_version = "2.0"', "min_version = 2"), "expected a string"),
        (MINIMAL + "[linters]\nblocking = ['no-copyright-file']\n", "is not 'lintian:<tag>'"),
        (MINIMAL + "[linters]\nblock = ['lintian:x']\n", "unknown key(s) ['block']"),
        (MINIMAL + "[linters]\nblocking = ['lintian:x']\nadvisory = ['lintian:x']\n",
         "both blocking and advisory"),
    ],
)
def test_invalid_policy_is_refused_clearly(tmp_path, text, words):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(bundlecheck.PolicyError) as err:
        bundlecheck.load_policy(str(path))
    assert words in str(err.value) and "bad.toml" in str(err.value)


def test_unknown_shipped_name():
    with pytest.raises(bundlecheck.PolicyError, match="no shipped policy named 'nope'"):
        bundlecheck.load_policy("nope")


def test_another_project_writes_its_own_policy(tmp_path):
    path = tmp_path / "other.toml"
    path.write_text(MINIMAL)
    policy = bundlecheck.load_policy(path)
    archive = gz(tar_bytes([d("pkg"), d("pkg/deb"), E("pkg/deb/other.ini", b"[main]\nprefix=/usr\n"),
                            E("pkg/deb/debian/control", b"Package: o\nDepends: foo-libs\n")]))
    report = bundlecheck.verify(io.BytesIO(archive), distro="deb", policy=policy)
    assert ids(report) == {"prereq-unversioned"}
    assert report.findings[0].severity == "error"  # raised by the policy's [severity]
    archive = gz(tar_bytes([d("pkg"), d("pkg/deb"), E("pkg/deb/other.ini", b"[main]\n")]))
    report = bundlecheck.verify(io.BytesIO(archive), distro="deb", policy=policy)
    assert {"config-key-missing", "recipe-missing"} <= ids(report)

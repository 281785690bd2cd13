"""The index readers on well-formed indexes and on hostile ones.

The indexes the real tools write (dpkg-scanpackages, createrepo_c, repo-add) are read in
tests/releases/test_repositories.py through the portal; here each format is written by
hand, small, and then broken in the ways a hostile mirror would.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import time

import pytest
from builders import E, d, gz, tar_bytes, xz

from bundlecheck.indexes import (
    IndexProblem,
    read_index,
    repomd_primary,
)
from bundlecheck.limits import Limits, MiB

SOURCES = b"""Package: tern
Binary: tern
Version: 2.0-1
Maintainer: Someone <someone@example.org>
Files:
 0123 12 tern_2.0-1.dsc

Package: ternary
Version: 9.9-1

Package: tern
Version: 1:1.9-3
"""

PRIMARY = b"""<?xml version="1.0" encoding="UTF-8"?>
<metadata xmlns="http://linux.duke.edu/metadata/common"
  xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="2">
<package type="rpm"><name>tern</name><arch>noarch</arch>
  <version epoch="0" ver="2.0" rel="2.fc42"/><summary>x</summary></package>
<package type="rpm"><name>other</name><arch>noarch</arch>
  <version epoch="3" ver="1.0" rel="1"/></package>
<package type="rpm"><name>tern</name><arch>src</arch>
  <version epoch="1" ver="1.9" rel="1.fc42"/></package>
</metadata>
"""

REPOMD = b"""<?xml version="1.0" encoding="UTF-8"?>
<repomd xmlns="http://linux.duke.edu/metadata/repo">
  <data type="filelists"><location href="repodata/abc-filelists.xml.gz"/></data>
  <data type="primary"><location href="repodata/abc-primary.xml.gz"/></data>
</repomd>
"""

APKINDEX = b"""C:Q1abc=
P:tern
V:2.0-r1
A:x86_64
T:a tern

P:ternlib
V:2.0-r1

P:tern
V:1.9-r0
"""


def arch_db(packages: list[tuple[str, str]], extra: list[E] | None = None) -> bytes:
    entries: list[E] = []
    for name, version in packages:
        directory = f"{name}-{version}"
        entries += [d(directory), E(f"{directory}/desc",
                                    f"%FILENAME%\n{directory}-any.pkg.tar.zst\n\n%NAME%\n{name}"
                                    f"\n\n%VERSION%\n{version}\n\n".encode())]
    return gz(tar_bytes(entries + (extra or [])))


def apk_index(text: bytes = APKINDEX, extra: list[E] | None = None) -> bytes:
    # A signed index: a gzip stream holding the signature's tar header without an end,
    # then the index's own gzip stream.
    signature = tar_bytes([E(".SIGN.RSA.alpine-devel@example.org.rsa.pub", b"sig")])
    signature = signature[: 1024]  # header and data block, no end-of-archive blocks
    body = tar_bytes([E("DESCRIPTION", b"v3.20"), E("APKINDEX", text), *(extra or [])])
    return gz(signature) + gz(body)


def read(fmt, data, names=("tern",), **kwargs):
    return read_index(fmt, io.BytesIO(data), names, **kwargs)


@pytest.mark.parametrize("pack", [lambda b: b, gz, xz], ids=["plain", "gz", "xz"])
def test_debian_sources_every_version_of_the_named_package(pack):
    got = read("deb-sources", pack(SOURCES))
    assert got.found == {"tern": ["2.0-1", "1:1.9-3"]}
    assert got.entries == 3


def test_debian_without_the_package_reads_as_found_nothing():
    assert read("deb-packages", SOURCES, names=("absent",)).found == {}


def test_rpm_primary_versions_with_epochs():
    got = read("rpm-md", gz(PRIMARY), names=("tern", "other"))
    assert got.found == {"tern": ["2.0-2.fc42", "1:1.9-1.fc42"], "other": ["3:1.0-1"]}
    assert got.entries == 3


def test_repomd_names_its_primary():
    assert repomd_primary(REPOMD) == "repodata/abc-primary.xml.gz"


@pytest.mark.parametrize("href", ["/etc/passwd", "../../x", "http://elsewhere/x", ""])
def test_repomd_primary_outside_the_repository_is_refused(href):
    text = REPOMD.replace(b"repodata/abc-primary.xml.gz", href.encode())
    with pytest.raises(IndexProblem, match="path inside the repository"):
        repomd_primary(text)


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<metadata xmlns="http://linux.duke.edu/metadata/common"><package><name>&lol3;</name></package>
</metadata>"""
EXTERNAL = b"""<?xml version="1.0"?>
<!DOCTYPE m [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<metadata xmlns="http://linux.duke.edu/metadata/common"><package><name>&x;</name></package>
</metadata>"""


@pytest.mark.parametrize("xml", [BILLION_LAUGHS, EXTERNAL], ids=["billion-laughs", "external"])
def test_xml_entities_are_refused(xml):
    with pytest.raises(IndexProblem, match="DTD or entities"):
        read("rpm-md", gz(xml))
    with pytest.raises(IndexProblem, match="DTD or entities"):
        repomd_primary(xml)


def test_arch_db():
    got = read("arch-db", arch_db([("tern", "2.0-1"), ("tern-docs", "2.0-1"), ("x", "1-1")]))
    assert got.found == {"tern": ["2.0-1"]}
    assert got.entries == 3


def test_apkindex_signed_two_streams():
    got = read("apk-index", apk_index())
    assert got.found == {"tern": ["2.0-r1", "1.9-r0"]}
    assert got.entries == 3


@pytest.mark.parametrize("fmt", ["arch-db", "apk-index"])
@pytest.mark.parametrize("name", ["../escape/desc", "/etc/desc", "a/../../desc"])
def test_tar_indexes_with_traversal_names_are_refused(fmt, name):
    data = (arch_db([("tern", "2.0-1")], [E(name, b"x")]) if fmt == "arch-db"
            else apk_index(extra=[E(name, b"x")]))
    with pytest.raises(IndexProblem, match=r"refused.*climbs out|refused.*absolute"):
        read(fmt, data)


def test_a_million_stanzas_stop_at_the_entry_limit_quickly():
    data = gz(b"Package: filler\nVersion: 1.0\n\n" * 1_000_000)
    started = time.monotonic()
    with pytest.raises(IndexProblem, match="more than 100,000 entries"):
        read("deb-sources", data, max_entries=100_000)
    assert time.monotonic() - started < 10


def test_a_decompression_bomb_stops_at_the_size_limit():
    bomb = gz(b"\n" * (80 * MiB))
    with pytest.raises(IndexProblem, match=r"expands more than|unpacks to more than"):
        read("deb-sources", bomb, limits=Limits(max_total_size=64 * MiB, ratio_threshold=MiB))


def test_an_endless_line_is_refused():
    with pytest.raises(IndexProblem, match="line longer"):
        read("deb-sources", gz(b"Package: " + b"x" * (2 * MiB)))


@pytest.mark.parametrize(("fmt", "data", "message"), [
    ("deb-sources", b"", "empty"),
    ("deb-sources", b"\n\n\n", "no stanza"),
    ("rpm-md", gz(b"<html>hello</html>"), "root element"),
    ("rpm-md", gz(b"<metadata"), "not well-formed"),
    ("arch-db", b"plain text, not a tar", "not a tar archive"),
    ("apk-index", gz(tar_bytes([E("other", b"x")])), "no APKINDEX"),
    ("deb-sources", gz(SOURCES)[:40], "truncated|corrupt"),
])
def test_broken_indexes_say_what_is_wrong(fmt, data, message):
    with pytest.raises(IndexProblem, match=message):
        read(fmt, data)


@pytest.mark.skipif(shutil.which("pacman") is None, reason="pacman is not installed")
def test_a_hand_written_arch_db_reads_as_pacman_reads_it(tmp_path):
    """The Arch database written to its documented format here is the one pacman lists."""
    data = arch_db([("tern", "2.0-1"), ("ternary", "0.1-1"), ("other", "1:3.0-2")])
    (tmp_path / "db" / "sync").mkdir(parents=True)
    (tmp_path / "db" / "sync" / "extra.db").write_bytes(data)
    (tmp_path / "pacman.conf").write_text(
        "[options]\nArchitecture = auto\nSigLevel = Never\n[extra]\nServer = file:///none\n")
    listed = subprocess.run(
        ["pacman", "--config", str(tmp_path / "pacman.conf"), "--dbpath", str(tmp_path / "db"),
         "-Sl", "extra"], capture_output=True, text=True, check=True).stdout.split("\n")
    pacman = {}
    for line in filter(None, listed):
        _repo, name, version = line.split()[:3]
        pacman.setdefault(name, []).append(version)
    assert pacman == {"tern": ["2.0-1"], "ternary": ["0.1-1"], "other": ["1:3.0-2"]}
    assert read("arch-db", data, names=tuple(pacman)).found == pacman

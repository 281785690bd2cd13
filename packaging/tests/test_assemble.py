"""The publish step's merged tarball: right content, reproducible bytes."""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile

import pytest
from builders import CONF, E, NonSeekable, d, good_bundle, good_package, gz, reference_tree, tar_bytes

import bundlecheck


def _assemble(pre: bytes, contributions: list[tuple[str, bytes]], **kw) -> tuple[bytes, dict]:
    out = io.BytesIO()
    result = bundlecheck.assemble(io.BytesIO(pre), [(dn, io.BytesIO(b)) for dn, b in contributions],
                                  out, **kw)
    return out.getvalue(), result


def _members(data: bytes) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as t:
        return {m.name: m for m in t.getmembers()}


def _content(data: bytes, name: str) -> bytes:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as t:
        f = t.extractfile(name)
        assert f is not None
        return f.read()


PRE = gz(tar_bytes(reference_tree()))
SUSE_NEW = [d("distros"), d("distros/suse"), E("distros/suse/convirt.conf", b"[PATHS]\nnew=1\n"),
            E("distros/suse/postinstall", b"#!/bin/sh\n", mode=0o755)]


def test_contributions_replace_only_their_distro():
    data, result = _assemble(PRE, [("ubuntu", gz(tar_bytes(good_package()))),
                                   ("suse", gz(tar_bytes(SUSE_NEW)))])
    members = _members(data)
    assert "convirt-2.0/distros/ubuntu/debian/control" in members
    assert _content(data, "convirt-2.0/distros/suse/convirt.conf") == b"[PATHS]\nnew=1\n"
    assert _content(data, "convirt-2.0/distros/fedora/convirt.conf") == CONF
    assert members["convirt-2.0/install/client/ConVirt"].mode == 0o755
    assert result["members"] == len(members)
    assert result["sha256"] == hashlib.sha256(data).hexdigest()
    assert result["sha512"] == hashlib.sha512(data).hexdigest() and result["size"] == len(data)


def test_a_package_contribution_cannot_change_other_files():
    tampered = [E(e.name, b"evil") if e.name.endswith("src/convirt.py") else e for e in good_package()]
    data, _ = _assemble(PRE, [("ubuntu", gz(tar_bytes(tampered)))])
    assert _content(data, "convirt-2.0/src/convirt.py") == b"print('hi')\n"


def test_a_removed_file_of_the_distro_is_gone():
    data, _ = _assemble(PRE, [("suse", gz(tar_bytes([d("distros/suse")])))])
    assert "convirt-2.0/distros/suse/convirt.conf" not in _members(data)
    assert "convirt-2.0/distros/suse" in _members(data)


def test_output_is_reproducible_and_normalised():
    first, r1 = _assemble(PRE, [("ubuntu", gz(tar_bytes(good_bundle())))])
    # Same content, different input compression and member order: same bytes out.
    shuffled = list(reversed(good_bundle()))
    second, r2 = _assemble(tar_bytes(reference_tree()), [("ubuntu", tar_bytes(shuffled))])
    assert first == second and r1 == r2
    assert first[3] == 0 and first[4:8] == b"\0\0\0\0"  # gzip: no FNAME flag, mtime 0
    members = list(_members(first).values())
    assert [m.name for m in members] == sorted(m.name for m in members)
    assert {(m.uid, m.gid, m.uname, m.gname, m.mtime) for m in members} == {(0, 0, "root", "root",
                                                                             946684800)}


def test_root_can_be_renamed_and_mtime_chosen():
    data, _ = _assemble(PRE, [], root="convirt-2.0.1", mtime=1_234_567_890)
    members = _members(data)
    assert all(n == "convirt-2.0.1" or n.startswith("convirt-2.0.1/") for n in members)
    assert {m.mtime for m in members.values()} == {1_234_567_890}


def test_streams_from_non_seekable_inputs():
    out = io.BytesIO()
    bundlecheck.assemble(NonSeekable(PRE), [("ubuntu", NonSeekable(gz(tar_bytes(good_bundle()))))],  # type: ignore[arg-type]
                         out)
    assert "convirt-2.0/distros/ubuntu/convirt.conf" in _members(out.getvalue())


def test_assembled_tarball_verifies_against_its_pre_release():
    data, _ = _assemble(PRE, [("ubuntu", gz(tar_bytes(good_bundle())))])
    reference = bundlecheck.build_manifest(io.BytesIO(PRE))
    report = bundlecheck.verify(io.BytesIO(data), distro="ubuntu", reference=reference)
    assert report.verdict == "pass", report.findings
    assert gzip.decompress(data)  # a plain, valid gzip


@pytest.mark.parametrize(
    "contribution",
    [tar_bytes([d("distros/ubuntu"), E("distros/ubuntu/../../../etc/x", b"x")]),
     gz(tar_bytes(good_bundle()))[:-20]],
    ids=["unsafe", "truncated"],
)
def test_unsafe_or_corrupt_contribution_is_refused(contribution):
    with pytest.raises(bundlecheck.ArchiveError, match="the ubuntu contribution"):
        _assemble(PRE, [("ubuntu", contribution)])


def test_write_tarball_is_reproducible_and_read_back_whole():
    members = [("tern-1.0/tern/cli.py", b"print('hi')\n", 0o644), ("tern-1.0/run.sh", b"#!/bin/sh\n", 0o755),
               ("tern-1.0/empty/", None, 0o755)]
    first, second = io.BytesIO(), io.BytesIO()
    bundlecheck.write_tarball(first, members)
    bundlecheck.write_tarball(second, list(reversed(members)))
    assert first.getvalue() == second.getvalue()
    manifest = bundlecheck.build_manifest(io.BytesIO(first.getvalue()))
    assert manifest["root"] == "tern-1.0"
    got = {path: (m["type"], m["mode"], m["size"]) for path, m in manifest["members"].items()}
    assert got == {"tern": ("dir", 0o755, 0), "tern/cli.py": ("file", 0o644, 12),
                   "run.sh": ("file", 0o755, 10), "empty": ("dir", 0o755, 0)}

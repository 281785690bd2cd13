"""Every row of the archive table in BAD_INPUTS.md, plus what a good archive must not trip."""

from __future__ import annotations

import dataclasses
import io
import tarfile

import pytest
from builders import E, NonSeekable, bz, d, good_package, gz, ids, tar_bytes, xz

import bundlecheck
from bundlecheck.limits import Limits

R = "convirt-2.0/"


def _flip_gzip_crc(data: bytes) -> bytes:
    b = bytearray(data)
    b[-8] ^= 0xFF  # first byte of the CRC32 in the gzip trailer
    return bytes(b)


def _garbage_second_header() -> bytes:
    raw = bytearray(tar_bytes([E(R + "a", b"1"), E(R + "b", b"2"), E(R + "c", b"3")]))
    raw[1024:1024 + 512] = b"garbage!" * 64  # header of member 2 (member 1: header + 1 block)
    return bytes(raw)


def _plain() -> bytes:
    return tar_bytes(good_package())


# (case id, archive bytes or a factory, filename, expected check, words the message must hold)
ARCHIVE_ROWS = [
    ("empty-file", b"", None, "archive-unreadable", "empty"),
    ("not-an-archive", b"hello, this is not a tarball\n" * 40, None, "archive-unreadable", "not a tar"),
    ("wrong-compression-for-name", lambda: xz(_plain()), "convirt-2.0.tar.gz", "archive-unreadable",
     "named as gzip"),
    ("empty-gzip", lambda: gz(b""), None, "archive-unreadable", "empty"),
    ("truncated-gzip", lambda: gz(_plain())[:-100], None, "archive-corrupt", "truncated"),
    ("truncated-gzip-trailer", lambda: gz(_plain())[:-4], None, "archive-corrupt", "truncated"),
    ("gzip-crc-mismatch", lambda: _flip_gzip_crc(gz(_plain())), None, "archive-corrupt", "corrupt"),
    ("truncated-bzip2", lambda: bz(_plain())[:-50], None, "archive-corrupt", "bzip2"),
    ("truncated-xz", lambda: xz(_plain())[:-50], None, "archive-corrupt", "xz"),
    ("truncated-plain-tar-mid-member",
     lambda: tar_bytes([E(R + "big", b"x" * 5000)])[:2048], None, "archive-corrupt", "big"),
    ("plain-tar-without-end-blocks", lambda: tar_bytes([E(R + "a", b"1")])[:1024], None,
     "archive-corrupt", "end-of-archive"),
    ("garbage-header-mid-archive", _garbage_second_header, None, "archive-corrupt",
     "byte 1024, after member 'convirt-2.0/a'"),
    ("trailing-data-after-tar", lambda: _plain() + b"surprise", None, "archive-trailing-data",
     "end of the tar"),
    ("trailing-garbage-after-gzip", lambda: gz(_plain()) + b"\x01garbage", None,
     "archive-trailing-data", "follows the compressed stream"),
    ("concatenated-hidden-tar-gzip",
     lambda: gz(_plain()) + gz(tar_bytes([E(R + "evil", b"x")])), None, "archive-trailing-data",
     "hidden"),
    ("concatenated-hidden-tar-plain", lambda: _plain() + tar_bytes([E(R + "evil", b"x")]), None,
     "archive-trailing-data", "hidden"),
    ("dotdot-member", lambda: tar_bytes([d(R), E("../x", b"x")]), None, "archive-unsafe-path", "../x"),
    ("nested-dotdot-member", lambda: tar_bytes([d(R), E("a/../../x", b"x")]), None,
     "archive-unsafe-path", "a/../../x"),
    ("absolute-member", lambda: tar_bytes([d(R), E("/etc/x", b"x")]), None, "archive-unsafe-path",
     "/etc/x"),
    ("symlink-absolute",
     lambda: tar_bytes([d(R), E(R + "l", type=tarfile.SYMTYPE, linkname="/etc/passwd")]), None,
     "archive-unsafe-link", "absolute"),
    ("symlink-outside",
     lambda: tar_bytes([d(R), E(R + "l", type=tarfile.SYMTYPE, linkname="../../etc")]), None,
     "archive-unsafe-link", "leaves"),
    ("symlink-to-archive-top-outside-root",
     lambda: tar_bytes([d(R), E(R + "l", type=tarfile.SYMTYPE, linkname="../other")]), None,
     "archive-unsafe-link", "leaves"),
    ("symlink-chain-outside",
     lambda: tar_bytes([d(R), E(R + "a", type=tarfile.SYMTYPE, linkname=".."),
                        E(R + "b", type=tarfile.SYMTYPE, linkname="a/..")]), None,
     "archive-unsafe-link", "convirt-2.0/b"),
    ("hardlink-absolute",
     lambda: tar_bytes([d(R), E(R + "h", type=tarfile.LNKTYPE, linkname="/etc/shadow")]), None,
     "archive-unsafe-link", "absolute"),
    ("hardlink-outside",
     lambda: tar_bytes([d(R), E(R + "h", type=tarfile.LNKTYPE, linkname="../outside")]), None,
     "archive-unsafe-link", "leaves"),
    ("member-through-symlinked-dir",
     lambda: tar_bytes([d(R), E(R + "d", type=tarfile.SYMTYPE, linkname="."),
                        E(R + "d/evil", b"x")]), None,
     "archive-unsafe-link", "through the symbolic link"),
    ("char-device", lambda: tar_bytes([d(R), E(R + "tty", type=tarfile.CHRTYPE)]), None,
     "archive-special-file", "character device"),
    ("block-device", lambda: tar_bytes([d(R), E(R + "sda", type=tarfile.BLKTYPE)]), None,
     "archive-special-file", "block device"),
    ("fifo", lambda: tar_bytes([d(R), E(R + "pipe", type=tarfile.FIFOTYPE)]), None,
     "archive-special-file", "FIFO"),
    ("sparse", lambda: tar_bytes([d(R), E(R + "holes", type=tarfile.GNUTYPE_SPARSE)]), None,
     "archive-special-file", "sparse"),
    ("unknown-type", lambda: tar_bytes([d(R), E(R + "vol", type=b"V")]), None,
     "archive-special-file", "unsupported"),
    ("setuid", lambda: tar_bytes([d(R), E(R + "su", b"x", mode=0o4755)]), None,
     "archive-unsafe-mode", "4755"),
    ("setgid", lambda: tar_bytes([d(R), E(R + "sg", b"x", mode=0o2755)]), None,
     "archive-unsafe-mode", "2755"),
    ("sticky", lambda: tar_bytes([d(R), d(R + "tmp", mode=0o1777)]), None,
     "archive-unsafe-mode", "1777"),
    ("world-writable", lambda: tar_bytes([d(R), E(R + "ww", b"x", mode=0o666)]), None,
     "archive-unsafe-mode", "0666"),
    ("duplicate-member", lambda: tar_bytes([d(R), E(R + "a", b"1"), E(R + "a", b"2")]), None,
     "archive-duplicate-member", "convirt-2.0/a"),
    ("duplicate-via-dot-slash", lambda: tar_bytes([d(R), E(R + "a", b"1"), E("./" + R + "a", b"2")]),
     None, "archive-duplicate-member", "more than once"),
    ("non-utf8-name", lambda: tar_bytes([d(R), E(R + "caf\udce9", b"x")]), None,
     "archive-bad-name", "caf\\xe9"),
    ("control-char-name", lambda: tar_bytes([d(R), E(R + "bad\x1b[31mname", b"x")]), None,
     "archive-bad-name", "bad\\x1b[31mname"),
    ("path-too-long", lambda: tar_bytes([d(R), E(R + "x" * 1100, b"x")]), None,
     "archive-too-large", "longer than"),
    ("path-too-deep", lambda: tar_bytes([d(R), E(R + "a/" * 40 + "f", b"x")]), None,
     "archive-too-large", "deeper than"),
    ("huge-extended-header", lambda: tar_bytes([d(R), E(R + "y" * 100_000, b"x")]), None,
     "archive-too-large", "extended tar header"),
    ("no-single-root", lambda: tar_bytes([d("a"), E("a/x", b"1"), d("b"), E("b/y", b"2")]), None,
     "layout-single-root", "one top-level directory"),
]


@pytest.mark.parametrize(
    ("data", "filename", "check", "words"),
    [pytest.param(*row[1:], id=row[0]) for row in ARCHIVE_ROWS],
)
def test_bad_archive_is_rejected_with_a_named_finding(run, data, filename, check, words):
    data = data() if callable(data) else data
    report = run(data, filename=filename)
    assert report.verdict == "fail"
    matching = [f for f in report.findings if f.check == check]
    assert matching, f"expected {check}, got {[f.check for f in report.findings]}"
    assert any(words in f.message for f in matching), [f.message for f in matching]
    assert all(f.hint for f in matching)


def test_wrong_root_is_rejected_naming_the_expected_one(run):
    reference = bundlecheck.build_manifest(io.BytesIO(gz(tar_bytes(good_package()))))
    report = run(gz(tar_bytes(good_package("convirt-1.9"))), reference=reference)
    [f] = [f for f in report.findings if f.check == "layout-single-root"]
    assert "expected convirt-2.0/" in f.message and f.path == "convirt-1.9"


@pytest.mark.parametrize("compress", [lambda b: b, gz, bz, xz], ids=["tar", "gz", "bz2", "xz"])
def test_good_archive_has_no_archive_findings(run, compress):
    report = run(compress(tar_bytes(good_package())))
    assert not {c for c in ids(report) if c.startswith("archive-")}, report.findings


@pytest.mark.parametrize("fmt", [tarfile.GNU_FORMAT, tarfile.PAX_FORMAT, tarfile.USTAR_FORMAT])
def test_tar_formats_are_read(run, fmt):
    long = "convirt-2.0/doc/" + "n" * 90  # fits ustar's prefix+name split
    report = run(gz(tar_bytes([d("convirt-2.0"), d("convirt-2.0/doc"), E(long, b"x")], fmt=fmt)))
    assert not {c for c in ids(report) if c.startswith("archive-")}, report.findings


def test_multi_member_gzip_of_one_tar_is_legal(run):
    data = tar_bytes(good_package())
    half = len(data) // 2
    report = run(gz(data[:half]) + gz(data[half:]))
    assert "archive-corrupt" not in ids(report) and "archive-trailing-data" not in ids(report)


def test_zero_padding_after_gzip_is_tolerated(run):
    report = run(gz(tar_bytes(good_package())) + b"\0" * 4096)
    assert "archive-trailing-data" not in ids(report)


def test_non_seekable_stream_is_read(policy):
    data = gz(tar_bytes(good_package()))
    report = bundlecheck.verify(NonSeekable(data), distro="ubuntu", policy=policy)  # type: ignore[arg-type]
    assert report.stats["bytes_read"] == len(data)
    assert not {c for c in ids(report) if c.startswith("archive-")}


def _limited(policy, **limits) -> bundlecheck.Policy:
    return dataclasses.replace(policy, limits=Limits(**limits))


@pytest.mark.parametrize(
    ("limits", "data", "words"),
    [
        pytest.param({"max_total_size": 100_000}, lambda: gz(tar_bytes([E(R + "f", b"a" * 200_000)])),
                     "more than 100000 bytes", id="total-size"),
        pytest.param({"max_members": 10}, lambda: tar_bytes([E(R + f"f{i}", b"x") for i in range(11)]),
                     "more than 10 members", id="member-count"),
        pytest.param({"ratio_threshold": 1 << 20, "max_ratio": 50},
                     lambda: gz(tar_bytes([E(R + "zeros", bytes(4 << 20))])),
                     "decompression bomb", id="ratio"),
    ],
)
def test_limits_stop_the_read(policy, limits, data, words):
    report = bundlecheck.verify(io.BytesIO(data()), distro="ubuntu", policy=_limited(policy, **limits))
    too_large = [f for f in report.findings if f.check == "archive-too-large"]
    assert too_large and words in too_large[0].message


def test_progress_is_called_sparingly(run):
    calls: list[tuple[int, int | None]] = []
    data = tar_bytes([d(R), E(R + "f", bytes(range(256)) * 200_000)])  # ~51 MB plain tar
    run(data, progress=lambda done, total: calls.append((done, total)), total_size=len(data))
    assert 1 <= len(calls) <= 101
    assert calls[-1] == (len(data), len(data))
    assert [c[0] for c in calls] == sorted(c[0] for c in calls)


def test_build_manifest_refuses_an_unsafe_reference():
    with pytest.raises(bundlecheck.ArchiveError) as err:
        bundlecheck.build_manifest(io.BytesIO(tar_bytes([d(R), E("../x", b"x")])))
    assert err.value.check == "archive-unsafe-path" and "../x" in err.value.message


def test_build_manifest_refuses_a_corrupt_reference():
    with pytest.raises(bundlecheck.ArchiveError) as err:
        bundlecheck.build_manifest(io.BytesIO(_flip_gzip_crc(gz(_plain()))))
    assert err.value.check == "archive-corrupt"


def test_links_inside_the_tree_are_fine(run):
    entries = [*good_package(), E(R + "doc/latest", type=tarfile.SYMTYPE, linkname="guide.txt"),
               E(R + "doc/up", type=tarfile.SYMTYPE, linkname="../src/convirt.py"),
               E(R + "doc/copy", type=tarfile.LNKTYPE, linkname=R + "doc/guide.txt")]
    report = run(tar_bytes(entries))
    assert "archive-unsafe-link" not in ids(report), report.findings

"""Bounded cost: time linear in size and members, memory a constant, findings collapsed and capped."""

from __future__ import annotations

import dataclasses
import gzip
import io
import json
import tarfile
import time

import pytest
import zstandard
from builders import E, d, good_bundle, good_package, gz, ids, tar_bytes
from tarcraft import END, bundle, header, member, pax, symlink

import bundlecheck
from bundlecheck.findings import MAX_FINDINGS
from bundlecheck.limits import Limits


def _limited(policy, **limits):
    return dataclasses.replace(policy, limits=dataclasses.replace(Limits(), **limits))


def test_a_2000_deep_tree_gives_a_few_findings_fast(run):
    path, blobs = "distros/ubuntu", []
    for _ in range(2000):
        path += "/d"
        blobs.append(pax([("path", path + "/")]) + header(path[:99] + "/", type=b"5", mode=0o755))
    started = time.monotonic()
    report = run(gz(bundle(*blobs)))
    assert time.monotonic() - started < 5
    too_large = [f for f in report.findings if f.check == "archive-too-large"]
    assert len(report.findings) < 10, [f.message[:80] for f in report.findings]
    [f] = too_large
    assert f.message.startswith("1970 members have paths over the length or depth limit")


def test_deep_pax_paths_are_linear(run):
    blobs = [pax([("path", "a/" * 32_000 + f"f{i}")]) + header(f"f{i}", size=1) + bytes(512)
             for i in range(40)]
    started = time.monotonic()
    report = run(gz(b"".join(blobs) + END))
    assert time.monotonic() - started < 3
    assert "archive-too-large" in ids(report) and len(report.findings) < 10


def test_every_header_counts_against_the_member_limit(policy):
    data = bundle(*[member("distros/ubuntu/dup.txt", b"") for _ in range(30)])
    report = bundlecheck.verify(io.BytesIO(data), distro="ubuntu", policy=_limited(policy, max_members=20))
    messages = {f.check: f.message for f in report.findings}
    assert "more than 20 members" in messages["archive-too-large"]
    assert messages["archive-duplicate-member"].startswith("14 members are named 'distros/ubuntu/dup.txt'")


def test_same_name_members_collapse_into_one_finding(run):
    data = gzip.compress(bundle(header("distros/ubuntu/dup.txt") * 20_000), 1)
    report = run(data)
    dup = [f for f in report.findings if f.check == "archive-duplicate-member"]
    assert len(dup) == 1 and dup[0].message.startswith("20000 members are named")
    assert len(json.dumps(report.to_dict())) < 10_000


def test_findings_are_capped_with_a_closing_count(run):
    unsafe = b"".join(member(f"distros/ubuntu/w{i}", b"", mode=0o666) for i in range(MAX_FINDINGS + 300))
    report = run(bundle(unsafe))
    assert len(report.findings) == MAX_FINDINGS + 1
    assert report.omitted >= 300 and report.to_dict()["omitted"] == report.omitted
    closing = report.findings[-1]
    assert closing.check == "findings-omitted" and f"{report.omitted} more findings" in closing.message
    assert len(json.dumps(report.to_dict())) < 1 << 20


def test_total_name_bytes_are_capped(policy):
    names = b"".join(pax([("path", "distros/ubuntu/" + "n" * 900 + f"{i:06d}")]) +
                     header(f"n{i}") for i in range(200))
    report = bundlecheck.verify(io.BytesIO(bundle(names)), distro="ubuntu",
                                policy=_limited(policy, max_name_bytes=100_000))
    assert any("names add up to more than 100000 bytes" in f.message for f in report.findings)


# --- ordinary archives ------------------------------------------------------------


@pytest.mark.parametrize("blocks", [1, 2, 20])
def test_an_archive_of_zero_blocks_is_empty(run, blocks):
    for data in (bytes(512 * blocks), gz(bytes(512 * blocks))):
        report = run(data)
        assert [f.check for f in report.findings] == ["archive-unreadable"], report.findings
        assert "the archive is empty" in report.findings[0].message


def test_zstd_is_read(run):
    report = run(zstandard.ZstdCompressor().compress(tar_bytes(good_bundle())), filename="b.tar.zst")
    assert report.verdict == "pass", report.findings


def test_messages_name_zstd(run):
    report = run(b"not an archive at all" * 40)
    assert ".tar.zst" in report.findings[0].message


def test_dot_slash_bundle_passes(run):
    entries = [d("."), *[dataclasses.replace(e, name="./" + e.name) for e in good_bundle()]]
    report = run(gz(tar_bytes(entries)))
    assert report.verdict == "pass", report.findings


def test_a_bundle_under_the_release_root_is_judged_as_a_bundle(run):
    from builders import CONF

    reference = bundlecheck.build_manifest(io.BytesIO(gz(tar_bytes(good_package()))))
    r = "convirt-2.0/"
    entries = [d(r), *[dataclasses.replace(e, name=r + e.name) for e in good_bundle()],
               d(r + "install"), d(r + "install/client"), d(r + "install/client/distros"),
               d(r + "install/client/distros/ubuntu"),
               E(r + "install/client/distros/ubuntu/convirt.conf", CONF)]
    report = run(gz(tar_bytes(entries)), reference=reference)
    assert report.verdict == "pass", [(f.check, f.message) for f in report.findings]


def test_a_bundle_under_the_wrong_root_is_refused(run):
    reference = bundlecheck.build_manifest(io.BytesIO(gz(tar_bytes(good_package()))))
    entries = [d("convirt-1.9"),
               *[dataclasses.replace(e, name="convirt-1.9/" + e.name) for e in good_bundle()]]
    report = run(gz(tar_bytes(entries)), reference=reference)
    assert any(f.check == "layout-single-root" and "expected convirt-2.0/" in f.message
               for f in report.findings)


def test_a_config_linked_into_another_distro_says_where_it_points(run):
    reference = bundlecheck.build_manifest(io.BytesIO(gz(tar_bytes(good_package()))))
    r = "convirt-2.0/"
    entries = [e for e in good_package() if not e.name.endswith("ubuntu/convirt.conf")]
    entries.append(E(r + "distros/ubuntu/convirt.conf", type=tarfile.SYMTYPE,
                     linkname="../fedora/convirt.conf"))
    report = run(gz(tar_bytes(entries)), reference=reference)
    [conf] = [f for f in report.findings if f.check == "config-missing"]
    assert "symbolic link to distros/fedora/convirt.conf (in the fedora distro's directory)" in conf.message
    assert "must be a regular file" in conf.message and "cp " in conf.hint
    assert any(f.check == "archive-unsafe-link" and "fedora" in f.message for f in report.findings)


def test_pax_size_that_is_not_a_number_says_so(run):
    report = run(bundle(pax([("size", "abc")]), member("distros/ubuntu/x", b"x")))
    [f] = [f for f in report.findings if f.severity == "error"]
    assert f.check == "archive-ambiguous-header"
    assert "member 7 ('distros/ubuntu/x'): its pax header gives size=abc, not a decimal number" in f.message


def test_a_bad_sparse_map_is_a_plain_refusal(run):
    report = run(bundle(pax([("GNU.sparse.map", "1,x")]), member("distros/ubuntu/x", b"x")))
    [f] = [f for f in report.findings if f.severity == "error"]
    assert f.check == "archive-special-file" and "sparse file" in f.message
    assert "ValueError" not in f.message and "invalid literal" not in f.message


def test_symlinks_inside_the_bundle_are_fine(run):
    report = run(bundle(symlink("distros/ubuntu/latest", "convirt.conf")))
    assert report.verdict == "pass", report.findings

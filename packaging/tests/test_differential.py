"""Differential tests: what bundlecheck passes, GNU tar and bsdtar extract the same way.

Every archive here is built byte by byte (tarcraft), extracted by both tools in a
scratch folder and compared with what bundlecheck reported (differential.check).
Each class of header that two extractors could read differently is also checked
to be refused with a finding that names the member and says what to do.
"""

from __future__ import annotations

import io
import os
import tarfile

import pytest
from builders import CONF, E, good_package, gz, tar_bytes
from differential import POLICY, PropertyFailure, check, missing_extractors
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tarcraft import (
    BLOCK,
    END,
    FIELDS,
    HIDDEN,
    OLDGNU,
    USTAR,
    V7,
    bundle,
    directory,
    gnu_long,
    good_bundle_members,
    hardlink,
    header,
    member,
    pad,
    pax,
    pax_records,
    set_checksum,
    symlink,
)

import bundlecheck

# Both gzip inflates (ISA-L and zlib) must pass and refuse the same archives.
pytestmark = pytest.mark.usefixtures("inflate_backend")


@pytest.fixture(scope="module", autouse=True)
def _extractors():
    missing = missing_extractors()
    if missing:
        message = f"the differential tests need {', '.join(missing)}"
        if os.environ.get("CI") == "true":
            pytest.fail(message + " (CI=true: install them, these tests must run)")
        pytest.skip(message)


R = "convirt-2.0/"
N = "distros/ubuntu/notes.txt"
EVIL = "distros/fedora/convirt.conf"


def _base256(value: int, length: int) -> bytes:
    return b"\x80" + value.to_bytes(length - 1, "big")


def _anonymous(field: str, value: bytes) -> dict[str, bytes]:
    # Without user and group names GNU tar reads the numbers (with them, it looks the names up).
    return {field: value, "uname": b"", "gname": b""}


OUT_OF_RANGE_PAX = [("uid", str(2**32)), ("gid", str(2**64)), ("size", str(2**64)),
                    ("mtime", "9" * 30), ("mtime", "-" + "9" * 30), ("atime", str(2**63)),
                    ("ctime", "1" + "0" * 25 + ".5")]
OUT_OF_RANGE_USTAR = [("uid", _base256(2**32, 8)), ("gid", _base256(2**40, 8)),
                      ("mtime", _base256(2**63, 12)), ("size", _base256(2**70, 12))]


def _package(*extra: E) -> bytes:
    return tar_bytes([*good_package(), *extra])


def _reference() -> dict:
    return bundlecheck.build_manifest(io.BytesIO(gz(tar_bytes(good_package()))), policy=POLICY)


def _sized(value: bytes) -> dict[str, bytes]:
    return {"size": value}


H = len(HIDDEN)  # 1024: a header and one data block

# (id, archive factory, "bundle" or "package", expected check id or None if accepted, words)
CLASSES = [
    # More than one extension header of a kind for one member.
    ("two-gnu-long-names", lambda: bundle(gnu_long(N), gnu_long(EVIL), member(N, b"notes\n")),
     "bundle", "archive-ambiguous-header", "two GNU long-name headers"),
    ("two-gnu-long-links",
     lambda: bundle(gnu_long("convirt.conf", type=b"K"), gnu_long("../fedora/convirt.conf", type=b"K"),
                    symlink("distros/ubuntu/link", "convirt.conf")),
     "bundle", "archive-ambiguous-header", "two GNU long-link headers"),
    ("two-pax-headers", lambda: bundle(pax([("path", N)]), pax([("path", EVIL)]), member(N, b"notes\n")),
     "bundle", "archive-ambiguous-header", "two pax headers"),
    # Extension headers of both families for one member.
    ("gnu-long-name-then-pax-path",
     lambda: bundle(gnu_long(N), pax([("path", EVIL)]), member(N, b"notes\n")),
     "bundle", "archive-ambiguous-header", "both a GNU long-name header and a pax header"),
    ("pax-path-then-gnu-long-name",
     lambda: bundle(pax([("path", N)]), gnu_long(EVIL), member(N, b"notes\n")),
     "bundle", "archive-ambiguous-header", "both a GNU long-name header and a pax header"),
    ("pax-then-global-then-member",
     lambda: bundle(pax([("path", N)]), pax([("comment", "x")], type=b"g"), member(N, b"notes\n")),
     "bundle", "archive-ambiguous-header", "between"),
    ("dangling-extension-header", lambda: bundle(pax([("path", N)])),
     "bundle", "archive-ambiguous-header", "no member after it"),
    # Global pax headers.
    ("global-pax-path", lambda: bundle(pax([("path", EVIL)], type=b"g"), member(N, b"notes\n")),
     "bundle", "archive-ambiguous-header", "global pax header sets 'path'"),
    ("global-pax-linkpath",
     lambda: bundle(pax([("linkpath", "../fedora/convirt.conf")], type=b"g"),
                    symlink("distros/ubuntu/link", "convirt.conf")),
     "bundle", "archive-ambiguous-header", "global pax header sets 'linkpath'"),
    ("global-pax-size", lambda: bundle(pax([("size", "0")], type=b"g"), member(N, HIDDEN)),
     "bundle", "archive-ambiguous-header", "global pax header sets 'size'"),
    ("global-pax-uname", lambda: bundle(pax([("uname", "daemon")], type=b"g"), member(N, b"notes\n")),
     "bundle", "archive-ambiguous-header", "global pax header sets 'uname'"),
    # Numeric fields that int(s, 8) reads and C extractors read differently.
    ("size-0o-prefix", lambda: bundle(member(N, HIDDEN, raw=_sized(b"0o%09o" % H))),
     "bundle", "archive-ambiguous-header", "size field"),
    ("size-plus-sign", lambda: bundle(member(N, HIDDEN, raw=_sized(b"+%010o" % H))),
     "bundle", "archive-ambiguous-header", "size field"),
    ("size-underscore", lambda: bundle(member(N, HIDDEN, raw=_sized(b"0000002_000"))),
     "bundle", "archive-ambiguous-header", "size field"),
    ("size-leading-tab", lambda: bundle(member(N, HIDDEN, raw=_sized(b"\t0000002000"))),
     "bundle", "archive-ambiguous-header", "size field"),
    ("size-inner-space", lambda: bundle(member(N, HIDDEN, raw=_sized(b"0000002 000"))),
     "bundle", "archive-ambiguous-header", "size field"),
    ("size-garbage-after-terminator", lambda: bundle(member(N, HIDDEN, raw=_sized(b"0000002000\x007"))),
     "bundle", "archive-ambiguous-header", "size field"),
    ("size-negative-base256",
     lambda: bundle(member(N, HIDDEN, raw=_sized(b"\xff" * 11 + b"\x00"))),
     "bundle", "archive-ambiguous-header", "size field"),
    ("mode-0o-prefix", lambda: bundle(member(N, b"x", raw={"mode": b"0o4755\x00"})),
     "bundle", "archive-ambiguous-header", "mode field"),
    # The ustar prefix field.
    ("prefix-under-old-gnu-magic",
     lambda: bundle(member("notes.txt", b"notes\n", magic=OLDGNU, prefix=b"distros/ubuntu")),
     "bundle", "archive-ambiguous-header", "prefix"),
    ("prefix-under-v7", lambda: bundle(member("notes.txt", b"notes\n", magic=V7, prefix=b"distros/ubuntu")),
     "bundle", "archive-ambiguous-header", "prefix"),
    ("ustar-magic-without-version",
     lambda: bundle(member("convirt.conf", CONF, magic=(b"ustarX", b"00"), prefix=b"distros/fedora")),
     "bundle", "archive-ambiguous-header", "magic"),
    # Data on a member type that carries none; a non-directory named like one.
    ("data-on-symlink", lambda: bundle(symlink("distros/ubuntu/link", "convirt.conf", size=H) + HIDDEN),
     "bundle", "archive-ambiguous-header", "symbolic link with 1024 bytes of data"),
    ("data-on-hardlink",
     lambda: bundle(hardlink("distros/ubuntu/copy", "distros/ubuntu/convirt.conf", size=H) + HIDDEN),
     "bundle", "archive-ambiguous-header", "hard link with 1024 bytes of data"),
    ("data-on-directory", lambda: bundle(directory("distros/ubuntu/extra", size=H) + HIDDEN),
     "bundle", "archive-ambiguous-header", "directory with 1024 bytes of data"),
    ("data-on-fifo", lambda: bundle(header("distros/ubuntu/pipe", type=b"6", size=H) + HIDDEN),
     "bundle", "archive-ambiguous-header", "FIFO with 1024 bytes of data"),
    ("file-named-with-trailing-slash", lambda: bundle(member("distros/ubuntu/notes/", HIDDEN)),
     "bundle", "archive-ambiguous-header", "ends with '/'"),
    ("old-file-named-with-trailing-slash",
     lambda: bundle(member("distros/ubuntu/notes/", HIDDEN, type=b"\x00")),
     "bundle", "archive-ambiguous-header", "ends with '/'"),
    ("file-named-dot", lambda: bundle(member("distros/ubuntu/.", b"x")),
     "bundle", "archive-ambiguous-header", "ends with '/'"),
    # Links out of the distro's directories.
    ("hardlink-into-other-distro",
     lambda: _package(E(R + "distros/ubuntu/extra.conf", type=tarfile.LNKTYPE,
                        linkname=R + "distros/fedora/convirt.conf")),
     "package", "archive-unsafe-link", "fedora"),
    ("symlink-into-other-distro",
     lambda: _package(E(R + "distros/ubuntu/extra.conf", type=tarfile.SYMTYPE,
                        linkname="../fedora/convirt.conf")),
     "package", "archive-unsafe-link", "fedora"),
    ("hardlink-to-a-later-member",
     lambda: bundle(hardlink("distros/ubuntu/copy", "distros/ubuntu/later"),
                    member("distros/ubuntu/later", b"x")),
     "bundle", "archive-unsafe-link", "earlier"),
    ("hardlink-to-a-missing-member", lambda: bundle(hardlink("distros/ubuntu/copy", "distros/ubuntu/none")),
     "bundle", "archive-unsafe-link", "earlier"),
    ("hardlink-to-a-symlink",
     lambda: bundle(symlink("distros/ubuntu/link", "convirt.conf"),
                    hardlink("distros/ubuntu/copy", "distros/ubuntu/link")),
     "bundle", "archive-unsafe-link", "regular file"),
    # pax records.
    ("pax-size-not-decimal", lambda: bundle(pax([("size", "abc")]), member(N, b"notes\n")),
     "bundle", "archive-ambiguous-header", "size=abc"),
    ("pax-size-disagrees-with-header", lambda: bundle(pax([("size", "0")]), member(N, HIDDEN)),
     "bundle", "archive-ambiguous-header", "size"),
    ("pax-record-bad-length", lambda: bundle(pax(b"99 path=" + N.encode() + b"\n"), member(N, b"x")),
     "bundle", "archive-ambiguous-header", "record"),
    ("pax-record-short-length", lambda: bundle(pax(b"10 path=" + N.encode() + b"\n"), member(N, b"x")),
     "bundle", "archive-ambiguous-header", "record"),
    ("pax-duplicate-key", lambda: bundle(pax([("path", N), ("path", EVIL)]), member(N, b"notes\n")),
     "bundle", "archive-ambiguous-header", "twice"),
    ("pax-nul-in-path", lambda: bundle(pax([("path", N + "\x00/../../../x")]), member(N, b"x")),
     "bundle", "archive-ambiguous-header", "NUL"),
    ("pax-hdrcharset-binary",
     lambda: bundle(pax([("hdrcharset", "BINARY"), ("path", N)]), member(N, b"x")),
     "bundle", "archive-ambiguous-header", "hdrcharset"),
    ("pax-unknown-key", lambda: bundle(pax([("VENDOR.magic", "1")]), member(N, b"x")),
     "bundle", "archive-ambiguous-header", "VENDOR.magic"),
    ("pax-security-xattr",
     lambda: bundle(pax([("SCHILY.xattr.security.capability", "\x01\x00\x00\x02")]), member(N, b"x")),
     "bundle", "archive-ambiguous-header", "SCHILY.xattr.security.capability"),
    ("pax-linkpath-on-a-file", lambda: bundle(pax([("linkpath", EVIL)]), member(N, b"x")),
     "bundle", "archive-ambiguous-header", "not a link"),
    # Numbers past the range GNU tar checks (it exits 2; bsdtar extracts): one case per field.
    *[(f"pax-{key}-out-of-range", (lambda k=key, v=value: bundle(pax([(k, v)]), member(N, b"x"))),
       "bundle", "archive-ambiguous-header", "out of the range GNU tar accepts")
      for key, value in OUT_OF_RANGE_PAX],
    *[(f"ustar-{field}-out-of-range",
       (lambda f=field, v=value: bundle(member(N, b"x", raw=_anonymous(f, v)))),
       "bundle", "archive-ambiguous-header", "out of the range GNU tar accepts")
      for field, value in OUT_OF_RANGE_USTAR],
    # Malformed numbers in every ustar numeric field (octal read by int(s, 8) differs from C).
    *[(f"ustar-{field}-malformed", (lambda f=field, v=value: bundle(member(N, b"x", raw={f: v}))),
       "bundle", "archive-ambiguous-header", f"{field} field")
      for field, value in [("uid", b"0o17\x00"), ("gid", b"+17\x00"), ("mtime", b"1_200_000\x00"),
                           ("devmajor", b"12x\x00"), ("devminor", b"\t7\x00"),
                           ("devmajor", b"\x80\x00\x00\x00\x00\x00\x00\x05")]],
    ("pax-numbers-at-the-edge-of-range", lambda: bundle(
        pax([("uid", str(2**32 - 1)), ("gid", "0"), ("mtime", str(-(2**63))), ("atime", str(2**63 - 1))]),
        member(N, b"x")), "bundle", None, ""),
    ("ustar-owner-base256-in-range",
     lambda: bundle(member(N, b"x", raw=_anonymous("uid", _base256(2**32 - 1, 8)))), "bundle", None, ""),
    # Names.
    ("name-with-bytes-after-its-nul",
     lambda: bundle(member(N, b"x", raw={"name": N.encode() + b"\x00" + EVIL.encode()})),
     "bundle", "archive-ambiguous-header", "after the end of its name"),
    ("gnu-long-name-with-bytes-after-its-nul",
     lambda: bundle(gnu_long(N.encode() + b"\x00" + EVIL.encode()), member(N, b"x")),
     "bundle", "archive-ambiguous-header", "after the end of its name"),
    ("signed-checksum", lambda: bundle(member("distros/ubuntu/caf\u00e9.txt", b"x", checksum="signed")),
     "bundle", "archive-ambiguous-header", "signed"),
    # Types.
    ("gnu-sparse-old", lambda: bundle(member("distros/ubuntu/holes", b"x", type=b"S", magic=OLDGNU)),
     "bundle", "archive-special-file", "sparse"),
    ("gnu-sparse-pax-bad-map",
     lambda: bundle(pax([("GNU.sparse.map", "abc"), ("GNU.sparse.size", "10")]), member(N, b"x")),
     "bundle", "archive-special-file", "sparse"),
    ("gnu-volume-header", lambda: header("volume 1", type=b"V", magic=OLDGNU) + bundle(),
     "bundle", "archive-special-file", "volume"),
    ("gnu-multivolume-continuation", lambda: bundle(member(N, b"x", type=b"M", magic=OLDGNU)),
     "bundle", "archive-special-file", "multi-volume"),
    ("unknown-typeflag", lambda: bundle(member(N, b"x", type=b"Z")),
     "bundle", "archive-special-file", "type 'Z'"),
    ("solaris-extended-header", lambda: bundle(pax([("path", N)], type=b"X"), member(N, b"x")),
     "bundle", "archive-special-file", "type 'X'"),
    ("lone-zero-block-then-member",
     lambda: bundle(bytes(BLOCK) + member("distros/ubuntu/hidden", b"x")),
     "bundle", "archive-trailing-data", "end of the tar"),
    # Read the same way by every tool: accepted, and checked by the property.
    ("name-of-100-bytes-without-nul", lambda: bundle(member("distros/ubuntu/" + "n" * 85, b"x")),
     "bundle", None, ""),
    ("base-256-size", lambda: bundle(member(N, b"notes\n", raw=_sized(b"\x80" + (6).to_bytes(11, "big")))),
     "bundle", None, ""),
    ("size-of-12-digits", lambda: bundle(member(N, b"notes\n", raw=_sized(b"%012o" % 6))),
     "bundle", None, ""),
    ("size-space-terminated", lambda: bundle(member(N, b"notes\n", raw=_sized(b"%011o " % 6))),
     "bundle", None, ""),
    ("numbers-with-leading-spaces", lambda: bundle(member(N, b"notes\n", raw={"size": b"         6 ",
                                                                           "mode": b"   644 \x00"})),
     "bundle", None, ""),
    ("global-comment-as-git-archive", lambda: pax([("comment", "0" * 40)], type=b"g") + bundle(),
     "bundle", None, ""),
    ("pax-path-and-times", lambda: bundle(
        pax([("path", "distros/ubuntu/" + "p" * 150), ("mtime", "1200000000.5"), ("atime", "1")]),
        member("distros/ubuntu/ppp", b"x")), "bundle", None, ""),
    ("gnu-long-name-and-long-link", lambda: bundle(
        gnu_long("distros/ubuntu/" + "l" * 120), gnu_long("convirt.conf", type=b"K"),
        symlink("distros/ubuntu/lll", "x")), "bundle", None, ""),
    ("dot-slash-names", lambda: directory("./") + b"".join(good_bundle_members("./")) + END,
     "bundle", None, ""),
    ("bundle-under-the-release-root",
     lambda: directory("convirt-2.0") + b"".join(good_bundle_members("convirt-2.0/")) + END,
     "package", None, ""),
    ("hardlink-inside-the-distro",
     lambda: bundle(hardlink("distros/ubuntu/copy.conf", "distros/ubuntu/convirt.conf")), "bundle", None, ""),
]


@pytest.mark.parametrize(("make", "shape"), [pytest.param(c[1], c[2], id=c[0]) for c in CLASSES])
def test_what_bundlecheck_passes_both_extractors_read_the_same(make, shape, tmp_path):
    reference = _reference() if shape == "package" else None
    check(make(), reference=reference, workdir=tmp_path)


@pytest.mark.parametrize(("make", "shape", "expected", "words"),
                         [pytest.param(*c[1:], id=c[0]) for c in CLASSES])
def test_each_class_is_refused_in_plain_words_or_accepted(run, make, shape, expected, words):
    reference = _reference() if shape == "package" else None
    report = run(make(), reference=reference)
    archive_errors = [f for f in report.findings if f.check.startswith("archive-") and f.severity == "error"]
    if expected is None:
        assert not archive_errors, archive_errors
        assert report.verdict == "pass", report.findings
        return
    matching = [f for f in archive_errors if f.check == expected]
    assert matching, f"expected {expected}, got {[(f.check, f.message) for f in report.findings]}"
    assert any(words in f.message for f in matching), [f.message for f in matching]
    assert all(f.hint for f in matching), matching
    if expected in ("archive-ambiguous-header", "archive-special-file", "archive-unsafe-link"):
        assert all(f.path for f in matching), matching  # the member is named


# --- canonical archives from real tools ------------------------------------------


def _tree(root) -> None:
    (root / "distros/ubuntu/debian").mkdir(parents=True)
    (root / "distros/ubuntu/convirt.conf").write_bytes(CONF)
    (root / "distros/ubuntu/postinst").write_bytes(b"#!/bin/sh\nset -e\n")
    (root / "distros/ubuntu/postinst").chmod(0o755)
    (root / "distros/ubuntu/debian/control").write_bytes(
        b"Source: convirt\n\nPackage: convirt\nDepends: python (>= 2.4), xen-utils (>= 3.0.4), "
        b"python-gtk2, python-vte, python-paramiko (>= 1.7.1)\n")
    (root / "distros/ubuntu/README.long-name-" / ("n" * 40) / ("m" * 40)).mkdir(parents=True)
    (root / "distros/ubuntu/README.long-name-" / ("n" * 40) / ("m" * 40) / ("f" * 60)).write_bytes(b"x")
    (root / "distros/ubuntu/latest").symlink_to("convirt.conf")
    (root / "distros/ubuntu/README").write_bytes(b"read me\n")
    os.link(root / "distros/ubuntu/README", root / "distros/ubuntu/README.copy")
    for p in [root, *root.rglob("*")]:
        if not p.is_symlink():
            p.chmod(0o755 if p.is_dir() or p.name == "postinst" else 0o644)


def _run(cmd, **kw) -> None:
    import subprocess

    subprocess.run(cmd, check=True, capture_output=True, **kw)


CANONICAL = {
    "gnu-tar-gnu": lambda src, out: _run(["tar", "--format=gnu", "-C", src, "-cf", out, "distros"]),
    "gnu-tar-oldgnu": lambda src, out: _run(["tar", "--format=oldgnu", "-C", src, "-cf", out, "distros"]),
    "gnu-tar-ustar": lambda src, out: _run(["tar", "--format=ustar", "-C", src, "-cf", out, "distros"]),
    "gnu-tar-pax": lambda src, out: _run(["tar", "--format=pax", "-C", src, "-cf", out, "distros"]),
    "gnu-tar-dot": lambda src, out: _run(["tar", "-C", src, "-czf", out, "."]),
    "gnu-tar-zstd": lambda src, out: _run(["tar", "--zstd", "-C", src, "-cf", out, "distros"]),
    "bsdtar-default": lambda src, out: _run(["bsdtar", "-C", src, "-cf", out, "distros"]),
    "bsdtar-pax": lambda src, out: _run(["bsdtar", "--format=pax", "-C", src, "-cf", out, "distros"]),
    "bsdtar-gnutar": lambda src, out: _run(["bsdtar", "--format=gnutar", "-C", src, "-cf", out, "distros"]),
    "bsdtar-ustar": lambda src, out: _run(["bsdtar", "--format=ustar", "-C", src, "-cf", out, "distros"]),
    "bsdtar-zstd": lambda src, out: _run(["bsdtar", "--zstd", "-C", src, "-cf", out, "distros"]),
    "git-archive": lambda src, out: _git_archive(src, out),
    "python-gnu": lambda src, out: _python_tar(src, out, tarfile.GNU_FORMAT),
    "python-ustar": lambda src, out: _python_tar(src, out, tarfile.USTAR_FORMAT),
    "python-pax": lambda src, out: _python_tar(src, out, tarfile.PAX_FORMAT),
}


def _git_archive(src, out) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "p", "GIT_AUTHOR_EMAIL": "p@example.org",
           "GIT_COMMITTER_NAME": "p", "GIT_COMMITTER_EMAIL": "p@example.org",
           "GIT_CONFIG_GLOBAL": "/dev/null"}
    _run(["git", "init", "-q", str(src)], env=env)
    _run(["git", "-C", str(src), "add", "."], env=env)
    _run(["git", "-C", str(src), "commit", "-qm", "bundle"], env=env)
    _run(["git", "-C", str(src), "archive", "-o", str(out), "HEAD", "distros"], env=env)


def _python_tar(src, out, fmt) -> None:
    with tarfile.open(out, "w", format=fmt) as t:
        t.add(os.path.join(src, "distros"), arcname="distros")


@pytest.mark.parametrize("tool", sorted(CANONICAL))
def test_canonical_archives_pass_and_extract_as_reported(tool, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    _tree(src)
    out = tmp_path / "bundle.tar"
    CANONICAL[tool](str(src), str(out))
    data = out.read_bytes()
    report = bundlecheck.verify(io.BytesIO(data), distro="ubuntu", policy=POLICY)
    assert report.verdict == "pass", [(f.check, f.message) for f in report.findings]
    assert check(data, workdir=tmp_path) == "passed"


# --- fuzzing: header bytes of a good bundle, mutated --------------------------------

BASE = [*good_bundle_members(), symlink("distros/ubuntu/latest", "convirt.conf"),
        hardlink("distros/ubuntu/copy", "distros/ubuntu/convirt.conf"),
        pax([("path", "distros/ubuntu/" + "p" * 120)]), member("distros/ubuntu/p", b"pax\n"),
        gnu_long("distros/ubuntu/" + "g" * 120), member("distros/ubuntu/g", b"gnu\n")]
VALUES = [
    b"0", b"1", b"2", b"5", b"6", b"L", b"K", b"x", b"g", b"S", b"V", b"\x00", b"7", b"Z",
    b"ustar\x0000", b"ustar  \x00", b"\x00" * 8, b"ustarX00",
    b"00000002000\x00", b"0o000002000", b"+0000002000", b"0000002_000", b"\t0000002000",
    b"00000000000\x00", b"\x80" + bytes(10) + b"\x04", b"\xff" * 12, b"0004755\x00", b"   644 \x00",
    b"distros/ubuntu/", b"distros/fedora/convirt.conf\x00", b"../x\x00", b"/etc/x\x00",
    b"distros/ubuntu/a/\x00", b"distros\x00junk", b"\x00", b" ", b"/", b"30 path=distros/fedora/x\n",
]


def _offsets(blobs: list[bytes]) -> list[int]:
    out, at = [], 0
    for blob in blobs:
        out.append(at)
        at += len(blob)
    return out


@st.composite
def mutated_bundle(draw: st.DrawFn) -> bytes:
    blobs = list(BASE)
    if draw(st.booleans()):  # insert an extension header before some member
        at = draw(st.integers(0, len(blobs)))
        kind = draw(st.sampled_from([b"L", b"K", b"x", b"g"]))
        value = draw(st.sampled_from(["distros/ubuntu/z", "distros/fedora/convirt.conf", "../z",
                                      "distros/ubuntu/p/"]))
        extra = gnu_long(value, type=kind) if kind in b"LK" else pax(
            [(draw(st.sampled_from(["path", "linkpath", "size", "comment", "mtime"])), value)], type=kind)
        blobs.insert(at, extra)
    data = bytearray(b"".join(blobs) + END)
    headers = [o for o in _offsets(blobs)]
    for _ in range(draw(st.integers(1, 3))):
        off = draw(st.sampled_from(headers))
        if draw(st.booleans()):
            start, length = FIELDS[draw(st.sampled_from(sorted(FIELDS)))]
        else:
            start = draw(st.integers(0, BLOCK - 1))
            length = draw(st.integers(1, 16))
        value = draw(st.one_of(st.sampled_from(VALUES), st.binary(min_size=1, max_size=length)))
        value = value[:length]
        if draw(st.booleans()):
            value = value.ljust(length, b"\x00")
        data[off + start: off + start + len(value)] = value
        if draw(st.integers(0, 3)):  # mostly with the checksum made right again
            block = data[off: off + BLOCK]
            set_checksum(block)
            data[off: off + BLOCK] = block
    return bytes(data)


FUZZ_EXAMPLES = int(os.environ.get("BUNDLECHECK_FUZZ_EXAMPLES", "150"))


@settings(max_examples=FUZZ_EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(mutated_bundle())
def test_mutated_headers_keep_the_property(tmp_path, data):
    check(data, workdir=tmp_path)


def test_the_property_is_not_vacuous(tmp_path):
    """A reader that believed the first of two long names would be caught."""
    data = bundle(gnu_long(N), gnu_long(EVIL), member(N, b"notes\n"))
    from differential import EXTRACTORS, extract

    (tmp_path / "a.tar").write_bytes(data)
    got = extract(next(iter(EXTRACTORS)), tmp_path / "a.tar", tmp_path / "out")
    assert EVIL in got.tree and N not in got.tree


def test_property_failure_names_its_assertion():
    assert PropertyFailure("tree-is-reported", "x").which == "tree-is-reported"


_ = (USTAR, pad, pax_records)


@pytest.mark.parametrize(("kind", "field", "value"),
                         [("pax", k, v) for k, v in OUT_OF_RANGE_PAX]
                         + [("ustar", f, v) for f, v in OUT_OF_RANGE_USTAR])
def test_gnu_tar_refuses_each_out_of_range_number_bundlecheck_refuses(run, kind, field, value, tmp_path):
    # The premise of the cases above, shown on the real tools: GNU tar exits 2.
    import subprocess

    data = bundle(pax([(field, value)]), member(N, b"x")) if kind == "pax" else bundle(
        member(N, b"x", raw=_anonymous(field, value)))
    archive = tmp_path / "a.tar"
    archive.write_bytes(data)
    (tmp_path / "out").mkdir()
    gnu = subprocess.run(["tar", "--no-same-owner", "-xf", archive, "-C", tmp_path / "out"],
                         capture_output=True, check=False)
    assert gnu.returncode == 2 and b"out of" in gnu.stderr, gnu.stderr
    report = run(data)
    assert any(f.check == "archive-ambiguous-header" and "out of the range" in f.message
               for f in report.findings), report.findings

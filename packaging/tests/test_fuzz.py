"""Any corruption of a valid archive gives a report: never an exception, a hang
past its time limit, or a file written anywhere."""

from __future__ import annotations

import io
import os
import sys
import time
from typing import ClassVar

import pytest
from builders import bz, good_bundle, gz, tar_bytes, xz
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import bundlecheck

# Both gzip inflates (ISA-L and zlib) must pass and refuse the same archives.
pytestmark = pytest.mark.usefixtures("inflate_backend")

POLICY = bundlecheck.load_policy("convirt")
SAMPLES = {"tar": tar_bytes(good_bundle())}
SAMPLES |= {"gz": gz(SAMPLES["tar"]), "bz2": bz(SAMPLES["tar"]), "xz": xz(SAMPLES["tar"])}
COMPRESS = {"tar": lambda b: b, "gz": gz, "bz2": bz, "xz": xz}
# Each case must be done well within this (the worker's limit is minutes).
TIME_LIMIT = 2.0

# ustar header fields: (offset, length)
FIELDS = {
    "name": (0, 100),
    "mode": (100, 8),
    "uid": (108, 8),
    "size": (124, 12),
    "mtime": (136, 12),
    "chksum": (148, 8),
    "typeflag": (156, 1),
    "linkname": (157, 100),
    "magic": (257, 6),
    "prefix": (345, 155),
}
EDITS = [
    b"../../etc/passwd\0",
    b"/abs/path\0",
    b"7777777\0",
    b"77777777777\0",
    b"\xff" * 12,
    b"-1\0",
    b"0\0",
    b"\0",
    b"3",  # character device
    b"4",
    b"6",  # FIFO
    b"1",  # hard link
    b"2",  # symlink
    b"L",  # GNU long name
    b"x",  # pax header
    b"S",  # sparse
    b"g",
    b"\x1b[31m\0",
    b"ustar\0",
    b"garbage!",
]


class WriteGuard:
    """Records every file the engine opens for writing, anywhere (an audit hook):
    the engine may write none, not even in a temporary directory."""

    active = False
    writes: ClassVar[list[str]] = []

    @classmethod
    def hook(cls, event: str, args) -> None:
        if not cls.active:
            return
        if event == "open" and len(args) >= 2:
            path, mode = args[0], args[1]
            flags = args[2] if len(args) > 2 else 0
            writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT)
            )
            # An int is a file descriptor: the pipes to a script linter, no file.
            if writing and path is not None and not isinstance(path, int):
                cls.writes.append(str(path))
        elif event in {"os.mkdir", "os.rename", "os.remove", "shutil.copyfile", "os.symlink"}:
            cls.writes.append(f"{event} {args[0]}")


sys.addaudithook(WriteGuard.hook)


def verify_guarded(data: bytes):
    WriteGuard.writes = []
    WriteGuard.active = True
    started = time.monotonic()
    try:
        report = bundlecheck.verify(io.BytesIO(data), distro="ubuntu", policy=POLICY)
    finally:
        WriteGuard.active = False
    elapsed = time.monotonic() - started
    assert elapsed < TIME_LIMIT, f"took {elapsed:.2f} s"
    assert WriteGuard.writes == [], WriteGuard.writes
    assert report.verdict in ("pass", "fail")
    for f in report.findings:
        assert f.check in bundlecheck.CHECKS and f.message
        f.message.encode("utf-8")  # no surrogates: safe for a web page or a database
    return report


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """Byte flips, cuts, insertions and truncations of a compressed or plain archive."""
    data = bytearray(SAMPLES[draw(st.sampled_from(sorted(SAMPLES)))])
    for _ in range(draw(st.integers(1, 8))):
        action = draw(st.sampled_from(["flip", "cut", "insert", "truncate"]))
        pos = draw(st.integers(0, max(len(data) - 1, 0)))
        if action == "flip" and data:
            data[pos] ^= draw(st.integers(1, 255))
        elif action == "cut":
            del data[pos : pos + draw(st.integers(1, 600))]
        elif action == "truncate":
            del data[pos:]
        else:
            data[pos:pos] = draw(st.binary(min_size=1, max_size=600))
    return bytes(data)


def _checksum(block: bytearray) -> None:
    block[148:156] = b" " * 8
    block[148:156] = b"%06o\0 " % sum(block)


@st.composite
def header_edited(draw: st.DrawFn) -> bytes:
    """Edits of tar header fields (with the checksum fixed, so the parser believes
    them, or not), then compressed like an upload."""
    data = bytearray(SAMPLES["tar"])
    headers = [off for off in range(0, len(data) - 512, 512) if data[off + 257 : off + 262] == b"ustar"]
    for _ in range(draw(st.integers(1, 3))):
        off = draw(st.sampled_from(headers))
        start, length = FIELDS[draw(st.sampled_from(sorted(FIELDS)))]
        value = draw(st.one_of(st.sampled_from(EDITS), st.binary(min_size=1, max_size=length)))
        data[off + start : off + start + length] = value[:length].ljust(length, b"\0")
        if draw(st.booleans()):
            block = data[off : off + 512]
            _checksum(block)
            data[off : off + 512] = block
    return COMPRESS[draw(st.sampled_from(sorted(COMPRESS)))](bytes(data))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_archives_never_raise(data):
    verify_guarded(data)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(header_edited())
def test_edited_headers_never_raise(data):
    verify_guarded(data)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=2048))
def test_arbitrary_bytes_never_raise(data):
    report = verify_guarded(data)
    assert report.verdict == "fail" or data.startswith((b"\x1f\x8b", b"BZh", b"\xfd7zXZ"))


def test_the_write_guard_sees_a_write(tmp_path):
    """The guard is not vacuous: a write while it watches is recorded."""
    WriteGuard.writes, WriteGuard.active = [], True
    try:
        (tmp_path / "x").write_bytes(b"x")
    finally:
        WriteGuard.active = False
    assert WriteGuard.writes == [str(tmp_path / "x")]


def _truncations():
    """Cuts that lose real bytes: anywhere in a compressed stream (its trailer too);
    in a plain tar, before its trailing zero blocks, whose loss changes nothing."""
    for kind, data in sorted(SAMPLES.items()):
        end = len(data.rstrip(b"\0")) if kind == "tar" else len(data)
        for cut in sorted({1, 100, 511, 512, 1024, end // 2, end - 512, end - 10, end - 1}):
            if 0 < cut < end:
                yield pytest.param(kind, cut, id=f"{kind}-{cut}-of-{end}")


@pytest.mark.parametrize(("kind", "cut"), list(_truncations()))
def test_every_truncation_gives_a_failing_report(kind, cut):
    report = verify_guarded(SAMPLES[kind][:cut])
    assert report.verdict == "fail", [f.check for f in report.findings]

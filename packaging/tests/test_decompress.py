"""gzip read by ISA-L's inflate and by Python's zlib: the same verdict on every stream.

bundlecheck inflates with ISA-L (PyPI ``isal``) where it is installed, else with
zlib.  Each stream below, valid or broken the ways real uploads break, is
verified on both and must give the same findings, word for word.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import io
import random
import struct
import zlib

import pytest
from builders import E, d, good_bundle, good_package, gz, tar_bytes
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import bundlecheck
from bundlecheck import decompress
from bundlecheck.limits import Limits

POLICY = bundlecheck.load_policy("convirt")
R = "convirt-2.0/"


def _both(data: bytes, monkeypatch: pytest.MonkeyPatch, policy: bundlecheck.Policy = POLICY,
          ) -> list[tuple[str, str, str | None, str]]:
    """The findings of ``data`` with each inflate, asserted equal; returned once."""
    assert decompress.INFLATE_BACKENDS == ("isal", "zlib"), "isal is a dependency: install it"
    results = []
    for backend in decompress.INFLATE_BACKENDS:
        monkeypatch.setattr(decompress, "INFLATE", backend)
        report = bundlecheck.verify(io.BytesIO(data), distro="ubuntu", policy=policy, lint=False)
        results.append([(f.check, f.severity, f.path, f.message) for f in report.findings])
    # Word for word, except where a damaged deflate stream is first noticed (bit-level
    # damage can read as a bad block to one decoder and as a short stream to the other).
    same = [[(c, s, p, "" if c == "archive-corrupt" else m) for c, s, p, m in r] for r in results]
    assert same[0] == same[1], f"isal: {results[0]}\nzlib: {results[1]}"
    return results[0]


def _plain() -> bytes:
    return tar_bytes(good_package())


def _with_header(data: bytes, flags: int, extra: bytes = b"") -> bytes:
    """A gzip member with the given header flags and fields, around ``data``'s deflate stream."""
    body = zlib.compressobj(6, zlib.DEFLATED, -15)
    deflated = body.compress(data) + body.flush()
    head = b"\x1f\x8b\x08" + bytes([flags]) + b"\0\0\0\0\0\xff" + extra
    return head + deflated + struct.pack("<II", zlib.crc32(data), len(data) & 0xFFFFFFFF)


def _flip(data: bytes, at: int) -> bytes:
    b = bytearray(data)
    b[at] ^= 0xFF
    return bytes(b)


CASES = {
    "valid": lambda: gz(_plain()),
    "two-members-one-tar": lambda: gz(_plain()[:5120]) + gz(_plain()[5120:]),
    "zero-padding-after": lambda: gz(_plain()) + bytes(4096),
    "truncated-in-deflate": lambda: gz(_plain())[:-100],
    "truncated-trailer": lambda: gz(_plain())[:-4],
    "truncated-header": lambda: gz(_plain())[:5],
    "crc-flipped": lambda: _flip(gz(_plain()), -8),
    "isize-flipped": lambda: _flip(gz(_plain()), -1),
    "deflate-byte-flipped": lambda: _flip(gz(_plain()), 40),
    "trailing-garbage": lambda: gz(_plain()) + b"\x01garbage",
    "concatenated-hidden-tar": lambda: gz(_plain()) + gz(tar_bytes([E(R + "evil", b"x")])),
    "second-member-truncated": lambda: gz(_plain()) + gz(_plain())[:30],
    "second-member-magic-only": lambda: gz(_plain()) + b"\x1f\x8b",
    "empty-member": lambda: gz(b""),
    "empty-member-then-tar": lambda: gz(b"") + gz(_plain()),
    "fname-and-comment": lambda: _with_header(_plain(), 0x08 | 0x10, b"convirt.tar\0a comment\0"),
    "fextra": lambda: _with_header(_plain(), 0x04, b"\x04\x00abcd"),
    "fhcrc-wrong": lambda: _with_header(_plain(), 0x02, b"\x00\x00"),
    "reserved-flag": lambda: _with_header(_plain(), 0x20),
    "method-not-deflate": lambda: _flip(gz(_plain()), 2),
    "bundle-of-the-distro": lambda: gz(tar_bytes(good_bundle())),
    "bomb": lambda: gz(tar_bytes([d("convirt-2.0"), E(R + "zeros", bytes(80 << 20))])),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_isal_and_zlib_give_the_same_verdict(case, monkeypatch):
    findings = _both(CASES[case](), monkeypatch)
    checks = {c for c, *_ in findings}
    if case in ("valid", "two-members-one-tar", "zero-padding-after", "fname-and-comment", "fextra",
                "bundle-of-the-distro"):
        assert not {c for c in checks if c.startswith("archive-")}, findings
    elif case == "bomb":
        assert "archive-too-large" in checks
    elif case in ("trailing-garbage", "concatenated-hidden-tar"):
        assert "archive-trailing-data" in checks
    elif case not in ("empty-member", "empty-member-then-tar"):
        assert checks & {"archive-corrupt", "archive-unreadable"}, findings


def test_limits_hold_with_isal(monkeypatch):
    data = gz(tar_bytes([d("convirt-2.0"), E(R + "f", b"a" * 200_000)]))
    policy = dataclasses.replace(POLICY, limits=Limits(max_total_size=100_000))
    findings = _both(data, monkeypatch, policy)
    assert any(c == "archive-too-large" and "100000" in m for c, _, _, m in findings)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.integers(0, 4000), flip=st.integers(0, 4000), garbage=st.binary(max_size=64),
       members=st.integers(1, 3))
def test_any_damage_same_verdict_on_both(monkeypatch, cut, flip, garbage, members):
    plain = _plain()
    step = -(-len(plain) // members)
    data = b"".join(gzip.compress(plain[i:i + step], mtime=0) for i in range(0, len(plain), step))
    b = bytearray(data[: max(len(data) - cut, 0)])
    if b:
        b[flip % len(b)] ^= random.Random(flip).randrange(1, 256)
    _both(bytes(b) + garbage, monkeypatch)


# --- the reading fast paths read what the slow ones read -----------------------------

def _members(seed: int) -> list[E]:
    """A package whose members straddle any chunk boundary: sizes from 0 to a few chunks."""
    rng = random.Random(seed)
    out = [d("convirt-2.0"), d(R + "src")]
    for i in range(40):
        size = rng.choice([0, 1, 511, 512, 513, rng.randrange(2000), rng.randrange(70_000)])
        out.append(E(f"{R}src/f{i:02d}", rng.randbytes(size // 2) + bytes(size - size // 2)))
    return out


@pytest.mark.parametrize("chunk,step", [(512 + 7, 1000), (4096, 700), (65_536, 16_384)])
@pytest.mark.parametrize("backend", ["isal", "zlib"])
def test_chunk_and_step_sizes_change_nothing_read(monkeypatch, chunk, step, backend):
    """Members read whole from one chunk (take), across chunks (iter_exact) or skipped
    give the same digests and findings whatever the read and inflate step sizes, on
    both inflates, for an intact stream and for a truncated one."""
    members = _members(7)
    data = gz(tar_bytes(members))
    monkeypatch.setattr(decompress, "INFLATE", backend)
    expected = bundlecheck.build_manifest(io.BytesIO(data))
    assert {path: entry["sha256"] for path, entry in expected["members"].items() if entry["sha256"]} == {
        e.name.removeprefix(R): hashlib.sha256(e.data).hexdigest() for e in members if e.type == b"0"}
    cut = data[: len(data) * 2 // 3]
    reference_findings = bundlecheck.verify(io.BytesIO(cut), distro="ubuntu", policy=POLICY,
                                            reference=expected, lint=False).findings
    monkeypatch.setattr(decompress, "CHUNK", chunk)
    monkeypatch.setattr(decompress, "STEP", step)
    assert bundlecheck.build_manifest(io.BytesIO(data)) == expected
    again = bundlecheck.verify(io.BytesIO(cut), distro="ubuntu", policy=POLICY, reference=expected,
                               lint=False).findings
    assert again == reference_findings
    assert any(f.check == "archive-corrupt" for f in again)


class _ReadOnly:
    """A stream with read() and nothing else (some storage back-ends give no readinto)."""

    def __init__(self, data: bytes):
        self._f = io.BytesIO(data)

    def read(self, n: int = -1) -> bytes:
        return self._f.read(n)


def test_a_stream_without_readinto_is_read_the_same():
    data = gz(tar_bytes(_members(11)))
    assert bundlecheck.build_manifest(_ReadOnly(data)) == bundlecheck.build_manifest(io.BytesIO(data))

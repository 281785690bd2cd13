"""Any corruption of a valid archive gives a report, never an exception or a hang."""

from __future__ import annotations

import io

from builders import bz, good_bundle, gz, tar_bytes, xz
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import bundlecheck

POLICY = bundlecheck.load_policy("convirt")
SAMPLES = {"tar": tar_bytes(good_bundle())}
SAMPLES |= {"gz": gz(SAMPLES["tar"]), "bz2": bz(SAMPLES["tar"]), "xz": xz(SAMPLES["tar"])}


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(SAMPLES[draw(st.sampled_from(sorted(SAMPLES)))])
    for _ in range(draw(st.integers(1, 8))):
        action = draw(st.sampled_from(["flip", "cut", "insert"]))
        pos = draw(st.integers(0, max(len(data) - 1, 0)))
        if action == "flip" and data:
            data[pos] ^= draw(st.integers(1, 255))
        elif action == "cut":
            del data[pos: pos + draw(st.integers(1, 600))]
        else:
            data[pos:pos] = draw(st.binary(min_size=1, max_size=600))
    return bytes(data)


@settings(max_examples=300, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_archives_never_raise(data):
    report = bundlecheck.verify(io.BytesIO(data), distro="ubuntu", policy=POLICY)
    assert report.verdict in ("pass", "fail")
    for f in report.findings:
        assert f.check in bundlecheck.CHECKS and f.message
        f.message.encode("utf-8")  # no surrogates: safe for a web page or a database


@settings(max_examples=100, deadline=2000)
@given(st.binary(max_size=2048))
def test_arbitrary_bytes_never_raise(data):
    report = bundlecheck.verify(io.BytesIO(data), distro="ubuntu", policy=POLICY)
    assert report.verdict == "fail" or data.startswith((b"\x1f\x8b", b"BZh", b"\xfd7zXZ"))

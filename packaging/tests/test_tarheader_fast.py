"""The header reader's shortcuts agree with the plain definitions they replace."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bundlecheck import tarheader


@given(st.binary(min_size=512, max_size=512))
def test_byte_sum_is_the_sum_of_the_bytes(block):
    assert tarheader._byte_sum(block) == sum(block)


def test_byte_sum_at_the_extremes():
    for block in (bytes(512), b"\xff" * 512, b"\xff" * 256 + bytes(256), bytes(256) + b"\xff" * 256):
        assert tarheader._byte_sum(block) == sum(block)


def _cstring_by_definition(field: bytes) -> bytes | None:
    """None where refused: bytes other than NUL after the first NUL."""
    value = field.rstrip(b"\x00")
    return None if b"\x00" in value else value


@given(st.lists(st.sampled_from([b"\x00", b"a", b"/", b"\xff"]), max_size=100).map(b"".join))
def test_cstring_agrees_with_its_definition(field):
    expected = _cstring_by_definition(field)
    if expected is None:
        with pytest.raises(tarheader.Refused):
            tarheader._cstring(field, "name")
    else:
        assert tarheader._cstring(field, "name") == expected

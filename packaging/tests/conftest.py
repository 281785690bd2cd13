from __future__ import annotations

import io
from collections.abc import Callable

import pytest

import bundlecheck


@pytest.fixture(scope="session")
def policy() -> bundlecheck.Policy:
    return bundlecheck.load_policy("convirt")


@pytest.fixture
def run(policy) -> Callable[..., bundlecheck.Report]:
    def _run(data: bytes, distro: str = "ubuntu", **kw) -> bundlecheck.Report:
        kw.setdefault("policy", policy)
        kw.setdefault("lint", False)  # the guide's checks; lintian has its own tests
        return bundlecheck.verify(io.BytesIO(data), distro=distro, **kw)

    return _run


@pytest.fixture(params=bundlecheck.decompress.INFLATE_BACKENDS)
def inflate_backend(request, monkeypatch) -> str:
    """Run a test once per gzip inflate this installation has (ISA-L's and zlib's)."""
    monkeypatch.setattr(bundlecheck.decompress, "INFLATE", request.param)
    return request.param

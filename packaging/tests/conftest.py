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

"""The registry: ids declared once, unknown ids refused, a crashing check is one finding."""

from __future__ import annotations

import pytest
from builders import good_bundle, gz, tar_bytes

import bundlecheck
from bundlecheck import registry
from bundlecheck.errors import RegistryError


def test_every_id_of_the_issue_is_declared():
    expected = [
        "archive-unreadable",
        "archive-corrupt",
        "archive-trailing-data",
        "archive-unsafe-path",
        "archive-unsafe-link",
        "archive-special-file",
        "archive-unsafe-mode",
        "archive-duplicate-member",
        "archive-bad-name",
        "archive-too-large",
        "layout-single-root",
        "distro-dir-missing",
        "contribution-outside-distro",
        "existing-distro-modified",
        "config-missing",
        "config-unparsable",
        "config-exec-path-missing",
        "config-exec-path-incomplete",
        "config-html-browser-missing",
        "script-not-executable",
        "script-no-shebang",
        "script-lint",
        "recipe-missing",
        "prereq-missing",
        "prereq-version-too-low",
        "prereq-unversioned",
        "paramiko-patch-missing",
        "deploy-missing-path",
        "deploy-mode-mismatch",
        "deploy-symlink-missing",
        "deploy-unexpected-path",
        "image-store-missing",
        "check-crashed",
    ]
    assert set(expected) <= set(bundlecheck.CHECKS)
    for severity, description in bundlecheck.CHECKS.values():
        assert severity in ("error", "warning", "info") and description


def test_duplicate_declaration_fails_loudly():
    with pytest.raises(RegistryError, match="declared twice"):
        registry._build_table([("a", "error", "x"), ("a", "error", "y")])


def test_registering_an_undeclared_id_fails_at_import():
    with pytest.raises(RegistryError, match="undeclared"):
        registry.register("no-such-id")(lambda view: [])


def test_registering_a_check_twice_fails():
    def archive_safety(view):
        return []

    registry.register("image-store-missing")(archive_safety)
    try:
        with pytest.raises(RegistryError, match="registered twice"):
            registry.register("image-store-missing")(archive_safety)
    finally:
        registry._FUNCTIONS.pop(f"{__name__.rsplit('.', 1)[-1]}.archive_safety")


@pytest.mark.parametrize("behaviour", ["raise", "stray-id"])
def test_a_crashing_check_becomes_one_finding(run, monkeypatch, behaviour):
    def boom(view):
        if behaviour == "raise":
            raise ZeroDivisionError("oops")
        return [view.finding("archive-corrupt", None, "not mine", "")]

    fake = registry.RegisteredCheck("test.boom", "source", frozenset({"image-store-missing"}), boom)
    monkeypatch.setitem(registry._FUNCTIONS, "test.boom", fake)
    report = run(gz(tar_bytes(good_bundle())))
    crashed = [f for f in report.findings if f.check == "check-crashed"]
    assert len(crashed) == 1 and "test.boom" in crashed[0].message
    assert report.verdict == "fail"
    assert not any(f.check == "archive-corrupt" for f in report.findings)


def test_readme_lists_every_check():
    from pathlib import Path

    readme = (Path(__file__).parents[1] / "README.md").read_text()
    missing = [c for c in bundlecheck.CHECKS if f"| `{c}` |" not in readme]
    assert not missing, f"add to README.md's checks table: {missing}"


class SoftTimeLimitExceeded(Exception):
    """Stands for celery.exceptions.SoftTimeLimitExceeded (no Celery here)."""


def test_a_host_time_limit_is_not_swallowed_by_a_check(run, monkeypatch):
    def slow(view):
        raise SoftTimeLimitExceeded()

    fake = registry.RegisteredCheck("test.slow", "source", frozenset({"image-store-missing"}), slow)
    monkeypatch.setitem(registry._FUNCTIONS, "test.slow", fake)
    with pytest.raises(SoftTimeLimitExceeded):
        run(gz(tar_bytes(good_bundle())))


@pytest.mark.parametrize("where", ["progress", "stream"])
def test_a_host_time_limit_is_not_swallowed_while_reading(policy, where):
    import io

    data = tar_bytes(good_bundle()) * 1

    class Stream(io.BytesIO):
        def read(self, n=-1):
            if where == "stream" and self.tell() > 0:
                raise SoftTimeLimitExceeded()
            return super().read(n)

    def progress(done, total):
        if where == "progress":
            raise SoftTimeLimitExceeded()

    with pytest.raises(SoftTimeLimitExceeded):
        bundlecheck.verify(Stream(data + bytes(3 << 20)), distro="ubuntu", policy=policy,
                           progress=progress)

"""The registry: ids declared once, unknown ids refused, a crashing check is one finding."""

from __future__ import annotations

import pytest
from builders import good_bundle, gz, tar_bytes

import bundlecheck
from bundlecheck import registry
from bundlecheck.checks import default_registry
from bundlecheck.errors import RegistryError

DEFAULT = default_registry()


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
        "config-key-missing",
        "script-not-executable",
        "script-no-shebang",
        "script-lint",
        "recipe-missing",
        "prereq-missing",
        "prereq-version-too-low",
        "prereq-unversioned",
        "prereq-patch-missing",
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


def test_the_catalogue_names_no_project():
    """A check of one upstream's own is declared by its policy ([[checks]]), not here."""
    shipped = {"convirt", "paramiko", "html-browser", "tern", "libvirt"}
    assert not [c for c in bundlecheck.CHECKS if any(word in c for word in shipped)]
    assert not [c for c, (_, text) in bundlecheck.CHECKS.items()
                if any(word in text.lower() for word in shipped)]
    convirt = bundlecheck.load_policy("convirt")
    assert set(convirt.declared) == {"config-html-browser-missing", "paramiko-patch-missing"}


def test_duplicate_declaration_fails_loudly():
    with pytest.raises(RegistryError, match="declared twice"):
        registry._build_table([("a", "error", "x"), ("a", "error", "y")])


def test_registering_an_undeclared_id_fails_when_the_registry_is_built():
    @registry.check("no-such-id")
    def stray(view):
        return []

    with pytest.raises(RegistryError, match="undeclared"):
        registry.Registry([registry.spec(stray)])


def test_an_unknown_phase_fails_when_the_registry_is_built():
    @registry.check("image-store-missing", phase="later")
    def late(view):
        return []

    with pytest.raises(RegistryError, match="unknown phase"):
        registry.Registry([registry.spec(late)])


def test_registering_a_check_twice_fails():
    @registry.check("image-store-missing")
    def archive_safety(view):
        return []

    with pytest.raises(RegistryError, match="registered twice"):
        DEFAULT.with_checks(registry.spec(archive_safety), registry.spec(archive_safety))


def test_marking_a_function_changes_no_registry():
    before = len(default_registry())

    @registry.check("image-store-missing")
    def extra(view):
        return []

    assert len(default_registry()) == before
    assert registry.Registry.from_modules([]).checks("source") == []


def test_the_default_registry_is_built_at_import():
    from bundlecheck import engine

    assert engine.DEFAULT_REGISTRY is default_registry()
    names = {c.name for c in engine.DEFAULT_REGISTRY.checks("source")}
    assert {"layout.single_root", "config.config_file", "scripts.install_scripts"} <= names


@pytest.mark.parametrize("behaviour", ["raise", "stray-id"])
def test_a_crashing_check_becomes_one_finding(run, behaviour):
    def boom(view):
        if behaviour == "raise":
            raise ZeroDivisionError("oops")
        return [view.finding("archive-corrupt", None, "not mine", "")]

    fake = registry.RegisteredCheck("test.boom", "source", frozenset({"image-store-missing"}), boom)
    report = run(gz(tar_bytes(good_bundle())), registry=DEFAULT.with_checks(fake))
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


def test_a_host_time_limit_is_not_swallowed_by_a_check(run):
    def slow(view):
        raise SoftTimeLimitExceeded()

    fake = registry.RegisteredCheck("test.slow", "source", frozenset({"image-store-missing"}), slow)
    with pytest.raises(SoftTimeLimitExceeded):
        run(gz(tar_bytes(good_bundle())), registry=DEFAULT.with_checks(fake))


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

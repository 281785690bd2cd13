"""lintian on real .deb packages built with dpkg-deb: tags, severities, overrides, limits."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import time
from dataclasses import replace
from pathlib import Path

import pytest
from builders import RPM_SPEC as SPEC

import bundlecheck


def _need(tool: str) -> None:
    if shutil.which(tool) is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{tool} is missing (apt-get install lintian); CI must run these tests")
        pytest.skip(f"{tool} is not installed")


@pytest.fixture(autouse=True)
def _tools(request):
    if request.node.name.startswith("test_the_checks_command"):
        return
    _need("dpkg-deb")
    _need("lintian")


CONTROL = ("Package: convirt\nVersion: 2.0-1\nArchitecture: all\n"
           "Maintainer: A Packager <a@example.org>\nDepends: python (>= 2.4)\n"
           "Description: {short}\n test package\n")


def build(tmp: Path, *, short: str = "test", override: bool = False) -> bytes:
    root = tmp / "pkg"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN" / "control").write_text(CONTROL.format(short=short))
    (root / "usr/bin").mkdir(parents=True)
    (root / "usr/bin/convirt").write_text("#!/bin/sh\necho hi\n")
    (root / "usr/bin/convirt").chmod(0o755)
    (root / "usr/share/convirt").mkdir(parents=True)
    (root / "usr/share/convirt/data").write_text("x\n")
    (root / "usr/share/convirt/data").chmod(0o666)
    if override:
        (root / "usr/share/lintian/overrides").mkdir(parents=True)
        (root / "usr/share/lintian/overrides/convirt").write_text(
            "convirt: no-manual-page [usr/bin/convirt]\n")
    out = tmp / "out.deb"
    subprocess.run(["dpkg-deb", "--root-owner-group", "--build", str(root), str(out)],
                   check=True, capture_output=True)
    return out.read_bytes()


def lint(data: bytes, policy=None, **kw) -> bundlecheck.Report:
    return bundlecheck.verify(io.BytesIO(data), distro="ubuntu", policy=policy or "convirt", **kw)


def tags(report) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for f in report.findings:
        if f.check.startswith("lintian:"):
            out.setdefault(f.check, set()).add(f.severity)
    return out


def test_known_tags_with_their_severities_explanations_and_pages(tmp_path):
    report = lint(build(tmp_path))
    assert tags(report) == {
        "lintian:description-too-short": {"error"},
        "lintian:no-changelog": {"error"},
        "lintian:no-copyright-file": {"error"},
        "lintian:no-manual-page": {"warning"},
        "lintian:non-standard-file-perm": {"warning"},
        "lintian:recommended-field": {"warning"},
        "lintian:extended-description-is-probably-too-short": {"info"},
        "lintian:no-md5sums-control-file": {"info"},
    }
    [perm] = [f for f in report.findings if f.check == "lintian:non-standard-file-perm"]
    assert perm.message == "lintian: non-standard-file-perm 0666 != 0644 [usr/share/convirt/data]"
    assert perm.url == "https://lintian.debian.org/tags/non-standard-file-perm"
    [man] = [f for f in report.findings if f.check == "lintian:no-manual-page"]
    assert "manual page" in man.hint and "Visibility" not in man.hint
    assert report.tools["lintian"].startswith("Lintian v")
    assert report.to_dict()["tools"] == report.tools
    assert report.verdict == "fail"  # lintian's errors are errors
    # The guide's own checks ran too.
    assert any(f.check == "deploy-missing-path" for f in report.findings)


def test_an_override_in_the_package_is_listed_not_hidden(tmp_path):
    report = lint(build(tmp_path, override=True))
    [man] = [f for f in report.findings if f.check == "lintian:no-manual-page"]
    assert man.severity == "info"
    assert "overridden by the package's lintian-overrides" in man.message


def test_hostile_control_fields_and_file_names_inject_nothing(tmp_path):
    marker = tmp_path / "pwned"
    short = f"$(touch {marker}); touch {marker} `touch {marker}` -x --help"
    report = lint(build(tmp_path, short=short), filename=f"-rf;$(touch {marker}).deb")
    assert not marker.exists()
    assert "lintian" in report.tools


def test_a_run_past_the_time_limit_is_one_warning_and_the_rest_goes_on(tmp_path, policy):
    slow = replace(policy, limits=replace(policy.limits, lint_timeout=0.01))
    report = lint(build(tmp_path), policy=slow)
    [failed] = [f for f in report.findings if f.check.startswith("lintian")]
    assert failed.check == "lintian-failed" and failed.severity == "warning"
    assert "limit" in failed.message
    assert any(f.check == "deploy-missing-path" for f in report.findings)
    assert report.tools == {}


def test_a_missing_lintian_is_one_info_with_how_to_install(tmp_path, monkeypatch):
    data = build(tmp_path)
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    report = lint(data)
    [missing] = [f for f in report.findings if f.check.startswith("lintian")]
    assert missing.check == "lintian-unavailable" and missing.severity == "info"
    assert "apt-get install lintian" in missing.hint
    assert any(f.check == "deploy-missing-path" for f in report.findings)


def test_lint_false_runs_no_linter(tmp_path):
    report = lint(build(tmp_path), lint=False)
    assert not any(f.check.startswith("lintian") for f in report.findings)
    assert report.tools == {}


def test_the_command_line_runs_lintian_and_prints_its_version(tmp_path, capsys):
    from bundlecheck import cli

    deb = tmp_path / "convirt_2.0-1_all.deb"
    deb.write_bytes(build(tmp_path))
    assert cli.main(["check", str(deb), "--distro", "ubuntu"]) == 1
    out = capsys.readouterr().out
    assert "ERROR   lintian:no-copyright-file: lintian: no-copyright-file" in out
    assert "see: https://lintian.debian.org/tags/no-copyright-file" in out
    assert [line for line in out.splitlines() if line.startswith("tools: lintian (Lintian v")]


@pytest.fixture
def rpm(tmp_path) -> bytes:
    _need("rpmbuild")
    _need("rpmlint")
    (tmp_path / "SPECS").mkdir()
    (tmp_path / "SPECS/convirt.spec").write_text(SPEC)
    subprocess.run(["rpmbuild", "--define", f"_topdir {tmp_path}", "-bb",
                    str(tmp_path / "SPECS/convirt.spec")], check=True, capture_output=True)
    return (tmp_path / "RPMS/noarch/convirt-2.0-1.noarch.rpm").read_bytes()


def test_rpmlint_checks_with_their_severities_and_explanations(rpm):
    report = lint(rpm)
    found = {f.check: f.severity for f in report.findings if f.check.startswith("rpmlint:")}
    assert found == {
        "rpmlint:summary-not-capitalized": "warning", "rpmlint:no-url-tag": "warning",
        "rpmlint:no-signature": "error", "rpmlint:no-packager-tag": "error",
        "rpmlint:no-manual-page-for-binary": "warning", "rpmlint:no-group-tag": "error",
        "rpmlint:no-documentation": "warning", "rpmlint:no-changelogname-tag": "error",
        "rpmlint:invalid-license": "warning",
    }
    [url] = [f for f in report.findings if f.check == "rpmlint:no-url-tag"]
    assert url.hint == "The URL tag is missing."
    assert report.tools["rpmlint"] == "rpmlint " + subprocess.run(
        ["rpmlint", "--version"], capture_output=True, text=True).stdout.strip()
    assert any(f.check == "deploy-missing-path" for f in report.findings)


def test_an_rpmlintrc_filters_what_it_names(rpm):
    report = lint(rpm, rpmlintrc=b'addFilter("no-signature")\n')
    checks = {f.check for f in report.findings}
    assert "rpmlint:no-signature" not in checks and "rpmlint:no-url-tag" in checks


def test_a_missing_rpmlint_is_one_info(rpm, tmp_path, monkeypatch):
    empty = tmp_path / "nothing"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    [missing] = [f for f in lint(rpm).findings if f.check.startswith("rpmlint")]
    assert missing.check == "rpmlint-unavailable" and "apt-get install rpmlint" in missing.hint


def test_a_policy_says_which_tags_block_and_which_never_do(tmp_path, policy):
    strict = replace(policy, linters_blocking=frozenset({"lintian:no-manual-page"}),
                     linters_advisory=frozenset({"lintian:no-copyright-file"}))
    report = lint(build(tmp_path), policy=strict)
    severity = {f.check: f.severity for f in report.findings}
    assert severity["lintian:no-manual-page"] == "error"
    assert severity["lintian:no-copyright-file"] == "warning"
    assert severity["lintian:no-changelog"] == "error"  # not named: lintian's own


def test_the_linters_table_is_read_from_a_policy_file(tmp_path):
    shipped = (Path(bundlecheck.__file__).parent / "policies" / "convirt.toml").read_text()
    path = tmp_path / "p.toml"
    path.write_text(shipped + "\n[linters]\nblocking = ['lintian:no-manual-page']\n"
                    "advisory = ['rpmlint:no-signature']\n")
    p = bundlecheck.load_policy(str(path))
    assert p.linters_blocking == {"lintian:no-manual-page"}
    assert p.linters_advisory == {"rpmlint:no-signature"}


def test_the_command_line_gives_rpmlint_the_rpmlintrc(rpm, tmp_path, capsys):
    from bundlecheck import cli

    pkg = tmp_path / "convirt-2.0-1.noarch.rpm"
    pkg.write_bytes(rpm)
    rc = tmp_path / ".rpmlintrc"
    rc.write_text('addFilter("no-signature")\n')
    cli.main(["check", str(pkg), "--distro", "fedora", "--rpmlintrc", str(rc), "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    checks = {f["check"] for f in report["findings"]}
    assert "rpmlint:no-signature" not in checks and "rpmlint:no-url-tag" in checks
    assert report["tools"]["rpmlint"].startswith("rpmlint ")
    cli.main(["check", str(pkg), "--distro", "fedora", "--no-lint", "--format", "json"])
    assert json.loads(capsys.readouterr().out)["tools"] == {}


def test_a_hanging_linter_and_its_children_are_killed_at_the_limit(tmp_path, policy, monkeypatch):
    data = build(tmp_path)
    fake = tmp_path / "fakebin"
    fake.mkdir()
    (fake / "lintian").write_text("#!/bin/sh\nsleep 3017 &\nsleep 3018\n")
    (fake / "lintian").chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake}:{os.environ['PATH']}")
    limited = replace(policy, limits=replace(policy.limits, lint_timeout=1.0))
    started = time.monotonic()
    report = lint(data, policy=limited)
    assert time.monotonic() - started < 10
    [failed] = [f for f in report.findings if f.check.startswith("lintian")]
    assert failed.check == "lintian-failed" and "1 s limit" in failed.message
    assert any(f.check == "deploy-missing-path" for f in report.findings)
    for pattern in (f"{fake}/lintian", "sleep 3017", "sleep 3018"):
        gone = subprocess.run(["pgrep", "-f", pattern], capture_output=True)
        assert gone.returncode == 1, pattern  # nothing of the fake linter is left


def test_a_package_rpmlint_cannot_read_is_one_warning(policy):
    _need("rpmlint")
    from builders import rpm_from_tree

    report = lint(rpm_from_tree())
    [failed] = [f for f in report.findings if f.check.startswith("rpmlint")]
    assert failed.check == "rpmlint-failed" and failed.severity == "warning"
    assert "status 3" in failed.message


def test_the_checks_command_lists_the_linter_families(capsys):
    from bundlecheck import cli
    from bundlecheck.registry import CHECKS, is_family_id

    assert cli.main(["checks"]) == 0
    out = capsys.readouterr().out
    assert "lintian:*" in out and "rpmlint:*" in out and "lintian-unavailable" in out
    assert is_family_id("lintian:no-copyright-file") and not is_family_id("lintian:")
    assert not is_family_id("shellcheck:x") and "lintian-failed" in CHECKS


def test_lintian_overrides_cannot_silence_a_tag_the_policy_blocks(tmp_path, policy):
    strict = replace(policy, linters_blocking=frozenset({"lintian:no-manual-page"}))
    package = build(tmp_path, override=True)
    report = lint(package, policy=strict)
    [man] = [f for f in report.findings if f.check == "lintian:no-manual-page"]
    assert man.severity == "error" and report.verdict == "fail"
    assert "override refused (blocking)" in man.message and "lintian-overrides" in man.message
    # Without the policy's say-so the override holds, as before.
    [held] = [f for f in lint(package).findings if f.check == "lintian:no-manual-page"]
    assert held.severity == "info" and "override refused" not in held.message


def test_an_rpmlintrc_cannot_silence_a_check_the_policy_blocks(rpm, policy):
    strict = replace(policy, linters_blocking=frozenset({"rpmlint:no-signature"}))
    report = lint(rpm, policy=strict, rpmlintrc=b'addFilter(".*")\n')
    rpmlint = {f.check: f for f in report.findings if f.check.startswith("rpmlint:")}
    # What the policy does not block stays filtered, as the maintainer asked.
    assert "rpmlint:no-url-tag" not in rpmlint
    refused = rpmlint["rpmlint:no-signature"]
    assert refused.severity == "error" and report.verdict == "fail"
    assert "override refused (blocking)" in refused.message and ".rpmlintrc" in refused.message
    assert refused.hint  # rpmlint's explanation, as for any check


def test_without_blocking_checks_rpmlint_runs_once(rpm, monkeypatch):
    from bundlecheck import linters

    runs = []
    real = linters._rpmlint
    monkeypatch.setattr(linters, "_rpmlint", lambda *a: runs.append(a[2]) or real(*a))
    lint(rpm, rpmlintrc=b'addFilter("no-signature")\n')
    assert len(runs) == 1 and runs[0] is not None

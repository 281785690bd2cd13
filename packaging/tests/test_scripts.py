"""Pre/post install scripts: mode, #! line, shellcheck."""

from __future__ import annotations

import pytest
from builders import CONF, POSTINST, E, d, gz, ids, tar_bytes

from bundlecheck.checks import scripts

B = "distros/ubuntu/"


def bundle(*members: E) -> bytes:
    return gz(tar_bytes([d("distros"), d(B.rstrip("/")), E(B + "convirt.conf", CONF), *members]))


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        pytest.param(E(B + "postinst", POSTINST, mode=0o755), set(), id="good"),
        pytest.param(E(B + "postinst", POSTINST, mode=0o644), {"script-not-executable"}, id="not-exec"),
        pytest.param(E(B + "preinst", b"set -e\necho hi\n", mode=0o755), {"script-no-shebang"},
                     id="no-shebang"),
        pytest.param(E(B + "setup.sh", b"#!/bin/bash\nrm -rf $DIR/*\n", mode=0o755), {"script-lint"},
                     id="lint-unquoted"),
        pytest.param(E(B + "postinst", b"#!/usr/bin/env python\nprint(1)\n", mode=0o755), set(),
                     id="python-script-not-linted"),
        pytest.param(E(B + "README", b"not a script", mode=0o644), set(), id="not-a-script"),
        pytest.param(E(B + "preferences.txt", b"x", mode=0o644), set(), id="pre-but-not-a-script"),
        pytest.param(E(B + "post-install.sh", b"echo\n", mode=0o644),
                     {"script-not-executable", "script-no-shebang"}, id="post-install-sh"),
    ],
)
def test_script_findings(run, script, expected):
    found = {c for c in ids(run(bundle(script))) if c.startswith(("script-", "shellcheck-"))}
    assert found == expected


def test_lint_finding_names_line_and_code(run):
    report = run(bundle(E(B + "setup.sh", b"#!/bin/bash\nrm -rf $DIR/*\n", mode=0o755)))
    [f] = [f for f in report.findings if f.check == "script-lint"]
    assert ("line 2" in f.message and "SC2115" in f.message) or "SC2086" in f.message


def test_missing_shellcheck_is_one_info_not_a_crash(run, monkeypatch):
    monkeypatch.setattr(scripts, "shellcheck_binary", lambda: None)
    report = run(bundle(E(B + "postinst", POSTINST, mode=0o755), E(B + "prerm", POSTINST, mode=0o755)))
    found = [f for f in report.findings if f.check == "shellcheck-unavailable"]
    assert len(found) == 1 and found[0].severity == "info"
    assert report.verdict == "pass"


def test_shellcheck_binary_is_found():
    assert scripts.shellcheck_binary() is not None


def test_hostile_script_name_is_escaped_everywhere(run):
    report = run(bundle(E(B + "post\udcff\x1b.sh", b"echo", mode=0o644)))
    assert report.verdict == "fail"
    for f in report.findings:
        for text in (f.path or "", f.message, f.hint):
            text.encode("utf-8")
            assert "\x1b" not in text
    assert any(f.path == B + "post\\xff\\x1b.sh" for f in report.findings)

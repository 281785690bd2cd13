"""The distro's own linter on a staged .deb: lintian's tags as findings.

lintian runs on a copy of the package in a private scratch folder (mode 0700,
removed afterwards) under a name bundlecheck chose (``package.deb``), with an
argument list (never a shell), a minimal environment (no proxy variables: it
needs no network) and a time limit, after which its whole process group is
killed.  A missing tool is one info finding; a failed or timed-out run one
warning; the rest of the verification goes on either way.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from typing import IO

from .findings import Finding, Severity

#: lintian's letters: E error, W warning, I info, P pedantic, X experimental, O overridden.
LINTIAN_SEVERITY: dict[str, Severity] = {"E": "error", "W": "warning", "I": "info", "P": "info",
                                         "X": "info", "O": "info"}
LINTIAN_ARGS = ("-E", "-I", "--pedantic", "--show-overrides", "--no-cfg")
LINTIAN_PREFIX = "lintian:"
_LINE = re.compile(r"(?P<code>[EWIPXO]): (?P<pkg>[^:\s]+)(?: [a-z]+)?: (?P<tag>[a-z0-9][a-z0-9.+_-]*)"
                   r"(?: (?P<context>.*))?")
_ENV = {"PATH": "", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}


def tag_url(tag: str) -> str:
    return f"https://lintian.debian.org/tags/{tag}"


class _Failed(Exception):
    pass


def _run(cmd: list[str], cwd: str, timeout: float) -> str:
    env = dict(_ENV, PATH=os.environ.get("PATH", "/usr/bin:/bin"), HOME=cwd)
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise _Failed(f"it ran past the {timeout:g} s limit and was stopped") from None
    if proc.returncode not in (0, 1, 2):  # lintian: 2 when tags fail the run
        tail = err.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
        raise _Failed(f"it exited with status {proc.returncode} ({tail[0][:200]})")
    return out.decode("utf-8", "replace")


def lintian_version(binary: str, cwd: str, timeout: float) -> str:
    return _run([binary, "--version"], cwd, timeout).strip()


def lint_deb(spool: IO[bytes], timeout: float) -> tuple[list[Finding], dict[str, str]]:
    """lintian's findings on the package in ``spool`` (read from its start) and its version."""
    binary = shutil.which("lintian")
    if binary is None:
        return [Finding("lintian-unavailable", "info", None,
                        "lintian is not installed: the package was not checked with Debian's own linter",
                        "apt-get install lintian, then verify again.")], {}
    scratch = tempfile.mkdtemp(prefix="bundlecheck-lintian-")
    try:
        os.chmod(scratch, 0o700)
        target = os.path.join(scratch, "package.deb")
        spool.seek(0)
        with open(target, "wb") as out:
            shutil.copyfileobj(spool, out, 1 << 20)
        try:
            version = lintian_version(binary, scratch, timeout)
            text = _run([binary, *LINTIAN_ARGS, "--", target], scratch, timeout)
            tags = list(_parse(text))
            explained = _explain(sorted({t for _c, t, _x in tags}), scratch, timeout)
        except (_Failed, OSError) as exc:
            return [Finding("lintian-failed", "warning", None,
                            f"lintian could not finish on the package: {exc}",
                            "The other checks ran; ask the release managers if it persists.")], {}
        return [_finding(code, tag, context, explained.get(tag, "")) for code, tag, context in tags], \
            {"lintian": version}
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _parse(text: str) -> Iterator[tuple[str, str, str]]:
    for line in text.splitlines():
        m = _LINE.fullmatch(line.strip())
        if m:
            yield m["code"], m["tag"], (m["context"] or "").strip()


def _explain(tags: list[str], cwd: str, timeout: float) -> dict[str, str]:
    """Each tag's explanation, from one lintian-explain-tags run for all of them."""
    binary = shutil.which("lintian-explain-tags")
    if not tags or binary is None:
        return {}
    text = _run([binary, "--", *tags], cwd, timeout)
    out: dict[str, list[str]] = {}
    current: str | None = None
    for line in text.splitlines():
        m = re.fullmatch(r"[EWIPXC]: ([a-z0-9][a-z0-9.+_-]*)", line.strip())
        if m:
            current = m[1]
            out[current] = []
        elif current is not None and line.startswith("N:"):
            body = line[2:].strip()
            if body.startswith(("Visibility:", "Show-Always:", "Check:", "Renamed from:")):
                current = None  # the explanation ends where lintian's metadata starts
            elif body:
                out[current].append(body)
    return {tag: " ".join(lines)[:1000] for tag, lines in out.items()}


def _finding(code: str, tag: str, context: str, explanation: str) -> Finding:
    severity = LINTIAN_SEVERITY[code]
    where = f" {context}" if context else ""
    if code == "O":
        message = f"lintian: {tag}{where} (overridden by the package's lintian-overrides)"
    else:
        message = f"lintian: {tag}{where}"
    return Finding(LINTIAN_PREFIX + tag, severity, None, message, explanation, tag_url(tag))

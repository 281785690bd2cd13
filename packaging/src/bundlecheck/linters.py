"""The distros' own linters on a staged package: lintian on a .deb, rpmlint on a .rpm.

Each runs on a copy of the package in a private scratch folder (mode 0700,
removed afterwards) under a name bundlecheck chose (``package.deb``,
``package.rpm``), with an
argument list (never a shell), a minimal environment (no proxy variables: it
needs no network) and a time limit, after which its whole process group is
killed.  A missing tool is one info finding; a failed or timed-out run one
warning; the rest of the verification goes on either way.
"""

from __future__ import annotations

import contextlib
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
RPMLINT_PREFIX = "rpmlint:"
RPMLINT_SEVERITY: dict[str, Severity] = {"E": "error", "W": "warning", "I": "info"}
_RPMLINT_LINE = re.compile(r"(?P<pkg>[^:\s]+): (?P<code>[EWI]): (?P<tag>[A-Za-z0-9][A-Za-z0-9._+-]*)"
                           r"(?: (?P<context>.*))?")
_LINE = re.compile(r"(?P<code>[EWIPXO]): (?P<pkg>[^:\s]+)(?: [a-z]+)?: (?P<tag>[a-z0-9][a-z0-9.+_-]*)"
                   r"(?: (?P<context>.*))?")
_ENV = {"PATH": "", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}


#: How a report lists an override of a tag the policy blocks: kept, as an error.
OVERRIDE_REFUSED = "override refused (blocking)"
_REFUSED_WHY = ("the package's %s silence it, but the project's policy lists this tag as "
                "blocking ([linters] blocking), which no override can lift")


def tag_url(tag: str) -> str:
    return f"https://lintian.debian.org/tags/{tag}"


class _Failed(Exception):
    pass


def _run(cmd: list[str], cwd: str, timeout: float, ok: tuple[int, ...] = (0, 1, 2)) -> str:
    """The command's output; _Failed past ``timeout`` (its process group killed) or on a
    status not in ``ok`` (lintian: 2 when tags fail the run; rpmlint: 64/66 on errors)."""
    env = dict(_ENV, PATH=os.environ.get("PATH", "/usr/bin:/bin"), HOME=cwd)
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise _Failed(f"it ran past the {timeout:g} s limit and was stopped") from None
    if proc.returncode not in ok:
        tail = err.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
        raise _Failed(f"it exited with status {proc.returncode} ({tail[0][:200]})")
    return out.decode("utf-8", "replace")


_VERSIONS: dict[tuple[str, float], str] = {}


def _version(binary: str, cwd: str, timeout: float, ok: tuple[int, ...] = (0, 1, 2)) -> str:
    """The tool's --version line, asked once per installed binary (path and mtime)."""
    key = (binary, os.stat(binary).st_mtime)
    if key not in _VERSIONS:
        _VERSIONS[key] = _run([binary, "--version"], cwd, timeout, ok).strip()
    return _VERSIONS[key]


@contextlib.contextmanager
def _package_copy(spool: IO[bytes], tool: str, name: str) -> Iterator[tuple[str, str]]:
    """(scratch folder, path) of a private copy of the package in ``spool`` (read from
    its start) for ``tool`` to read; removed afterwards."""
    scratch = tempfile.mkdtemp(prefix=f"bundlecheck-{tool}-")
    try:
        os.chmod(scratch, 0o700)
        target = os.path.join(scratch, name)
        spool.seek(0)
        with open(target, "wb") as out:
            shutil.copyfileobj(spool, out, 1 << 20)
        yield scratch, target
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def lint_deb(spool: IO[bytes], timeout: float,
             blocking: frozenset[str] = frozenset()) -> tuple[list[Finding], dict[str, str]]:
    """lintian's findings on the package in ``spool`` (read from its start) and its version;
    a tag in ``blocking`` that the package's lintian-overrides silence is an error all the same."""
    binary = shutil.which("lintian")
    if binary is None:
        return [Finding("lintian-unavailable", "info", None,
                        "lintian is not installed: the package was not checked with Debian's own linter",
                        "apt-get install lintian, then verify again.")], {}
    with _package_copy(spool, "lintian", "package.deb") as (scratch, target):
        try:
            version = _version(binary, scratch, timeout)
            text = _run([binary, *LINTIAN_ARGS, "--", target], scratch, timeout)
            tags = list(_parse(text))
            explained = _explain(sorted({t for _c, t, _x in tags}), scratch, timeout)
        except (_Failed, OSError) as exc:
            return [Finding("lintian-failed", "warning", None,
                            f"lintian could not finish on the package: {exc}",
                            "The other checks ran; ask the release managers if it persists.")], {}
        return [_finding(code, tag, context, explained.get(tag, ""), LINTIAN_PREFIX + tag in blocking)
                for code, tag, context in tags], {"lintian": version}


def lint_rpm(spool: IO[bytes], timeout: float, rpmlintrc: bytes | None = None,
             blocking: frozenset[str] = frozenset()) -> tuple[list[Finding], dict[str, str]]:
    """rpmlint's findings on the package in ``spool`` (read from its start) and its version;
    ``rpmlintrc`` (the .rpmlintrc in the bundle's distro directory) is passed with -r.

    A filter of the .rpmlintrc hides a line from rpmlint's output altogether, so when the
    policy blocks some rpmlint checks rpmlint also runs without it: a blocking check that
    only the filtered run lacks is kept, as an error ("override refused (blocking)").
    """
    binary = shutil.which("rpmlint")
    if binary is None:
        return [Finding("rpmlint-unavailable", "info", None,
                        "rpmlint is not installed: the package was not checked with rpmlint",
                        "apt-get install rpmlint, then verify again.")], {}
    with _package_copy(spool, "rpmlint", "package.rpm") as (scratch, target):
        rc = None
        if rpmlintrc is not None:
            rc = os.path.join(scratch, "rpmlintrc")
            with open(rc, "wb") as out:
                out.write(rpmlintrc)
        try:
            version = "rpmlint " + _version(binary, scratch, timeout, _RPMLINT_OK)
            tags = _rpmlint(binary, target, rc, scratch, timeout)
            refused: list[tuple[str, str, str]] = []
            if rc is not None and any(t.startswith(RPMLINT_PREFIX) for t in blocking):
                kept = set(tags)
                refused = [t for t in _rpmlint(binary, target, None, scratch, timeout)
                           if RPMLINT_PREFIX + t[1] in blocking and t not in kept]
            explained = _explain_rpmlint(binary, sorted({t for _c, t, _x in tags + refused}), scratch,
                                         timeout)
        except (_Failed, OSError) as exc:
            return [Finding("rpmlint-failed", "warning", None,
                            f"rpmlint could not finish on the package: {exc}",
                            "The other checks ran; ask the release managers if it persists.")], {}
        found = [Finding(RPMLINT_PREFIX + tag, RPMLINT_SEVERITY[code], None,
                         f"rpmlint: {tag}{' ' + context if context else ''}", explained.get(tag, ""))
                 for code, tag, context in tags]
        found += [Finding(RPMLINT_PREFIX + tag, "error", None,
                          f"rpmlint: {tag}{' ' + context if context else ''} ({OVERRIDE_REFUSED}: "
                          f"{_REFUSED_WHY % '.rpmlintrc filters'})", explained.get(tag, ""))
                  for _code, tag, context in refused]
        return found, {"rpmlint": version}


_RPMLINT_OK = (0, 64, 66)


def _rpmlint(binary: str, target: str, rc: str | None, cwd: str,
             timeout: float) -> list[tuple[str, str, str]]:
    """(code, check, context) of each line rpmlint reports on ``target``, with ``rc`` as -r."""
    cmd = [binary, *(["-r", rc] if rc is not None else []), "--", target]
    tags = []
    for line in _run(cmd, cwd, timeout, _RPMLINT_OK).splitlines():
        m = _RPMLINT_LINE.fullmatch(line.strip())
        # The file name is bundlecheck's own (package.rpm), not the packager's.
        if m and m["tag"] != "non-coherent-filename":
            tags.append((m["code"], m["tag"], (m["context"] or "").strip()))
    return tags


def _explain_rpmlint(binary: str, tags: list[str], cwd: str, timeout: float) -> dict[str, str]:
    """Each check's explanation, from one 'rpmlint --explain' run for all of them."""
    if not tags:
        return {}
    text = _run([binary, "--explain", *tags], cwd, timeout, _RPMLINT_OK)
    out: dict[str, list[str]] = {}
    current: str | None = None
    for line in text.splitlines():
        if line.endswith(":") and line[:-1] in tags:
            current = line[:-1]
            out[current] = []
        elif current is not None and line.strip():
            out[current].append(line.strip())
    return {tag: " ".join(lines)[:1000] for tag, lines in out.items()}


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


def _finding(code: str, tag: str, context: str, explanation: str, blocked: bool = False) -> Finding:
    severity = LINTIAN_SEVERITY[code]
    where = f" {context}" if context else ""
    if code == "O" and blocked:
        severity = "error"
        message = f"lintian: {tag}{where} ({OVERRIDE_REFUSED}: {_REFUSED_WHY % 'lintian-overrides'})"
    elif code == "O":
        message = f"lintian: {tag}{where} (overridden by the package's lintian-overrides)"
    else:
        message = f"lintian: {tag}{where}"
    return Finding(LINTIAN_PREFIX + tag, severity, None, message, explanation, tag_url(tag))

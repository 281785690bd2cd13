"""Each ledger patch's status against a pre-release, with GNU patch on a scratch copy.

The pre-release is read once through the engine's bounded reader and checked
whole (an unsafe or corrupt archive gives no status at all); only then are the
files the patches touch written, as plain files, into a fresh temporary
directory.  GNU ``patch --dry-run`` runs there on the ledger's own rendering of
each diff (unified hunks only, so no ed script ever reaches it), with ``--force``
(never asks, never guesses a reversed patch), ``--get=0`` (never fetches a file
from a version control system), ``--ignore-whitespace`` (the ledger ignores
whitespace at line ends too), a time limit, an almost empty environment, and no
network.  Nothing outside the scratch copy is touched, and
the scratch copy itself is never changed.

A patch that applies as it is *applies*; with hunks moved or fuzzed it *applies
with fuzz*; one that applies only reversed is *already upstream*; otherwise it
*conflicts*, naming each failed hunk's file and header.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import IO, Any

from .decompress import RawReader
from .errors import ArchiveError
from .formats import BLOCK, DEB, RPM, detect_kind
from .members import Member, Scan
from .patches import Ledger, Patch, Status, problem
from .policy import Policy, load_policy
from .safety import link_findings
from .tarscan import scan_tar_stream

#: Seconds one run of patch may take.
PATCH_TIMEOUT = 10.0
#: Bytes of the pre-release copied to the scratch tree, at most (only the files patches touch).
MAX_SCRATCH_BYTES = 256 << 20
#: Bytes of patch's output read, at most.
MAX_OUTPUT = 256 << 10
COPY_CHUNK = 1 << 20
#: GNU patch runs at once (each a short process; the machine's cores, at most 4).
PARALLEL_RUNS = max(1, min(4, os.cpu_count() or 1))


@dataclass(slots=True)
class _Run:
    code: int | None  # None: did not finish in time
    output: str


def ledger_status(ledger: Ledger, prerelease: IO[bytes], *, name: str,
                  policy: str | Policy = "convirt", timeout: float = PATCH_TIMEOUT) -> Ledger:
    """Set the status of every carried patch against the pre-release; returns ``ledger``.

    Each distinct diff is tried once; carriers shipping the same diff share its
    status.  Bad input (an unusable pre-release, GNU patch missing, a run past its
    time limit) gives *unknown* statuses and a problem on the ledger, never an
    exception.
    """
    pol = policy if isinstance(policy, Policy) else load_policy(policy)
    ledger.against = name
    carriers = [c for e in ledger.entries for c in e.carriers]
    binary = shutil.which("patch")
    if binary is None:
        _all_unknown(ledger, "GNU patch is not installed on the machine computing the ledger")
        return ledger
    needed = {p for c in carriers for f in c.patch.files for p in (f.old, f.new) if p}
    with tempfile.TemporaryDirectory(prefix="bundlecheck-ledger-") as scratch:
        tree = os.path.join(scratch, "tree")
        os.mkdir(tree, 0o700)
        try:
            _scratch_copy(prerelease, needed, tree, pol)
        except ArchiveError as exc:
            ledger.problems.append(problem("prerelease-unusable", exc.path or name,
                                           f"{name}: {exc.message}", exc.hint))
            _all_unknown(ledger, f"the pre-release {name} could not be read safely")
            return ledger
        first: dict[str, Patch] = {}
        for c in carriers:
            first.setdefault(c.patch.diff, c.patch)
        # GNU patch runs are independent (dry runs on the same read-only copy): a few at once.
        with ThreadPoolExecutor(max_workers=PARALLEL_RUNS) as pool:
            statuses = pool.map(lambda job: _status(job[1], job[0], binary, scratch, tree, timeout),
                                enumerate(first.values()))
            by_diff = dict(zip(first, statuses, strict=True))
        for diff, patch in first.items():
            if by_diff[diff].state == "unknown":
                ledger.problems.append(problem("patch-status-unknown", patch.path,
                                               f"{patch.path}: {by_diff[diff].detail}",
                                               "Try again later; if it lasts, split the patch."))
        for c in carriers:
            c.status = by_diff[c.patch.diff]
    return ledger


def _all_unknown(ledger: Ledger, why: str) -> None:
    for e in ledger.entries:
        for c in e.carriers:
            c.status = Status("unknown", why)
    ledger.problems.append(problem("patch-status-unknown", None, f"No status computed: {why}.",
                                   "Install GNU patch (Debian package 'patch'), or give a usable "
                                   "pre-release."))


# --- the scratch copy -------------------------------------------------------------------


def _scratch_copy(prerelease: IO[bytes], needed: set[str], tree: str, pol: Policy) -> None:
    """Read the whole pre-release safely, then write the needed files (only) under ``tree``."""
    raw = RawReader(prerelease, None, None)
    kind = detect_kind(raw.peek(BLOCK))
    if kind is None or kind in (DEB, RPM):
        raise ArchiveError("archive-unreadable", "not a source tarball", "Give the pre-release tarball.")
    offsets: dict[str, tuple[int, int]] = {}
    total = 0
    with tempfile.TemporaryFile(dir=os.path.dirname(tree)) as spool:

        def sink(member: Member):
            nonlocal total
            rel = member.path.split("/", 1)[1] if "/" in member.path else member.path
            if rel not in needed and member.path not in needed:
                return None
            if total + member.size > MAX_SCRATCH_BYTES:
                raise ArchiveError("archive-too-large", f"the files the patches touch exceed "
                                   f"{MAX_SCRATCH_BYTES >> 20} MiB", "Split the pre-release check.",
                                   member.path)
            total += member.size
            offsets[member.path] = (spool.tell(), member.size)
            return spool.write

        scan = Scan(kind=kind)
        scan_tar_stream(raw, kind, pol.limits, scan, capture=None, hash_members=False, data_sink=sink)
        raw.finish()
        errors = [f for f in scan.findings + list(link_findings(scan)) if f.severity == "error"]
        if errors:
            raise ArchiveError(errors[0].check, errors[0].message, errors[0].hint, errors[0].path)
        tops = {p.split("/", 1)[0] for p in scan.members}
        single = len(tops) == 1 and any("/" in p for p in scan.members)
        for path, (offset, size) in offsets.items():
            m = scan.members.get(path)
            if m is None or m.type != "file":
                continue
            rel = path.split("/", 1)[1] if single else path
            if rel in needed:
                _write(tree, rel, spool, offset, size)


def _write(tree: str, rel: str, spool: IO[bytes], offset: int, size: int) -> None:
    parts = rel.split("/")
    if any(p in ("", ".", "..") for p in parts):  # the reader refused these already
        return
    directory = tree
    for part in parts[:-1]:
        directory = os.path.join(directory, part)
        if not os.path.isdir(directory):
            os.mkdir(directory, 0o700)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(os.path.join(directory, parts[-1]), flags, 0o600)
    spool.seek(offset)
    with os.fdopen(fd, "wb") as out:
        left = size
        while left:
            chunk = spool.read(min(COPY_CHUNK, left))
            if not chunk:
                break
            out.write(chunk)
            left -= len(chunk)
    spool.seek(0, os.SEEK_END)


# --- GNU patch ----------------------------------------------------------------------------


def _run(binary: str, diff_file: str, tree: str, scratch: str, reverse: bool, timeout: float) -> _Run:
    # --get=0: never check a missing file out of RCS, SCCS, ClearCase or Perforce (no other program).
    cmd = [binary, "--dry-run", "--force", "-p1", "--unified", "--ignore-whitespace", "--get=0",
           "--no-backup-if-mismatch",
           "--reject-file=-", "--quoting-style=literal", "--directory", tree, "--input", diff_file]
    if reverse:
        cmd.insert(1, "--reverse")
    env = {"PATH": "/usr/bin:/bin", "LC_ALL": "C", "TMPDIR": scratch, "HOME": scratch}
    try:
        done = subprocess.run(cmd, cwd=scratch, env=env, stdin=subprocess.DEVNULL,
                              capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return _Run(None, "")
    output = (done.stdout[:MAX_OUTPUT] + done.stderr[:MAX_OUTPUT]).decode("utf-8", "replace")
    return _Run(done.returncode, output)


_MOVED = re.compile(r"Hunk #(\d+) succeeded at (\d+)(?: with fuzz (\d+))?(?: \(offset (-?\d+) lines?\))?")
_FAILED = re.compile(r"Hunk #(\d+) FAILED at (\d+)")
_FILE = re.compile(r"^(?:checking|patching) file (.+)$", re.M)


def _status(patch: Patch, number: int, binary: str, scratch: str, tree: str, timeout: float) -> Status:
    diff_file = os.path.join(scratch, f"candidate-{number}.diff")
    with open(diff_file, "w", encoding="utf-8", errors="surrogateescape") as f:
        f.write(patch.diff)
    forward = _run(binary, diff_file, tree, scratch, False, timeout)
    if forward.code is None:
        return Status("unknown", f"GNU patch did not finish within {timeout:g} seconds")
    if forward.code == 0 and not _MOVED.search(forward.output):
        return Status("applies", "applies as it is")
    reverse = _run(binary, diff_file, tree, scratch, True, timeout)
    if reverse.code == 0 and (forward.code != 0 or not _MOVED.search(reverse.output)):
        return Status("already-upstream", "the pre-release already holds this change (the patch "
                      "reverse-applies): drop it")
    if forward.code == 0:
        return Status("applies-with-fuzz", _moved_detail(patch, forward.output))
    if forward.code not in (0, 1):
        return Status("unknown", f"GNU patch could not read the patch: {_first_line(forward.output)}")
    return _conflicts(patch, forward.output, reverse.output if reverse.code in (0, 1) else "")


def _per_file(output: str) -> list[tuple[str, str]]:
    """(file, that file's lines of output) in order."""
    marks = list(_FILE.finditer(output))
    return [(m.group(1).strip(), output[m.end(): marks[i + 1].start() if i + 1 < len(marks) else len(output)])
            for i, m in enumerate(marks)]


def _moved_detail(patch: Patch, output: str) -> str:
    notes = []
    for path, text in _per_file(output):
        for m in _MOVED.finditer(text):
            how = []
            if m.group(3):
                how.append(f"fuzz {m.group(3)}")
            if m.group(4):
                how.append(f"offset {m.group(4)} lines")
            notes.append(f"{_rel(path)} hunk #{m.group(1)} at line {m.group(2)} ({', '.join(how)})")
    return "applies with " + ("; ".join(notes) if notes else "offset or fuzz")


def _conflicts(patch: Patch, output: str, reverse_output: str) -> Status:
    """The failed hunks, each marked ``upstream`` when it alone reverse-applies (the rest is new)."""
    by_path = {f.path: f for f in patch.files}
    reversed_ok = _clean_hunks(reverse_output, patch)
    conflicts: list[dict[str, Any]] = []
    for path, text in _per_file(output):
        rel = _rel(path)
        fd = by_path.get(rel)
        for m in _FAILED.finditer(text):
            number = int(m.group(1))
            header = fd.hunks[number - 1].split("\n", 1)[0] if fd and 0 < number <= len(fd.hunks) else ""
            conflicts.append({"file": rel, "hunk": number, "at": int(m.group(2)), "header": header,
                              "upstream": (rel, number) in reversed_ok})
        if "No file to patch" in text or "No such file" in text:
            conflicts.append({"file": rel, "hunk": None, "at": None, "upstream": False,
                              "header": "the file is not in the pre-release"})
    if "can't find file to patch" in output and not conflicts:
        missing = [f.old for f in patch.files if f.old]
        conflicts.append({"file": missing[0] if missing else "", "hunk": None, "at": None, "upstream": False,
                          "header": "the file is not in the pre-release"})
    detail = "; ".join(
        f"{c['file']} hunk #{c['hunk']} ({c['header']})" + (", already upstream" if c["upstream"] else "")
        if c["hunk"] else f"{c['file']}: {c['header']}" for c in conflicts) or _first_line(output)
    return Status("conflicts", f"conflicts: {detail}", conflicts)


def _clean_hunks(output: str, patch: Patch) -> set[tuple[str, int]]:
    """(file, hunk number) of the hunks a run applied: GNU patch names only the moved or failed ones."""
    counts = {f.path: len(f.hunks) for f in patch.files}
    done: set[tuple[str, int]] = set()
    for path, text in _per_file(output):
        rel = _rel(path)
        failed = {int(n) for n in re.findall(r"Hunk #(\d+) FAILED", text)}
        if "No file to patch" not in text:
            done |= {(rel, n) for n in range(1, counts.get(rel, 0) + 1) if n not in failed}
    return done


def _rel(path: str) -> str:
    return path.strip("'\"")


def _first_line(text: str) -> str:
    return next((line for line in text.splitlines() if line.strip()), "no output")[:300]

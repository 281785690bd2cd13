#!/usr/bin/env python3
"""Benchmark bundlecheck on hostile archive shapes against `tar -tvf` on the same files.

Not a test: it prints figures.  It builds, in a temporary directory, archives
that are small on the wire but pathological in shape, then for each one runs
`bundlecheck check FILE --distro ubuntu --format json` in a subprocess (wall
time, peak RSS from os.wait4's rusage, size of the JSON report) next to
`tar -tvf FILE > /dev/null`:

  * a tree 2,000 directories deep;
  * 40 members whose paths are 32,000 levels deep (pax headers, .tar.gz);
  * 20,000 and 100,000 members with 63 KB names (GNU long names; .tar.gz and .tar);
  * 250,000 members with the same name.

Targets: each under 2x `tar -tvf` (or under 1 s where tar takes less), peak
RSS under 100 MB, JSON report under 1 MB.

    python bench/bench_bombs.py                 # every case (about 6.5 GB of disk for the plain ones)
    python bench/bench_bombs.py --skip-large    # without the 100,000-member cases
"""

from __future__ import annotations

import argparse
import gzip
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

MiB = 1 << 20
BLOCK = 512


def _octal(value: int, length: int) -> bytes:
    return b"%0*o\x00" % (length - 1, value)


def header(name: bytes, *, type: bytes = b"0", size: int = 0, mode: int = 0o644,
           gnu: bool = False) -> bytes:
    b = bytearray(BLOCK)
    b[0:len(name[:100])] = name[:100]
    b[100:108] = _octal(mode, 8)
    b[108:116] = _octal(0, 8)
    b[116:124] = _octal(0, 8)
    b[124:136] = _octal(size, 12)
    b[136:148] = _octal(1_200_000_000, 12)
    b[156:157] = type
    b[257:265] = b"ustar  \x00" if gnu else b"ustar\x0000"
    b[265:269] = b"root"
    b[297:301] = b"root"
    if not gnu:
        b[329:345] = _octal(0, 8) + _octal(0, 8)
    b[148:156] = b" " * 8
    b[148:156] = b"%06o\x00 " % sum(b)
    return bytes(b)


def padded(data: bytes) -> bytes:
    return data + bytes(-len(data) % BLOCK)


def long_name_member(name: bytes, *, type: bytes = b"0", data: bytes = b"") -> bytes:
    """A GNU long-name header (when needed) and the member."""
    out = b""
    if len(name) > 100:
        out = header(b"././@LongLink", type=b"L", size=len(name) + 1, gnu=True) + padded(name + b"\x00")
    return out + header(name, type=type, size=len(data), gnu=True) + padded(data)


def pax_member(name: bytes, *, type: bytes = b"0", data: bytes = b"") -> bytes:
    body = b" path=" + name + b"\n"
    n = len(body) + 1
    while len(str(n)) + len(body) != n:
        n += 1
    record = str(n).encode() + body
    return (header(b"PaxHeader/x", type=b"x", size=len(record)) + padded(record)
            + header(name[:100], type=type, size=len(data)) + padded(data))


END = bytes(2 * BLOCK)


# --- the bombs -------------------------------------------------------------------------


def deep_tree(depth: int = 2000) -> Iterator[bytes]:
    path = b"distros/ubuntu"
    yield long_name_member(b"distros/", type=b"5")
    yield long_name_member(b"distros/ubuntu/", type=b"5")
    for _ in range(depth):
        path += b"/d"
        yield long_name_member(path + b"/", type=b"5")
    yield long_name_member(path + b"/file", data=b"deep\n")
    yield END


def deep_paths(members: int = 40, levels: int = 32_000) -> Iterator[bytes]:
    for i in range(members):
        yield pax_member(b"a/" * levels + b"f%d" % i, data=b"x")
    yield END


def long_names(members: int, length: int = 63_000) -> Iterator[bytes]:
    stem = b"distros/ubuntu/" + b"n" * (length - 30)
    for i in range(members):
        yield long_name_member(stem + b"%012d" % i, data=b"")
    yield END


def same_name(members: int = 250_000) -> Iterator[bytes]:
    one = header(b"distros/ubuntu/dup.txt")
    chunk = one * 1000
    for _ in range(members // 1000):
        yield chunk
    yield END


def write(path: Path, blobs: Iterator[bytes], compress: bool) -> None:
    with open(path, "wb") as raw:
        out = gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=6, mtime=0) if compress else raw
        try:
            for blob in blobs:
                out.write(blob)
        finally:
            if compress:
                out.close()


CASES: list[tuple[str, Callable[[], Iterator[bytes]], bool, bool]] = [
    # (label, members, gzip?, large?)
    ("2,000-deep tree (.tar.gz)", deep_tree, True, False),
    ("40 members, 32,000-level paths (.tar.gz)", deep_paths, True, False),
    ("20,000 members, 63 KB names (.tar.gz)", lambda: long_names(20_000), True, False),
    ("20,000 members, 63 KB names (.tar)", lambda: long_names(20_000), False, False),
    ("100,000 members, 63 KB names (.tar.gz)", lambda: long_names(100_000), True, True),
    ("100,000 members, 63 KB names (.tar)", lambda: long_names(100_000), False, True),
    ("250,000 same-name members (.tar.gz)", same_name, True, False),
    ("250,000 same-name members (.tar)", same_name, False, False),
]


# --- measuring --------------------------------------------------------------------------


def run_measured(cmd: list[str]) -> tuple[float, int, int]:
    """Wall time, peak RSS (bytes) and stdout size of a child process."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - started
        code = os.waitstatus_to_exitcode(status)
        size = out.seek(0, os.SEEK_END)
    if code not in (0, 1, 2):
        raise SystemExit(f"{cmd[0]} failed with status {code}")
    return elapsed, usage.ru_maxrss * 1024, size


def bundlecheck_cmd() -> list[str]:
    found = shutil.which("bundlecheck") or str(Path(sys.executable).with_name("bundlecheck"))
    return [found] if os.path.exists(found) else [sys.executable, "-m", "bundlecheck.cli"]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--skip-large", action="store_true", help="leave out the 100,000-member cases")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = p.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-bombs-"))
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, work dir {work}")
    print(f"{'case':44} {'file':>9} {'verify':>8} {'tar -tvf':>9} {'ratio':>6} {'RSS':>8} {'JSON':>9}  verdict")
    failures = 0
    try:
        for label, make, compress, large in CASES:
            if large and args.skip_large:
                continue
            path = work / ("bomb.tar.gz" if compress else "bomb.tar")
            write(path, make(), compress)
            with open(path, "rb") as f:  # warm the page cache for both tools
                while f.read(8 * MiB):
                    pass
            v_time, v_rss, json_size = run_measured(
                [*bundlecheck_cmd(), "check", str(path), "--distro", "ubuntu", "--format", "json"])
            t_time, _, _ = run_measured(["tar", "-tvf", str(path)])
            ok = (v_time <= max(2 * t_time, 1.0)) and v_rss < 100 * MiB and json_size < MiB
            failures += not ok
            print(f"{label:44} {path.stat().st_size / MiB:8.1f}M {v_time:7.2f}s {t_time:8.2f}s "
                  f"{v_time / t_time:6.2f} {v_rss / MiB:6.1f}MB {json_size / 1024:7.1f}KB  "
                  f"{'ok' if ok else 'OVER TARGET'}")
            path.unlink()
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print("targets: verify <= max(2 x tar -tvf, 1 s), peak RSS < 100 MB, JSON < 1 MB; "
          f"{'all met' if not failures else f'{failures} case(s) over'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Benchmark judging many recipes beside many files: the prerequisites check's cost.

Not a test: it prints figures.  It builds, in memory, a distro bundle
(``distros/ubuntu/...``) holding N tiny ``.spec`` recipes (none applies the
paramiko patch, so each is judged to the end) and M other files, then runs
``bundlecheck.verify`` on it in this process and prints the archive's size,
the wall and CPU time of the verification, and the time per recipe.

    python bench/bench_recipes.py                      # 20,000 recipes + 20,000 files
    python bench/bench_recipes.py --recipes 6000 --files 12000
    python bench/bench_recipes.py --repeat 3
"""

from __future__ import annotations

import argparse
import gzip
import io
import os
import tarfile
import time

import bundlecheck

CONF = b"[PATHS]\nexec_path=/usr/bin:/bin:/sbin:/usr/sbin\n[CLIENT CONFIGURATION]\nhtml_browser=firefox\n"
SPEC = (b"Name: convirt-%d\nVersion: 2.0\nRelease: 1\nSummary: x\nLicense: GPL\n"
        b"Requires: python >= 2.4, xen >= 3.0.4, pygtk2, vte, python-paramiko >= 1.6.4\n")


def build(recipes: int, files: int) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.GNU_FORMAT) as tar:
        def add(name: str, data: bytes = b"", kind: bytes = tarfile.REGTYPE) -> None:
            info = tarfile.TarInfo(name)
            info.type, info.mtime = kind, 1_200_000_000
            info.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
            info.size = len(data) if kind == tarfile.REGTYPE else 0
            tar.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)

        for directory in ("distros", "distros/ubuntu", "distros/ubuntu/specs", "distros/ubuntu/files"):
            add(directory, kind=tarfile.DIRTYPE)
        add("distros/ubuntu/convirt.conf", CONF)
        for i in range(recipes):
            add(f"distros/ubuntu/specs/convirt-{i}.spec", SPEC % i)
        for i in range(files):
            add(f"distros/ubuntu/files/file-{i}.txt", b"x")
    return gzip.compress(out.getvalue(), compresslevel=6, mtime=0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--recipes", type=int, default=20_000)
    ap.add_argument("--files", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    data = build(args.recipes, args.files)
    policy = bundlecheck.load_policy("convirt")
    # A policy's member limit must allow the bench's members; the default is the guide's.
    print(f"bundle: {args.recipes:,} recipes + {args.files:,} other files, {len(data) / 1024:.0f} KiB "
          f".tar.gz; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    for _ in range(args.repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        report = bundlecheck.verify(io.BytesIO(data), distro="ubuntu", policy=policy, lint=False)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        counts: dict[str, int] = {}
        for f in report.findings:
            counts[f.check] = counts.get(f.check, 0) + 1
        print(f"verify: {wall:.2f} s wall, {cpu:.2f} s CPU, {1e6 * wall / max(args.recipes, 1):.0f} us per "
              f"recipe; verdict {report.verdict}; findings {dict(sorted(counts.items()))}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Benchmark `bundlecheck source compare` on a 200 MB tarball against its tag.

Not a test: it prints figures.  It builds, in a temporary directory, a git
repository of incompressible files (so the .tar.gz is as large as its content),
tags it, packs the tag's tree as a release tarball with `git archive | gzip`,
adds a few generated files (configure, Makefile.in), and runs

    bundlecheck source compare TARBALL --repo REPO --tag v1.0 --format json

in a subprocess: wall time and peak RSS (os.wait4's rusage: the largest of the
Python process and the git processes it ran), next to `tar -tzf TARBALL` and
`git archive TAG | wc -c` for scale.

    python bench/bench_source_compare.py               # 200 MB in 400 files of 512 KB
    python bench/bench_source_compare.py --mb 50 --files 20000
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

MiB = 1 << 20
IDENTITY = {"GIT_AUTHOR_NAME": "Bench", "GIT_AUTHOR_EMAIL": "bench@example.org",
            "GIT_COMMITTER_NAME": "Bench", "GIT_COMMITTER_EMAIL": "bench@example.org"}


def run(cmd: list[str], **kw) -> tuple[float, int, bytes]:
    """Wall seconds, peak RSS (KiB) of the command and its children, stdout."""
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, **kw)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.monotonic() - start
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        sys.exit(f"{cmd[:4]} failed with {status}")
    return seconds, usage.ru_maxrss, out


def build(root: Path, total_mb: int, files: int) -> tuple[Path, Path]:
    repo = root / "repo"
    repo.mkdir()
    env = {**os.environ, **IDENTITY}
    git = ["git", "-c", "init.defaultBranch=main", "-c", "core.compression=0", "-c", "pack.compression=0",
           "-c", "gc.auto=0"]
    subprocess.run([*git, "init", "-q"], cwd=repo, check=True, env=env)
    size = total_mb * MiB // files
    for i in range(files):
        target = repo / f"dir{i % 40:02d}" / f"file{i:06d}.dat"
        target.parent.mkdir(exist_ok=True)
        target.write_bytes(os.urandom(size))
    subprocess.run([*git, "add", "-A"], cwd=repo, check=True, env=env)
    subprocess.run([*git, "commit", "-q", "-m", "bench"], cwd=repo, check=True, env=env)
    subprocess.run([*git, "tag", "-a", "v1.0", "-m", "v1.0"], cwd=repo, check=True, env=env)
    tree = subprocess.run(["git", "archive", "--format=tar", "--prefix=bench-1.0/", "v1.0^{tree}"],
                          cwd=repo, check=True, capture_output=True).stdout
    # The tag's members, then the generated ones a release adds.
    out = io.BytesIO()
    with tarfile.open(fileobj=io.BytesIO(tree)) as src, tarfile.open(fileobj=out, mode="w") as dst:
        for member in src:
            dst.addfile(member, src.extractfile(member) if member.isfile() else None)
        for name, data in (("configure", b"#!/bin/sh\n" * 1000), ("Makefile.in", b"all:\n")):
            info = tarfile.TarInfo(f"bench-1.0/{name}")
            info.size, info.mode = len(data), 0o755
            dst.addfile(info, io.BytesIO(data))
    whole = out.getvalue()
    tarball = root / "bench-1.0.tar.gz"
    subprocess.run(["gzip", "-1", "-c"], input=whole, stdout=tarball.open("wb"), check=True)
    return repo, tarball


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=200, help="megabytes of file content")
    parser.add_argument("--files", type=int, default=400, help="number of files")
    parser.add_argument("--build", metavar="DIR", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build:  # in its own process, so its memory is not counted in the figures below
        build(Path(args.build), args.mb, args.files)
        return
    with tempfile.TemporaryDirectory(prefix="bench-source-", ignore_cleanup_errors=True) as tmp:
        root = Path(tmp)
        started = time.monotonic()
        subprocess.run([sys.executable, __file__, "--build", tmp, "--mb", str(args.mb),
                        "--files", str(args.files)], check=True)
        repo, tarball = root / "repo", root / "bench-1.0.tar.gz"
        print(f"built: {args.files} files, {args.mb} MB content, tarball "
              f"{tarball.stat().st_size / MiB:.1f} MiB, in {time.monotonic() - started:.1f} s")
        seconds, rss, out = run([sys.executable, "-m", "bundlecheck.cli", "source", "compare",
                                 str(tarball), "--repo", str(repo), "--tag", "v1.0", "--format", "json"])
        proof = json.loads(out)
        print(f"bundlecheck source compare: {seconds:.2f} s, peak RSS {rss / 1024:.0f} MiB, "
              f"passed={proof['passed']}, counts={ {k: v for k, v in proof['counts'].items() if v} }")
        seconds, rss, _ = run(["tar", "-tzf", str(tarball)], stderr=subprocess.DEVNULL)
        print(f"tar -tzf (for scale): {seconds:.2f} s, peak RSS {rss / 1024:.0f} MiB")
        seconds, rss, _ = run(["sh", "-c", "git archive --format=tar v1.0 | wc -c"], cwd=repo)
        print(f"git archive v1.0 | wc -c (for scale): {seconds:.2f} s, peak RSS {rss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()

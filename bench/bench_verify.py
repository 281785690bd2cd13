#!/usr/bin/env python3
"""Benchmark bundlecheck's verify against `tar -tzvf` on a synthetic ConVirt tarball.

Not a test: it prints figures.  It builds, in a temporary directory, a
ConVirt-like source tarball (thousands of small source/doc files plus large
disk-image-like members, mostly incompressible), indexes it once as the
reference, then times, on the same file:

  * `bundlecheck check FILE --distro ubuntu --against MANIFEST` (a subprocess;
    its peak RSS comes from os.wait4's rusage), and
  * `tar -tzvf FILE > /dev/null`, and
  * the same verify with ISA-L's inflate and with Python's zlib forced
    (BUNDLECHECK_INFLATE=zlib), and
  * pure decompression of the same file with Python's zlib and with ISA-L
    (in bundlecheck's own read and step sizes, the yardstick; and with Python's
    decompressor in 1 MiB steps, the earlier yardstick), and `gzip -dc`,

and prints the wall times, the ratios verify/tar and verify/decompression
(against Python's zlib, the yardstick), the verifier's peak RSS and the
machine's load average.  With --compress xz or bz2 the same is done for those
(their yardsticks: Python's lzma and bz2, `xz -dc` and `bzip2 -dc`).

    python bench/bench_verify.py                  # 200 MB and 1 GB
    python bench/bench_verify.py --size 200M      # one size
    python bench/bench_verify.py --size 50M --repeat 3 --compress xz
"""

from __future__ import annotations

import argparse
import bz2
import gzip
import io
import json
import lzma
import os
import random
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

MiB = 1 << 20
ROOT = "convirt-2.0"
DISTROS = ("fedora", "suse", "ubuntu")
CONF = b"[PATHS]\nexec_path=$PATH:/sbin:/usr/sbin\n[CLIENT CONFIGURATION]\nhtml_browser=firefox\n"


def parse_size(text: str) -> int:
    units = {"K": 1 << 10, "M": MiB, "G": 1 << 30}
    text = text.strip().upper().removesuffix("B")
    if text[-1:] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(text)


def _add(tar: tarfile.TarFile, name: str, data: bytes, mode: int = 0o644) -> None:
    info = tarfile.TarInfo(f"{ROOT}/{name}")
    info.size, info.mode, info.mtime = len(data), mode, 1_200_000_000
    tar.addfile(info, io.BytesIO(data))


def _add_dir(tar: tarfile.TarFile, name: str) -> None:
    info = tarfile.TarInfo(f"{ROOT}/{name}")
    info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, 1_200_000_000
    tar.addfile(info)


class _DiskImage(io.RawIOBase):
    """A disk-image-like byte stream: mostly random blocks, some zero runs."""

    def __init__(self, size: int, rng: random.Random):
        self._left, self._rng = size, rng

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        n = self._left if n < 0 else min(n, self._left)
        self._left -= n
        # one block in eight is zeros (free space), the rest incompressible
        return bytes(n) if self._rng.random() < 0.125 else self._rng.randbytes(n)


def _compressor(raw, compress: str):
    if compress == "xz":
        return lzma.LZMAFile(raw, mode="wb", preset=0)
    if compress == "bz2":
        return bz2.BZ2File(raw, mode="wb", compresslevel=1)
    return gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=1, mtime=0)


def build_tarball(path: Path, target: int, seed: int = 2008, compress: str = "gz") -> dict[str, int]:
    """Write a .tar.gz (.tar.xz, .tar.bz2) of about `target` compressed bytes; return what went in."""
    rng = random.Random(seed)
    small = 0
    with open(path, "wb") as raw, _compressor(raw, compress) as gz, \
            tarfile.open(fileobj=gz, mode="w", format=tarfile.GNU_FORMAT) as tar:
        _add_dir(tar, "")
        for top in ("doc", "src", "src/convirt", "patches", "distros", "image_store",
                    "appliance_store", "install", "install/client"):
            _add_dir(tar, top)
        words = [rng.randbytes(6).hex().encode() for _ in range(2000)]
        for i in range(5000):  # small source files: compressible text
            body = b" ".join(rng.choices(words, k=rng.randint(50, 900))) + b"\n"
            folder = "src/convirt" if i % 3 else "doc"
            _add(tar, f"{folder}/module_{i:05d}.py", body)
            small += 1
        _add(tar, "install/client/ConVirt", b"#!/bin/sh\nexec python ...\n", 0o755)
        for distro in DISTROS:
            _add_dir(tar, f"distros/{distro}")
            _add(tar, f"distros/{distro}/convirt.conf", CONF)
        images = 0
        while raw.tell() < target:
            size = min(256 * MiB, max(target - raw.tell(), 16 * MiB))
            name = f"image_store/vm_{images:02d}/disk.img"
            _add_dir(tar, f"image_store/vm_{images:02d}")
            info = tarfile.TarInfo(f"{ROOT}/{name}")
            info.size, info.mtime = size, 1_200_000_000
            tar.addfile(info, _DiskImage(size, rng))
            images += 1
    return {"small_files": small, "images": images}


def run_measured(cmd: list[str], stdout: int | None = subprocess.DEVNULL) -> tuple[float, int, bytes]:
    """Wall time, peak RSS (bytes) of the child, and its stdout."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(cmd, stdout=out if stdout is None else stdout)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        elapsed = time.perf_counter() - started
        out.seek(0)
        data = out.read()
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{cmd[0]} failed with status {proc.returncode}")
    return elapsed, usage.ru_maxrss * 1024, data  # ru_maxrss is in KiB on Linux


#: Decompress a file to nowhere, in the read and step sizes bundlecheck's reader uses
#: (decompress.CHUNK in, at most decompress.STEP out: argv 3 and 4), so that the
#: yardstick and the verifier pay the same allocation and copying costs.  It prints
#: its own time, without the interpreter's start-up, to compare with the verifier's
#: own stats["seconds"].
DECOMPRESS = """
import sys, time
kind, read, step = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
if kind == "zlib":
    import zlib
    d = zlib.decompressobj(31)
elif kind == "isal":
    from isal import igzip_lib
    d = igzip_lib.IgzipDecompressor(flag=igzip_lib.DECOMP_GZIP)
elif kind == "xz":
    import lzma
    d = lzma.LZMADecompressor()
else:
    import bz2
    d = bz2.BZ2Decompressor()
started = time.perf_counter()
with open(sys.argv[1], "rb") as f:
    if kind == "zlib":
        while data := f.read(read):
            while data:
                d.decompress(data, step)
                data = d.unconsumed_tail
    else:
        while data := f.read(read):
            d.decompress(data, step)
            while not d.needs_input and not d.eof:
                d.decompress(b"", step)
print(time.perf_counter() - started)
"""
#: The steps the earlier yardstick used (1 MiB in, at most 1 MiB out), still printed
#: for comparison with earlier figures: on this data most of its time is the heap's
#: page faults and the copies of unread input, not inflate.
OLD_STEPS = (1 << 20, 1 << 20)


def reader_steps() -> tuple[int, int]:
    """bundlecheck's own read and step sizes, from the installed library."""
    out = subprocess.run([sys.executable, "-c", "from bundlecheck import decompress as d; "
                          "print(d.CHUNK, d.STEP)"], capture_output=True, text=True, check=True)
    read, step = out.stdout.split()
    return int(read), int(step)


#: The command-line decompressor and Python's yardstick per compression.
TOOLS = {"gz": ("gzip", "zlib", "z"), "xz": ("xz", "xz", "J"), "bz2": ("bzip2", "bz2", "j")}


def bundlecheck_cmd() -> list[str]:
    found = shutil.which("bundlecheck")
    if found:
        return [found]
    return [sys.executable, "-m", "bundlecheck.cli"]


def bench_one(workdir: Path, target: int, repeat: int, compress: str = "gz") -> None:
    archive = workdir / f"convirt-2.0-{target // MiB}M.tar.{compress}"
    t0 = time.perf_counter()
    content = build_tarball(archive, target, compress=compress)
    size = archive.stat().st_size
    print(f"\n== {size / MiB:.0f} MiB compressed .tar.{compress} ({content['small_files']} small files, "
          f"{content['images']} disk images), built in {time.perf_counter() - t0:.0f} s")

    manifest = workdir / "reference.json"
    elapsed, rss, out = run_measured([*bundlecheck_cmd(), "manifest", str(archive)], stdout=None)
    manifest.write_bytes(out)
    print(f"manifest (reference index): {elapsed:6.2f} s, peak RSS {rss / MiB:5.1f} MiB")

    # Warm the page cache so that neither side pays for the first read.
    with open(archive, "rb") as f:
        while f.read(8 * MiB):
            pass
    tool, yardstick, tar_flag = TOOLS[compress]
    verify_cmd = [*bundlecheck_cmd(), "check", str(archive), "--distro", "ubuntu",
                  "--against", str(manifest), "--format", "json"]
    kinds = {"verify": verify_cmd}
    if compress == "gz":
        kinds["verify (zlib forced)"] = ["env", "BUNDLECHECK_INFLATE=zlib", *verify_cmd]
    decompressors = [yardstick] + (["isal"] if compress == "gz" else [])
    steps = reader_steps()
    old_label = f"{yardstick} (1 MiB steps)"
    times: dict[str, list[float]] = {}
    inner: dict[str, list[float]] = {}
    rss_peak, report, loads = 0, {}, []
    for _ in range(repeat):
        loads.append(os.getloadavg()[0])
        for name, cmd in kinds.items():
            elapsed, rss, out = run_measured(cmd, stdout=None)
            times.setdefault(name, []).append(elapsed)
            rss_peak = max(rss_peak, rss)
            report = json.loads(out)
            inner.setdefault(name, []).append(report["stats"]["seconds"])
        times.setdefault("tar", []).append(run_measured(["tar", f"-t{tar_flag}vf", str(archive)])[0])
        for kind in decompressors:
            elapsed, _, out = run_measured([sys.executable, "-c", DECOMPRESS, str(archive), kind,
                                            *map(str, steps)], stdout=None)
            times.setdefault(kind, []).append(elapsed)
            inner.setdefault(kind, []).append(float(out))
        elapsed, _, out = run_measured([sys.executable, "-c", DECOMPRESS, str(archive), yardstick,
                                        *map(str, OLD_STEPS)], stdout=None)
        times.setdefault(old_label, []).append(elapsed)
        inner.setdefault(old_label, []).append(float(out))
        times.setdefault(tool, []).append(run_measured([tool, "-dc", str(archive)])[0])
    best = {k: min(v) for k, v in times.items()}
    best_inner = {k: min(v) for k, v in inner.items()}
    for name in kinds:
        print(f"{name + ':':22}{best[name]:6.2f} s wall, {best_inner[name]:6.2f} s in-process "
              f"({size / MiB / best[name]:4.0f} MiB/s compressed, {report['stats']['members']} members, "
              f"verdict {report['verdict']})")
    print(f"{f'tar -t{tar_flag}vf:':22}{best['tar']:6.2f} s")
    for kind in decompressors:
        label = {"zlib": "Python zlib alone", "isal": "ISA-L alone", "xz": "Python lzma alone",
                 "bz2": "Python bz2 alone"}[kind]
        print(f"{label + ':':22}{best[kind]:6.2f} s wall, {best_inner[kind]:6.2f} s in-process "
              f"({steps[0] >> 10} KiB reads, steps of at most {steps[1] >> 10} KiB, as the reader)")
    print(f"{'  same, 1 MiB steps:':22}{best[old_label]:6.2f} s wall, {best_inner[old_label]:6.2f} s "
          f"in-process (the earlier yardstick: verify / it = {best_inner['verify'] / best_inner[old_label]:.2f})")
    print(f"{tool + ' -dc:':22}{best[tool]:6.2f} s")
    v, y = best_inner["verify"], best_inner[yardstick]
    print(f"ratio verify/tar: {best['verify'] / best['tar']:.2f}")
    print(f"ratio verify/decompression: {v / y:.2f} in-process ({v:.2f} s / {y:.2f} s with Python's "
          f"{yardstick}; target <= 0.6 for gzip), {best['verify'] / best[yardstick]:.2f} wall")
    if compress == "gz":
        print(f"ratio ISA-L/zlib alone: {best_inner['isal'] / y:.2f}; verify with zlib forced / zlib: "
              f"{best_inner['verify (zlib forced)'] / y:.2f}")
    print(f"verify peak RSS: {rss_peak / MiB:.1f} MiB   (target < 64 MiB)")
    print(f"load average at the start of each run: {', '.join(f'{x:.2f}' for x in loads)} "
          f"on {os.cpu_count()} CPUs")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--size", action="append",
                   help="compressed size, e.g. 200M or 1G (repeatable; default 200M and 1G)")
    p.add_argument("--repeat", type=int, default=1, help="runs per tool; the best is kept")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory")
    p.add_argument("--compress", choices=("gz", "xz", "bz2"), default="gz")
    args = p.parse_args()
    sizes = [parse_size(s) for s in (args.size or ["200M", "1G"])]
    workdir = Path(tempfile.mkdtemp(prefix="bench-bundlecheck-"))
    try:
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, work dir {workdir}")
        for target in sizes:
            bench_one(workdir, target, args.repeat, args.compress)
            if not args.keep:  # the next size needs the disk space
                for f in workdir.iterdir():
                    f.unlink()
    finally:
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

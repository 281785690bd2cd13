#!/usr/bin/env python3
"""Time the patch ledger: 50 distros × 20 patches, merged and tried on a pre-release.

Not a test: it prints figures.  It builds, in memory, a pre-release of 40
source files (200 lines each) and 40 fixes (one per file), and 50 distro
bundles that each carry 20 of the fixes, in turn in the five formats the
ledger reads (Debian quilt + DEP-3 with a/ b/ prefixes, a Fedora spec PatchN
in gendiff style, an Arch PKGBUILD source entry in git format-patch style, a
Gentoo ebuild PATCHES entry with .orig/ prefixes, plain patches/), with the
context width varying by distro.  The pre-release already holds 10 of the
fixes, conflicts with 5, and has moved 10 others down the file.  It then times:

  * find_patches() over the 50 bundles (the engine's bounded reader, one pass each),
  * build_ledger() (the merge into one entry per fix, containment),
  * ledger_status() (the scratch copy and GNU patch --dry-run on each distinct diff),

and prints the counts (entries, carriers, distinct diffs, statuses) and the
process's peak RSS.

    python bench/bench_patch_ledger.py
    python bench/bench_patch_ledger.py --distros 50 --patches 20 --repeat 3
    python bench/bench_patch_ledger.py --distinct     # 1,000 different fixes: nothing merges
"""

from __future__ import annotations

import argparse
import difflib
import gzip
import io
import resource
import sys
import tarfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "packaging" / "src"))

from bundlecheck.patchapply import ledger_status  # noqa: E402
from bundlecheck.patches import build_ledger, find_patches  # noqa: E402

FILES = 40
LINES = 200
FORMATS = ("debian", "fedora", "arch", "gentoo", "plain")


def source(k: int) -> list[str]:
    return [f"    value_{k}_{n} = compute({k}, {n})  # line {n}\n" for n in range(LINES)]


def fixed(k: int, tag: str = "") -> list[str]:
    lines = source(k)
    lines[100] = f"    value_{k}_100 = compute_safely({k}, 100)  # fixed{tag}\n"
    return lines


def path(k: int) -> str:
    return f"src/convirt/module_{k}.py"


def tar_gz(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as t:
        dirs = sorted({"/".join(p.split("/")[:i]) for p in files for i in range(1, p.count("/") + 1)})
        for d in dirs:
            info = tarfile.TarInfo(d)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            t.addfile(info)
        for name, data in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            t.addfile(info, io.BytesIO(data))
    return gzip.compress(out.getvalue(), mtime=0)


def prerelease() -> bytes:
    files = {}
    for k in range(FILES):
        if k < 10:
            lines = fixed(k)  # already upstream
        elif k < 15:
            lines = source(k)
            lines[100] = f"    value_{k}_100 = rewritten({k})\n"  # conflicts
        elif k < 25:
            lines = ["# moved\n"] * 12 + source(k)  # offset
        else:
            lines = source(k)
        files[f"convirt-2.0/{path(k)}"] = "".join(lines).encode()
    return tar_gz(files)


def diff(k: int, fmt: str, context: int, tag: str) -> str:
    old, new = {"debian": ("a/", "b/"), "fedora": ("convirt-2.0/", "convirt-2.0/"),
                "arch": ("a/", "b/"), "gentoo": ("convirt-2.0.orig/", "convirt-2.0/"),
                "plain": ("a/", "b/")}[fmt]
    suffix = ".orig" if fmt == "fedora" else ""
    return "".join(difflib.unified_diff(source(k), fixed(k, tag), f"{old}{path(k)}{suffix}", f"{new}{path(k)}",
                                        n=context))


def bundle(i: int, patches: int, distinct: bool) -> bytes:
    fmt = FORMATS[i % len(FORMATS)]
    distro = f"{fmt}{i}"
    root = f"distros/{distro}/"
    context = 3 + i % 3
    fixes = [(i + 2 * j) % FILES for j in range(patches)]
    files: dict[str, bytes] = {}
    names = [f"fix-module-{k}.patch" for k in fixes]
    bodies = [diff(k, fmt, context, f" by {distro}" if distinct else "") for k in fixes]
    if fmt == "debian":
        files[root + "debian/patches/series"] = "".join(n + "\n" for n in names).encode()
        for k, n, b in zip(fixes, names, bodies, strict=True):
            head = (f"Description: Compute module {k} safely\nAuthor: Packager {i} <p{i}@distro.example>\n"
                    f"Bug: https://bugs.convirt.example/{k}\nForwarded: no\n---\n")
            files[root + "debian/patches/" + n] = (head + b).encode()
    elif fmt == "fedora":
        spec = "Name: convirt\nVersion: 2.0\n" + "".join(f"Patch{j}: {n}\n" for j, n in enumerate(names))
        spec += "%prep\n%autosetup -p1\n"
        files[root + "convirt.spec"] = spec.encode()
        files.update({root + n: b.encode() for n, b in zip(names, bodies, strict=True)})
    elif fmt == "arch":
        files[root + "PKGBUILD"] = ("pkgname=convirt\npkgver=2.0\nsource=(\"convirt-$pkgver.tar.gz\"\n"
                                    + "".join(f"        '{n}'\n" for n in names) + ")\n").encode()
        for k, n, b in zip(fixes, names, bodies, strict=True):
            head = (f"From 0123456789abcdef0123456789abcdef01234567 Mon Sep 17 00:00:00 2001\n"
                    f"From: Arch {i} <a{i}@arch.example>\nSubject: [PATCH] module {k}: compute safely\n\n---\n")
            files[root + n] = (head + b).encode()
    elif fmt == "gentoo":
        ebuild = "EAPI=8\nPATCHES=(\n" + "".join(f'\t"${{FILESDIR}}/{n}"\n' for n in names) + ")\n"
        files[root + "app-emulation/convirt/convirt-2.0.ebuild"] = ebuild.encode()
        files.update({root + "app-emulation/convirt/files/" + n: b.encode()
                      for n, b in zip(names, bodies, strict=True)})
    else:
        files.update({root + "patches/" + n: b.encode() for n, b in zip(names, bodies, strict=True)})
    return tar_gz(files)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--distros", type=int, default=50)
    parser.add_argument("--patches", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--distinct", action="store_true",
                        help="every copy its own fix (nothing merges): the worst case for the status")
    args = parser.parse_args()
    bundles = [bundle(i, args.patches, args.distinct) for i in range(args.distros)]
    pre = prerelease()
    print(f"{args.distros} bundles ({sum(map(len, bundles)) // 1024} KiB gzipped), "
          f"pre-release {len(pre) // 1024} KiB")
    for run in range(1, args.repeat + 1):
        t0 = time.perf_counter()
        found = [find_patches(io.BytesIO(b), bundle=f"bundle-{i}.tar.gz") for i, b in enumerate(bundles)]
        t1 = time.perf_counter()
        ledger = build_ledger(found)
        t2 = time.perf_counter()
        ledger_status(ledger, io.BytesIO(pre), name="convirt-2.0.tar.gz")
        t3 = time.perf_counter()
        carriers = [c for e in ledger.entries for c in e.carriers]
        distinct = len({c.patch.diff for c in carriers})
        states = Counter(c.status.state for c in carriers if c.status)
        problems = len(ledger.problems)
        print(f"run {run}: find {t1 - t0:.2f} s, merge {t2 - t1:.3f} s, status {t3 - t2:.2f} s "
              f"({distinct} distinct diffs), total {t3 - t0:.2f} s; {len(ledger.entries)} entries, "
              f"{len(carriers)} carriers, {problems} problems; {dict(sorted(states.items()))}")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {rss:.1f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())

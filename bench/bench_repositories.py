#!/usr/bin/env python3
"""Time reading every followed distro repository: 200 distros × 3 branches, local indexes.

Not a test: it prints figures. It writes 15 indexes (the five formats × three branches:
one shipping the newest release, one an older release on a branch marked legacy, one
an older release on a branch that should follow), each listing --packages other
packages beside the project's, compressed as the distributions compress them
(Sources.xz, Packages.xz, primary.xml.gz, .db.tar.gz, APKINDEX.tar.gz). On a scratch
portal it follows them from 200 distros × 3 branches (file:// addresses, read through
portal/outbound.py like any other), then times `repository_refresh` over all 600 in
one process, as one outbound worker would: a first pass (every branch changes: a row
and a `distro.version_seen` event each) and a second (nothing changes).

The yardstick is decompressing the same 600 files with Python's lzma/zlib alone.

    python bench/bench_repositories.py
    python bench/bench_repositories.py --distros 200 --packages 2000 --no-postgres
"""

from __future__ import annotations

import argparse
import gzip
import io
import lzma
import sys
import tarfile
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from stack import Stack, postgres_problem  # noqa: E402

BRANCHES = (("current", "2.0", False), ("stable", "1.9", True), ("lagging", "1.9", False))
FORMATS = ("deb-sources", "deb-packages", "rpm-md", "arch-db", "apk-index")


def _tar_gz(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            if data is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            else:
                info.size, info.mode = len(data), 0o644
                tar.addfile(info, io.BytesIO(data))
    return gzip.compress(out.getvalue(), mtime=0)


def index(fmt: str, version: str, others: int) -> tuple[str, bytes]:
    """(file name, bytes) of one index listing `others` packages and tern `version`."""
    names = [(f"pkg{n:05d}", f"{n % 7}.{n % 13}.{n % 5}") for n in range(others)]
    names.insert(others // 2, ("tern", version))
    if fmt in ("deb-sources", "deb-packages"):
        stanzas = [
            f"Package: {name}\nVersion: {v}-1\nMaintainer: Someone <someone@example.org>\n"
            f"Architecture: any\nHomepage: https://example.org/{name}\n"
            f"Checksums-Sha256:\n {'0' * 64} 1234 {name}_{v}.orig.tar.gz\n"
            f" {'1' * 64} 567 {name}_{v}-1.debian.tar.xz\n"
            for name, v in names
        ]
        base = "Sources.xz" if fmt == "deb-sources" else "Packages.xz"
        return base, lzma.compress("\n".join(stanzas).encode())
    if fmt == "rpm-md":
        packages = "".join(
            f'<package type="rpm"><name>{name}</name><arch>x86_64</arch>'
            f'<version epoch="0" ver="{v}" rel="1.fc42"/><checksum type="sha256" pkgid="YES">'
            f'{"0" * 64}</checksum><summary>{name}</summary><description>The {name} package.'
            f"</description><url>https://example.org/</url></package>\n"
            for name, v in names
        )
        xml = ('<?xml version="1.0" encoding="UTF-8"?>\n<metadata xmlns="http://linux.duke.edu/'
               f'metadata/common" packages="{len(names)}">\n{packages}</metadata>\n')
        return "primary.xml.gz", gzip.compress(xml.encode(), mtime=0)
    if fmt == "arch-db":
        files: dict[str, bytes | None] = {}
        for name, v in names:
            files[f"{name}-{v}-1/"] = None
            files[f"{name}-{v}-1/desc"] = (
                f"%FILENAME%\n{name}-{v}-1-x86_64.pkg.tar.zst\n\n%NAME%\n{name}\n\n%VERSION%\n"
                f"{v}-1\n\n%DESC%\nThe {name} package\n\n%CSIZE%\n1234\n\n%SHA256SUM%\n"
                f"{'0' * 64}\n\n").encode()
        return "extra.db.tar.gz", _tar_gz(files)
    stanzas = "".join(f"C:Q1{'A' * 27}=\nP:{name}\nV:{v}-r0\nA:x86_64\nS:1234\nI:5678\n"
                      f"T:The {name} package\nU:https://example.org/\nL:MIT\n\n"
                      for name, v in names)
    return "APKINDEX.tar.gz", _tar_gz({"DESCRIPTION": b"bench", "APKINDEX": stanzas.encode()})


def write_indexes(root: Path, others: int) -> dict[tuple[str, str], str]:
    urls = {}
    for fmt in FORMATS:
        for branch, version, _ in BRANCHES:
            name, data = index(fmt, version, others)
            folder = root / fmt / branch
            if fmt == "rpm-md":
                (folder / "repodata").mkdir(parents=True)
                (folder / "repodata" / name).write_bytes(data)
                (folder / "repodata" / "repomd.xml").write_text(
                    '<?xml version="1.0"?><repomd xmlns="http://linux.duke.edu/metadata/repo">'
                    f'<data type="primary"><location href="repodata/{name}"/></data></repomd>')
                urls[fmt, branch] = (folder / "repodata" / "repomd.xml").as_uri()
            else:
                folder.mkdir(parents=True)
                (folder / name).write_bytes(data)
                urls[fmt, branch] = (folder / name).as_uri()
    return urls


SETUP = """
from django.utils import timezone
from releases.models import Distro, DistroRepository, Project, Release
urls = {urls!r}
branches = {branches!r}
formats = {formats!r}
project = Project.objects.create(slug="tern", name="Tern")
now = timezone.now()
Release.objects.create(project=project, version="1.9", state="released",
                       published_at=now - timezone.timedelta(days=90))
Release.objects.create(project=project, version="2.0", state="released",
                       published_at=now - timezone.timedelta(days=5))
distros = Distro.objects.bulk_create(Distro(slug=f"d{{n:03d}}", name=f"Distro {{n:03d}}")
                                     for n in range({distros}))
DistroRepository.objects.bulk_create(
    DistroRepository(project=project, distro=d, branch=branch, format=formats[n % len(formats)],
                     url=urls[formats[n % len(formats)] + "|" + branch], package_names=["tern"],
                     legacy=legacy)
    for n, d in enumerate(distros) for branch, _, legacy in branches)
"""

MEASURE = """
import resource, time
from collections import Counter
from releases.models import AuditEvent, DistroRepository
from releases.repositories.services import repository_refresh
ids = list(DistroRepository.objects.values_list("pk", flat=True))
for label in ("first", "again"):
    started = time.perf_counter()
    for pk in ids:
        repository_refresh(repository_id=pk)
    took = time.perf_counter() - started
    print("RESULT", label, len(ids), f"{took:.3f}")
print("STATUSES", dict(Counter(DistroRepository.objects.values_list("status", flat=True))))
print("EVENTS", AuditEvent.objects.filter(verb="distro.version_seen").count())
print("RSS", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
"""


def yardstick(root: Path, distros: int) -> float:
    files = {}
    for path in root.rglob("*"):
        if path.suffix in (".xz", ".gz"):
            files[path] = path.read_bytes()
    per_format = {}
    for path, data in files.items():
        started = time.perf_counter()
        (lzma.decompress if path.suffix == ".xz" else gzip.decompress)(data)
        per_format[path] = time.perf_counter() - started
    # Each file is read by distros/5 distros (the formats cycle).
    return sum(per_format.values()) * distros / len(FORMATS)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--distros", type=int, default=200)
    p.add_argument("--packages", type=int, default=2000, help="other packages in each index")
    p.add_argument("--no-postgres", action="store_true")
    args = p.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-repositories-"))
    urls = write_indexes(root, args.packages)
    sizes = sorted(path.stat().st_size for path in root.rglob("*") if path.is_file())
    print(f"{args.distros} distros × {len(BRANCHES)} branches, indexes of {args.packages + 1} "
          f"packages ({sizes[0] // 1024}-{sizes[-1] // 1024} KiB compressed)")
    floor = yardstick(root, args.distros)
    print(f"yardstick: decompressing the {args.distros * len(BRANCHES)} indexes alone "
          f"(lzma/zlib): {floor:.2f} s")
    backends = ["embedded"]
    if not args.no_postgres and not postgres_problem():
        backends.append("services")
    for backend in backends:
        with Stack(backend, extra_env={"OUTBOUND_ALLOW_FILE_URLS": "1"}) as stack:
            stack.python(SETUP.format(urls={f"{k[0]}|{k[1]}": v for k, v in urls.items()},
                                      branches=BRANCHES, formats=FORMATS, distros=args.distros))
            out = stack.python(MEASURE)
        database = "SQLite" if backend == "embedded" else "PostgreSQL"
        for line in out.splitlines():
            if line.startswith("RESULT"):
                _, label, count, took = line.split()
                print(f"{database:<10} {label:<6} {count} refreshes in {float(took):.2f} s "
                      f"({float(took) / int(count) * 1000:.1f} ms each, "
                      f"{float(took) / floor:.1f} × the yardstick)")
            else:
                print(f"{database:<10} {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Time lintian adds to the verification of a .deb (and rpmlint to a .rpm).

Not a test: it prints figures.  For the portal's demo package
(packaging/tests/builders.py::deb_bytes()) and a dpkg-deb-built package of a
ConVirt-like tree (500 source files, a man page, a copyright file), it times
`verify(..., lint=False)` and `verify(..., lint=True)` in this process, best of
`--repeat`, and prints the difference.

    python bench/bench_linters.py --repeat 3
"""

from __future__ import annotations

import argparse
import io
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "packaging" / "tests"))

import bundlecheck  # noqa: E402
from builders import deb_bytes, rpm_from_tree  # noqa: E402

CONTROL = ("Package: convirt\nVersion: 2.0-1\nArchitecture: all\nSection: admin\nPriority: optional\n"
           "Maintainer: A Packager <a@example.org>\nDepends: python (>= 2.4)\n"
           "Description: Xen virtual machine manager\n ConVirt manages Xen hosts and guests.\n")


def realistic(tmp: Path) -> bytes:
    root = tmp / "pkg"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN/control").write_text(CONTROL)
    src = root / "usr/share/convirt/src/convirt"
    src.mkdir(parents=True)
    for i in range(500):
        (src / f"module_{i:03d}.py").write_text(f"# module {i}\n" + "x = 1\n" * 200)
    client = root / "usr/share/convirt/install/client"
    client.mkdir(parents=True)
    (client / "ConVirt").write_text("#!/bin/sh\nexec python /usr/share/convirt/src/convirt.py\n")
    (client / "ConVirt").chmod(0o755)
    (root / "usr/bin").mkdir(parents=True)
    (root / "usr/bin/convirt").symlink_to("/usr/share/convirt/install/client/ConVirt")
    doc = root / "usr/share/doc/convirt"
    doc.mkdir(parents=True)
    (doc / "copyright").write_text("Copyright 2008 Convirture\nLicense: GPL-2\n")
    man = root / "usr/share/man/man1"
    man.mkdir(parents=True)
    subprocess.run(["gzip", "-9n"], input=b".TH CONVIRT 1\n.SH NAME\nconvirt\n",
                   stdout=(man / "convirt.1.gz").open("wb"), check=True)
    out = tmp / "convirt_2.0-1_all.deb"
    subprocess.run(["dpkg-deb", "--root-owner-group", "--build", str(root), str(out)],
                   check=True, capture_output=True)
    return out.read_bytes()


SPEC = """Name: convirt
Version: 2.0
Release: 1
Summary: Xen virtual machine manager
License: GPL-2.0-only
URL: https://example.org/convirt
BuildArch: noarch
%description
ConVirt manages Xen hosts and guests.
%install
mkdir -p %{buildroot}/usr/share/convirt/src
for i in $(seq 1 500); do echo "x = $i" > %{buildroot}/usr/share/convirt/src/module_$i.py; done
%files
/usr/share/convirt
"""


def rpmbuilt(tmp: Path) -> bytes:
    (tmp / "SPECS").mkdir()
    (tmp / "SPECS/convirt.spec").write_text(SPEC)
    subprocess.run(["rpmbuild", "--define", f"_topdir {tmp}", "-bb", str(tmp / "SPECS/convirt.spec")],
                   check=True, capture_output=True)
    return (tmp / "RPMS/noarch/convirt-2.0-1.noarch.rpm").read_bytes()


def best(data: bytes, lint: bool, repeat: int) -> tuple[float, bundlecheck.Report]:
    times, report = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        report = bundlecheck.verify(io.BytesIO(data), distro="ubuntu", lint=lint)
        times.append(time.perf_counter() - started)
    assert report is not None
    return min(times), report


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()
    if shutil.which("lintian") is None:
        raise SystemExit("lintian is not installed: apt-get install -y lintian")
    tmp = Path(tempfile.mkdtemp(prefix="bench-linters-"))
    try:
        cases = [("demo .deb (builders.deb_bytes())", deb_bytes()),
                 ("dpkg-deb-built .deb, 500 files", realistic(tmp))]
        if shutil.which("rpmlint") and shutil.which("rpmbuild"):
            cases.append(("demo .rpm (builders.rpm_from_tree())", rpm_from_tree()))
            cases.append(("rpmbuild-built .rpm, 500 files", rpmbuilt(tmp)))
        for name, data in cases:
            without, _ = best(data, False, args.repeat)
            with_lint, report = best(data, True, args.repeat)
            n = sum(1 for f in report.findings if ":" in f.check)
            print(f"{name}: {len(data) / 1024:.0f} KiB; verify without linter {without:.3f} s, "
                  f"with linter {with_lint:.3f} s (+{with_lint - without:.2f} s, {n} tags); "
                  f"{'; '.join(report.tools.values()) or '-'}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Small distro repositories in the four formats, made by the distributions' own tools.

- Debian: binary packages by ``dpkg-deb``, ``Packages`` by ``apt-ftparchive``; source
  packages as .dsc files and ``Sources`` by ``dpkg-scansources``; both compressed by ``xz``.
- RPM: packages by ``rpmbuild`` from a minimal spec, ``repodata/`` by ``createrepo_c``.
- Arch: packages by ``bsdtar`` with a ``.PKGINFO``, the database by pacman's ``repo-add``.
- Alpine: apk is not in Debian, so ``APKINDEX`` is written to the format Alpine documents
  (the "Apk spec" page: one stanza per package, ``P:`` name, ``V:`` version, ...) and
  packed by ``bsdtar``.

Each builder writes under ``root`` and returns the index's address (file://), for the
demo and the tests.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path


class ToolMissing(RuntimeError):
    pass


def _run(*args: str, cwd: Path | None = None, stdout=None) -> None:
    if shutil.which(args[0]) is None:
        raise ToolMissing(f"{args[0]} is not installed (Debian packages dpkg-dev, apt-utils, "
                          "rpm, createrepo-c, pacman-package-manager, libarchive-tools)")
    subprocess.run(args, cwd=cwd, check=True, stdout=stdout or subprocess.DEVNULL,
                   stderr=subprocess.PIPE)


def debian_packages(root: Path, suite: str, packages: list[tuple[str, str]]) -> str:
    """dists/<suite>/main/binary-amd64/Packages.xz listing each (name, version)."""
    pool = root / "pool" / suite
    pool.mkdir(parents=True, exist_ok=True)
    for name, version in packages:
        tree = root / "build" / f"{name}_{version}"
        (tree / "DEBIAN").mkdir(parents=True, exist_ok=True)
        (tree / "DEBIAN" / "control").write_text(
            f"Package: {name}\nVersion: {version}\nArchitecture: all\n"
            f"Maintainer: Demo <demo@example.org>\nDescription: {name} for the demo\n"
        )
        _run("dpkg-deb", "--root-owner-group", "-Zgzip", "--build", str(tree),
             str(pool / f"{name}_{version.split(':')[-1]}_all.deb"))
    target = root / "dists" / suite / "main" / "binary-amd64"
    target.mkdir(parents=True, exist_ok=True)
    with open(target / "Packages", "wb") as out:
        _run("apt-ftparchive", "packages", f"pool/{suite}", cwd=root, stdout=out)
    _run("xz", "-f", str(target / "Packages"))
    return (target / "Packages.xz").as_uri()


def debian_sources(root: Path, suite: str, packages: list[tuple[str, str]]) -> str:
    """dists/<suite>/main/source/Sources.xz listing each (source name, version)."""
    pool = root / "pool" / suite
    pool.mkdir(parents=True, exist_ok=True)
    for name, version in packages:
        (pool / f"{name}_{version.split(':')[-1]}.dsc").write_text(
            f"Format: 3.0 (quilt)\nSource: {name}\nBinary: {name}\nArchitecture: all\n"
            f"Version: {version}\nMaintainer: Demo <demo@example.org>\n"
            f"Files:\n d41d8cd98f00b204e9800998ecf8427e 0 {name}_{version}.orig.tar.gz\n"
        )
    target = root / "dists" / suite / "main" / "source"
    target.mkdir(parents=True, exist_ok=True)
    with open(target / "Sources", "wb") as out:
        _run("dpkg-scansources", f"pool/{suite}", cwd=root, stdout=out)
    _run("xz", "-f", str(target / "Sources"))
    return (target / "Sources.xz").as_uri()


def rpm_repository(root: Path, packages: list[tuple[str, str, str]]) -> str:
    """repodata/repomd.xml of noarch packages (name, version, release)."""
    top = root / "rpmbuild"
    for name, version, release in packages:
        spec = top / "SPECS" / f"{name}-{version}-{release}.spec"
        spec.parent.mkdir(parents=True, exist_ok=True)
        spec.write_text(
            f"Name: {name}\nVersion: {version}\nRelease: {release}\nSummary: demo\n"
            f"License: MIT\nBuildArch: noarch\n%description\n{name} for the demo\n"
            "%files\n"
        )
        _run("rpmbuild", "--quiet", "-bb", "--define", f"_topdir {top}",
             "--define", f"_rpmdir {root / 'packages'}", "--nodeps", str(spec))
    _run("createrepo_c", "--quiet", "--no-database", str(root / "packages"))
    return (root / "packages" / "repodata" / "repomd.xml").as_uri()


def arch_repository(root: Path, repo: str, packages: list[tuple[str, str]]) -> str:
    """<repo>.db.tar.gz by repo-add, of packages (name, pkgver-pkgrel)."""
    root.mkdir(parents=True, exist_ok=True)
    files = []
    for name, version in packages:
        tree = root / "build" / f"{name}-{version}"
        tree.mkdir(parents=True, exist_ok=True)
        (tree / ".PKGINFO").write_text(
            f"pkgname = {name}\npkgbase = {name}\npkgver = {version}\npkgdesc = demo\n"
            "url = https://example.org/\nbuilddate = 1700000000\npackager = Demo <demo@"
            "example.org>\nsize = 0\narch = any\nlicense = MIT\n"
        )
        package = root / f"{name}-{version}-any.pkg.tar.gz"
        _run("bsdtar", "-czf", str(package), "-C", str(tree), ".PKGINFO")
        files.append(str(package))
    _run("repo-add", "--quiet", str(root / f"{repo}.db.tar.gz"), *files)
    return (root / f"{repo}.db.tar.gz").as_uri()


def alpine_index(root: Path, packages: list[tuple[str, str]]) -> str:
    """APKINDEX.tar.gz: stanzas of P: (name), V: (version), A:, T:, one per package."""
    root.mkdir(parents=True, exist_ok=True)
    stanzas = [
        f"C:Q1{'A' * 27}=\nP:{name}\nV:{version}\nA:x86_64\nS:1024\nI:4096\nT:{name} for the "
        f"demo\nU:https://example.org/\nL:MIT\n"
        for name, version in packages
    ]
    (root / "APKINDEX").write_text("\n".join(stanzas) + "\n")
    (root / "DESCRIPTION").write_text("demo")
    _run("bsdtar", "-czf", str(root / "APKINDEX.tar.gz"), "-C", str(root), "DESCRIPTION",
         "APKINDEX")
    return (root / "APKINDEX.tar.gz").as_uri()

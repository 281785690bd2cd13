"""The demo projects' pre-release tarballs and distro bundles, made on the fly.

Two upstreams whose packaging guides differ in shape: ConVirt (the engine's
shipped policy: distros/NAME plus install/client/distros/NAME, convirt.conf,
a deployment layout) and Tern (demo/policies/tern.toml: packaging/NAME
only, tern.ini, no deployment layout). The demo releases and the tests need
archives with each guide's layout; building them here keeps binary blobs out
of the repository.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import IO

import bundlecheck

FIXED_MTIME = 1_700_000_000

CONVIRT_CONF = """\
[PATHS]
exec_path = $PATH:/usr/sbin:/sbin:/usr/bin:/bin
image_store = /var/cache/convirt/image_store
appliance_store = /var/cache/convirt/appliance_store

[CLIENT CONFIGURATION]
html_browser = {browser}
default_computed_options = ['arch', 'arch_libdir', 'device_model']

[ENVIRONMENT]
xen_conf_dir = /etc/xen
"""

PROVISION_SH = """\
#!/bin/sh
# Provision a virtual machine image from the image store.
set -e
echo "provisioning $1"
"""

CONVIRT_LAUNCHER = """\
#!/bin/sh
# Start the ConVirt client.
exec python /usr/share/convirt/src/convirt/client/ConVirt.py "$@"
"""

SPEC = """\
Name:           convirt
Version:        {version}
Release:        1%{{?dist}}
Summary:        Manage virtual machines on Xen hosts
License:        GPLv2
Source0:        convirt-{version}.tar.gz
Patch0:         paramiko-channel-fix.patch
BuildArch:      noarch
Requires:       python >= 2.4
Requires:       xen >= 3.0.4
Requires:       {gtk}
Requires:       python-curses
Requires:       vte
Requires:       {paramiko} >= 1.6.4

%description
ConVirt manages virtual machines on Xen hosts from one graphical console.
"""

DEBIAN_CONTROL = """\
Source: convirt
Section: admin
Priority: optional
Maintainer: {maintainer}
Build-Depends: debhelper (>= 9)
Standards-Version: 3.9.8

Package: convirt
Architecture: all
Depends: python (>= 2.4), xen-utils (>= 3.0.4) | xen-tools, python-gtk2, python-vte,
 {paramiko}, ${{misc:Depends}}
Description: manage virtual machines on Xen hosts
 ConVirt manages virtual machines on Xen hosts from one graphical console.
"""

POSTINST = """\
#!/bin/sh
set -e
ln -sf /usr/share/convirt/install/client/ConVirt /usr/bin/convirt
"""


def _write_tree(out: IO[bytes], members: Iterable[tuple[str, bytes | None, int]]) -> None:
    """Write a reproducible .tar.gz, directories implied by files made explicit."""
    bundlecheck.write_tarball(out, members, mtime=FIXED_MTIME)


def prerelease_members(version: str) -> list[tuple[str, bytes | None, int]]:
    root = f"convirt-{version}"
    files = [
        ("README", b"ConVirt: manage virtual machines on Xen hosts.\n", 0o644),
        ("LICENSE", b"GNU General Public License, version 2.\n", 0o644),
        ("doc/README.html", b"<h1>ConVirt</h1>\n", 0o644),
        ("doc/image_builders_guide.txt", b"How to build a provisionable image.\n", 0o644),
        ("src/convirt/__init__.py", b"", 0o644),
        ("src/convirt/client/ConVirt.py", b"print('ConVirt client')\n", 0o644),
        ("src/convirt/core/__init__.py", b"", 0o644),
        ("src/convirt/core/appliance/xva/provision.sh", PROVISION_SH.encode(), 0o744),
        ("image_store/linux_cd_install/provision.sh", PROVISION_SH.encode(), 0o744),
        ("image_store/linux_cd_install/vm_conf.template", b"memory = 256\n", 0o644),
        ("image_store/fedora_pv_install/provision.sh", PROVISION_SH.encode(), 0o744),
        ("image_store/fedora_pv_install/vm_conf.template", b"memory = 512\n", 0o644),
        ("appliance_store/appliance_catalog.conf", b"[catalogs]\n", 0o644),
        ("install/client/ConVirt", CONVIRT_LAUNCHER.encode(), 0o755),
        (
            "install/client/distros/fedora/convirt.conf",
            CONVIRT_CONF.format(browser="/usr/bin/firefox").encode(),
            0o644,
        ),
        (
            "install/client/distros/suse/convirt.conf",
            CONVIRT_CONF.format(browser="/usr/bin/firefox").encode(),
            0o644,
        ),
        (
            "distros/fedora/convirt.spec",
            SPEC.format(version=version, gtk="pygtk2", paramiko="python-paramiko").encode(),
            0o644,
        ),
        (
            "distros/suse/convirt.spec",
            SPEC.format(version=version, gtk="python-gtk", paramiko="python-paramiko").encode(),
            0o644,
        ),
        (
            "patches/paramiko-channel-fix.patch",
            b"--- a/paramiko/channel.py\n+++ b/paramiko/channel.py\n",
            0o644,
        ),
    ]
    return [(f"{root}/{name}", data, mode) for name, data, mode in files]


def ubuntu_bundle_members(
    *,
    maintainer: str = "Demo Packager <ubuntu@example.org>",
    browser: str = "/usr/bin/sensible-browser",
) -> list[tuple[str, bytes | None, int]]:
    return [
        (
            "distros/ubuntu/debian/control",
            DEBIAN_CONTROL.format(
                maintainer=maintainer, paramiko="python-paramiko (>= 1.6.4)"
            ).encode(),
            0o644,
        ),
        (
            "distros/ubuntu/debian/patches/paramiko-channel-fix.patch",
            b"--- a/paramiko/channel.py\n+++ b/paramiko/channel.py\n",
            0o644,
        ),
        ("distros/ubuntu/postinst", POSTINST.encode(), 0o755),
        (
            "install/client/distros/ubuntu/convirt.conf",
            CONVIRT_CONF.format(browser=browser).encode(),
            0o644,
        ),
    ]


def build_distro_bundle(out: IO[bytes], members: Iterable[tuple[str, bytes | None, int]]) -> None:
    """A distro-only bundle: just the maintainer's contribution roots."""
    _write_tree(out, members)


def _tree_bytes(members: Iterable[tuple[str, bytes | None, int]]) -> bytes:
    buffer = io.BytesIO()
    _write_tree(buffer, members)
    return buffer.getvalue()


def prerelease_bytes(version: str = "2.0") -> bytes:
    return _tree_bytes(prerelease_members(version))


# --- ConVirt's source repository: the tags its pre-releases are proved against ---------

#: The versions ConVirt's demo repository has a tag for (v1.9, v2.0, v2.1).
SOURCE_VERSIONS = ("1.9", "2.0", "2.1")
#: The file the demo's bad pre-release (2.1) carries beside its tag's tree, as the xz
#: tarballs carried "test files" that were not in git.
INJECTED_PATH = "tests/files/bad-3-corrupt_lzma2.xz"
INJECTED_DATA = b"\xfd7zXZ\x00\x00\x04\xe6\xd6\xb4F\x02\x00!\x01\x16\x00\x00\x00t/\xe5\xa3" * 40
_GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "ConVirt Upstream", "GIT_AUTHOR_EMAIL": "upstream@convirt.example.org",
    "GIT_COMMITTER_NAME": "ConVirt Upstream", "GIT_COMMITTER_EMAIL": "upstream@convirt.example.org",
    "GIT_AUTHOR_DATE": f"@{FIXED_MTIME} +0000", "GIT_COMMITTER_DATE": f"@{FIXED_MTIME} +0000",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def _git(cwd: Path, *args: str) -> None:
    env = {**os.environ, **_GIT_IDENTITY, "HOME": str(cwd)}
    subprocess.run(["git", "-c", "init.defaultBranch=main", "-c", "tag.gpgSign=false", *args],
                   cwd=cwd, env=env, check=True, capture_output=True)


def source_repository_create(path: Path) -> Path:
    """ConVirt's demo git repository (bare, at `path`): one commit per version of
    SOURCE_VERSIONS, each tree the pre-release's files, each tagged v<version>."""
    if (path / "HEAD").exists():
        return path
    with tempfile.TemporaryDirectory(prefix="convirt-src-") as work_dir:
        work = Path(work_dir)
        _git(work, "init", "-q")
        for version in SOURCE_VERSIONS:
            for child in work.iterdir():
                if child.name != ".git":
                    shutil.rmtree(child) if child.is_dir() else child.unlink()
            for name, data, mode in prerelease_members(version):
                target = work / name.split("/", 1)[1]
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data or b"")
                target.chmod(mode)
            _git(work, "add", "-A")
            _git(work, "commit", "-q", "--allow-empty", "-m", f"ConVirt {version}")
            _git(work, "tag", "-a", f"v{version}", "-m", f"ConVirt {version}")
        path.parent.mkdir(parents=True, exist_ok=True)
        _git(work, "clone", "-q", "--bare", str(work), str(path))
    return path


def injected_prerelease_bytes(version: str = "2.1") -> bytes:
    """The pre-release of `version` with a file its tag does not hold: the demo's failed proof."""
    root = f"convirt-{version}"
    return _tree_bytes([*prerelease_members(version), (f"{root}/{INJECTED_PATH}", INJECTED_DATA, 0o644)])


# --- Tern: the second demo upstream, packaged under packaging/NAME only ----------

TERN_POLICY = Path(__file__).with_name("policies") / "tern.toml"
TERN_VERSION = "0.4"

TERN_INI = """\
[tern]
state_dir = /var/lib/tern
log_level = info

[libvirt]
uri = qemu:///system
poll_seconds = {poll}
"""

TERN_SPEC = """\
Name:           tern
Version:        {version}
Release:        1%{{?dist}}
Summary:        Watch virtual machines through libvirt
License:        MIT
Source0:        tern-{version}.tar.gz
BuildArch:      noarch
Requires:       python3 >= 3.9
Requires:       python3-libvirt

%description
Tern watches the virtual machines of a host through libvirt and reports changes.
"""

TERN_DEBIAN_CONTROL = """\
Source: tern
Section: admin
Priority: optional
Maintainer: {maintainer}
Build-Depends: debhelper-compat (= 13), python3 (>= 3.9)
Standards-Version: 4.6.2

Package: tern
Architecture: all
Depends: python3 (>= 3.9), python3-libvirt, ${{misc:Depends}}
Description: watch virtual machines through libvirt
 Tern watches the virtual machines of a host through libvirt and reports changes.
"""

TERN_POSTINST = """\
#!/bin/sh
set -e
mkdir -p /var/lib/tern
"""


def tern_policy_text() -> str:
    """Tern's packaging policy (TOML), as seed_demo stores it for version 1."""
    return TERN_POLICY.read_text(encoding="utf-8")


def tern_prerelease_members(version: str = TERN_VERSION) -> list[tuple[str, bytes | None, int]]:
    root = f"tern-{version}"
    files = [
        ("README.md", b"# Tern\n\nWatch virtual machines through libvirt.\n", 0o644),
        ("LICENSE", b"MIT License\n", 0o644),
        ("pyproject.toml", f'[project]\nname = "tern"\nversion = "{version}"\n'.encode(), 0o644),
        ("tern/__init__.py", f'__version__ = "{version}"\n'.encode(), 0o644),
        ("tern/watch.py", b"def main():\n    print('watching')\n", 0o644),
        ("packaging/fedora/tern.spec", TERN_SPEC.format(version=version).encode(), 0o644),
        ("packaging/fedora/tern.ini", TERN_INI.format(poll=30).encode(), 0o644),
    ]
    return [(f"{root}/{name}", data, mode) for name, data, mode in files]


def tern_prerelease_bytes(version: str = TERN_VERSION) -> bytes:
    """Tern's pre-release source package: fedora's packaging is there, others add theirs."""
    return _tree_bytes(tern_prerelease_members(version))


def tern_bundle_members(
    distro: str = "ubuntu", *, maintainer: str = "Demo Packager <tern-ubuntu@example.org>"
) -> list[tuple[str, bytes | None, int]]:
    """A Debian-family distro's Tern bundle: everything under packaging/<distro>/."""
    base = f"packaging/{distro}"
    return [
        (
            f"{base}/debian/control",
            TERN_DEBIAN_CONTROL.format(maintainer=maintainer).encode(),
            0o644,
        ),
        (f"{base}/postinst", TERN_POSTINST.encode(), 0o755),
        (f"{base}/tern.ini", TERN_INI.format(poll=60).encode(), 0o644),
    ]

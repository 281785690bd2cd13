"""A ConVirt-shaped pre-release tarball and distro bundles, made on the fly.

The demo release and the tests need archives with the layout the packaging
guide describes; building them here keeps binary blobs out of the repository.
"""

from __future__ import annotations

import gzip
import io
import tarfile
from collections.abc import Iterable
from typing import IO

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


def _add(
    tar: tarfile.TarFile,
    name: str,
    data: bytes | None = None,
    mode: int = 0o644,
    kind: bytes = tarfile.REGTYPE,
    linkname: str = "",
) -> None:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.mtime = FIXED_MTIME
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    info.linkname = linkname
    if kind == tarfile.REGTYPE:
        payload = data or b""
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    else:
        tar.addfile(info)


def _write_tree(out: IO[bytes], members: Iterable[tuple[str, bytes | None, int]]) -> None:
    """Write a gzip-compressed tar, directories implied by files made explicit."""
    entries = dict()
    for name, data, mode in members:
        parts = name.split("/")
        for depth in range(1, len(parts)):
            entries.setdefault("/".join(parts[:depth]) + "/", (None, 0o755))
        entries[name] = (data, mode)
    with (
        gzip.GzipFile(fileobj=out, mode="wb", mtime=0, filename="") as gz,
        tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        for name in sorted(entries):
            data, mode = entries[name]
            if name.endswith("/"):
                _add(tar, name.rstrip("/"), mode=mode, kind=tarfile.DIRTYPE)
            else:
                _add(tar, name, data, mode)


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


def build_prerelease_tarball(out: IO[bytes], version: str = "2.0") -> None:
    """The pre-release source package as upstream would deliver it."""
    _write_tree(out, prerelease_members(version))


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


def prerelease_bytes(version: str = "2.0") -> bytes:
    buffer = io.BytesIO()
    build_prerelease_tarball(buffer, version)
    return buffer.getvalue()

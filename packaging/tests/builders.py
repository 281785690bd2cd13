"""Archives built in memory for the tests: tarfile plus byte surgery, no committed blobs."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import tarfile
from dataclasses import dataclass


@dataclass
class E:
    """One member to write: a file unless ``type`` says otherwise."""

    name: str
    data: bytes = b""
    type: bytes = tarfile.REGTYPE
    mode: int = 0o644
    linkname: str = ""
    size: int | None = None


def d(name: str, mode: int = 0o755) -> E:
    return E(name, type=tarfile.DIRTYPE, mode=mode)


def tar_bytes(entries: list[E], fmt: int = tarfile.GNU_FORMAT) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=fmt, encoding="utf-8",
                      errors="surrogateescape") as t:
        for e in entries:
            info = tarfile.TarInfo(e.name)
            info.type, info.mode, info.linkname = e.type, e.mode, e.linkname
            info.mtime = 1_200_000_000
            if e.type in (tarfile.REGTYPE, tarfile.AREGTYPE):
                info.size = len(e.data) if e.size is None else e.size
                t.addfile(info, io.BytesIO(e.data))
            else:
                t.addfile(info)
    return out.getvalue()


def gz(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=6, mtime=0)


def bz(data: bytes) -> bytes:
    return bz2.compress(data)


def xz(data: bytes) -> bytes:
    return lzma.compress(data)


CONF = b"""[PATHS]
exec_path=$PATH:/sbin:/usr/sbin
image_store=/var/cache/convirt/image_store

[CLIENT CONFIGURATION]
html_browser=/usr/bin/firefox
"""

POSTINST = b"""#!/bin/sh
set -e
ln -sf /usr/share/convirt/install/client/ConVirt /usr/bin/convirt
"""

CONTROL = b"""Source: convirt
Maintainer: Someone <someone@example.org>

Package: convirt
Architecture: all
Depends: python (>= 2.4), xen-utils (>= 3.0.4), python-gtk2, python-vte,
 python-paramiko (>= 1.7.1)
Description: Xen management
 ConVirt manages Xen.
"""

SPEC = b"""%define name convirt
Name: %{name}
Version: 2.0
Release: 1
Summary: Xen management
License: GPL
Patch0: paramiko-1.6.4-fix.patch
Requires: python >= 2.4, xen >= 3.0.4, pygtk2, vte
Requires: python-paramiko >= 1.6.4
%{?fedora:Requires: python-curses}
%description
ConVirt.
"""


def reference_tree(root: str = "convirt-2.0") -> list[E]:
    """A small pre-release tree, ConVirt-shaped, with fedora and suse already in."""
    return [
        d(root), d(f"{root}/doc"), E(f"{root}/doc/guide.txt", b"guide\n"),
        d(f"{root}/src"), E(f"{root}/src/convirt.py", b"print('hi')\n"),
        d(f"{root}/patches"), E(f"{root}/patches/paramiko-1.6.4-fix.patch", b"--- a\n+++ b\n"),
        d(f"{root}/image_store"), d(f"{root}/image_store/fedora_vm"),
        E(f"{root}/image_store/fedora_vm/provision.sh", b"#!/bin/sh\n", mode=0o744),
        d(f"{root}/distros"), d(f"{root}/distros/fedora"),
        E(f"{root}/distros/fedora/convirt.conf", CONF), E(f"{root}/distros/fedora/convirt.spec", SPEC),
        d(f"{root}/distros/suse"), E(f"{root}/distros/suse/convirt.conf", CONF),
        d(f"{root}/install"), d(f"{root}/install/client"),
        E(f"{root}/install/client/ConVirt", b"#!/bin/sh\nexec python ...\n", mode=0o755),
        d(f"{root}/install/client/distros"),
    ]


def ubuntu_files(prefix: str = "convirt-2.0/") -> list[E]:
    return [
        d(f"{prefix}distros/ubuntu"),
        E(f"{prefix}distros/ubuntu/convirt.conf", CONF),
        E(f"{prefix}distros/ubuntu/postinst", POSTINST, mode=0o755),
        d(f"{prefix}distros/ubuntu/debian"),
        E(f"{prefix}distros/ubuntu/debian/control", CONTROL),
    ]


def good_package(root: str = "convirt-2.0") -> list[E]:
    return reference_tree(root) + ubuntu_files(root + "/")


def good_bundle() -> list[E]:
    return [d("distros"), *ubuntu_files("")]


class NonSeekable(io.RawIOBase):
    """A read-only stream that refuses seek/tell, like a body streamed back from S3."""

    def __init__(self, data: bytes):
        self._b = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buf) -> int:  # type: ignore[override]
        chunk = self._b.read(min(len(buf), 65536))
        buf[: len(chunk)] = chunk
        return len(chunk)

    def seekable(self) -> bool:
        return False


def ids(report) -> set[str]:
    return {f.check for f in report.findings}

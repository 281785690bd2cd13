"""Archives built in memory for the tests: tarfile plus byte surgery, no committed blobs.

Also the one builder of binary packages (.deb, .rpm) the project's tests use; the
portal's tests import it from here (this folder on ``sys.path``, then
``from builders import deb_bytes``).
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import struct
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


# --- binary packages ---------------------------------------------------------


def ar_bytes(members: list[tuple[str, bytes]]) -> bytes:
    out = [b"!<arch>\n"]
    for name, data in members:
        header = f"{name:<16}{0:<12}{0:<6}{0:<6}{'100644':<8}{len(data):<10}`\n".encode()
        out.append(header + data + (b"\n" if len(data) % 2 else b""))
    return b"".join(out)


DEB_CONTROL = b"""Package: convirt
Version: 2.0-1
Architecture: all
Maintainer: Someone <someone@example.org>
Depends: python (>= 2.4), xen-utils (>= 3.0.4), python-gtk2, python-vte, python-paramiko (>= 1.7.1)
Description: Xen management
"""


def deployed_tree(*, with_symlink: bool = True) -> list[E]:
    """A package's data tree that follows the guide's deployment layout."""
    tree = [
        d("./usr"), d("./usr/share"), d("./usr/share/convirt"), d("./usr/share/convirt/doc"),
        E("./usr/share/convirt/doc/guide.txt", b"g"), d("./usr/share/convirt/src"),
        E("./usr/share/convirt/src/convirt.py", b"p"), d("./usr/share/convirt/install"),
        d("./usr/share/convirt/install/client"),
        E("./usr/share/convirt/install/client/ConVirt", b"#!/bin/sh\n", mode=0o755),
        d("./var"), d("./var/cache"), d("./var/cache/convirt"),
        d("./var/cache/convirt/image_store"), d("./var/cache/convirt/image_store/vm"),
        E("./var/cache/convirt/image_store/vm/provision.sh", b"#!/bin/sh\n", mode=0o744),
        d("./var/cache/convirt/appliance_store"), d("./var/cache/convirt/install"),
        d("./etc"), E("./etc/convirt.conf", b"[PATHS]\n"),
        d("./usr/bin"),
        E("./usr/bin/convirt", type=tarfile.SYMTYPE, linkname="../share/convirt/install/client/ConVirt"),
        d("./usr/share/doc"), d("./usr/share/doc/convirt"), E("./usr/share/doc/convirt/copyright", b"c"),
    ]
    return tree if with_symlink else [e for e in tree if e.name != "./usr/bin/convirt"]


def deb_bytes(tree: list[E] | None = None, control: bytes = DEB_CONTROL, *,
              with_symlink: bool = True) -> bytes:
    """A binary .deb (ar: debian-binary, control.tar.gz, data.tar.xz) of ``tree``, by default
    the guide's deployment layout (without the /usr/bin/convirt symlink if asked)."""
    control_tar = gz(tar_bytes([d("."), E("./control", control)]))
    data_tar = xz(tar_bytes(deployed_tree(with_symlink=with_symlink) if tree is None else tree))
    return ar_bytes([("debian-binary", b"2.0\n"), ("control.tar.gz", control_tar),
                     ("data.tar.xz", data_tar)])


# --- rpm ---

_INT16, _INT32, _STRING, _STRING_ARRAY = 3, 4, 6, 8
TAGS = {"name": 1000, "version": 1001, "release": 1002, "filesizes": 1028, "filemodes": 1030,
        "filelinktos": 1036, "requireflags": 1048, "requirename": 1049, "requireversion": 1050,
        "dirindexes": 1116, "basenames": 1117, "dirnames": 1118}


def _header(entries: list[tuple[int, int, object]]) -> bytes:
    index, store = [], b""
    for tag, typ, value in entries:
        if typ == _INT32:
            store += b"\0" * (-len(store) % 4)
            data, count = b"".join(struct.pack("!I", v) for v in value), len(value)  # type: ignore[union-attr]
        elif typ == _INT16:
            store += b"\0" * (-len(store) % 2)
            data, count = b"".join(struct.pack("!H", v) for v in value), len(value)  # type: ignore[union-attr]
        elif typ == _STRING:
            data, count = value.encode() + b"\0", 1  # type: ignore[union-attr]
        else:
            data, count = b"".join(v.encode() + b"\0" for v in value), len(value)  # type: ignore[union-attr]
        index.append(struct.pack("!iiii", tag, typ, len(store), count))
        store += data
    return (b"\x8e\xad\xe8\x01\0\0\0\0" + struct.pack("!ii", len(index), len(store)) + b"".join(index)
            + store)


def rpm_bytes(files: list[tuple[str, int, str]], requires: list[tuple[str, int, str]]) -> bytes:
    """files: (path, st_mode, link target); requires: (name, flags, version)."""
    dirs = sorted({p.rsplit("/", 1)[0] + "/" for p, _, _ in files})
    lead = b"\xed\xab\xee\xdb\x03\x00" + struct.pack("!hh", 0, 1) + b"convirt".ljust(66, b"\0") + \
        struct.pack("!hh", 1, 5) + b"\0" * 16
    signature = _header([(1000, _INT32, [0])])
    signature += b"\0" * (-len(signature) % 8)
    main = _header([
        (TAGS["name"], _STRING, "convirt"),
        (TAGS["filesizes"], _INT32, [0] * len(files)),
        (TAGS["filemodes"], _INT16, [m for _, m, _ in files]),
        (TAGS["filelinktos"], _STRING_ARRAY, [t for _, _, t in files]),
        (TAGS["requireflags"], _INT32, [f for _, f, _ in requires]),
        (TAGS["requirename"], _STRING_ARRAY, [n for n, _, _ in requires]),
        (TAGS["requireversion"], _STRING_ARRAY, [v for _, _, v in requires]),
        (TAGS["dirindexes"], _INT32, [dirs.index(p.rsplit("/", 1)[0] + "/") for p, _, _ in files]),
        (TAGS["basenames"], _STRING_ARRAY, [p.rsplit("/", 1)[1] for p, _, _ in files]),
        (TAGS["dirnames"], _STRING_ARRAY, dirs),
    ])
    return lead + signature + main + gz(b"070701" + b"0" * 104)


def rpm_from_tree(tree: list[E] | None = None) -> bytes:
    files = []
    for e in deployed_tree() if tree is None else tree:
        kind = {tarfile.DIRTYPE: 0o040000, tarfile.SYMTYPE: 0o120000}.get(e.type, 0o100000)
        files.append((e.name[1:].rstrip("/"), kind | e.mode if kind != 0o120000 else kind | 0o777,
                      e.linkname))
    ge, eq = 0x0C, 0x08
    requires = [("python", ge, "2.4"), ("xen", ge, "3.0.4"), ("pygtk2", 0, ""), ("vte", 0, ""),
                ("python-paramiko", ge, "1.6.4"), ("rpmlib(CompressedFileNames)", eq | 0x1000000, "3.0.4-1")]
    return rpm_bytes(files, requires)


# The spec of a small noarch .rpm, built with rpmbuild by the linter tests.
RPM_SPEC = """Name: convirt
Version: 2.0
Release: 1
Summary: test
License: GPL
BuildArch: noarch
%description
test package
%install
mkdir -p %{buildroot}/usr/bin
printf '#!/bin/sh\\necho hi\\n' > %{buildroot}/usr/bin/convirt
chmod 0755 %{buildroot}/usr/bin/convirt
%files
/usr/bin/convirt
"""

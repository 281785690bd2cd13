"""Real-style distro patches for the patch ledger's tests: one paramiko fix in every format.

The trees and diffs are made here (difflib's unified diffs, the headers each
distro's tools write), never committed as blobs.
"""

from __future__ import annotations

import difflib
import io
import tarfile

from builders import E, d, gz, tar_bytes

TRANSPORT = "src/paramiko/transport.py"
CLIENT = "src/convirt/client.py"

_TRANSPORT_LINES = [
    '"""SSH transport for ConVirt managed nodes."""',
    "",
    "import socket",
    "import threading",
    "",
    "",
    "class Transport(threading.Thread):",
    "    def __init__(self, sock):",
    "        threading.Thread.__init__(self)",
    "        self.sock = sock",
    "        self.active = False",
    "        self.packetizer = None",
    "",
    "    def set_keepalive(self, interval):",
    "        self.packetizer.set_keepalive(interval,",
    "            lambda x=self: x.global_request('keepalive@lag.net', wait=False))",
    "",
    "    def _send_user_message(self, data):",
    "        while True:",
    "            self.clear_to_send.wait(0.1)",
    "            if not self.active:",
    "                return",
    "            self.clear_to_send_lock.acquire()",
    "            if self.clear_to_send.isSet():",
    "                break",
    "            self.clear_to_send_lock.release()",
    "        try:",
    "            self._send_message(data)",
    "        finally:",
    "            self.clear_to_send_lock.release()",
    "",
    "    def close(self):",
    "        self.active = False",
    "        self.sock.close()",
]
#: The critical bug: a closed transport makes the loop spin forever.
_BUGGY = "            if not self.active:"
_FIXED = "            if not self.active or self.sock is None:"

_CLIENT_LINES = [
    "import paramiko",
    "",
    "",
    "def connect(host, port=22):",
    "    t = paramiko.Transport((host, port))",
    "    t.set_keepalive(0)",
    "    return t",
]
_CLIENT_FIXED = "    t.set_keepalive(30)"


def text(lines: list[str]) -> str:
    return "\n".join(lines) + "\n"


def transport(*, fixed: bool = False, shift: int = 0, conflicting: bool = False) -> str:
    """transport.py as some pre-release holds it: fixed, moved down ``shift`` lines, or rewritten."""
    lines = list(_TRANSPORT_LINES)
    if fixed:
        lines[lines.index(_BUGGY)] = _FIXED
    if conflicting:
        lines[lines.index(_BUGGY)] = "            if self.closed_event.is_set():"
    return text(["# moved down by the pre-release"] * shift + lines)


def client(*, fixed: bool = False) -> str:
    lines = list(_CLIENT_LINES)
    if fixed:
        lines[lines.index("    t.set_keepalive(0)")] = _CLIENT_FIXED
    return text(lines)


def udiff(before: str, after: str, old: str, new: str, context: int = 3) -> str:
    lines = difflib.unified_diff(before.splitlines(True), after.splitlines(True), old, new, n=context)
    return "".join(lines)


def fix_diff(old_prefix: str, new_prefix: str, *, base_shift: int = 0, context: int = 3,
             trailing_space: bool = False, path: str = TRANSPORT, old_suffix: str = "") -> str:
    before = transport(shift=base_shift)
    after = transport(fixed=True, shift=base_shift)
    if trailing_space:
        after = after.replace(_FIXED, _FIXED + "  ")
    return udiff(before, after, f"{old_prefix}{path}{old_suffix}", f"{new_prefix}{path}", context)


def client_diff(old_prefix: str, new_prefix: str) -> str:
    return udiff(client(), client(fixed=True), f"{old_prefix}{CLIENT}", f"{new_prefix}{CLIENT}")


DEP3 = """Description: Stop the transport loop spinning on a closed socket
 paramiko's _send_user_message waits forever once the socket is closed,
 which hangs ConVirt's node connections.
Author: Jane Packager <jane@debian.example>
Origin: vendor, https://salsa.debian.example/convirt/-/commit/1234
Bug: https://bugs.convirt.example/42
Bug-Debian: https://bugs.debian.example/654321
Forwarded: no
Last-Update: 2026-11-30
---
"""


def debian_patch() -> bytes:
    """A quilt patch as dquilt writes it: DEP-3 header, a/ b/ prefixes."""
    return (DEP3 + fix_diff("a/", "b/")).encode()


def fedora_patch() -> bytes:
    """gendiff style, against a tree two lines longer: convirt-2.0/x.orig vs convirt-2.0/x."""
    return fix_diff("convirt-2.0/", "convirt-2.0/", base_shift=2, old_suffix=".orig").encode()


def arch_patch() -> bytes:
    """git format-patch output, with trailing spaces and wider context."""
    head = ("From 5f1c2e3d4b5a69788766554433221100aabbccdd Mon Sep 17 00:00:00 2001\n"
            "From: Arch Packager <arch@archlinux.example>\n"
            "Date: Mon, 30 Nov 2026 10:00:00 +0000\n"
            "Subject: [PATCH] paramiko: do not spin on a closed transport\n\n---\n")
    return (head + fix_diff("a/", "b/", context=5, trailing_space=True) + "-- \n2.43.0\n").encode()


def superset_patch() -> bytes:
    """The same fix plus a keepalive change in another file (Gentoo carries this one)."""
    return ("Keep the connection alive, and the paramiko fix\n\n"
            + fix_diff("convirt-2.0.orig/", "convirt-2.0/")
            + client_diff("convirt-2.0.orig/", "convirt-2.0/")).encode()


SPEC = """Name:           convirt
Version:        2.0
Release:        1%{?dist}
Summary:        Xen management
Source0:        https://convirt.example/%{name}-%{version}.tar.gz
Patch0:         %{name}-%{version}-paramiko.patch

%prep
%setup -q
%patch0 -p1
"""

PKGBUILD = """pkgname=convirt
pkgver=2.0
pkgrel=1
source=("https://convirt.example/$pkgname-$pkgver.tar.gz"
        # the paramiko fix, until upstream has it
        'paramiko-keepalive.patch')
sha256sums=('SKIP' 'SKIP')

prepare() {
  cd "$pkgname-$pkgver"
  patch -Np1 -i "$srcdir/paramiko-keepalive.patch"
}
"""

EBUILD = """EAPI=8
DESCRIPTION="Xen management"
PATCHES=(
\t"${FILESDIR}/${P}-paramiko-keepalive.patch"
)
"""


def bundle(distro: str, files: dict[str, bytes]) -> bytes:
    """distros/DISTRO/... as a .tar.gz bundle."""
    entries = [d("distros"), d(f"distros/{distro}")]
    made = {"distros", f"distros/{distro}"}
    for rel, data in sorted(files.items()):
        parts = f"distros/{distro}/{rel}".split("/")
        for i in range(3, len(parts)):
            parent = "/".join(parts[:i])
            if parent not in made:
                made.add(parent)
                entries.append(d(parent))
        entries.append(E(f"distros/{distro}/{rel}", data))
    return gz(tar_bytes(entries))


def debian_bundle() -> bytes:
    return bundle("debian", {"debian/patches/series": b"# quilt series\nfix-paramiko-spin.patch\n",
                             "debian/patches/fix-paramiko-spin.patch": debian_patch(),
                             "debian/control": b"Source: convirt\n"})


def fedora_bundle() -> bytes:
    return bundle("fedora", {"convirt.spec": SPEC.encode(), "convirt-2.0-paramiko.patch": fedora_patch()})


def arch_bundle() -> bytes:
    return bundle("arch", {"PKGBUILD": PKGBUILD.encode(), "paramiko-keepalive.patch": arch_patch()})


def gentoo_bundle() -> bytes:
    return bundle("gentoo", {"app-emulation/convirt/convirt-2.0.ebuild": EBUILD.encode(),
                             "app-emulation/convirt/files/convirt-2.0-paramiko-keepalive.patch":
                             superset_patch()})


def prerelease(transport_text: str, client_text: str | None = None, root: str = "convirt-2.0") -> bytes:
    """A pre-release tarball holding the two files the patches touch, and a README."""
    client_text = client() if client_text is None else client_text
    entries = [d(root), d(f"{root}/src"), d(f"{root}/src/paramiko"), d(f"{root}/src/convirt"),
               E(f"{root}/README", b"ConVirt\n"), E(f"{root}/{TRANSPORT}", transport_text.encode()),
               E(f"{root}/{CLIENT}", client_text.encode())]
    return gz(tar_bytes(entries))


def extract_to(data: bytes, target: str) -> None:
    """Unpack a test-made pre-release (trusted: built above) for git's own checks."""
    with tarfile.open(fileobj=io.BytesIO(data)) as t:
        t.extractall(target, filter="data")

"""The patch ledger's demo: what ConVirt's three distros carry against the 2.0 pre-release.

- Ubuntu (a quilt series with DEP-3), Fedora (a spec's Patch0) and openSUSE (a
  plain ``patches/`` diff, gendiff style) carry the same paramiko fix (the
  launcher puts the patched paramiko first on the path), each with its own
  prefixes and context: one ledger entry, three carriers.
- Fedora also carries a README fix that 2.0 already holds: *already upstream*.
- openSUSE also carries a memory default that 2.0 changed otherwise: *conflicts*.
"""

from __future__ import annotations

import difflib
import io

from demo.builders import CONVIRT_LAUNCHER, build_distro_bundle

LAUNCHER = "install/client/ConVirt"
LAUNCHER_FIXED = CONVIRT_LAUNCHER.replace(
    "exec python",
    "# paramiko's channel bug: load the patched copy shipped with ConVirt first.\n"
    'export PYTHONPATH="/usr/share/convirt/paramiko${PYTHONPATH:+:$PYTHONPATH}"\nexec python',
)
README_BEFORE = "ConVirt: manage virtual machines.\n"
README_2_0 = "ConVirt: manage virtual machines on Xen hosts.\n"
VM_CONF = "image_store/linux_cd_install/vm_conf.template"

DEP3 = """\
Description: Load the patched paramiko first
 paramiko's Channel hangs on a closed transport; ConVirt ships a fixed copy
 under /usr/share/convirt/paramiko and the launcher must put it first.
Author: Ubuntu Packager <ubuntu@example.org>
Bug: https://bugs.convirt.example/paramiko-channel
Forwarded: no
Last-Update: 2026-11-30
---
"""


def _diff(before: str, after: str, old: str, new: str, context: int = 3) -> str:
    return "".join(
        difflib.unified_diff(before.splitlines(True), after.splitlines(True), old, new, n=context)
    )


def _bundle(members: list[tuple[str, bytes]]) -> bytes:
    out = io.BytesIO()
    build_distro_bundle(out, [(name, data, 0o644) for name, data in members])
    return out.getvalue()


def ubuntu_bundle() -> bytes:
    fix = DEP3 + _diff(CONVIRT_LAUNCHER, LAUNCHER_FIXED, f"a/{LAUNCHER}", f"b/{LAUNCHER}")
    return _bundle(
        [
            ("distros/ubuntu/debian/patches/series", b"paramiko-first.patch\n"),
            ("distros/ubuntu/debian/patches/paramiko-first.patch", fix.encode()),
        ]
    )


def fedora_bundle(version: str = "2.0") -> bytes:
    root = f"convirt-{version}"
    spec = (
        f"Name: convirt\nVersion: {version}\n"
        "Patch0: convirt-paramiko-first.patch\nPatch1: convirt-readme.patch\n"
        "%prep\n%autosetup -p1\n"
    )
    fix = _diff(
        CONVIRT_LAUNCHER, LAUNCHER_FIXED, f"{root}.orig/{LAUNCHER}", f"{root}/{LAUNCHER}", 5
    )
    readme = _diff(README_BEFORE, README_2_0, f"{root}.orig/README", f"{root}/README")
    return _bundle(
        [
            ("distros/fedora/convirt.spec", spec.encode()),
            ("distros/fedora/convirt-paramiko-first.patch", fix.encode()),
            ("distros/fedora/convirt-readme.patch", readme.encode()),
        ]
    )


def suse_bundle(version: str = "2.0") -> bytes:
    root = f"convirt-{version}"
    fix = _diff(CONVIRT_LAUNCHER, LAUNCHER_FIXED, f"{root}/{LAUNCHER}.orig", f"{root}/{LAUNCHER}")
    memory = _diff("memory = 128\n", "memory = 384\n", f"a/{VM_CONF}", f"b/{VM_CONF}")
    return _bundle(
        [
            ("distros/suse/patches/paramiko-first.diff", fix.encode()),
            ("distros/suse/patches/vm-memory.patch", memory.encode()),
        ]
    )


BUNDLES = {"ubuntu": ubuntu_bundle, "fedora": fedora_bundle, "suse": suse_bundle}

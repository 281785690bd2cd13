"""Builders the tests share: archives with the guide's layout, raw multipart bodies."""

from __future__ import annotations

import hashlib
import io
import uuid

from releases import demo


class Upload(io.BytesIO):
    """An uploaded file as the upload handler hands it to services: bytes, name, sha256, size."""

    def __init__(self, data: bytes, name: str = "ubuntu.tar.gz"):
        super().__init__(data)
        self.name, self.size, self.sha256 = name, len(data), hashlib.sha256(data).hexdigest()


def submit(release, distro, user, data: bytes, name: str = "ubuntu.tar.gz", **kw):
    """A submission made through the upload service, as a maintainer's upload makes it."""
    from releases.submissions.services import submission_create

    submission, _ = submission_create(
        release=release, distro=distro, submitter=user, upload=Upload(data, name), **kw
    )
    return submission


def prerelease_bytes(version: str = "2.0") -> bytes:
    return demo.prerelease_bytes(version)


def bundle_bytes(members=None) -> bytes:
    buffer = io.BytesIO()
    demo.build_distro_bundle(
        buffer, members if members is not None else demo.ubuntu_bundle_members()
    )
    return buffer.getvalue()


def broken_bundle_bytes() -> bytes:
    """An ubuntu bundle whose convirt.conf has no html_browser and an exec_path without /usr/sbin."""
    conf = b"[PATHS]\nexec_path = /usr/bin:/bin\n\n[CLIENT CONFIGURATION]\n"
    members = [m for m in demo.ubuntu_bundle_members() if not m[0].endswith("convirt.conf")]
    members.append(("install/client/distros/ubuntu/convirt.conf", conf, 0o644))
    return bundle_bytes(members)


def multipart(fields: dict[str, str | list[str]], files: dict[str, tuple[str, bytes]]):
    """A multipart body whose file names go out exactly as given (no client-side cleaning)."""
    boundary = uuid.uuid4().hex
    out = io.BytesIO()
    for name, values in fields.items():
        for value in values if isinstance(values, list) else [values]:
            out.write(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            )
            out.write(value.encode() + b"\r\n")
    for name, (file_name, data) in files.items():
        out.write(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
            f'filename="{file_name}"\r\nContent-Type: application/octet-stream\r\n\r\n'.encode(
                "utf-8", "surrogateescape"
            )
        )
        out.write(data + b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


DEB_CONTROL = b"""Package: convirt
Version: 2.0-1
Architecture: all
Maintainer: Demo Packager <ubuntu@example.org>
Depends: python (>= 2.4), xen-utils (>= 3.0.4), python-gtk2, python-vte, python-paramiko (>= 1.7.1)
Description: manage virtual machines on Xen hosts
"""


def _tar(members: list[tuple[str, bytes | None, int, str]]) -> bytes:
    """members: (name, data or None for a directory, mode, symlink target or "")."""
    import tarfile

    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz", format=tarfile.GNU_FORMAT) as tar:
        for name, data, mode, target in members:
            info = tarfile.TarInfo(name)
            info.mode, info.mtime = mode, demo.FIXED_MTIME
            if target:
                info.type, info.linkname = tarfile.SYMTYPE, target
                tar.addfile(info)
            elif data is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def deb_bytes(*, with_symlink: bool = True) -> bytes:
    """A binary .deb laid out as the guide's deployment mapping says (ar + two tarballs)."""
    dirs = [
        "./usr",
        "./usr/bin",
        "./usr/share",
        "./usr/share/convirt",
        "./usr/share/convirt/doc",
        "./usr/share/convirt/src",
        "./usr/share/convirt/install",
        "./usr/share/convirt/install/client",
        "./var",
        "./var/cache",
        "./var/cache/convirt",
        "./var/cache/convirt/image_store",
        "./var/cache/convirt/image_store/vm",
        "./var/cache/convirt/appliance_store",
        "./var/cache/convirt/install",
        "./etc",
    ]
    tree = [(name, None, 0o755, "") for name in dirs] + [
        ("./usr/share/convirt/doc/guide.txt", b"guide\n", 0o644, ""),
        ("./usr/share/convirt/src/convirt.py", b"print()\n", 0o644, ""),
        ("./usr/share/convirt/install/client/ConVirt", b"#!/bin/sh\n", 0o755, ""),
        ("./var/cache/convirt/image_store/vm/provision.sh", b"#!/bin/sh\n", 0o744, ""),
        ("./etc/convirt.conf", b"[PATHS]\n", 0o644, ""),
    ]
    if with_symlink:
        tree.append(("./usr/bin/convirt", None, 0o777, "../share/convirt/install/client/ConVirt"))
    parts = [
        ("debian-binary", b"2.0\n"),
        ("control.tar.gz", _tar([("./control", DEB_CONTROL, 0o644, "")])),
        ("data.tar.gz", _tar(tree)),
    ]
    out = [b"!<arch>\n"]
    for name, data in parts:
        out.append(
            f"{name:<16}{0:<12}{0:<6}{0:<6}{'100644':<8}{len(data):<10}`\n".encode()
            + data
            + (b"\n" if len(data) % 2 else b"")
        )
    return b"".join(out)

"""Builders the tests share: archives with the guide's layout, raw multipart bodies."""

from __future__ import annotations

import io
import uuid

from releases import demo


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

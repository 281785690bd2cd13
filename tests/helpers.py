"""Builders the tests share: archives with the guide's layout, raw multipart bodies."""

from __future__ import annotations

import hashlib
import io
import socket
import threading
import uuid

from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from demo import builders as demo


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


def _engine_builders():
    """The engine's own archive builders (packaging/tests/builders.py), loaded by path:
    `packaging/` is no importable package name (it would shadow PyPI's `packaging`)."""
    import importlib.util
    import sys
    from pathlib import Path

    name = "bundlecheck_test_builders"
    if name not in sys.modules:
        path = Path(__file__).resolve().parent.parent / "packaging" / "tests" / "builders.py"
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def deb_bytes(*, with_symlink: bool = True) -> bytes:
    """A binary .deb laid out as the guide's deployment mapping says, built by the
    same builder the engine's own tests use."""
    return _engine_builders().deb_bytes(with_symlink=with_symlink)


# --- Servers that misbehave, for the outbound client ---------------------------


class RawServer:
    """A raw TCP server on 127.0.0.1; `behave(conn)` runs for each connection."""

    def __init__(self, behave):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.behave = behave
        self.stop = threading.Event()
        self.accepted = 0
        self.requests: list[bytes] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            threading.Thread(target=self._run, args=(conn,), daemon=True).start()

    def _run(self, conn):
        try:
            self.requests.append(conn.recv(65536))
            self.behave(conn, self.stop)
        except OSError:
            pass
        finally:
            conn.close()

    def close(self):
        self.stop.set()
        self.sock.close()


def trickle(conn, stop):
    """An answer that never ends: one byte a second, each well within any read timeout."""
    for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nX-Slow: " + b"a" * 1000:
        if stop.wait(1):
            return
        conn.sendall(bytes([byte]))


def silent(conn, stop):
    stop.wait(30)


def endless(conn, stop):
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n")
    block = b"\0" * 65536
    while not stop.is_set():
        conn.sendall(block)


def migrate_to(targets: list[tuple[str, str]] | None = None):
    """Migrate the test database to ``targets`` (the newest migrations when None);
    return the historical apps there, for a migration test's old and new models."""
    executor = MigrationExecutor(connection)
    targets = targets or executor.loader.graph.leaf_nodes()
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor.loader.project_state(targets).apps

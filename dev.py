#!/usr/bin/env python3
"""The two commands a newcomer needs.

    python3 dev.py up     # virtualenv, install, migrate, demo data; web + worker + beat
    python3 dev.py test   # the whole test suite (extra arguments go to pytest)

Needs only Python 3.11+. Everything else is installed into .venv from the
versions declared in pyproject.toml and packaging/pyproject.toml.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
import venv
from pathlib import Path

REPO = Path(__file__).resolve().parent
VENV = REPO / ".venv"
BIN = VENV / "bin"
PYTHON = BIN / "python"
STAMP = VENV / ".portal-installed"
DECLARATIONS = [REPO / "pyproject.toml", REPO / "packaging" / "pyproject.toml"]


def say(message: str) -> None:
    print(f"dev.py: {message}", flush=True)


def run(*args: str | Path, env: dict | None = None) -> None:
    subprocess.run([str(a) for a in args], cwd=REPO, env=env, check=True)


def ensure_installed() -> None:
    """Create .venv and install what the repo declares; skip when nothing changed."""
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py may be run by an older python3
        sys.exit(f"dev.py: Python 3.11 or newer is needed (this is {sys.version.split()[0]}).")
    if not PYTHON.exists():
        say(f"creating the virtual environment in {VENV}")
        venv.EnvBuilder(with_pip=True).create(VENV)
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in DECLARATIONS)).hexdigest()
    if STAMP.exists() and STAMP.read_text() == digest:
        return
    say("installing the portal and the bundlecheck engine (pyproject.toml)")
    run(PYTHON, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    run(PYTHON, "-m", "pip", "install", "--quiet", "-e", "./packaging[test]", "-e", ".[dev]")
    STAMP.write_text(digest)


def manage(*args: str) -> None:
    run(PYTHON, "manage.py", *args)


def up() -> int:
    ensure_installed()
    port = os.environ.get("PORT", "8000")
    # Mailed links point at this server unless SITE_URL says otherwise.
    os.environ.setdefault("SITE_URL", f"http://127.0.0.1:{port}")
    manage("migrate", "--noinput", "-v", "0")
    manage("seed_demo", "--published", "--with-patches", "--with-repositories")
    children = {
        "web": [PYTHON, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        # Every queue but outbound; requests to other servers on a worker of their own.
        "worker": [BIN / "celery", "-A", "portal", "worker", "--loglevel=INFO", "--concurrency=2",
                   "-X", "portal.outbound"],
        "outbound": [BIN / "celery", "-A", "portal", "worker", "--loglevel=INFO",
                     "--concurrency=2", "-Q", "portal.outbound", "-n", "outbound@%h"],
        "beat": [BIN / "celery", "-A", "portal", "beat", "--loglevel=INFO"],
    }
    processes = {
        name: subprocess.Popen([str(a) for a in cmd], cwd=REPO) for name, cmd in children.items()
    }
    say(f"the portal is up at http://127.0.0.1:{port}/  (Ctrl-C stops web, worker and beat)")
    say(f"staff pages: http://127.0.0.1:{port}/status/ (worker pings), /admin/")
    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    status = 0
    while not stopping:
        for name, process in processes.items():
            if process.poll() is not None:
                say(f"{name} exited with status {process.returncode}; stopping the others")
                stopping, status = True, 1
        time.sleep(0.5)
    for process in processes.values():
        if process.poll() is None:
            process.terminate()
    for process in processes.values():
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
    return status


def test(args: list[str]) -> int:
    ensure_installed()
    return subprocess.run([str(PYTHON), "-m", "pytest", *args], cwd=REPO).returncode


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"up", "test", "install"}:
        print(__doc__)
        return 2
    if argv[0] == "up":
        return up()
    if argv[0] == "install":
        ensure_installed()
        return 0
    return test(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

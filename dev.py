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
import urllib.error
import urllib.request
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


def data_dir() -> Path:
    """Where the embedded defaults keep their data (settings.py reads the same variable)."""
    return Path(os.environ.get("PORTAL_DATA_DIR") or REPO / "var").resolve()


def shown(path: Path) -> str:
    """`path` as a newcomer types it: relative to the checkout when inside it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def setup(log: Path) -> list[str] | None:
    """Migrate and seed the demo, their output in `log`; the demo's login lines, or None."""
    with log.open("w") as out:
        for args in (["migrate", "--noinput"], ["seed_demo", "--published", "--with-patches", "--with-repositories"]):
            out.write(f"$ manage.py {' '.join(args)}\n")
            out.flush()
            done = subprocess.run([str(PYTHON), "manage.py", *args], cwd=REPO, stdout=out,
                                  stderr=subprocess.STDOUT)
            if done.returncode != 0:
                return None
    text = log.read_text(errors="replace").splitlines()
    start = next((i for i, line in enumerate(text) if line.startswith("Demo data ready.")), None)
    if start is None:
        return []
    logins = []
    for line in text[start + 1:]:
        if not line.startswith("  "):
            break
        logins.append(line.strip())
    return logins


def answering(url: str, seconds: float) -> bool:
    """Whether the web process answers `url` within `seconds`."""
    ends = time.monotonic() + seconds
    while time.monotonic() < ends:
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - our own loopback server
                return True
        except urllib.error.HTTPError:
            return True
        except OSError:
            time.sleep(0.3)
    return False


def mail_line(site: str) -> str:
    email_url = os.environ.get("EMAIL_URL", "outbox://")
    if email_url.startswith("outbox:"):
        return f"Mail is kept, not sent: read it at {site}/outbox/"
    scheme = email_url.split(":", 1)[0]
    return f"Mail goes out through EMAIL_URL ({scheme}://…)"


def up() -> int:
    ensure_installed()
    port = os.environ.get("PORT", "8000")
    site = f"http://127.0.0.1:{port}"
    # Mailed links point at this server unless SITE_URL says otherwise.
    os.environ.setdefault("SITE_URL", site)
    logs = data_dir() / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    say("preparing the database and the demo data…")
    logins = setup(logs / "setup.log")
    if logins is None:
        say(f"setting up failed; its output is in {shown(logs / 'setup.log')}:")
        print("\n".join((logs / "setup.log").read_text(errors="replace").splitlines()[-20:]))
        return 1
    children = {
        "web": [PYTHON, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        # Every queue but outbound; requests to other servers on a worker of their own.
        "worker": [BIN / "celery", "-A", "portal", "worker", "--loglevel=INFO", "--concurrency=2",
                   "-X", "portal.outbound"],
        "outbound": [BIN / "celery", "-A", "portal", "worker", "--loglevel=INFO",
                     "--concurrency=2", "-Q", "portal.outbound", "-n", "outbound@%h"],
        "beat": [BIN / "celery", "-A", "portal", "beat", "--loglevel=INFO"],
    }
    # Each process writes to its own log file: the terminal keeps the one block below.
    processes = {
        name: subprocess.Popen([str(a) for a in cmd], cwd=REPO, stdin=subprocess.DEVNULL,
                               stdout=(logs / f"{name}.log").open("w"), stderr=subprocess.STDOUT)
        for name, cmd in children.items()
    }
    if not answering(f"{site}/", 30):
        say(f"the web process does not answer; see {shown(logs / 'web.log')}")
    print(
        "\n".join(
            [
                "",
                f"The release portal is up at {site}/",
                "",
                "  Log in as (user, password, who):",
                *(f"    {line}" for line in logins),
                "",
                f"  {mail_line(site)}",
                f"  Logs: {shown(logs)}/ (web, worker, outbound, beat; setup for the demo data)",
                "  Ctrl-C stops it all.",
                "",
            ]
        ),
        flush=True,
    )
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
                say(f"{name} stopped (status {process.returncode}); its log: "
                    f"{shown(logs / (name + '.log'))}. Stopping the others.")
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

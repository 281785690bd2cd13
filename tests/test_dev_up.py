"""A newcomer's first minutes: `python3 dev.py up` prints one short block (the
address, the logins, where mail goes, where the logs are) and nothing else: no
third-party banners or warnings, no mail bodies. The mail is on the outbox page."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.processes import REPO, free_port

pytestmark = pytest.mark.slow

NOISE = ("AXES", "celery", "WARNING", "Warning", "Content-Type", "Traceback", "No hostname",
         "database is locked", "System check", "Starting development server")


def test_dev_up_prints_one_short_block_and_keeps_mail_in_the_outbox(tmp_path):
    if not (REPO / ".venv" / "bin" / "python").exists():
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail("dev.py up needs .venv (python3 dev.py install)")
        pytest.skip("dev.py up runs from .venv: python3 dev.py install first")
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DATABASE_URL", "CELERY_", "EMAIL_", "STORAGE_", "PORTAL_", "DJANGO_"))}
    env.update(PORT=str(port), PORTAL_DATA_DIR=str(tmp_path / "data"))
    process = subprocess.Popen(
        [sys.executable, "dev.py", "up"], cwd=REPO, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )
    lines: list[str] = []
    try:
        ends = time.monotonic() + 240
        while time.monotonic() < ends:
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line.rstrip("\n"))
            if "Ctrl-C stops it all." in line:
                break
        output = "\n".join(lines)
        assert "Ctrl-C stops it all." in output, output
        site = f"http://127.0.0.1:{port}"
        assert f"The release portal is up at {site}/" in output
        assert "release-manager      convirt-staff-demo" in output
        assert f"Mail is kept, not sent: read it at {site}/outbox/" in output
        assert len(lines) <= 20, output
        assert not [word for word in NOISE if word in output], output
        logs = tmp_path / "data" / "logs"
        assert {"setup.log", "web.log", "worker.log", "outbound.log", "beat.log"} <= {
            p.name for p in logs.iterdir()
        }
        # The release's invitations, mailed by the worker, are on the outbox page.
        page = ""
        for _ in range(60):
            with urllib.request.urlopen(f"{site}/outbox/", timeout=5) as response:
                page = response.read().decode()
            if "pre-release 2.0 is ready for packaging" in page:
                break
            time.sleep(1)
        assert "pre-release 2.0 is ready for packaging" in page
        assert f'href="{site}/prerelease/' in page
        assert "Content-Type" not in (logs / "worker.log").read_text()  # mail is not logged
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            rest = process.communicate(timeout=30)[0]
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            rest = process.communicate()[0]
    assert not [word for word in NOISE if word in rest], rest

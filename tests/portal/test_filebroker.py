"""The embedded broker (filesystem://): a worker never reads a message that a web
process is still writing, which made the worker stop with "Unrecoverable
error: JSONDecodeError" when a few uploads were queued at once."""

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

from kombu import Connection
from kombu.simple import SimpleQueue
from kombu.transport import filesystem

from portal import filebroker

REPO = Path(__file__).resolve().parent.parent.parent


def embedded_transport(tmp_path) -> str:
    """The transport the portal's settings choose for the embedded broker."""
    code = (
        "import json, portal.settings as s; "
        "print(json.dumps(getattr(s, 'CELERY_BROKER_TRANSPORT', None)))"
    )
    env = {**os.environ, "CELERY_BROKER_URL": "filesystem://", "PORTAL_DATA_DIR": str(tmp_path)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1]) or "filesystem"


def test_a_message_being_written_is_not_read(tmp_path, monkeypatch):
    transport = embedded_transport(tmp_path / "data")
    folder = tmp_path / "queue"
    folder.mkdir()
    options = {"data_folder_in": str(folder), "data_folder_out": str(folder)}
    options["store_processed"] = False

    # The writer stops after it has opened its file, before its bytes are in.
    writing, go_on = threading.Event(), threading.Event()

    def slow_dumps(payload):
        if isinstance(payload, dict):  # a message (not the exchange's table of queues)
            writing.set()
            go_on.wait(10)
        return json.dumps(payload)

    monkeypatch.setattr(filesystem, "dumps", slow_dumps)
    monkeypatch.setattr(filebroker, "dumps", slow_dumps)

    def publish():
        with Connection("filesystem://", transport=transport, transport_options=options) as conn:
            SimpleQueue(conn, "portal").put({"task": "t", "n": 1})

    writer = threading.Thread(target=publish)
    with Connection("filesystem://", transport=transport, transport_options=options) as conn:
        queue = SimpleQueue(conn, "portal")
        writer.start()
        assert writing.wait(10)
        try:
            # Stock kombu hands the half-written file over: JSONDecodeError here.
            try:
                queue.get(timeout=0.3)
                raise AssertionError("a message was read before it was written")
            except queue.Empty:
                pass
        finally:
            go_on.set()
            writer.join(10)
        message = queue.get(timeout=5)
        assert message.payload == {"task": "t", "n": 1}
        message.ack()
    assert [p.name for p in folder.iterdir()] == []

"""Fault tests: real workers, a private Redis, the S3 server, cut database links.

Every process here is started and stopped (or killed) by a fixture, on a
free loopback port; the shared PostgreSQL and Redis are never stopped.
"""

from __future__ import annotations

import contextlib
import io

import pytest

from demo import builders as demo
from tests.helpers import submit  # noqa: F401 - the fault tests' way to upload
from tests.processes import RedisServer, WorkerProcess

# Members enough that the engine needs a few seconds to verify the bundle,
# so that a worker can be killed in the middle of it.
SLOW_BUNDLE_MEMBERS = 60_000


def slow_bundle_bytes(extra: int = SLOW_BUNDLE_MEMBERS) -> bytes:
    """A failing ubuntu bundle (convirt.conf lacks keys) with many small documentation files."""
    conf = b"[PATHS]\nexec_path = /usr/bin:/bin\n\n[CLIENT CONFIGURATION]\n"
    members = [m for m in demo.ubuntu_bundle_members() if not m[0].endswith("convirt.conf")]
    members.append(("install/client/distros/ubuntu/convirt.conf", conf, 0o644))
    members += [
        (f"distros/ubuntu/debian/doc/page-{i:06d}.txt", b"%d\n" % i, 0o644) for i in range(extra)
    ]
    buffer = io.BytesIO()
    demo.build_distro_bundle(buffer, members)
    return buffer.getvalue()


@pytest.fixture(scope="session")
def slow_bundle() -> bytes:
    return slow_bundle_bytes()


@contextlib.contextmanager
def celery_broker(url: str):
    """Point this process's Celery app (what `.delay` publishes to) at `url`."""
    from portal.celery import app

    def reset() -> None:
        # Forget, never close: kombu keeps one pool per broker URL for the whole
        # process, and the session's own would come back closed.
        app._pool = None
        app.amqp._producer_pool = None

    # Celery reads CELERY_BROKER_URL from the environment before its own
    # setting; the write URL alone is what publishing uses, and it is free.
    previous = app.conf.get("broker_write_url")
    reset()
    app.conf.broker_write_url = url
    try:
        assert app.connection_for_write().as_uri(include_password=True) == url
        yield
    finally:
        reset()
        app.conf.broker_write_url = previous


@pytest.fixture
def private_redis(process_log_dir):
    """A redis-server of this test's own, which the test may kill; tasks go there."""
    server = RedisServer(process_log_dir).start()
    with celery_broker(server.url):
        yield server
    server.kill()


@pytest.fixture
def start_worker(django_db_blocker, process_log_dir, private_redis):
    """Start workers on the private broker; every one is stopped at the end."""
    started: list[WorkerProcess] = []

    def start(
        name: str = "fault-worker", queues=None, exclude_queues=None, **env: str
    ) -> WorkerProcess:
        with django_db_blocker.unblock():
            worker = WorkerProcess(
                process_log_dir,
                env={"CELERY_BROKER_URL": private_redis.url, **env},
                name=name,
                queues=queues,
                exclude_queues=exclude_queues,
            )
        started.append(worker)
        return worker.start()

    yield start
    for worker in started:
        worker.stop()

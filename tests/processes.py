"""Real processes for tests and benchmarks: Celery workers, an S3-compatible
server, Redis, a TCP proxy that can cut a link; all on loopback.

Each is started bounded in time and stopped (or killed) by process group.
Django is imported only by what needs the test database, so `bench/` uses
the same helpers outside Django.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def test_database_url() -> str:
    """The URL of the test database pytest-django made, for other processes."""
    from django.db import connection

    cfg = connection.settings_dict
    if cfg["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{cfg['NAME']}"
    auth = cfg["USER"] + (f":{cfg['PASSWORD']}" if cfg["PASSWORD"] else "")
    return f"postgres://{auth}@{cfg['HOST'] or '127.0.0.1'}:{cfg['PORT'] or 5432}/{cfg['NAME']}"


def wait_for(predicate, timeout: float, interval: float = 0.1, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    raise TimeoutError(f"{what} not met within {timeout} s")


class Process:
    """A child in its own session, its output in a log file; stopped by process group."""

    def __init__(self, name: str, cmd: list[str], env: dict, log_path: Path):
        self.name, self.log_path = name, log_path
        self._log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        self.popen = subprocess.Popen(
            [str(part) for part in cmd],
            cwd=REPO,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def check_alive(self) -> None:
        if self.popen.poll() is not None:
            raise RuntimeError(f"{self.name} exited early:\n{self.log()[-3000:]}")

    def kill(self) -> None:
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(10)

    def stop(self, timeout: float = 15) -> None:
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log.close()


class WorkerProcess:
    """A `celery worker` in its own process, on the test database."""

    def __init__(
        self,
        log_dir: Path,
        env: dict[str, str] | None = None,
        name: str = "worker",
        queues: list[str] | None = None,
        exclude_queues: list[str] | None = None,
    ):
        """Without `queues` the worker consumes every queue (CELERY_TASK_QUEUES:
        the default one, verify, pages, mail and outbound), as the compose worker
        does; `queues` and `exclude_queues` make a dedicated one."""
        from django.conf import settings

        self.log_path = log_dir / f"{name}-{os.getpid()}-{time.monotonic_ns()}.log"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "DATABASE_URL": test_database_url(),
            "PORTAL_DATA_DIR": str(settings.DATA_DIR),
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            "CELERY_TASK_DEFAULT_QUEUE": settings.CELERY_TASK_DEFAULT_QUEUE,
            "PYTHONUNBUFFERED": "1",
            **(env or {}),
        }
        self.name = name
        self.queue_args = [*(["-Q", ",".join(queues)] if queues else []),
                           *(["-X", ",".join(exclude_queues)] if exclude_queues else [])]
        self.process: Process | None = None

    def start(self, timeout: float = 60) -> WorkerProcess:
        self.process = Process(
            self.name,
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "portal",
                "worker",
                "--pool=solo",
                "--loglevel=INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-n",
                f"{self.name}-{os.getpid()}@%h",
                *self.queue_args,
            ],
            self.env,
            self.log_path,
        )
        wait_for(self._ready, timeout, 0.2, f"celery worker ready (log: {self.log_path})")
        return self

    def _ready(self) -> bool:
        if self.process.popen.poll() is not None:
            raise RuntimeError(f"worker exited early:\n{self.log()}")
        return " ready." in self.log()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_idle(self, timeout: float = 20) -> bool:
        """Wait until the broker holds nothing for the worker to do now: every queue
        empty and nothing delivered but unacknowledged (tasks are acknowledged
        late, so a running one is still unacknowledged), twice in a row. A task
        held for later (a retry's countdown) does not count. Gives up silently
        after `timeout`; True when idle was seen."""
        from django.conf import settings

        if not settings.CELERY_BROKER_URL.startswith("redis") or not self.process:
            return True
        import json

        import redis

        client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
        queues = [queue.name for queue in settings.CELERY_TASK_QUEUES]

        def busy() -> bool:
            # A queue's list, and its priority lists ("<queue>\x06\x16<n>").
            for name in queues:
                if any(client.llen(f"{name}{suffix}") for suffix in ("", *(f"\x06\x16{n}" for n in range(1, 10)))):
                    return True
            now = time.time()
            for raw in client.hvals("unacked"):
                try:
                    message, _exchange, routing_key = json.loads(raw)
                    headers = message.get("headers") or {}
                except (ValueError, TypeError, AttributeError):
                    continue
                if routing_key not in queues:
                    continue  # another run's, on the same Redis
                eta = headers.get("eta")
                if not eta:
                    return True
                from datetime import datetime

                if datetime.fromisoformat(eta).timestamp() <= now + 1:
                    return True
            return False

        deadline = time.monotonic() + timeout
        quiet = 0
        try:
            while time.monotonic() < deadline:
                quiet = 0 if busy() else quiet + 1
                if quiet >= 2:
                    return True
                time.sleep(0.15)
        finally:
            client.close()
        return False

    def kill(self) -> None:
        if self.process:
            self.process.kill()

    def stop(self) -> None:
        if self.process:
            self.process.stop()


class S3Server:
    """moto's standalone S3-compatible server, in its own process on loopback."""

    def __init__(self, log_dir: Path, port: int | None = None):
        self.port = port or free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.log_path = log_dir / f"s3-{self.port}.log"
        self.process: Process | None = None

    def start(self, timeout: float = 30) -> S3Server:
        self.process = Process(
            "S3 server",
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            dict(os.environ),
            self.log_path,
        )
        wait_for(self._answers, timeout, 0.2, f"S3 server on {self.endpoint}")
        return self

    def _answers(self) -> bool:
        self.process.check_alive()
        return port_answers(self.port)

    def client(self):
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def storage_options(self, bucket: str) -> dict:
        return {
            "bucket_name": bucket,
            "endpoint_url": self.endpoint,
            "region_name": "us-east-1",
            "access_key": "testing",
            "secret_key": "testing",
            "addressing_style": "path",
            "signature_version": "s3v4",
            "file_overwrite": True,
        }

    def stop(self) -> None:
        if self.process:
            self.process.stop(10)


class RedisServer:
    """A private redis-server on a free loopback port: a broker a test may stop.

    Never the shared one on 6379. Started empty, without persistence, so a
    restart loses every queued message, as a real broker restarted empty does.
    """

    def __init__(self, log_dir: Path, port: int | None = None):
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.log_path = log_dir / f"redis-{self.port}.log"
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 20) -> RedisServer:
        self._log = open(self.log_path, "a")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for(self._answers, timeout, 0.1, f"redis-server on port {self.port}")
        return self

    def _answers(self) -> bool:
        import redis

        if self.process.poll() is not None:
            raise RuntimeError(f"redis-server exited early:\n{self.log_path.read_text()}")
        try:
            return redis.Redis(port=self.port, socket_connect_timeout=0.5).ping()
        except redis.RedisError:
            return False

    def kill(self) -> None:
        """Stop it at once, as a crash would: whatever it held is gone."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        if getattr(self, "_log", None):
            self._log.close()

    stop = kill


class TcpProxy:
    """A TCP relay on loopback that a test can cut: every connection through it
    drops at once, and new ones are refused, as when a database host goes away."""

    def __init__(self, target_host: str, target_port: int):
        import threading

        self.target = (target_host, target_port)
        self.port = free_port()
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._cut = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        import threading

        while not self._cut:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                if self._cut:
                    client.close()
                    upstream.close()
                    return
                self._sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            import contextlib

            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        import contextlib

        self._cut = True
        self._listener.close()
        with self._lock:
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()

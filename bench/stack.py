"""The portal's processes for benchmarks: a scratch data folder, database and queue,
gunicorn, Celery workers and the front server (nginx, as docker-compose.yml runs
it) on free loopback ports, moto as the S3 server.

Not a benchmark itself: bench_upload.py, bench_public_page.py,
bench_dashboard.py and load_uploads.py start what they measure through it. Everything binds to
127.0.0.1, waits are bounded, and whatever was started is stopped (and the
scratch database dropped) on the way out.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.processes import (  # noqa: E402,F401
    Process,
    RedisServer,
    free_port,
    port_answers,
    wait_for,
)

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
POSTGRES_ADMIN_URL = os.environ.get(
    "BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
S3_KEYS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def postgres_problem() -> str | None:
    try:
        import psycopg

        with psycopg.connect(POSTGRES_ADMIN_URL, connect_timeout=3):
            return None
    except Exception as exc:
        return str(exc).strip().splitlines()[0]


def redis_problem() -> str | None:
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
        return None
    except Exception as exc:
        return str(exc)


class Stack:
    """One portal configuration: `embedded` (SQLite, filesystem broker, local files)
    or `services` (a scratch PostgreSQL database, Redis, moto S3).

    With `own_redis`, `services` starts a private redis-server on a free
    loopback port (queues in db 0, the cache in db 1) instead of a queue of
    its own on the shared `BENCH_REDIS_URL`."""

    def __init__(
        self,
        backend: str,
        *,
        extra_env: dict[str, str] | None = None,
        own_redis: bool = False,
    ):
        assert backend in {"embedded", "services"}
        self.backend = backend
        self.own_redis = own_redis
        self.redis: RedisServer | None = None
        self.work = Path(tempfile.mkdtemp(prefix=f"bench-portal-{backend}-"))
        self.data_dir = self.work / "data"
        self.processes: list[Process] = []
        self.database: str | None = None
        self.s3_endpoint: str | None = None
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "PORTAL_DATA_DIR": str(self.data_dir),
            "CELERY_TASK_DEFAULT_QUEUE": f"bench-{uuid.uuid4().hex[:12]}",
            "DEBUG": "false",
            "EMAIL_URL": "locmem://",
            "LOG_LEVEL": "WARNING",
            "UPLOADS_PER_HOUR": "100000",
            "PYTHONUNBUFFERED": "1",
            **(extra_env or {}),
        }
        for name in ("DATABASE_URL", "CELERY_BROKER_URL", "STORAGE_BACKEND"):
            self.env.pop(name, None)

    def __enter__(self) -> Stack:
        try:
            if self.backend == "services":
                self._services()
            self.manage("migrate", "--noinput", "-v", "0")
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _services(self) -> None:
        problem = postgres_problem() or (None if self.own_redis else redis_problem())
        if problem:
            raise SystemExit(f"the services configuration needs PostgreSQL and Redis: {problem}")
        import psycopg

        self.database = f"bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.database}"')
        self.env["DATABASE_URL"] = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + "/" + self.database
        if self.own_redis:
            self.redis = RedisServer(self.work).start()
            self.env["CELERY_BROKER_URL"] = self.redis.url
            self.env["CACHE_URL"] = self.redis.url.removesuffix("/0") + "/1"
        else:
            self.env["CELERY_BROKER_URL"] = REDIS_URL
        port = free_port()
        self.s3_endpoint = f"http://127.0.0.1:{port}"
        moto = Process(
            "s3",
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            self.env,
            self.work / "s3.log",
        )
        self.processes.append(moto)
        wait_for(lambda: moto.check_alive() or port_answers(port), 30, what="moto S3 server")
        self.env.update(
            STORAGE_BACKEND="s3",
            S3_ENDPOINT_URL=self.s3_endpoint,
            S3_UPLOADS_BUCKET="bench-uploads",
            S3_PUBLIC_BUCKET="bench-public",
            **S3_KEYS,
        )
        client = self.s3_client()
        for bucket in ("bench-uploads", "bench-public"):
            client.create_bucket(Bucket=bucket)

    def s3_client(self):
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.s3_endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def describe(self) -> str:
        if self.backend == "embedded":
            return "SQLite, filesystem broker, local storage"
        return "PostgreSQL, Redis, S3 (moto server)"

    def manage(self, *args: str, input: str | None = None) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=REPO,
            env=self.env,
            input=input,
            capture_output=True,
            text=True,
            timeout=1800,
        )
        if result.returncode:
            raise SystemExit(f"manage.py {' '.join(args)} failed:\n{result.stderr[-3000:]}")
        return result.stdout

    def python(self, code: str, timeout: float = 1800) -> str:
        """Run `code` with Django set up on this stack's settings; return its stdout."""
        prelude = "import django; django.setup()\n"
        result = subprocess.run(
            [sys.executable, "-c", prelude + code],
            cwd=REPO,
            # The checkout's engine, not whichever bundlecheck is installed.
            env={**self.env, "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "packaging" / "src")])},
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if result.returncode:
            raise SystemExit(f"setup code failed:\n{result.stderr[-3000:]}")
        return result.stdout

    def web(self, workers: int = 2, port: int | None = None, threads: int = 0) -> str:
        """gunicorn on a free loopback port; returns its base URL. With `threads`,
        gthread workers of that many threads each, as deployed (docker-compose.yml)."""
        port = port or free_port()
        gthread = ["--worker-class", "gthread", "--threads", str(threads)] if threads else []
        process = Process(
            "web",
            [
                str(BIN / "gunicorn"),
                "portal.wsgi",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(workers),
                "--timeout",
                "900",
                "--log-level",
                "warning",
                *gthread,
            ],
            self.env,
            self.work / "web.log",
        )
        self.processes.append(process)
        wait_for(lambda: process.check_alive() or port_answers(port), 60, what="gunicorn")
        return f"http://127.0.0.1:{port}"

    def worker(
        self,
        concurrency: int = 1,
        polling_interval: float | None = None,
        name: str | None = None,
    ) -> Process:
        """`celery -A portal worker`; with `polling_interval`, the same worker with
        that broker transport option (how often a polling broker is asked for work)
        set on top of the portal's settings, to measure a proposed setting. Each
        worker logs to its own file (`name`.log)."""
        name = name or f"worker-{uuid.uuid4().hex[:6]}"
        args = [
            "worker",
            f"--concurrency={concurrency}",
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-n",
            f"bench-{name}-{uuid.uuid4().hex[:6]}@%h",
        ]
        if polling_interval is None:
            cmd = [str(BIN / "celery"), "-A", "portal", *args]
        else:
            code = (
                "from portal.celery import app\n"
                "app.conf.broker_transport_options = {**app.conf.broker_transport_options,"
                f" 'polling_interval': {polling_interval!r}}}\n"
                f"app.worker_main({args!r})\n"
            )
            cmd = [sys.executable, "-c", code]
        process = Process(
            name, cmd, {**self.env, "PYTHONPATH": str(REPO)}, self.work / f"{name}.log"
        )
        self.processes.append(process)
        wait_for(
            lambda: process.check_alive() or " ready." in process.log(), 60, what="celery worker"
        )
        return process

    def front(self, upstream: str, port: int | None = None) -> str:
        """The front server in front of `upstream` (gunicorn's base URL), run as
        docker-compose.yml's `nginx` service runs it: that service's command
        (collectstatic, `deploy/nginx/render.py`, nginx) and its NGINX_* settings,
        read through deploy/native_stack.py, on this stack's storage and
        environment, listening on a free loopback port. Returns its base URL."""
        from deploy import native_stack

        compose = native_stack.load_compose({"SECRET_KEY": "unused", "PATH": os.environ["PATH"]})
        service = compose["services"]["nginx"]
        port = port or free_port()
        run_dir = self.work / "front"
        run_dir.mkdir(exist_ok=True)
        # Started as root, nginx's workers run as nobody: they need to reach the
        # temporary folders in the run folder.
        for folder in (self.work, run_dir):
            os.chmod(folder, 0o755)  # noqa: S103 - scratch folders of the run
        env = {
            **self.env,
            "PATH": f"{BIN}:/usr/sbin:/usr/bin:/bin",
            **{
                k: v for k, v in native_stack.service_env(service).items() if k.startswith("NGINX_")
            },
            "NGINX_LISTEN": f"127.0.0.1:{port}",
            "NGINX_UPSTREAM": upstream.removeprefix("http://"),
            "NGINX_RUN_DIR": str(run_dir),
            "NGINX_ACCESS_LOG": "off",
        }
        command = native_stack.service_command(service)
        if not shutil.which("nginx", path=env["PATH"]):
            raise SystemExit("the front server needs nginx: apt-get install -y nginx-light")
        process = Process("front", command, env, self.work / "front.log")
        self.processes.append(process)
        wait_for(lambda: process.check_alive() or port_answers(port), 120, what="front nginx")
        return f"http://127.0.0.1:{port}"

    def close(self) -> None:
        for process in reversed(self.processes):
            process.stop()
        self.processes.clear()
        if self.redis:
            self.redis.stop()
            self.redis = None
        if self.database:
            import psycopg

            with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
            self.database = None
        shutil.rmtree(self.work, ignore_errors=True)

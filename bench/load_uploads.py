#!/usr/bin/env python3
"""Load: N concurrent API uploads against gunicorn + 2 Celery workers, then check
that every upload got exactly one submission with a verdict.

    .venv/bin/python bench/load_uploads.py                 # 50 uploads of 20 MB
    .venv/bin/python bench/load_uploads.py --count 20 --size 5

Not a test: it starts everything it measures on free loopback ports and stops
it again (a scratch database `portal_load_<pid>` on the local PostgreSQL, a
redis-server of its own, moto as the S3 server, gunicorn with 2 workers, 2
Celery workers), bounded in count (at most 200 uploads of at most 200 MB) and
in time (`--timeout`, 15 minutes by default). It prints the upload
throughput and p50/p95/p99 of the time from the start of an upload to its
verdict.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import io
import json
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.processes import free_port, wait_for  # noqa: E402
from tests.processes import port_answers as answers  # noqa: E402

BIN = Path(sys.executable).parent
ADMIN_URL = os.environ.get("LOAD_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
MiB = 1024 * 1024


def say(message: str) -> None:
    print(f"load: {message}", flush=True)


class Stack(contextlib.ExitStack):
    """Everything the run starts; leaving it stops the processes and drops the database."""

    def __init__(self, workdir: Path):
        super().__init__()
        self.workdir = workdir
        self.processes: list[tuple[str, subprocess.Popen]] = []

    def spawn(self, name: str, args: list[str], env: dict | None = None) -> subprocess.Popen:
        log = open(self.workdir / f"{name}.log", "w")  # noqa: SIM115 - closed on exit
        self.callback(log.close)
        process = subprocess.Popen(
            args,
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes.append((name, process))
        self.callback(self._stop, process)
        return process

    @staticmethod
    def _stop(process: subprocess.Popen) -> None:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(5)

    def check_alive(self) -> None:
        for name, process in self.processes:
            if process.poll() is not None:
                log = (self.workdir / f"{name}.log").read_text()[-3000:]
                raise RuntimeError(f"{name} exited with {process.returncode}:\n{log}")


def scratch_database(stack: Stack) -> str:
    import psycopg

    name = f"portal_load_{os.getpid()}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    stack.callback(drop)
    return ADMIN_URL.rsplit("/", 1)[0] + "/" + name


def bundle(path: Path, distro: str, size: int, payload: bytes) -> None:
    """A distro bundle with the guide's files and one large, incompressible member."""
    from releases import demo

    members = [
        (name.replace("ubuntu", distro), data, mode)
        for name, data, mode in demo.ubuntu_bundle_members()
    ]
    with tarfile.open(path, "w:gz", compresslevel=1) as tar:
        for name, data, mode in members + [
            (f"distros/{distro}/data/payload.bin", payload[:size] + distro.encode(), 0o644)
        ]:
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), mode, 1_700_000_000
            tar.addfile(info, io.BytesIO(data))


SETUP = """
import json, sys
from django.contrib.auth import get_user_model
from accounts.models import ApiToken
from releases import demo
from releases.models import Artifact, Distro, Maintainership, Project, Release
from releases.artifacts import artifact_create
import io
count = int(sys.argv[1])
project = Project.objects.create(slug="convirt", name="ConVirt")
prerelease = artifact_create(kind=Artifact.Kind.PRERELEASE,
    content=io.BytesIO(demo.prerelease_bytes("2.0")), original_name="convirt-2.0.tar.gz")
Release.objects.create(project=project, version="2.0", state="prerelease", prerelease=prerelease)
user = get_user_model().objects.create_user("load", "load@example.org", "load-password-123")
for n in range(count):
    distro = Distro.objects.create(slug=f"load-{n:03d}", name=f"Load {n}")
    Maintainership.objects.create(user=user, project=project, distro=distro, state="approved")
print(json.dumps({"token": ApiToken.issue(user=user, name="load")[1]}))
"""


def upload(port: int, token: str, distro: str, path: Path) -> dict:
    """One streamed multipart POST, as a CI script would send it."""
    boundary = uuid.uuid4().hex
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="bundle"; '
        f'filename="{distro}.tar.gz"\r\nContent-Type: application/gzip\r\n\r\n'
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    length = len(head) + path.stat().st_size + len(tail)
    started = time.time()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    try:
        connection.putrequest(
            "POST", f"/api/v1/projects/convirt/releases/2.0/distros/{distro}/submissions/"
        )
        connection.putheader("Authorization", f"Token {token}")
        connection.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
        connection.putheader("Content-Length", str(length))
        connection.endheaders()
        connection.send(head)
        with path.open("rb") as body:
            while chunk := body.read(MiB):
                connection.send(chunk)
        connection.send(tail)
        response = connection.getresponse()
        text = response.read()
    finally:
        connection.close()
    answered = time.time()
    try:
        data = json.loads(text)
    except ValueError:
        data = {"raw": text[:300].decode(errors="replace")}
    return {
        "distro": distro,
        "status": response.status,
        "body": data,
        "started": started,
        "answered": answered,
    }


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=50, help="uploads (at most 200)")
    parser.add_argument("--size", type=int, default=20, help="MB per bundle (at most 200)")
    parser.add_argument("--concurrency", type=int, default=0, help="at once (default: all)")
    parser.add_argument("--timeout", type=float, default=900, help="seconds for the whole run")
    args = parser.parse_args()
    if not (1 <= args.count <= 200 and 1 <= args.size <= 200):
        parser.error("--count must be 1..200 and --size 1..200")
    concurrency = args.concurrency or args.count
    deadline = time.monotonic() + args.timeout
    workdir = Path(tempfile.mkdtemp(prefix="portal-load-"))
    try:
        with Stack(workdir) as stack:
            return run(stack, workdir, args, concurrency, deadline)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def run(stack: Stack, workdir: Path, args, concurrency: int, deadline: float) -> int:
    import boto3
    import psycopg

    database_url = scratch_database(stack)
    redis_port, s3_port, web_port = free_port(), free_port(), free_port()
    stack.spawn(
        "redis",
        [
            "redis-server",
            "--port",
            str(redis_port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
    )
    stack.spawn(
        "s3", [str(BIN / "python"), "-m", "moto.server", "-H", "127.0.0.1", "-p", str(s3_port)]
    )
    wait_for(lambda: answers(redis_port) and answers(s3_port), 30, what="redis and S3 answering")
    s3 = boto3.client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{s3_port}",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    for bucket in ("load-uploads", "load-public"):
        s3.create_bucket(Bucket=bucket)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "PORTAL_DATA_DIR": str(workdir / "data"),
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": f"redis://127.0.0.1:{redis_port}/0",
        "CACHE_URL": f"redis://127.0.0.1:{redis_port}/1",
        "STORAGE_BACKEND": "s3",
        "S3_ENDPOINT_URL": f"http://127.0.0.1:{s3_port}",
        "S3_UPLOADS_BUCKET": "load-uploads",
        "S3_PUBLIC_BUCKET": "load-public",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "UPLOADS_PER_HOUR": "100000",
        "EMAIL_URL": "locmem://",
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }
    say(f"scratch database {database_url.rsplit('/', 1)[-1]}, redis :{redis_port}, S3 :{s3_port}")
    subprocess.run(
        [str(BIN / "python"), "manage.py", "migrate", "-v", "0"], cwd=REPO, env=env, check=True
    )
    setup = subprocess.run(
        [
            str(BIN / "python"),
            "manage.py",
            "shell",
            "-c",
            SETUP.replace("sys.argv[1]", str(args.count)),
        ],
        cwd=REPO,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    token = json.loads(setup.stdout.strip().splitlines()[-1])["token"]

    stack.spawn(
        "web",
        [
            str(BIN / "gunicorn"),
            "portal.wsgi:application",
            "--workers",
            "2",
            "--bind",
            f"127.0.0.1:{web_port}",
            "--timeout",
            "600",
        ],
        env,
    )
    for n in range(2):
        stack.spawn(
            f"worker-{n}",
            [
                str(BIN / "celery"),
                "-A",
                "portal",
                "worker",
                "--concurrency=1",
                "--loglevel=WARNING",
                "--without-gossip",
                "--without-mingle",
                "-n",
                f"load-{n}-{os.getpid()}@%h",
            ],
            env,
        )
    wait_for(lambda: stack.check_alive() or answers(web_port), 60, what="gunicorn answering")

    say(f"building {args.count} bundles of {args.size} MB")
    payload = secrets.token_bytes(args.size * MiB)
    paths = {}
    for n in range(args.count):
        distro = f"load-{n:03d}"
        paths[distro] = workdir / f"{distro}.tar.gz"
        bundle(paths[distro], distro, args.size * MiB, payload)
    del payload
    total_bytes = sum(p.stat().st_size for p in paths.values())

    say(f"uploading {args.count} x {args.size} MB, {concurrency} at once")
    began = time.time()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        results = list(pool.map(lambda item: upload(web_port, token, *item), paths.items()))
    uploaded = time.time()
    refused = [r for r in results if r["status"] != 201]
    ids = {r["body"]["id"]: r for r in results if r["status"] == 201}

    with psycopg.connect(database_url, autocommit=True) as db:

        def decided():
            stack.check_alive()
            if time.monotonic() > deadline:
                raise TimeoutError("the run's time is up")
            rows = db.execute(
                "SELECT count(*) FROM releases_submission WHERE state IN ('passed', 'failed')"
            ).fetchone()[0]
            return rows >= len(ids)

        with contextlib.suppress(TimeoutError):
            wait_for(decided, max(1.0, deadline - time.monotonic()), 0.5, what="every verdict")
        finished = time.time()
        rows = db.execute(
            "SELECT s.id, d.slug, s.state, extract(epoch FROM s.verified_at) "
            "FROM releases_submission s JOIN releases_distro d ON d.id = s.distro_id"
        ).fetchall()
        verdict_events = dict(
            db.execute(
                "SELECT object_id, count(*) FROM releases_auditevent "
                "WHERE verb = 'submission.verified' GROUP BY object_id"
            ).fetchall()
        )

    by_distro: dict[str, list] = {}
    for row in rows:
        by_distro.setdefault(row[1], []).append(row)
    problems = [f"upload {r['distro']}: HTTP {r['status']} {r['body']}" for r in refused]
    for distro in paths:
        found = by_distro.get(distro, [])
        if len(found) != 1:
            problems.append(f"{distro}: {len(found)} submissions (expected exactly 1)")
    for pk, distro, state, _ in rows:
        if state not in ("passed", "failed"):
            problems.append(f"submission {pk} ({distro}) has no verdict: {state}")
        elif verdict_events.get(str(pk)) != 1:
            problems.append(f"submission {pk} has {verdict_events.get(str(pk), 0)} verdicts")
    latencies = [
        float(verified) - ids[pk]["started"]
        for pk, _, state, verified in rows
        if pk in ids and verified is not None
    ]
    responses = [r["answered"] - r["started"] for r in results]
    states = {s: sum(1 for row in rows if row[2] == s) for s in {row[2] for row in rows}}

    print()
    print(
        f"uploads:      {args.count} x {args.size} MB ({total_bytes / MiB:.0f} MiB on the wire), "
        f"{concurrency} at once; gunicorn 2 workers, 2 Celery workers, PostgreSQL, Redis, moto S3"
    )
    print(f"accepted:     {len(ids)} (HTTP 201), refused {len(refused)}; states {states}")
    print(
        f"upload phase: {uploaded - began:.1f} s, {total_bytes / MiB / (uploaded - began):.1f} MiB/s, "
        f"{len(ids) / (uploaded - began):.2f} uploads/s; response p50 "
        f"{statistics.median(responses):.1f} s, max {max(responses):.1f} s"
    )
    if latencies:
        print(
            f"verdicts:     {len(latencies)} in {finished - began:.1f} s from the first upload "
            f"({len(latencies) / (finished - began):.2f} verdicts/s)"
        )
        print(
            f"upload->verdict: p50 {percentile(latencies, 50):.1f} s, "
            f"p95 {percentile(latencies, 95):.1f} s, p99 {percentile(latencies, 99):.1f} s, "
            f"max {max(latencies):.1f} s"
        )
    print(
        "check:        "
        + (
            "every upload has exactly one submission with one verdict"
            if not problems
            else f"{len(problems)} PROBLEMS"
        )
    )
    for problem in problems[:20]:
        print(f"  - {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Load: concurrent API uploads through the front server (nginx) to gunicorn, verified by
N Celery workers; by default the same load with 2 workers and then 4, and the scale factor.

    .venv/bin/python bench/load_uploads.py                        # 2 vs 4 workers, 50 x 20 MB each
    .venv/bin/python bench/load_uploads.py --count 40 --size 10   # smaller, a few minutes
    .venv/bin/python bench/load_uploads.py --workers 3            # one run, 3 workers

Not a test: it starts everything it measures on free 127.0.0.1 ports and stops
it again (bench/stack.py: a scratch database `bench_<hex>` on the local
PostgreSQL, a redis-server of its own, moto as the S3 server, gunicorn with 2
gthread workers of 8 threads, and the front server as docker-compose.yml runs
it: `deploy/nginx/render.py` then nginx, read from the compose file through
deploy/native_stack.py). Every upload goes through nginx.

Each run has its own N `celery worker --concurrency=1` processes on the same
Redis, database and bucket, and fresh submissions (distros of its own, the same
count and sizes). Per run it prints uploads/s (accepted uploads from the first
upload's start to the last verdict), p50/p95/p99 of upload-to-verdict, where
that time went (upload, queue, verification) and the CPU each process used;
then `scale factor (B vs A workers): X` = throughput(B) / throughput(A).

Bounded: at most 200 uploads of at most 200 MB per run, 1..8 workers, at most
3 runs, and `--timeout` (15 minutes by default) for everything; on time-out the
run stops and says so.
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import secrets
import statistics
import sys
import tarfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from stack import Stack, wait_for  # noqa: E402

MiB = 1024 * 1024
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
CORES = os.cpu_count() or 1


def say(message: str) -> None:
    print(f"load: {message}", flush=True)


def bundle(path: Path, distro: str, size: int, payload: bytes) -> None:
    """A distro bundle with the guide's files and one large, incompressible member."""
    from demo import builders as demo

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
import io, json
from django.contrib.auth import get_user_model
from accounts.models import ApiToken
from demo import builders as demo
from releases.artifacts import artifact_create
from releases.models import Artifact, Distro, Maintainership, Project, Release
slugs = json.loads(SLUGS)
project = Project.objects.create(slug="convirt", name="ConVirt")
prerelease = artifact_create(kind=Artifact.Kind.PRERELEASE,
    content=io.BytesIO(demo.prerelease_bytes("2.0")), original_name="convirt-2.0.tar.gz")
Release.objects.create(project=project, version="2.0", state="prerelease", prerelease=prerelease)
user = get_user_model().objects.create_user("load", "load@example.org", "load-password-123")
for slug in slugs:
    distro = Distro.objects.create(slug=slug, name=slug)
    Maintainership.objects.create(user=user, project=project, distro=distro, state="approved")
print(json.dumps({"token": ApiToken.issue(user=user, name="load")[1]}))
"""


def upload(port: int, token: str, distro: str, path: Path, timeout: float) -> dict:
    """One streamed multipart POST, as a CI script would send it."""
    boundary = uuid.uuid4().hex
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="bundle"; '
        f'filename="{distro}.tar.gz"\r\nContent-Type: application/gzip\r\n\r\n'
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    length = len(head) + path.stat().st_size + len(tail)
    started = time.time()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
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
        status, text = response.status, response.read()
    except OSError as exc:
        status, text = 0, f"{type(exc).__name__}: {exc}".encode()
    finally:
        connection.close()
    answered = time.time()
    try:
        data = json.loads(text)
    except ValueError:
        data = {"raw": text[:300].decode(errors="replace")}
    return {
        "distro": distro,
        "status": status,
        "body": data,
        "started": started,
        "answered": answered,
    }


def warm_up(port: int, token: str, prefix: str) -> None:
    """A few requests through nginx to both gunicorn processes before anything is
    measured, so the first run does not pay for their first requests alone: the
    health check (database and both buckets) and an upload refused for its empty
    body (the API's view and its form). No submission is made."""

    def one(n: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            if n % 2:
                connection.request("GET", "/healthz")
            else:
                connection.request(
                    "POST",
                    f"/api/v1/projects/convirt/releases/2.0/distros/{prefix}-000/submissions/",
                    body=b"",
                    headers={"Authorization": f"Token {token}", "Content-Length": "0"},
                )
            connection.getresponse().read()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(one, range(16)))


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


# --- where the CPU goes ---------------------------------------------------------


def group_cpu(groups: dict[str, list[int]]) -> dict[str, float]:
    """CPU seconds (user + system) used so far by every live process of each
    named set of process groups (each of our children leads a session of its own)."""
    owner = {pgid: name for name, pgids in groups.items() for pgid in pgids}
    used = dict.fromkeys(groups, 0.0)
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            fields = Path(entry.path, "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        name = owner.get(int(fields[2]))
        if name:
            used[name] += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return used


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine, all cores, since boot."""
    ticks = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    idle = ticks[3] + ticks[4]
    return (sum(ticks) - idle) / CLOCK_TICKS, sum(ticks) / CLOCK_TICKS


def cpu_pressure() -> float | None:
    """Seconds, since boot, during which some runnable task waited for a CPU
    (the kernel's pressure stall information), or None where it is absent."""
    try:
        line = Path("/proc/pressure/cpu").read_text().split("\n", 1)[0]
        return int(line.rsplit("total=", 1)[1]) / 1e6
    except (OSError, IndexError, ValueError):
        return None


@dataclass
class Run:
    workers: int
    count: int
    size: int
    accepted: int = 0
    refused: int = 0
    wall: float = 0.0
    upload_phase: float = 0.0
    latencies: list[float] = field(default_factory=list)
    phases: dict[str, list[float]] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)
    machine_busy: float = 0.0
    cpu_window: float = 0.0
    cpu_waited: float | None = None
    states: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def throughput(self) -> float:
        return self.accepted / self.wall if self.wall else 0.0


def one_run(
    stack: Stack,
    front_port: int,
    token: str,
    prefix: str,
    args,
    workers: int,
    payload: bytes,
    deadline: float,
) -> Run:
    import psycopg

    run = Run(workers=workers, count=args.count, size=args.size)
    concurrency = args.concurrency or args.count
    paths = {}
    for n in range(args.count):
        distro = f"{prefix}-{n:03d}"
        paths[distro] = stack.work / f"{distro}.tar.gz"
        bundle(paths[distro], distro, args.size * MiB, payload)
    total_bytes = sum(p.stat().st_size for p in paths.values())

    started = [stack.worker(concurrency=1, name=f"{prefix}-worker-{k}") for k in range(workers)]
    groups = {
        "workers": [p.popen.pid for p in started],
        "gunicorn": [p.popen.pid for p in stack.processes if p.name == "web"],
        "nginx": [p.popen.pid for p in stack.processes if p.name == "front"],
        "moto S3": [p.popen.pid for p in stack.processes if p.name == "s3"],
        "redis": [stack.redis.process.pid] if stack.redis else [],
    }
    say(
        f"run {prefix}: {workers} Celery workers; uploading {args.count} x {args.size} MB "
        f"through nginx, {concurrency} at once"
    )
    cpu_before, machine_before, waited_before = group_cpu(groups), machine_cpu(), cpu_pressure()
    self_before = time.process_time()
    began = time.time()
    left = max(1.0, deadline - time.monotonic())
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        results = list(
            pool.map(lambda item: upload(front_port, token, *item, timeout=left), paths.items())
        )
    run.upload_phase = time.time() - began
    refused = [r for r in results if r["status"] != 201]
    ids = {r["body"]["id"]: r for r in results if r["status"] == 201}
    run.accepted, run.refused = len(ids), len(refused)

    with psycopg.connect(stack.env["DATABASE_URL"], autocommit=True) as db:
        slug_like = f"{prefix}-%"

        def decided():
            for process in started:
                process.check_alive()
            if time.monotonic() > deadline:
                raise TimeoutError("the run's time is up")
            rows = db.execute(
                "SELECT count(*) FROM releases_submission s "
                "JOIN releases_distro d ON d.id = s.distro_id "
                "WHERE d.slug LIKE %s AND s.state IN ('passed', 'failed')",
                [slug_like],
            ).fetchone()[0]
            return rows >= len(ids)

        try:
            wait_for(decided, max(1.0, deadline - time.monotonic()), 0.2, what="every verdict")
        except TimeoutError:
            run.problems.append("time-out: not every upload got its verdict within --timeout")
        cpu_after, machine_after, waited_after = group_cpu(groups), machine_cpu(), cpu_pressure()
        self_after = time.process_time()
        run.cpu_window = time.time() - began
        rows = db.execute(
            "SELECT s.id, d.slug, s.state, extract(epoch FROM s.created_at), "
            "extract(epoch FROM s.verification_started_at), extract(epoch FROM s.verified_at) "
            "FROM releases_submission s JOIN releases_distro d ON d.id = s.distro_id "
            "WHERE d.slug LIKE %s",
            [slug_like],
        ).fetchall()
        verdict_events = dict(
            db.execute(
                "SELECT object_id, count(*) FROM releases_auditevent "
                "WHERE verb = 'submission.verified' GROUP BY object_id"
            ).fetchall()
        )
    for process in started:
        process.stop()
        stack.processes.remove(process)

    verified = [float(row[5]) for row in rows if row[5] is not None]
    run.wall = (max(verified) if verified else time.time()) - began
    if waited_before is not None and waited_after is not None:
        run.cpu_waited = waited_after - waited_before
    run.cpu = {name: cpu_after[name] - cpu_before[name] for name in groups if groups[name]} | {
        "this script (the clients)": self_after - self_before
    }
    busy = machine_after[0] - machine_before[0]
    run.machine_busy = busy / max(1e-9, machine_after[1] - machine_before[1])
    run.cpu["everything else (PostgreSQL, other users)"] = max(0.0, busy - sum(run.cpu.values()))

    by_distro: dict[str, list] = {}
    for row in rows:
        by_distro.setdefault(row[1], []).append(row)
    run.problems += [f"upload {r['distro']}: HTTP {r['status']} {r['body']}" for r in refused]
    for distro in paths:
        found = by_distro.get(distro, [])
        if len(found) != 1:
            run.problems.append(f"{distro}: {len(found)} submissions (expected exactly 1)")
    for pk, distro, state, *_ in rows:
        if state not in ("passed", "failed"):
            run.problems.append(f"submission {pk} ({distro}) has no verdict: {state}")
        elif verdict_events.get(str(pk)) != 1:
            run.problems.append(f"submission {pk} has {verdict_events.get(str(pk), 0)} verdicts")
    run.states = {s: sum(1 for row in rows if row[2] == s) for s in sorted({r[2] for r in rows})}
    run.phases = {"upload (until stored)": [], "in the queue": [], "verifying": []}
    for pk, _, _, created, begun, done in rows:
        if pk not in ids or done is None:
            continue
        start = ids[pk]["started"]
        run.latencies.append(float(done) - start)
        run.phases["upload (until stored)"].append(float(created) - start)
        if begun is not None:
            run.phases["in the queue"].append(float(begun) - float(created))
            run.phases["verifying"].append(float(done) - float(begun))
    for path in paths.values():
        path.unlink()
    report(run, total_bytes, concurrency, results)
    return run


def report(run: Run, total_bytes: int, concurrency: int, results: list[dict]) -> None:
    responses = [r["answered"] - r["started"] for r in results]
    print()
    print(
        f"== {run.workers} Celery workers: {run.count} x {run.size} MB "
        f"({total_bytes / MiB:.0f} MiB on the wire), {concurrency} at once, through nginx"
    )
    print(f"accepted:        {run.accepted} (HTTP 201), refused {run.refused}; states {run.states}")
    print(
        f"upload phase:    {run.upload_phase:.1f} s ({total_bytes / MiB / run.upload_phase:.1f} "
        f"MiB/s); response p50 {statistics.median(responses):.1f} s, max {max(responses):.1f} s"
    )
    print(
        f"throughput:      {run.throughput:.2f} uploads/s "
        f"({run.accepted} verdicts {run.wall:.1f} s after the first upload began)"
    )
    if run.latencies:
        lat = run.latencies
        print(
            f"upload->verdict: p50 {percentile(lat, 50):.1f} s, p95 {percentile(lat, 95):.1f} s, "
            f"p99 {percentile(lat, 99):.1f} s, max {max(lat):.1f} s"
        )
        print(
            "  of which:      "
            + "; ".join(
                f"{name} p50 {statistics.median(v):.2f} s, mean {statistics.fmean(v):.2f} s"
                for name, v in run.phases.items()
                if v
            )
        )
    wall = run.cpu_window
    waited = (
        f"; some task waited for a CPU {run.cpu_waited / wall:.0%} of the time"
        if run.cpu_waited is not None
        else ""
    )
    print(
        f"CPU over {wall:.1f} s ({CORES} cores = {CORES * wall:.0f} CPU-s available; "
        f"machine busy {run.machine_busy:.0%}{waited}):"
    )
    for name, seconds in run.cpu.items():
        extra = ""
        if name == "workers":
            extra = f", {seconds / (wall * run.workers):.0%} busy per worker process"
        print(
            f"  {name:<44} {seconds:7.1f} CPU-s ({seconds / (CORES * wall):4.0%} of the machine{extra})"
        )
    print(
        "check:           "
        + (
            "every upload has exactly one submission with one verdict"
            if not run.problems
            else f"{len(run.problems)} PROBLEMS"
        )
    )
    for problem in run.problems[:20]:
        print(f"  - {problem}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=50, help="uploads per run (at most 200)")
    parser.add_argument("--size", type=int, default=20, help="MB per bundle (at most 200)")
    parser.add_argument("--concurrency", type=int, default=0, help="at once (default: all)")
    parser.add_argument("--timeout", type=float, default=900, help="seconds for everything")
    parser.add_argument("--workers", type=int, help="one run with N Celery worker processes")
    parser.add_argument(
        "--compare",
        help="runs with these worker counts, in order (default without --workers: 2,4)",
    )
    args = parser.parse_args()
    if not (1 <= args.count <= 200 and 1 <= args.size <= 200):
        parser.error("--count must be 1..200 and --size 1..200")
    if not 0 < args.timeout <= 3600:
        parser.error("--timeout must be at most 3600 seconds")
    if args.workers is not None and args.compare:
        parser.error("--workers and --compare exclude each other")
    if args.workers is not None:
        plan = [args.workers]
    else:
        try:
            plan = [int(n) for n in (args.compare or "2,4").split(",")]
        except ValueError:
            parser.error("--compare takes worker counts separated by commas, e.g. 2,4")
    if not (1 <= len(plan) <= 3 and all(1 <= n <= 8 for n in plan)):
        parser.error("at most 3 runs, each with 1..8 workers")
    deadline = time.monotonic() + args.timeout

    with Stack("services", own_redis=True) as stack:
        prefixes = [f"r{i}w{n}" for i, n in enumerate(plan)]
        slugs = [f"{p}-{n:03d}" for p in prefixes for n in range(args.count)]
        setup = stack.manage("shell", "-c", SETUP.replace("SLUGS", repr(json.dumps(slugs))))
        token = json.loads(setup.strip().splitlines()[-1])["token"]
        web = stack.web(workers=2, threads=8)
        front = stack.front(web)
        front_port = int(front.rsplit(":", 1)[1])
        say(
            f"scratch database {stack.database}, redis :{stack.redis.port}, "
            f"S3 {stack.s3_endpoint}, gunicorn {web}, front nginx {front}"
        )
        warm_up(front_port, token, prefixes[0])
        payload = secrets.token_bytes(args.size * MiB)
        runs = []
        for prefix, workers in zip(prefixes, plan, strict=True):
            runs.append(one_run(stack, front_port, token, prefix, args, workers, payload, deadline))
            if runs[-1].problems:
                break

    print()
    for run in runs:
        lat = run.latencies or [float("nan")]
        other = run.cpu.get("everything else (PostgreSQL, other users)", 0.0)
        print(
            f"{run.workers} workers: {run.throughput:.2f} uploads/s, upload->verdict "
            f"p50 {percentile(lat, 50):.1f} s, p95 {percentile(lat, 95):.1f} s, "
            f"p99 {percentile(lat, 99):.1f} s; workers' CPU "
            f"{run.cpu.get('workers', 0.0) / (run.cpu_window * run.workers):.0%} busy each, "
            f"machine {run.machine_busy:.0%} busy ({other / (CORES * run.cpu_window):.0%} "
            "not this benchmark's)"
        )
    # Runs with the same worker count (e.g. --compare 2,4,2, against a drift in
    # the machine's other load) count with their mean.
    by_workers: dict[int, list[float]] = {}
    for run in runs:
        by_workers.setdefault(run.workers, []).append(run.throughput)
    if len(by_workers) >= 2:
        few, many = min(by_workers), max(by_workers)
        low, high = statistics.fmean(by_workers[few]), statistics.fmean(by_workers[many])
        if low:
            print(f"scale factor ({many} vs {few} workers): {high / low:.2f}")
    failed = any(run.problems for run in runs) or len(runs) < len(plan)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

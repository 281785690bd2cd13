#!/usr/bin/env python3
"""Benchmark upload-to-verdict through the API against copy-into-storage + `tar -tzvf`.

Not a test: it prints figures. For each configuration (the embedded defaults:
SQLite, filesystem broker, local storage; and the services: a scratch
PostgreSQL database, Redis, S3 on a moto server) it starts gunicorn and one
Celery worker on loopback, sets up a project, a release whose pre-release is a
synthetic ConVirt tarball (bench_verify.py's, indexed before the clock starts),
an approved ubuntu maintainer and an API token, then times:

  * upload-to-verdict: POST the revised source package (the same size) to
    /api/v1/.../submissions/ as a streamed multipart body, then poll
    GET /api/v1/submissions/<id>/ every 50 ms until the verdict is in;
  * the yardstick: copy the same file into the same storage (a file copy into
    the data folder; an S3 upload to the same moto server) plus `tar -tzvf` of
    what was stored (for S3, streamed back from the bucket into tar).

    python bench/bench_upload.py                       # 200 MB, both configurations
    python bench/bench_upload.py --backend embedded    # one configuration
    python bench/bench_upload.py --size 50M --repeat 2
    python bench/bench_upload.py --backend embedded --polling-interval 0.1   # a proposed setting
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import json
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_verify import MiB, build_tarball, parse_size  # noqa: E402
from stack import Stack, postgres_problem, redis_problem  # noqa: E402

SETUP = """
import json, os
from django.contrib.auth import get_user_model
from accounts.services import api_token_create
from releases.models import Artifact, Distro, Maintainership, Project, Release
from releases.artifacts import artifact_create
from releases.prereleases.services import release_index

User = get_user_model()
packager = User.objects.create_user("bench-ubuntu", "ubuntu@example.org", "bench-password")
project = Project.objects.create(slug="convirt", name="ConVirt")
ubuntu = Distro.objects.create(slug="ubuntu", name="Ubuntu")
Maintainership.objects.create(user=packager, project=project, distro=ubuntu, state="approved")
with open(os.environ["BENCH_PRERELEASE"], "rb") as f:
    prerelease = artifact_create(kind=Artifact.Kind.PRERELEASE, content=f,
                                 original_name="convirt-2.0.tar.gz")
release = Release.objects.create(project=project, version="2.0", state="prerelease",
                                 prerelease=prerelease)
release_index(release=release)
_, key = api_token_create(user=packager, name="bench")
print(json.dumps({"token": key}))
"""


PHASES = """
from releases.models import Submission
for s in Submission.objects.order_by("pk"):
    queued = (s.verification_started_at - s.created_at).total_seconds()
    verify = (s.verified_at - s.verification_started_at).total_seconds()
    print(f"submission {s.pk}: row committed -> worker started {queued:.2f} s, "
          f"worker verified in {verify:.2f} s")
"""


def upload(base_url: str, token: str, path: Path) -> dict:
    """POST the file as multipart/form-data, streamed in 1 MiB chunks with a known length."""
    boundary = uuid.uuid4().hex
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="bundle"; '
        f'filename="{path.name}"\r\nContent-Type: application/gzip\r\n\r\n'
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    url = urlparse(base_url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=900)
    conn.putrequest("POST", "/api/v1/projects/convirt/releases/2.0/distros/ubuntu/submissions/")
    conn.putheader("Authorization", f"Token {token}")
    conn.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
    conn.putheader("Content-Length", str(len(head) + path.stat().st_size + len(tail)))
    conn.endheaders()
    conn.send(head)
    with open(path, "rb") as f:
        while chunk := f.read(MiB):
            conn.send(chunk)
    conn.send(tail)
    response = conn.getresponse()
    body = json.loads(response.read())
    conn.close()
    if response.status != 201:
        raise SystemExit(f"upload answered {response.status}: {body}")
    return body


def submission(base_url: str, token: str, submission_id: int) -> dict:
    url = urlparse(base_url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    conn.request(
        "GET", f"/api/v1/submissions/{submission_id}/", headers={"Authorization": f"Token {token}"}
    )
    body = json.loads(conn.getresponse().read())
    conn.close()
    return body


def upload_to_verdict(base_url: str, token: str, path: Path) -> tuple[float, float, dict]:
    started = time.perf_counter()
    created = upload(base_url, token, path)
    uploaded = time.perf_counter() - started
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        state = submission(base_url, token, created["id"])
        if state["state"] in {"passed", "failed"}:
            return uploaded, time.perf_counter() - started, state
        time.sleep(0.05)
    raise SystemExit(f"no verdict on submission {created['id']} within 900 s")


def yardstick(stack: Stack, path: Path) -> float:
    """Copy the file into the storage, then `tar -tzvf` what was stored."""
    started = time.perf_counter()
    if stack.backend == "embedded":
        stored = stack.data_dir / "uploads" / "yardstick" / path.name
        stored.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, stored)
        subprocess.run(["tar", "-tzvf", str(stored)], stdout=subprocess.DEVNULL, check=True)
        elapsed = time.perf_counter() - started
        stored.unlink()
        return elapsed
    client = stack.s3_client()
    client.upload_file(str(path), "bench-uploads", "yardstick.tar.gz")
    body = client.get_object(Bucket="bench-uploads", Key="yardstick.tar.gz")["Body"]
    tar = subprocess.Popen(["tar", "-tzvf", "-"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    for chunk in body.iter_chunks(MiB):
        tar.stdin.write(chunk)
    tar.stdin.close()
    if tar.wait():
        raise SystemExit("tar -tzvf failed on the stored copy")
    elapsed = time.perf_counter() - started
    client.delete_object(Bucket="bench-uploads", Key="yardstick.tar.gz")
    return elapsed


def bench_backend(
    backend: str, prerelease: Path, bundle: Path, repeat: int, polling_interval: float | None
) -> dict:
    with Stack(backend, extra_env={"BENCH_PRERELEASE": str(prerelease)}) as stack:
        t0 = time.perf_counter()
        token = json.loads(stack.python(SETUP).strip().splitlines()[-1])["token"]
        poll = f"; worker polling every {polling_interval} s" if polling_interval else ""
        print(f"\n== {backend}: {stack.describe()}{poll}")
        print(f"setup (store + index the pre-release): {time.perf_counter() - t0:.1f} s")
        base_url = stack.web(workers=2)
        stack.worker(concurrency=1, polling_interval=polling_interval)
        runs, sticks = [], []
        for number in range(repeat):
            # Different bytes each time (the same bytes would be recognised as a
            # re-upload): a second gzip member of zeros, after tar's end marker.
            copy = bundle.with_name(f"convirt-2.0-ubuntu-{number}.tar.gz")
            with open(bundle, "rb") as src, open(copy, "wb") as dst:
                shutil.copyfileobj(src, dst, MiB)
                if number:
                    dst.write(gzip.compress(bytes(512 * number), mtime=0))
            uploaded, total, state = upload_to_verdict(base_url, token, copy)
            runs.append((total, uploaded, state))
            sticks.append(yardstick(stack, copy))
            copy.unlink()
        total, uploaded, state = min(runs, key=lambda r: r[0])
        print(stack.python(PHASES).rstrip())
        stick = min(sticks)
        print(
            f"upload-to-verdict: {total:6.2f} s  (upload answered 201 after {uploaded:.2f} s; "
            f"verdict {state['state']}, {len(state['findings'])} findings)"
        )
        print(f"yardstick (copy into storage + tar -tzvf): {stick:6.2f} s")
        print(f"ratio: {total / stick:.2f}   (target <= 2.0)")
        return {"backend": backend, "total": total, "upload": uploaded, "yardstick": stick}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--size", default="200M", help="compressed size of the bundle (default 200M)")
    p.add_argument("--backend", action="append", choices=["embedded", "services"])
    p.add_argument("--repeat", type=int, default=1, help="uploads per configuration; best kept")
    p.add_argument(
        "--polling-interval",
        type=float,
        help="broker polling interval for the worker (a proposed setting; default: the portal's)",
    )
    args = p.parse_args()
    backends = args.backend or ["embedded", "services"]
    if "services" in backends and not args.backend and (postgres_problem() or redis_problem()):
        print("services: PostgreSQL or Redis does not answer; measuring the embedded defaults only")
        backends = ["embedded"]
    workdir = Path(tempfile.mkdtemp(prefix="bench-upload-"))
    try:
        target = parse_size(args.size)
        prerelease = workdir / "convirt-2.0.tar.gz"
        build_tarball(prerelease, target)
        bundle = workdir / "convirt-2.0-ubuntu.tar.gz"
        shutil.copyfile(prerelease, bundle)  # the revised source package: same size and shape
        print(
            f"bundle: {bundle.stat().st_size / MiB:.0f} MiB compressed; python "
            f"{sys.version.split()[0]}"
        )
        results = [
            bench_backend(b, prerelease, bundle, args.repeat, args.polling_interval)
            for b in backends
        ]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print("\nbackend    upload-to-verdict  yardstick  ratio")
    for r in results:
        print(
            f"{r['backend']:<10} {r['total']:>14.2f} s {r['yardstick']:>8.2f} s "
            f"{r['total'] / r['yardstick']:>6.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

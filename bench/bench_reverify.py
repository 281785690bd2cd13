#!/usr/bin/env python3
"""Benchmark re-verification: a policy change judged again on N live submissions.

Not a test: it prints figures. On the services configuration (a scratch
PostgreSQL database, Redis, S3 on a moto server) it makes one open release
with N distros, each with an approved maintainer and a passed submission (the
demo's ubuntu bundle, under that distro's name, stored in the bucket), starts
Celery workers, then saves a new policy version that adds a prerequisite no
bundle requires, with re-verification asked for, as the staff's editor does.
It times the save (a task per submission queued) and the time until every
submission has its new verdict, and prints submissions per second and how
many verdicts changed (all of them should: each now misses the prerequisite).

    python bench/bench_reverify.py                  # 50 submissions, 1 worker of 2 processes
    python bench/bench_reverify.py --count 100 --workers 2 --concurrency 1
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from stack import Stack  # noqa: E402

SETUP = """
import io
from django.contrib.auth import get_user_model
from demo import builders as demo
from releases.artifacts import artifact_create
from releases.models import Artifact, Distro, Maintainership, Project, Release, Submission
from releases.policies import current_version

N = {count}
User = get_user_model()
User.objects.create_user("staff", "staff@example.org", "x", is_staff=True)
project = Project.objects.create(slug="convirt", name="ConVirt")
current_version(project)
prerelease = artifact_create(kind="prerelease", content=io.BytesIO(demo.prerelease_bytes("2.0")))
release = Release.objects.create(project=project, version="2.0", state="prerelease",
                                 prerelease=prerelease)
for n in range(N):
    slug = f"distro{{n:03d}}"
    distro = Distro.objects.create(slug=slug, name=f"Distro {{n:03d}}")
    user = User.objects.create_user(f"packager{{n:03d}}", f"p{{n}}@example.org", "x")
    Maintainership.objects.create(user=user, project=project, distro=distro, state="approved")
    members = [(path.replace("ubuntu", slug), data, mode)
               for path, data, mode in demo.ubuntu_bundle_members()]
    out = io.BytesIO()
    demo.build_distro_bundle(out, members)
    out.seek(0)
    bundle = artifact_create(kind="submission", content=out, original_name=f"{{slug}}.tar.gz")
    Submission.objects.create(release=release, distro=distro, submitter=user, artifact=bundle,
                              state="passed", progress=100)
print(Submission.objects.filter(state="passed").count())
"""

RUN = """
import json, time
from django.contrib.auth import get_user_model
from releases.models import Project, ReverificationItem, Submission
from releases.policies import current_version, shipped_text
from releases.verification.services import policy_version_save

project = Project.objects.get(slug="convirt")
stricter = shipped_text("convirt").replace(
    '[[prereqs]]\\nname = "vte"',
    '[[prereqs]]\\nname = "libfrobnicate"\\naliases = ["libfrobnicate"]\\n\\n[[prereqs]]\\nname = "vte"')
start = time.monotonic()
version, reverification = policy_version_save(
    project=project, text=stricter, note="bench", author=get_user_model().objects.get(username="staff"),
    base_number=current_version(project).number, reverify=True)
queued = time.monotonic() - start
items = ReverificationItem.objects.filter(reverification=reverification)
total = items.count()
deadline = start + {timeout}
first = None
while time.monotonic() < deadline:
    done = items.filter(done_at__isnull=False).count()
    if done and first is None:
        first = time.monotonic() - start
    if done == total:
        break
    time.sleep(0.05)
elapsed = time.monotonic() - start
changed = items.exclude(verdict_after="passed").exclude(verdict_after="").count()
print(json.dumps({{"total": total, "done": items.filter(done_at__isnull=False).count(),
                  "queued_s": queued, "first_s": first, "elapsed_s": elapsed, "changed": changed,
                  "failed_now": Submission.objects.filter(state="failed").count()}}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=50, help="live submissions (at most 500)")
    parser.add_argument("--workers", type=int, default=1, help="Celery worker processes")
    parser.add_argument("--concurrency", type=int, default=2, help="pool size of each worker")
    parser.add_argument("--timeout", type=float, default=600, help="seconds before giving up")
    args = parser.parse_args()
    count = max(1, min(args.count, 500))
    with Stack("services", own_redis=True) as stack:
        print(f"configuration: {stack.describe()}; {count} live submissions", flush=True)
        made = int(stack.python(SETUP.format(count=count)).strip())
        for n in range(args.workers):
            stack.worker(concurrency=args.concurrency, name=f"worker{n}")
        print(f"{made} passed submissions stored; {args.workers} worker(s) x "
              f"{args.concurrency} processes ready", flush=True)
        started = time.monotonic()
        figures = json.loads(
            stack.python(RUN.format(timeout=args.timeout), timeout=args.timeout + 60).strip()
        )
        wall = time.monotonic() - started
    done, total = figures["done"], figures["total"]
    print(f"save + {total} tasks queued: {figures['queued_s']:.2f} s")
    print(f"first new verdict after:   {figures['first_s'] or float('nan'):.2f} s")
    print(f"all {done} of {total} judged again in {figures['elapsed_s']:.1f} s "
          f"({done / figures['elapsed_s']:.1f} submissions/s, "
          f"{1000 * figures['elapsed_s'] / max(done, 1):.0f} ms each)")
    print(f"verdicts changed: {figures['changed']} (failed now: {figures['failed_now']})")
    print(f"(script wall time for the run, process start included: {wall:.1f} s)")
    if done != total:
        raise SystemExit(f"only {done} of {total} were judged again within {args.timeout} s")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Benchmark the staff dashboard of a release with 200 distros: queries and time.

Not a test: it prints figures. On a scratch portal (SQLite; then PostgreSQL
when it answers) it builds one release with 200 distros, each with an approved
maintainer, a pre-release invitation, and a mix of what a real release shows
(downloads, submissions passed / failed / accepted / verifying / none, package
links in every health, reminders). Then, in one process with Django's test
client logged in as staff, it GETs /staff/releases/<id>/ --runs times and
prints the queries per request and the p50 / p90 time, beside the yardstick:
the same client on /staff/ (the releases list, a near-empty staff page), which
is the floor of a Django page on this machine (middleware, session, user).

    python bench/bench_dashboard.py
    python bench/bench_dashboard.py --distros 500 --runs 100 --no-postgres
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from stack import Stack, postgres_problem  # noqa: E402

DATA = """
from django.contrib.auth import get_user_model
from django.utils import timezone
from releases.models import (Artifact, Distro, Maintainership, PackageLink, PrereleaseDownload,
                             PrereleaseInvitation, Project, Release, Submission)
from releases.models import Reminder

N = {distros}
User = get_user_model()
User.objects.create_user("staff", "staff@example.org", "x", is_staff=True)
project = Project.objects.create(slug="convirt", name="ConVirt")
prerelease = Artifact.objects.create(kind="prerelease", key="prerelease/x", size=1, sha256="1" * 64)
release = Release.objects.create(project=project, version="2.0", state="prerelease",
                                 prerelease=prerelease,
                                 submission_deadline=timezone.now() + timezone.timedelta(days=2))
distros = Distro.objects.bulk_create(Distro(slug=f"distro{{n:03d}}", name=f"Distro {{n:03d}}")
                                     for n in range(N))
people = User.objects.bulk_create(User(username=f"packager{{n:03d}}", email=f"p{{n}}@example.org")
                                  for n in range(N + N // 4))
claims = [Maintainership(user=people[n], project=project, distro=distros[n], state="approved")
          for n in range(N)]
claims += [Maintainership(user=people[N + n], project=project, distro=distros[n * 4],
                          state="approved") for n in range(N // 4)]
Maintainership.objects.bulk_create(claims)
PrereleaseInvitation.objects.bulk_create(
    PrereleaseInvitation(release=release, user=people[n], artifact=prerelease) for n in range(N))
PrereleaseDownload.objects.bulk_create(
    PrereleaseDownload(release=release, user=people[n], artifact=prerelease)
    for n in range(0, N, 2))
states = ["passed", "failed", "accepted", "verifying", "received", None]
bundles = Artifact.objects.bulk_create(
    Artifact(kind="submission", key=f"submission/{{n}}", size=1, sha256=f"{{n:064x}}")
    for n in range(N))
Submission.objects.bulk_create(
    Submission(release=release, distro=distros[n], submitter=people[n], artifact=bundles[n],
               state=states[n % len(states)], progress=40)
    for n in range(N) if states[n % len(states)])
healths = ["ok", "broken", "unchecked"]
PackageLink.objects.bulk_create(
    PackageLink(release=release, distro=distros[n], url=f"https://pkgs.example.org/{{n}}.deb",
                health=healths[n % 3])
    for n in range(0, N, 2))
Reminder.objects.bulk_create(Reminder(release=release, distro=distros[n]) for n in range(0, N, 7))
print("RELEASE", release.pk)
"""

MEASURE = """
import statistics, time
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

client = Client(SERVER_NAME="127.0.0.1")
client.force_login(get_user_model().objects.get(username="staff"))

def measure(url):
    for _ in range(3):
        assert client.get(url).status_code == 200
    times, queries = [], 0
    for _ in range({runs}):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(url)
            times.append(time.perf_counter() - started)
        assert response.status_code == 200, response.status_code
        queries = len(captured)
    times.sort()
    return queries, statistics.median(times), times[int(len(times) * 0.9)], len(response.content)

for name, url in (("dashboard", "/staff/releases/{release}/"), ("yardstick", "/staff/")):
    q, p50, p90, size = measure(url)
    print(f"RESULT {{name}} {{q}} {{p50:.5f}} {{p90:.5f}} {{size}}")
"""


def run(stack: Stack, distros: int, runs: int) -> dict:
    out = stack.python(DATA.format(distros=distros))
    release = next(line.split()[1] for line in out.splitlines() if line.startswith("RELEASE"))
    results = {}
    for line in stack.python(MEASURE.format(runs=runs, release=release)).splitlines():
        if line.startswith("RESULT "):
            _, name, queries, p50, p90, size = line.split()
            results[name] = (int(queries), float(p50), float(p90), int(size))
    return results


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--distros", type=int, default=200)
    p.add_argument("--runs", type=int, default=50)
    p.add_argument("--no-postgres", action="store_true")
    args = p.parse_args()
    backends = ["embedded"]
    if not args.no_postgres and not postgres_problem():
        backends.append("services")
    print(f"dashboard of one release with {args.distros} distros, {args.runs} requests each")
    print("database    page        queries   p50 ms   p90 ms   html KiB   p50 / yardstick")
    for backend in backends:
        with Stack(backend) as stack:
            found = run(stack, args.distros, args.runs)
        database = "SQLite" if backend == "embedded" else "PostgreSQL"
        floor = found["yardstick"][1]
        for name, (queries, p50, p90, size) in found.items():
            print(
                f"{database:<11} {name:<10} {queries:>8} {p50 * 1000:>8.1f} {p90 * 1000:>8.1f} "
                f"{size / 1024:>10.0f} {p50 / floor:>12.1f}"
            )
    print("targets: dashboard <= 10 queries and p50 < 100 ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())

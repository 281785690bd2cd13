#!/usr/bin/env python3
"""Benchmark the public download page: served by the portal vs nginx, and regenerated.

Not a test: it prints figures. On a scratch portal (embedded defaults: SQLite
and local storage) it builds two projects: `convirt`, a typical page (3
releases x 10 distros), and `big`, 100 releases x 50 distros. Then:

  * regeneration: `public_page_regenerate` of `big` (render from the database
    and write both files atomically), timed in one process, best and median
    of --regen-runs; also on PostgreSQL when it answers (--no-postgres skips);
  * serving: `wrk -t2 -c64 -d{seconds}s --latency` against /downloads/<project>/
    served by the portal's own stack (gunicorn, 3 workers as in the
    Dockerfile, through Django's view) and by nginx serving the same file
    from the same folder, with as many worker processes as CPUs; requests per
    second, p99, and the ratio portal/nginx. Beside them, the front server as
    deployed (deploy/nginx/ rendered for local storage, in front of the same
    gunicorn), printed as `front/nginx ratio: X`. For comparison, the same bytes
    as a static file served by WhiteNoise in the same gunicorn.

Needs wrk and nginx from Debian:

    apt-get install -y wrk nginx-light
    python bench/bench_public_page.py
    python bench/bench_public_page.py --seconds 5 --regen-runs 3 --no-postgres
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from stack import Process, Stack, free_port, port_answers, postgres_problem, wait_for  # noqa: E402

DATA = """
import hashlib
from django.contrib.auth import get_user_model
from django.utils import timezone
from accounts.models import Profile
from releases.models import Artifact, Distro, Maintainership, PackageLink, Project, Release, Submission

def build(slug, name, n_releases, n_distros):
    project = Project.objects.create(slug=slug, name=name, homepage="https://convirt.example.org/")
    distros = [Distro.objects.get_or_create(slug=f"d{n:02d}", defaults={"name": f"Distro {n:02d}"})[0]
               for n in range(n_distros)]
    people = []
    for n in range(n_distros):
        user = get_user_model().objects.create_user(f"{slug}-packager-{n}", f"{slug}{n}@example.org")
        Profile.objects.create(user=user, display_name=f"Packager Number {n}")
        people.append(user)
    Maintainership.objects.bulk_create(
        Maintainership(user=people[n], project=project, distro=distros[n], state="approved")
        for n in range(n_distros))
    now = timezone.now()
    tarballs = Artifact.objects.bulk_create(
        Artifact(kind="source_release", storage="public", key=f"{slug}/1.{v}/{slug}-1.{v}.tar.gz",
                 size=40_000_000 + v, sha256=hashlib.sha256(str(v).encode()).hexdigest(),
                 sha512=hashlib.sha512(str(v).encode()).hexdigest())
        for v in range(n_releases))
    releases = Release.objects.bulk_create(
        Release(project=project, version=f"1.{v}", state="released", source_tarball=tarballs[v],
                published_at=now - timezone.timedelta(days=v))
        for v in range(n_releases))
    bundles = Artifact.objects.bulk_create(
        Artifact(kind="submission", key=f"submission/{slug}/{n}", size=1, sha256="0" * 64)
        for n in range(n_releases * n_distros))
    Submission.objects.bulk_create(
        Submission(release=release, distro=distro, submitter=people[d],
                   artifact=bundles[r * n_distros + d], state="accepted")
        for r, release in enumerate(releases) for d, distro in enumerate(distros))
    PackageLink.objects.bulk_create(
        PackageLink(release=release, distro=distro,
                    url=f"https://packages.example.org/{distro.slug}/{slug}_1.{r}-1_all.pkg")
        for r, release in enumerate(releases) for distro in distros)
    return project

build("convirt", "ConVirt", 3, 10)
build("big", "Big", 100, 50)
"""

REGENERATE = """
import statistics, time
from django.db import connection, reset_queries
from django.test.utils import CaptureQueriesContext
from releases.models import Project
from publishing.services import public_page_regenerate

for slug in ("convirt", "big"):
    project = Project.objects.get(slug=slug)
    times = []
    for _ in range({runs}):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            public_page_regenerate(project=project)
            times.append(time.perf_counter() - started)
    print(f"REGEN {{slug}} {{min(times):.4f}} {{statistics.median(times):.4f}} {{len(queries)}}")

# Where the time of the big page goes (best of the runs, each part alone).
import json
from django.template.loader import render_to_string
from publishing import page

project = Project.objects.get(slug="big")
def best(fn):
    spent = []
    for _ in range({runs}):
        started = time.perf_counter()
        result = fn()
        spent.append(time.perf_counter() - started)
    return min(spent), result
t_data, data = best(lambda: page.page_data(project=project))
t_html, _ = best(lambda: render_to_string("public/downloads.html", {{"page": data}}))
t_json, _ = best(lambda: json.dumps(page.json_data(data), indent=2, sort_keys=True))
t_compact, _ = best(lambda: json.dumps(page.json_data(data), sort_keys=True))
print(f"PART page_data {{t_data:.4f}}")
print(f"PART html_template {{t_html:.4f}}")
print(f"PART json_indent2 {{t_json:.4f}}")
print(f"PART json_compact {{t_compact:.4f}}")
"""


def regenerate(stack: Stack, runs: int) -> dict[str, tuple]:
    out = stack.python(REGENERATE.format(runs=runs))
    found = {"parts": {}}
    for line in out.splitlines():
        if line.startswith("REGEN "):
            _, slug, best, median, queries = line.split()
            found[slug] = (float(best), float(median), int(queries))
        elif line.startswith("PART "):
            _, part, spent = line.split()
            found["parts"][part] = float(spent)
    return found


def wrk(url: str, seconds: int) -> tuple[float, float, str]:
    """Requests per second, p99 in ms, and any error line, from `wrk --latency`."""
    subprocess.run(
        ["wrk", "-t2", "-c64", "-d2s", url], capture_output=True, check=True, timeout=60
    )  # warm-up
    result = subprocess.run(
        ["wrk", "-t2", "-c64", f"-d{seconds}s", "--timeout", "10s", "--latency", url],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 60,
    )
    out = result.stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    value, unit = re.search(r"\s99%\s+([\d.]+)(us|ms|s)", out).groups()
    p99 = float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    errors = "; ".join(
        line.strip() for line in out.splitlines() if "Non-2xx" in line or "Socket errors" in line
    )
    return rps, p99, errors


NGINX_CONF = """
{user}
worker_processes {workers};
daemon off;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
  types {{ text/html html; application/json json; }}
  default_type application/octet-stream;
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 100000;
  client_body_temp_path {work}/nginx-body;
  proxy_temp_path {work}/nginx-proxy;
  fastcgi_temp_path {work}/nginx-fastcgi;
  uwsgi_temp_path {work}/nginx-uwsgi;
  scgi_temp_path {work}/nginx-scgi;
  server {{
    listen 127.0.0.1:{port};
    location /downloads/ {{
      alias {public}/;
      index index.html;
      add_header Cache-Control "public, max-age=300";
      add_header X-Content-Type-Options nosniff;
    }}
  }}
}}
"""


def nginx(stack: Stack) -> str:
    port = free_port()
    conf = stack.work / "nginx.conf"
    conf.write_text(
        NGINX_CONF.format(
            user="user root;" if os.geteuid() == 0 else "",
            workers=os.cpu_count() or 1,
            work=stack.work,
            port=port,
            public=stack.data_dir / "public",
        )
    )
    nginx_bin = shutil.which("nginx") or "/usr/sbin/nginx"
    process = Process(
        "nginx",
        [nginx_bin, "-c", str(conf), "-p", str(stack.work)],
        stack.env,
        stack.work / "nginx.log",
    )
    stack.processes.append(process)
    wait_for(lambda: process.check_alive() or port_answers(port), 30, what="nginx")
    return f"http://127.0.0.1:{port}"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--seconds", type=int, default=10, help="wrk duration per run (default 10)")
    p.add_argument("--regen-runs", type=int, default=5)
    p.add_argument("--no-postgres", action="store_true", help="regeneration on SQLite only")
    args = p.parse_args()
    missing = [
        tool
        for tool in ("wrk", "nginx")
        if not (shutil.which(tool) or Path(f"/usr/sbin/{tool}").exists())
    ]
    if missing:
        raise SystemExit(
            f"missing: {', '.join(missing)}. Install Debian's: apt-get install -y wrk nginx-light"
        )
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs")

    rows = []
    with Stack("embedded") as stack:
        t0 = time.perf_counter()
        stack.python(DATA)
        print(
            f"\n== data: convirt (3 releases x 10 distros), big (100 x 50), "
            f"built in {time.perf_counter() - t0:.0f} s"
        )
        regen = {"SQLite": regenerate(stack, args.regen_runs)}
        sizes = {
            slug: (stack.data_dir / "public" / slug / "index.html").stat().st_size
            for slug in ("convirt", "big")
        }
        # The same bytes as a static file that WhiteNoise serves from STATIC_ROOT
        # inside the same gunicorn: the best a Python process does with this page.
        static_copy = stack.data_dir / "staticfiles" / "bench"
        static_copy.mkdir(parents=True, exist_ok=True)
        for slug in ("convirt", "big"):
            page = stack.data_dir / "public" / slug / "index.html"
            shutil.copyfile(page, static_copy / f"{slug}.html")
        portal = stack.web(workers=3)
        static = nginx(stack)
        front = stack.front(portal)
        for slug in ("convirt", "big"):
            mine = wrk(f"{portal}/downloads/{slug}/", args.seconds)
            whitenoise = wrk(f"{portal}/static/bench/{slug}.html", args.seconds)
            deployed = wrk(f"{front}/downloads/{slug}/", args.seconds)
            theirs = wrk(f"{static}/downloads/{slug}/", args.seconds)
            rows.append((slug, sizes[slug], mine, whitenoise, deployed, theirs))

    if not args.no_postgres and not postgres_problem():
        with Stack("services") as stack:
            stack.python(DATA)
            regen["PostgreSQL"] = regenerate(stack, args.regen_runs)

    print("\n== regeneration (render from the database + atomic write of page and JSON)")
    for database, found in regen.items():
        parts = found.pop("parts")
        for slug, (best, median, queries) in found.items():
            target = "   (target < 0.5 s)" if slug == "big" else ""
            print(
                f"{database:<10} {slug:<8} best {best:6.3f} s, median {median:6.3f} s, "
                f"{queries} queries{target}"
            )
        print(f"{'':<10} big, by part: " + ", ".join(f"{k} {v:.3f} s" for k, v in parts.items()))

    print("\n== serving /downloads/<project>/ at 64 connections (wrk -t2 -c64)")
    print("page     size      server                          req/s    p99 ms   / nginx")
    names = (
        "portal: Django view (gunicorn)",
        "same file via WhiteNoise",
        "front nginx (deploy/nginx/)",
        "nginx from disk",
    )
    for slug, size, *servers in rows:
        nginx_rps = servers[-1][0]
        for name, (rps, p99, errors) in zip(names, servers, strict=True):
            target = "   (target >= 0.5)" if name.startswith("portal") else ""
            print(
                f"{slug:<8} {size / 1024:5.0f} KiB {name:<31} {rps:8.0f} {p99:9.1f} "
                f"{rps / nginx_rps:9.3f}{target}"
            )
            if errors:
                print(f"{'':<19} {errors}")
        print(f"{slug:<8} front/nginx ratio: {servers[2][0] / nginx_rps:.2f}   (target >= 0.9)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

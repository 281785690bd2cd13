"""The public download page's data: one plain structure that the HTML page,
downloads.json and the tests all read, made from the database in a fixed
number of queries."""

from __future__ import annotations

import re
from urllib.parse import urljoin

from django.conf import settings
from django.core.files.storage import storages
from django.urls import reverse
from django.utils import timezone

from portal.models import credit_name
from releases.models import PackageLink, Project, Release, Submission

from . import selectors

SAFE_FILENAME = re.compile(r"[^A-Za-z0-9._+~-]+")


def tarball_key(release: Release) -> str:
    slug = release.project.slug
    return f"{slug}/{release.version}/{slug}-{release.version}.tar.gz"


def page_key(project: Project) -> str:
    return f"{project.slug}/index.html"


def json_key(project: Project) -> str:
    return f"{project.slug}/downloads.json"


def public_filename(name: str, fallback: str) -> str:
    """A download name safe in a URL path: the base name, odd characters folded to '_'."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = SAFE_FILENAME.sub("_", base).strip("._")
    return base[:200] or fallback


def _iso(moment) -> str | None:
    return moment.isoformat() if moment else None


def _link_data(link: PackageLink, release: Release) -> dict:
    if link.staged_id:
        name = public_filename(link.staged.original_name, f"package-{link.pk}")
        url = reverse(
            "publishing:staged",
            kwargs={
                "project": release.project.slug,
                "version": release.version,
                "link_id": link.pk,
                "filename": name,
            },
        )
        label, size = name, link.staged.size
        sha256 = link.sha256 or link.staged.sha256
    else:
        url = selectors.safe_http_url(link.url)
        label, size, sha256 = link.url, None, link.sha256
    return {
        "url": url,
        "label": label,
        "staged": bool(link.staged_id),
        "size": size,
        "sha256": sha256 or None,
        "health": link.health,
        "health_label": link.get_health_display(),
        "checked_at": _iso(link.checked_at),
        "check_detail": link.check_detail,
    }


def _source_data(release: Release) -> dict | None:
    artifact = release.source_tarball
    if artifact is None:
        return None
    public = storages["public"]
    key = artifact.key
    sha512 = artifact.sha512 or None
    return {
        "name": key.rsplit("/", 1)[-1],
        "url": public.url(key),
        "size": artifact.size,
        "sha256": artifact.sha256,
        "sha512": sha512,
        "sha256_url": public.url(f"{key}.sha256"),
        "sha512_url": public.url(f"{key}.sha512"),
    }


def _distro_rows(release: Release, maintainers: dict[int, list]) -> list[dict]:
    distros: dict[int, object] = {}
    submissions = {}
    links: dict[int, list] = {}
    for submission in release.live_submissions:
        distros[submission.distro_id] = submission.distro
        submissions[submission.distro_id] = submission
    for link in release.package_links.all():
        distros[link.distro_id] = link.distro
        links.setdefault(link.distro_id, []).append(link)
    rows = []
    for distro_id, distro in sorted(distros.items(), key=lambda item: item[1].slug):
        submission = submissions.get(distro_id)
        accepted = submission is not None and submission.state == Submission.State.ACCEPTED
        people, seen = [], set()
        candidates = ([submission.submitter] if accepted else []) + maintainers.get(distro_id, [])
        for user in candidates:
            if user.pk not in seen:
                seen.add(user.pk)
                people.append(credit_name(user))
        status = submission.state if submission else "none"
        rows.append(
            {
                "slug": distro.slug,
                "name": distro.name,
                "status": status,
                "status_label": selectors.STATUS_LABELS.get(status, "no submission"),
                "in_source_tarball": accepted,
                "packagers": people,
                "credit": selectors.credit_line(distro.name, people),
                "links": [_link_data(link, release) for link in links.get(distro_id, [])],
            }
        )
    return rows


def page_data(*, project: Project) -> dict:
    """Everything the public page shows, current release first."""
    releases = list(selectors.public_releases(project=project))
    for release in releases:
        release.project = project  # saves a query per release
    maintainers = selectors.approved_maintainers(project=project)
    current = next((r for r in releases if r.state == Release.State.RELEASED), None)
    ordered = ([current] if current else []) + [r for r in releases if r is not current]
    items = []
    for release in ordered:
        items.append(
            {
                "version": release.version,
                "state": release.state,
                "current": release is current,
                "withdrawn": release.state == Release.State.WITHDRAWN,
                "withdrawn_reason": release.withdrawn_reason,
                "published_at": _iso(release.published_at),
                "published_on": release.published_at.date().isoformat()
                if release.published_at
                else None,
                "source": _source_data(release),
                "distros": _distro_rows(release, maintainers),
            }
        )
    return {
        "project": {
            "slug": project.slug,
            "name": project.name,
            "homepage": selectors.safe_http_url(project.homepage),
        },
        "generated_at": timezone.now().isoformat(),
        "page_url": reverse("publishing:page", kwargs={"project": project.slug}),
        "feed_url": reverse("publishing:feed", kwargs={"project": project.slug}),
        "json_url": reverse("publishing:json", kwargs={"project": project.slug}),
        "current": items[0] if current else None,
        "older": items[1:] if current else items,
    }


def absolute(url: str | None) -> str | None:
    if not url:
        return url
    return urljoin(settings.SITE_URL + "/", url)


def json_data(data: dict) -> dict:
    """The page's data for scripts: every address absolute."""
    out = {
        "project": data["project"],
        "generated_at": data["generated_at"],
        "page_url": absolute(data["page_url"]),
        "feed_url": absolute(data["feed_url"]),
        "releases": [],
    }
    for release in ([data["current"]] if data["current"] else []) + data["older"]:
        release = dict(release)
        if release["source"]:
            source = dict(release["source"])
            for field in ("url", "sha256_url", "sha512_url"):
                source[field] = absolute(source[field])
            release["source"] = source
        release["distros"] = [
            {**row, "links": [{**link, "url": absolute(link["url"])} for link in row["links"]]}
            for row in release["distros"]
        ]
        release.pop("published_on", None)
        out["releases"].append(release)
    return out

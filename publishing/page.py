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

from portal.timefmt import iso
from releases import publication
from releases.models import PackageLink, Project, Release, Submission
from releases.repositories.selectors import availability

from . import selectors

SAFE_FILENAME = re.compile(r"[^A-Za-z0-9._+~-]+")


# The in-toto predicate the portal writes beside each tarball (services.py). A name,
# the same on every deployment (never built from SITE_URL); each portal serves its
# description at PROVENANCE_DOC_PATH (templates/publishing/provenance_v1.html).
PROVENANCE_PREDICATE_TYPE = "https://release-portal.org/provenance/assembly/v1"
PROVENANCE_DOC_PATH = "/provenance/assembly/v1"


def page_key(project: Project) -> str:
    return f"{project.slug}/index.html"


def json_key(project: Project) -> str:
    return f"{project.slug}/downloads.json"


def public_filename(name: str, fallback: str) -> str:
    """A download name safe in a URL path: the base name, odd characters folded to '_'."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = SAFE_FILENAME.sub("_", base).strip("._")
    return base[:200] or fallback



# What the public learns of a link's check: whether it worked and when, never
# what the checker met on the way (an address, an error from some network).
PUBLIC_HEALTH = {
    PackageLink.Health.OK: ("ok", "available"),
    PackageLink.Health.BROKEN: ("unavailable", "unavailable"),
}


def _link_data(link: dict, project_slug: str, version: str) -> dict:
    if link["staged_id"]:
        name = public_filename(link["staged__original_name"], f"package-{link['id']}")
        url = reverse(
            "publishing:staged",
            kwargs={
                "project": project_slug,
                "version": version,
                "link_id": link["id"],
                "filename": name,
            },
        )
        label, size = name, link["staged__size"]
        sha256 = link["sha256"] or link["staged__sha256"]
    else:
        url = selectors.safe_http_url(link["url"])
        label, size, sha256 = link["url"], None, link["sha256"]
    # Not checked yet: nothing is said until a check has a result.
    health, label_of_health = PUBLIC_HEALTH.get(link["health"], (None, None))
    return {
        "url": url,
        "label": label,
        "staged": bool(link["staged_id"]),
        "size": size,
        "sha256": sha256 or None,
        "health": health,
        "health_label": label_of_health,
        "checked_at": iso(link["checked_at"]) if health else None,
    }


def _source_data(release: dict, public, project_slug: str) -> dict | None:
    """The release's files, as `releases.publication` names them; None when it has
    none to offer (not published, or withdrawn as compromised)."""
    key = release["source_tarball__key"]
    if not key or release["compromised"]:
        return None
    signed_by = release["source_tarball__signed_by"]
    # Signed offline by a release manager: the tarball's .asc only (the portal held no
    # key to sign SHA256SUMS or the attestation with).
    portal_signed = bool(signed_by) and not release.get("offline_signed_by")
    keys = publication.release_keys(project_slug, release["version"])
    return {
        "name": key.rsplit("/", 1)[-1],
        "url": public.url(key),
        "size": release["source_tarball__size"],
        "sha256": release["source_tarball__sha256"],
        "sha512": release["source_tarball__sha512"] or None,
        "sha256_url": public.url(keys["sha256"]),
        "sha512_url": public.url(keys["sha512"]),
        "provenance_url": public.url(keys["provenance"]),
        "sums_url": public.url(keys["sums"]),
        # Signed: the key's fingerprint and the signatures; unsigned: None.
        "signed_by": signed_by or None,
        "signature_url": public.url(keys["signature"]) if signed_by else None,
        "sums_signature_url": public.url(keys["sums_signature"]) if portal_signed else None,
        "attestation_url": public.url(keys["attestation"]) if portal_signed else None,
    }


def _distro_rows(release: dict, rows: selectors.PageRows, project_slug: str) -> list[dict]:
    submissions = rows.submissions.get(release["id"], {})
    links = rows.links.get(release["id"], {})
    out = []
    for distro_id in sorted(submissions.keys() | links.keys(), key=lambda pk: rows.distros[pk][0]):
        slug, name = rows.distros[distro_id]
        state, submitter_id = submissions.get(distro_id, (None, None))
        accepted = state == Submission.State.ACCEPTED
        people, seen = [], set()
        candidates = ([submitter_id] if accepted else []) + rows.maintainers.get(distro_id, [])
        for user_id in candidates:
            if user_id not in seen:
                seen.add(user_id)
                people.append(rows.names[user_id])
        status = state or "none"
        out.append(
            {
                "slug": slug,
                "name": name,
                "status": status,
                "status_label": selectors.STATUS_LABELS.get(status, "no submission"),
                "in_source_tarball": accepted,
                "packagers": people,
                "credit": selectors.credit_line(name, people),
                "links": [
                    _link_data(link, project_slug, release["version"])
                    for link in links.get(distro_id, [])
                    # A compromised release's hosted packages are taken down with it.
                    if not (release["compromised"] and link["staged_id"])
                ],
            }
        )
    return out


def page_data(*, project: Project) -> dict:
    """Everything the public page shows, current release first.

    Read as plain rows, not model instances: the page of a project with a
    hundred releases and fifty distros is built from some ten thousand rows.
    """
    rows = selectors.public_page_rows(project=project)
    public = storages["public"]
    now = timezone.now()
    releases = rows.releases
    current = next((r for r in releases if r["state"] == Release.State.RELEASED), None)
    ordered = ([current] if current else []) + [r for r in releases if r is not current]
    items = []
    for release in ordered:
        published = release["published_at"]
        items.append(
            {
                "version": release["version"],
                "state": release["state"],
                "current": release is current,
                "withdrawn": release["state"] == Release.State.WITHDRAWN,
                "withdrawn_reason": release["withdrawn_reason"],
                "compromised": release["compromised"],
                # What withdrawing did to the files, in the words every page uses.
                "withdraw_consequence": publication.withdrawn_notice(
                    state=release["state"], compromised=release["compromised"]
                ),
                "withdrawn_at": iso(release["withdrawn_at"]),
                "published_at": iso(published),
                "published_on": published.date().isoformat() if published else None,
                "source": _source_data(release, public, project.slug),
                # The tag the pre-release was proved against (repository, commit, tree, summary).
                "source_proof": rows.proofs.get(release["id"]),
                "distros": _distro_rows(release, rows, project.slug),
            }
        )
    signed = next(
        (i["source"]["signed_by"] for i in items if i["source"] and i["source"]["signed_by"]), None
    )
    return {
        "signing": {
            # The key of the newest signed release; KEYS lists it and older ones.
            "fingerprint": signed,
            "keys_url": public.url(publication.BY_ROLE["keys"].key(project.slug, ""))
            if signed
            else None,
            "example": _verify_example(items[0]["source"], project.slug, public)
            if signed and items[0]["source"]
            else None,
        },
        "project": {
            "slug": project.slug,
            "name": project.name,
            "homepage": selectors.safe_http_url(project.homepage),
        },
        "generated_at": now.isoformat(timespec="seconds"),
        "generated_display": now.strftime("%Y-%m-%d %H:%M UTC"),
        "page_url": reverse("publishing:page", kwargs={"project": project.slug}),
        "feed_url": reverse("publishing:feed", kwargs={"project": project.slug}),
        "distros_feed_url": reverse("publishing:distros-feed", kwargs={"project": project.slug}),
        "json_url": reverse("publishing:json", kwargs={"project": project.slug}),
        "current": items[0] if current else None,
        "older": items[1:] if current else items,
        "preparing": rows.preparing,
        # What the distros' own repositories ship, read after publishing.
        "available_in": [
            {
                "label": a.label,
                "url": selectors.safe_http_url(a.url),
                "status": a.status,
                "flagged": a.flagged,
                "reason": a.reason,
            }
            for a in availability(project)
        ]
        if current
        else [],
    }


def _verify_example(source: dict, project_slug: str, public) -> dict:
    """The files to fetch and the names to verify, for the page's one-paste block."""
    name = source["name"]
    keys_url = public.url(publication.BY_ROLE["keys"].key(project_slug, ""))
    return {
        "name": name,
        "asc": f"{name}.asc",
        "sha256": f"{name}.sha256",
        "urls": [
            absolute(url)
            for url in (source["url"], source["signature_url"], source["sha256_url"], keys_url)
        ],
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
        "distros_feed_url": absolute(data["distros_feed_url"]),
        "available_in": [
            {"label": a["label"], "url": a["url"], "status": a["status"]}
            for a in data["available_in"]
        ],
        "keys_url": absolute(data["signing"]["keys_url"]),
        "signing_fingerprint": data["signing"]["fingerprint"],
        "releases": [],
    }
    for release in ([data["current"]] if data["current"] else []) + data["older"]:
        release = dict(release)
        if release["source"]:
            source = dict(release["source"])
            for field in (
                "url",
                "sha256_url",
                "sha512_url",
                "provenance_url",
                "sums_url",
                "signature_url",
                "sums_signature_url",
                "attestation_url",
            ):
                source[field] = absolute(source[field])
            release["source"] = source
        release["distros"] = [
            {**row, "links": [{**link, "url": absolute(link["url"])} for link in row["links"]]}
            for row in release["distros"]
        ]
        release.pop("published_on", None)
        out["releases"].append(release)
    return out

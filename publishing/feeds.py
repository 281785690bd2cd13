"""The Atom feed of a project's releases (RFC 4287), rendered live from the same
data as the public page: each entry links the release on the page and its
source tarball, and credits the packagers; a withdrawal moves the entry's
`updated`, so feed readers show it again."""

from __future__ import annotations

from datetime import datetime

from django.contrib.syndication.views import Feed
from django.shortcuts import get_object_or_404
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed, Enclosure

from releases.models import Project
from releases.repositories.selectors import project_changes

from . import page

MAX_ENTRIES = 50


class PlainTextAtomFeed(Atom1Feed):
    """Atom whose entry summaries are `type="text"` (RFC 4287 3.1.1): what people
    typed (display names, withdraw reasons) is shown as written, never read as
    markup. Django's Atom1Feed declares them `html`, which turns a display name
    like `<a href=...>` into a live link in every feed reader. Titles, names and
    the subtitle are text already."""

    def add_item_elements(self, handler, item):
        super().add_item_elements(handler, {**item, "description": None})
        if item.get("description") is not None:
            handler.addQuickElement("summary", item["description"], {"type": "text"})


class ReleaseFeed(Feed):
    feed_type = PlainTextAtomFeed

    def get_object(self, request, project: str):
        project = get_object_or_404(Project, slug=project)
        # One read of the page's data serves the whole feed.
        project.page = page.page_data(project=project)
        return project

    def title(self, project):
        return f"{project.name} releases"

    def subtitle(self, project):
        return f"Source releases of {project.name} and the distributions that package them."

    def link(self, project):
        return reverse("publishing:page", kwargs={"project": project.slug})

    def feed_url(self, project):
        return reverse("publishing:feed", kwargs={"project": project.slug})

    def author_name(self, project):
        return f"The {project.name} release team"

    def author_link(self, project):
        return project.homepage or None

    def items(self, project):
        data = project.page
        releases = ([data["current"]] if data["current"] else []) + data["older"]
        # Newest change first: a withdrawal brings its release back to the top.
        releases.sort(key=lambda r: r["withdrawn_at"] or r["published_at"] or "", reverse=True)
        return [{**release, "project": project} for release in releases[:MAX_ENTRIES]]

    def item_title(self, release):
        title = f"{release['project'].name} {release['version']}"
        return f"{title} (withdrawn)" if release["withdrawn"] else title

    def item_description(self, release):
        return release_summary(release)

    def item_link(self, release):
        return f"{reverse('publishing:page', kwargs={'project': release['project'].slug})}#v{release['version']}"

    def item_guid(self, release):
        return f"release:{release['project'].slug}:{release['version']}"

    item_guid_is_permalink = False

    def item_enclosures(self, release):
        source = release["source"]
        if not source or release["withdrawn"]:
            return []
        return [Enclosure(page.absolute(source["url"]), str(source["size"]), "application/gzip")]

    def item_author_name(self, release):
        return f"The {release['project'].name} release team"

    def item_pubdate(self, release):
        return _moment(release["published_at"])

    def item_updateddate(self, release):
        return _moment(release["withdrawn_at"] or release["published_at"])


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def release_summary(release: dict) -> str:
    """An entry's summary in sentences: when it came out (or why it was withdrawn),
    the source tarball, and who packaged it for which distro."""
    name = f"{release['project'].name} {release['version']}"
    published = _moment(release["published_at"])
    sentences = []
    if release["withdrawn"]:
        # The news first: a reader sees this entry again because of it.
        withdrawn = _moment(release["withdrawn_at"])
        when = f" on {withdrawn:%Y-%m-%d}" if withdrawn else ""
        reason = release["withdrawn_reason"].strip().rstrip(".")
        sentences.append(f"{name} was withdrawn{when}, because: {reason}.")
        if release["withdraw_consequence"]:
            sentences.append(release["withdraw_consequence"])
        if published:
            sentences.append(f"It had been released on {published:%Y-%m-%d}.")
    else:
        sentences.append(
            f"{name} was released on {published:%Y-%m-%d}." if published else f"{name} is released."
        )
    source = release["source"]
    if source:
        size = filesizeformat(source["size"]).replace("\xa0", " ")
        sentences.append(
            f"The source tarball is {source['name']} ({size}), sha256 {source['sha256']}."
        )
    packaged = [
        f"for {distro['name']} by {_and(distro['packagers'])}"
        for distro in release["distros"]
        if distro["packagers"]
    ]
    if packaged:
        sentences.append(f"It is packaged {_and(packaged)}.")
    return " ".join(sentences)


def _moment(iso: str | None):
    return datetime.fromisoformat(iso) if iso else None


class DistroVersionFeed(Feed):
    """What the distributions ship: one entry per change a branch showed (a new version,
    a new status), newest first; what an upstream follows after publishing."""

    feed_type = PlainTextAtomFeed

    def get_object(self, request, project: str):
        return get_object_or_404(Project, slug=project)

    def title(self, project):
        return f"{project.name} in the distributions"

    def subtitle(self, project):
        return (f"Which version of {project.name} each distribution's branches ship, read from "
                "their own repositories.")

    def link(self, project):
        return reverse("publishing:page", kwargs={"project": project.slug})

    def feed_url(self, project):
        return reverse("publishing:distros-feed", kwargs={"project": project.slug})

    def author_name(self, project):
        return f"The {project.name} release team"

    def items(self, project):
        return list(project_changes(project, limit=MAX_ENTRIES))

    def item_title(self, seen):
        repository = seen.repository
        shown = seen.version or "no package"
        return f"{repository.distro.name} {repository.branch}: {shown} ({seen.status})"

    def item_description(self, seen):
        return seen.reason or f"{seen.repository.distro.name} {seen.repository.branch} ships " \
                              f"{seen.version}, the newest release."

    def item_link(self, seen):
        page = reverse("publishing:page", kwargs={"project": seen.repository.project.slug})
        return f"{page}#seen-{seen.pk}"

    def item_guid(self, seen):
        return f"distro-version-seen-{seen.pk}"

    def item_updateddate(self, seen):
        return seen.seen_at

    def item_pubdate(self, seen):
        return seen.seen_at

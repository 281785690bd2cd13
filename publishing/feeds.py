"""The Atom feed of a project's releases, rendered live from the database."""

from __future__ import annotations

from django.contrib.syndication.views import Feed
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed

from releases.models import Project

from . import selectors


class ReleaseFeed(Feed):
    feed_type = Atom1Feed

    def get_object(self, request, project: str):
        return get_object_or_404(Project, slug=project)

    def title(self, project):
        return f"{project.name} releases"

    def subtitle(self, project):
        return f"Source releases of {project.name} and the distributions that package them."

    def link(self, project):
        return reverse("publishing:page", kwargs={"project": project.slug})

    def feed_url(self, project):
        return reverse("publishing:feed", kwargs={"project": project.slug})

    def items(self, project):
        return (
            selectors.public_releases(project=project)
            .select_related("project")
            .prefetch_related(None)[:50]
        )

    def item_title(self, release):
        title = f"{release.project.name} {release.version}"
        return f"{title} (withdrawn)" if release.state == "withdrawn" else title

    def item_description(self, release):
        if release.state == "withdrawn":
            return f"Withdrawn: {release.withdrawn_reason}"
        if release.source_tarball_id:
            artifact = release.source_tarball
            return f"Source tarball {artifact.size} bytes, sha256 {artifact.sha256}."
        return f"{release.project.name} {release.version} released."

    def item_link(self, release):
        page = reverse("publishing:page", kwargs={"project": release.project.slug})
        return f"{page}#v{release.version}"

    def item_guid(self, release):
        return f"release:{release.project.slug}:{release.version}"

    item_guid_is_permalink = False

    def item_pubdate(self, release):
        return release.published_at or release.created_at

    def item_updateddate(self, release):
        return release.published_at or release.created_at

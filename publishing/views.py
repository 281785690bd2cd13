"""Serving what the public reads: the stored page, its JSON, the published files.

Behind the front server (``FRONT_SERVER=nginx``) the view authorises and nginx
sends the bytes (portal/sendfile.py). Otherwise local storage streams the
stored file, and any other backend (S3, a CDN in front of it) gets a
redirect to the object's address.
"""

from __future__ import annotations

import contextlib

from django.core.files.storage import storages
from django.http import FileResponse, Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.utils.http import http_date
from django.views.decorators.http import require_safe

from portal.sendfile import accel_response
from releases.models import PackageLink, Release

from . import page, selectors
from .storage import cache_control_for, content_type_for, is_local


def _bad_name(name: str) -> bool:
    parts = name.split("/")
    return (
        not name
        or name.startswith("/")
        or "\\" in name
        or "\x00" in name
        or any(part in {"", ".", ".."} for part in parts)
        or any(ord(char) < 32 for char in name)
    )


def _serve(storage, name: str, *, download_name: str | None = None):
    accel = accel_response(
        storage,
        name,
        content_type=content_type_for(download_name or name),
        filename=download_name,
        cache_control=cache_control_for(name),
    )
    if accel is not None:
        if not storage.exists(name):
            raise Http404("No such file.")
        return accel
    if is_local(storage):
        try:
            stored = storage.open(name, "rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise Http404("No such file.") from None
        response = FileResponse(
            stored,
            content_type=content_type_for(download_name or name),
            as_attachment=download_name is not None,
            filename=download_name or "",
        )
        with contextlib.suppress(OSError):
            response["Last-Modified"] = http_date(storage.get_modified_time(name).timestamp())
    else:
        if not storage.exists(name):
            raise Http404("No such file.")
        response = HttpResponseRedirect(storage.url(name))
    response["Cache-Control"] = cache_control_for(name)
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_safe
def public_page(request, project: str):
    return _serve(storages["public"], f"{project}/index.html")


@require_safe
def public_json(request, project: str):
    return _serve(storages["public"], f"{project}/downloads.json")


@require_safe
def public_file(request, project: str, name: str):
    """A published file (source tarball, checksum) under the project's folder."""
    if _bad_name(name):
        raise Http404("No such file.")
    key = f"{project}/{name}"
    tarball_key = page.tarball_key_of(key)
    # Only what a published release points at: a tarball still being
    # assembled, or left by a failed assembly, is nobody's to fetch. The
    # project's KEYS file is there once any release is.
    published = Release.objects.filter(
        project__slug=project,
        state__in=[Release.State.RELEASED, Release.State.WITHDRAWN],
        source_tarball__storage="public",
    )
    if tarball_key is not None:
        published = published.filter(source_tarball__key=tarball_key)
    if not published.exists():
        raise Http404("No such file.")
    return _serve(storages["public"], key)


@require_safe
def staged_package(request, project: str, version: str, link_id: int, filename: str):
    """A binary package upstream hosts for a distro, once its release is out."""
    link = get_object_or_404(
        PackageLink.objects.select_related("staged", "release__project"),
        pk=link_id,
        staged__isnull=False,
        release__project__slug=project,
        release__version=version,
        # Withdrawn releases no longer hand out what upstream staged for them.
        release__state=Release.State.RELEASED,
    )
    expected = page.public_filename(link.staged.original_name, f"package-{link.pk}")
    if filename != expected:
        raise Http404("No such file.")
    storage = storages[link.staged.storage]
    return _serve(storage, link.staged.key, download_name=expected)


def home(request):
    """The portal's front page: each project, its current release, its download page."""
    return render(request, "home.html", {"projects": selectors.home_projects()})

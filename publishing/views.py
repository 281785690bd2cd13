"""Serving what the public reads: the stored page, its JSON, the published files;
and the staff's page of a project's webhook endpoints.

Behind the front server (``FRONT_SERVER=nginx``) the view authorises and nginx
sends the bytes (portal/sendfile.py). Otherwise local storage streams the
stored file, and any other backend (S3, a CDN in front of it) gets a
redirect to the object's address.
"""

from __future__ import annotations

import contextlib

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.storage import storages
from django.db.models import Prefetch
from django.http import FileResponse, Http404, HttpResponseGone, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import http_date
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from portal import openpgp
from portal.errors import PortalError
from portal.sendfile import accel_response
from releases import permissions, publication
from releases.models import PackageLink, Release, WebhookDelivery, WebhookEndpoint

from . import page, selectors, services, webhooks
from .forms import WebhookForm
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


def _gone(release: Release) -> HttpResponseGone:
    response = HttpResponseGone(
        f"{release} was withdrawn and its files taken down: {release.withdrawn_reason}\n",
        content_type="text/plain; charset=utf-8",
    )
    response["Cache-Control"] = "no-store"
    return response


@require_safe
def public_file(request, project: str, name: str):
    """A file a published release has (`releases.publication`), while its state says
    the public may have it; 410 once a compromised release took it down."""
    if _bad_name(name):
        raise Http404("No such file.")
    key = f"{project}/{name}"
    found = publication.file_of(project, key)
    if found is None:
        raise Http404("No such file.")
    role, version = found
    releases = Release.objects.filter(
        project__slug=project, state__in=publication.SERVED_STATES, source_tarball__isnull=False
    ).select_related("project")
    if version is None:
        # The project's KEYS: there once any release is, whatever became of it.
        if not releases.exists():
            raise Http404("No such file.")
        return _serve(storages["public"], key)
    release = releases.filter(version=version).first()
    if release is None:
        # A tarball still being assembled, or left by a failed assembly, is
        # nobody's to fetch.
        raise Http404("No such file.")
    if publication.files_gone(release):
        return _gone(release)
    return _serve(storages["public"], key)


@require_safe
def staged_package(request, project: str, version: str, link_id: int, filename: str):
    """A binary package upstream hosts for a distro, while its release's files are served."""
    link = get_object_or_404(
        PackageLink.objects.select_related("staged", "release__project"),
        pk=link_id,
        staged__isnull=False,
        release__project__slug=project,
        release__version=version,
        release__state__in=publication.SERVED_STATES,
    )
    expected = page.public_filename(link.staged.original_name, f"package-{link.pk}")
    if filename != expected:
        raise Http404("No such file.")
    if publication.files_gone(link.release):
        return _gone(link.release)
    storage = storages[link.staged.storage]
    return _serve(storage, link.staged.key, download_name=expected)


def home(request):
    """The portal's front page: each project, its current release, its download page."""
    return render(request, "home.html", {"projects": selectors.home_projects()})


@login_required
@require_http_methods(["GET", "POST"])
def staff_webhooks(request, project: str):
    """A project's webhook endpoints: add one (its secret is shown once), see each log.
    Its owners' page."""
    project_obj = permissions.project_for(request.user, project, permissions.MANAGE)
    form = WebhookForm(request.POST or None)
    created = None
    if request.method == "POST" and form.is_valid():
        try:
            created = webhooks.webhook_endpoint_create(
                project=project_obj,
                url=form.cleaned_data["url"],
                events=form.cleaned_data["events"],
                actor=request.user,
            )
        except PortalError as error:
            form.add_error(None, error.message)
        else:
            form = WebhookForm()
    return _webhooks_page(request, project_obj, form, created=created)


def _webhooks_page(request, project, form, created=None, rotated=None):
    endpoints = WebhookEndpoint.objects.filter(project=project).prefetch_related(
        Prefetch("deliveries", queryset=WebhookDelivery.objects.order_by("-created_at", "-id"))
    )
    return render(
        request,
        "publishing/staff_webhooks.html",
        {
            "project": project,
            "form": form,
            "endpoints": endpoints,
            "created": created,
            "rotated": rotated,
            "overlap_hours": settings.WEBHOOK_SECRET_OVERLAP_HOURS,
        },
    )


@login_required
@require_POST
def staff_webhook_resend(request, delivery_id: int):
    delivery = permissions.object_for(
        request.user,
        WebhookDelivery.objects.select_related("endpoint__project"),
        delivery_id,
        lambda delivery: delivery.endpoint.project,
        permissions.MANAGE,
    )
    try:
        webhooks.webhook_resend(delivery=delivery, actor=request.user)
    except PortalError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"{delivery.event} queued again for {delivery.endpoint.url}.")
    return redirect("staff-webhooks", delivery.endpoint.project.slug)


def _endpoint(request, endpoint_id: int) -> WebhookEndpoint:
    return permissions.object_for(
        request.user,
        WebhookEndpoint.objects.select_related("project"),
        endpoint_id,
        lambda endpoint: endpoint.project,
        permissions.MANAGE,
    )


@login_required
@require_POST
def staff_webhook_disable(request, endpoint_id: int):
    endpoint = _endpoint(request, endpoint_id)
    webhooks.webhook_endpoint_disable(endpoint=endpoint, actor=request.user)
    messages.success(request, f"{endpoint.url} is disabled: nothing more is sent to it.")
    return redirect("staff-webhooks", endpoint.project.slug)


@login_required
@require_POST
def staff_webhook_enable(request, endpoint_id: int):
    endpoint = _endpoint(request, endpoint_id)
    webhooks.webhook_endpoint_enable(endpoint=endpoint, actor=request.user)
    messages.success(request, f"{endpoint.url} is enabled again.")
    return redirect("staff-webhooks", endpoint.project.slug)


@login_required
@require_POST
def staff_webhook_delete(request, endpoint_id: int):
    endpoint = _endpoint(request, endpoint_id)
    url, slug = endpoint.url, endpoint.project.slug
    webhooks.webhook_endpoint_delete(endpoint=endpoint, actor=request.user)
    messages.success(request, f"{url} is deleted, with its secret and its log.")
    return redirect("staff-webhooks", slug)


@login_required
@require_POST
def staff_webhook_rotate_secret(request, endpoint_id: int):
    """The new secret is shown once, on this page; the old one signs too for a while."""
    endpoint = _endpoint(request, endpoint_id)
    webhooks.webhook_secret_rotate(endpoint=endpoint, actor=request.user)
    return _webhooks_page(request, endpoint.project, WebhookForm(), rotated=endpoint)


def provenance_predicate(request):
    """What the predicate of the portal's provenance statements says, field by field."""
    return render(
        request,
        "publishing/provenance_v1.html",
        {"predicate_type": page.PROVENANCE_PREDICATE_TYPE},
    )


def _signing_release(request, release_id: int) -> Release:
    return permissions.release_for(request.user, release_id, permissions.RUN, "prerelease")


@login_required
@require_http_methods(["GET", "POST"])
def staff_release_signing(request, release_id: int):
    """Release-manager signing: the prepared tarball's sha256, and the .asc upload."""
    release = _signing_release(request, release_id)
    error = None
    if request.method == "POST":
        upload = request.FILES.get("signature")
        if upload is None:
            error = "Choose the signature file (.asc) to upload."
        elif upload.size > openpgp.MAX_SIGNATURE_BYTES:
            error = (
                f"The signature file is {upload.size:,} bytes; a detached signature is a "
                "few hundred. Upload the .asc that gpg --armor --detach-sign wrote."
            )
        else:
            try:
                services.release_signature_upload(
                    release=release, signature=upload.read(), actor=request.user
                )
            except PortalError as failure:
                error = failure.message
            else:
                messages.success(request, "Signature verified against the project's KEYS.")
                return redirect("staff-release", release.pk)
    return render(
        request,
        "publishing/staff_signing.html",
        {
            "release": release,
            "project": release.project,
            "name": publication.keys_of(release)["tarball"].rsplit("/", 1)[-1],
            "error": error,
        },
        status=400 if error else 200,
    )


@login_required
@require_POST
def staff_release_signing_prepare(request, release_id: int):
    release = _signing_release(request, release_id)
    try:
        release = services.release_signing_prepare(release=release, actor=request.user)
    except PortalError as failure:
        messages.error(request, failure.message)
    else:
        messages.success(request, f"Assembled for signing: sha256 {release.signing_sha256}.")
    return redirect("staff-release-signing", release.pk)


@login_required
@require_safe
def staff_release_signing_tarball(request, release_id: int):
    release = _signing_release(request, release_id)
    if not release.signing_key:
        raise Http404("Nothing is prepared for signing yet.")
    name = publication.keys_of(release)["tarball"].rsplit("/", 1)[-1]
    return _serve(storages["uploads"], release.signing_key, download_name=name)

"""Personal pre-release downloads, and a fresh link on request."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.storage import storages
from django.http import FileResponse, Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from portal.errors import PortalError
from portal.sendfile import accel_response
from releases.models import Release
from releases.permissions import is_active_maintainer

from . import services


@login_required
def prerelease_download(request, token: str):
    try:
        release, artifact = services.prerelease_link_open(token=token, user=request.user)
    except services.LinkExpired as expired:
        release = Release.objects.select_related("project").filter(pk=expired.release_id).first()
        return render(request, "releases/prerelease_expired.html", {"release": release}, status=410)
    except PortalError as error:
        raise Http404(error.message) from None
    services.prerelease_download_record(release=release, user=request.user)
    storage = storages[artifact.storage]
    name = artifact.original_name or f"{release.project.slug}-{release.version}.tar.gz"
    accel = accel_response(
        storage, artifact.key, content_type="application/octet-stream", filename=name
    )
    if accel is not None:  # the front server sends the bytes
        accel["Cache-Control"] = "private, no-store"
        return accel
    if hasattr(storage, "bucket_name"):  # S3: a short-lived signed URL, never a public one
        return HttpResponseRedirect(
            storage.url(
                artifact.key,
                parameters={"ResponseContentDisposition": f'attachment; filename="{name}"'},
            )
        )
    response = FileResponse(
        storage.open(artifact.key, "rb"),
        as_attachment=True,
        filename=name,
        content_type="application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
@require_POST
def prerelease_resend(request, release_id: int):
    release = get_object_or_404(Release.objects.select_related("project"), pk=release_id)
    if not is_active_maintainer(request.user, release.project) or not release.prerelease_id:
        raise Http404
    services.prerelease_invite(release=release, user=request.user)
    messages.success(request, f"A fresh download link was mailed to {request.user.email}.")
    return redirect("my-distros")

"""The ledger's pages: upstream's "Patches carried by distributions" (with answers and an mbox
download), its JSON, and a maintainer's "Your patches against <pre-release>"."""

from __future__ import annotations

import re

from bundlecheck.patchmbox import ledger_mbox
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from releases import permissions
from releases.models import Distro, Release
from releases.permissions import can_see_distro_work

from . import selectors, services
from .forms import AnswerForm

_FINGERPRINT = re.compile(r"[0-9a-f]{64}")


def _release(request, release_id: int, need: str = permissions.VIEW) -> Release:
    return permissions.release_for(request.user, release_id, need, "prerelease")


@login_required
@require_GET
def staff_release_patches(request, release_id: int):
    release = _release(request, release_id)
    return render(
        request,
        "releases/staff_patches.html",
        {
            "release": release,
            "project": release.project,
            "ledger": selectors.ledger_data(release),
            "form": AnswerForm(),
        },
    )


@login_required
@require_GET
def staff_release_patches_json(request, release_id: int):
    release = _release(request, release_id)
    data = selectors.ledger_data(release)
    if data is None:
        return JsonResponse({"error": "The patch ledger has not been computed yet."}, status=404)
    return JsonResponse(data)


@login_required
@require_GET
def staff_release_patches_mbox(request, release_id: int):
    """The selected entries (``?entry=ID``, repeatable; all when none) as one mbox for git am."""
    release = _release(request, release_id)
    data = selectors.ledger_data(release)
    if data is None:
        raise Http404("The patch ledger has not been computed yet.")
    wanted = request.GET.getlist("entry") or None
    body = ledger_mbox(data, wanted)
    if not body:
        messages.error(request, "None of the selected entries is in the ledger any more.")
        return redirect("staff-release-patches", release_id=release.pk)
    response = HttpResponse(body, content_type="application/mbox; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="{release.project.slug}-{release.pk}-patches.mbox"'
    )
    return response


@login_required
@require_POST
def staff_release_patch_answer(request, release_id: int, fingerprint: str):
    release = _release(request, release_id, permissions.REVIEW)
    data = selectors.ledger_data(release)
    if (
        not _FINGERPRINT.fullmatch(fingerprint)
        or data is None
        or not any(e["fingerprint"] == fingerprint for e in data["entries"])
    ):
        raise Http404("No such patch in this release's ledger.")
    form = AnswerForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose an answer: planned upstream, or won't take.")
    else:
        services.patch_answer(
            release=release,
            fingerprint=fingerprint,
            decision=form.cleaned_data["decision"],
            comment=form.cleaned_data["comment"],
            actor=request.user,
        )
        messages.success(request, "Answer saved; the carriers will read it with their patches.")
    return redirect("staff-release-patches", release_id=release.pk)


@require_GET
def release_distro_patches(request, project: str, version: str, distro: str):
    release = get_object_or_404(
        Release.objects.select_related("project", "prerelease"),
        project__slug=project,
        version=version,
    )
    distro_obj = get_object_or_404(Distro, slug=distro)
    if not can_see_distro_work(request.user, release.project, distro_obj):
        raise Http404("No such release or distro for you.")  # don't reveal what exists
    return render(
        request,
        "releases/distro_patches.html",
        {
            "release": release,
            "project": release.project,
            "distro": distro_obj,
            "patches": selectors.distro_patches(release, distro_obj),
        },
    )

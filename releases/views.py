"""Maintainer pages: my distros, the release x distro page with its upload, the
live verification report, and personal pre-release downloads."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import login_required
from django.core.files.storage import storages
from django.http import FileResponse, Http404, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_POST

from . import selectors, services
from .errors import PortalError
from .forms import ClaimForm, DecisionForm, PackageLinksForm, UploadForm
from .models import Maintainership, Release
from .ratelimit import rate_limit
from .uploads import check_upload, prepare_upload


def _wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def project_guide(request, project: str):
    project_obj = get_object_or_404(selectors.Project, slug=project)
    return render(request, "releases/guide.html", selectors.guide_context(project_obj))


@login_required
def my_distros(request):
    form = ClaimForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            claim = services.maintainership_request(
                user=request.user,
                project=form.cleaned_data["project"],
                distro=form.cleaned_data["distro"],
                new_distro_slug=form.cleaned_data["new_distro_slug"],
                new_distro_name=form.cleaned_data["new_distro_name"],
            )
        except PortalError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            messages.success(
                request,
                f"Asked to maintain {claim.distro} for {claim.project}; "
                "staff are mailed and will decide.",
            )
            return redirect("my-distros")
    return render(
        request,
        "releases/my_distros.html",
        {
            "form": form,
            "rows": selectors.maintainer_overview(request.user),
        },
    )


@staff_member_required
def claims(request):
    return render(
        request,
        "releases/claims.html",
        {
            "pending": selectors.claims_pending(),
            "approved": selectors.claims_approved(),
            "form": DecisionForm(),
        },
    )


@staff_member_required
@require_POST
def claim_decide(request, claim_id: int, decision: str):
    claim = get_object_or_404(
        Maintainership.objects.select_related("user", "project", "distro"), pk=claim_id
    )
    form = DecisionForm(request.POST)
    form.is_valid()
    reason = form.cleaned_data.get("reason", "")
    actions = {
        "approve": lambda: services.maintainership_approve(claim=claim, actor=request.user),
        "decline": lambda: services.maintainership_decline(
            claim=claim, actor=request.user, reason=reason
        ),
        "revoke": lambda: services.maintainership_revoke(
            claim=claim, actor=request.user, reason=reason
        ),
    }
    if decision not in actions:
        raise Http404
    try:
        actions[decision]()
    except PortalError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"{claim.user} for {claim.distro}: {decision}d.")
    return redirect("claims")


def _release_distro_or_404(request, project: str, version: str, distro: str):
    release = get_object_or_404(
        Release.objects.select_related("project", "prerelease"),
        project__slug=project,
        version=version,
    )
    distro_obj = get_object_or_404(selectors.Distro, slug=distro)
    if not selectors.can_see_distro_work(request.user, release.project, distro_obj):
        raise Http404("No such release or distro for you.")  # don't reveal what exists
    return release, distro_obj


@csrf_exempt  # the token is checked by csrf_protect below, once uploads stream to disk
@login_required
def release_distro(request, project: str, version: str, distro: str):
    release, distro_obj = _release_distro_or_404(request, project, version, distro)
    if request.method != "POST":
        return _release_distro_page(request, release, distro_obj, UploadForm())
    try:
        prepare_upload(request)
    except PortalError as error:
        return _upload_refused(request, release, distro_obj, error)
    return _release_distro_upload(request, release, distro_obj)


@csrf_protect
def _release_distro_upload(request, release, distro):
    form = None
    try:
        check_upload(request)
        form = UploadForm(request.POST, request.FILES)
        rate_limit("upload", str(request.user.pk), limit=settings.UPLOADS_PER_HOUR, window=3600)
        if not form.is_valid():
            return _release_distro_page(request, release, distro, form, status=400)
        submission, created = services.submission_create(
            release=release,
            distro=distro,
            submitter=request.user,
            upload=form.cleaned_data["bundle"],
            package=form.cleaned_data["package"],
            package_links=form.cleaned_data["package_links"],
            note=form.cleaned_data["note"],
            expected_sha256=form.cleaned_data["sha256"],
        )
    except PortalError as error:
        return _upload_refused(request, release, distro, error, form)
    url = reverse("submission-detail", args=[submission.pk])
    if not created:
        messages.info(request, "These exact bytes were already uploaded: here is that submission.")
    if _wants_json(request):
        return JsonResponse(
            {"id": submission.pk, "redirect": url, "created": created},
            status=201 if created else 200,
        )
    return HttpResponseRedirect(url)


def _upload_refused(request, release, distro, error: PortalError, form=None):
    if _wants_json(request):
        response = JsonResponse({"error": error.message}, status=error.status)
    else:
        form = form or UploadForm()
        form.add_error(None, error.message)
        response = _release_distro_page(request, release, distro, form, status=error.status)
    if getattr(error, "retry_after", None):
        response["Retry-After"] = str(error.retry_after)
    return response


def _release_distro_page(request, release, distro, form, status=200):
    context = selectors.release_distro_context(release, distro, request.user)
    context.update(form=form, links_form=PackageLinksForm(), upload_limit=settings.UPLOAD_MAX_BYTES)
    return render(request, "releases/release_distro.html", context, status=status)


@login_required
@require_POST
def package_links_add(request, project: str, version: str, distro: str):
    release, distro_obj = _release_distro_or_404(request, project, version, distro)
    form = PackageLinksForm(request.POST)
    if form.is_valid():
        services.package_links_add(
            release=release,
            distro=distro_obj,
            actor=request.user,
            links=form.cleaned_data["package_links"],
        )
        messages.success(request, "Package links added.")
    else:
        for error in form.errors.get("package_links", []):
            messages.error(request, error)
    return redirect("release-distro", project, version, distro)


def _submission_or_404(request, submission_id: int):
    submission = selectors.submission_for_page(submission_id)
    if submission is None or not selectors.can_see_distro_work(
        request.user, submission.release.project, submission.distro
    ):
        raise Http404("No such submission for you.")
    return submission


@login_required
def submission_detail(request, submission_id: int):
    submission = _submission_or_404(request, submission_id)
    return render(request, "releases/submission.html", selectors.submission_context(submission))


@login_required
@require_GET
def submission_status(request, submission_id: int):
    """The live part of the report page, polled while verification runs."""
    submission = _submission_or_404(request, submission_id)
    return render(
        request, "releases/_submission_status.html", selectors.submission_context(submission)
    )


@login_required
@require_GET
def submission_report(request, submission_id: int):
    submission = _submission_or_404(request, submission_id)
    response = JsonResponse(
        selectors.submission_report(submission), json_dumps_params={"indent": 2}
    )
    response["Content-Disposition"] = (
        f'attachment; filename="{submission.release.project.slug}-{submission.release.version}-'
        f'{submission.distro.slug}-submission-{submission.pk}.json"'
    )
    return response


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
    if (
        not selectors.is_active_maintainer(request.user, release.project)
        or not release.prerelease_id
    ):
        raise Http404
    services.prerelease_invite(release=release, user=request.user)
    messages.success(request, f"A fresh download link was mailed to {request.user.email}.")
    return redirect("my-distros")

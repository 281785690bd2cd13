"""The distro page of a release with its upload, package links, and the live
verification report."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_POST

from portal.errors import BadInput, PortalError
from portal.forms import form_refusal
from portal.middleware import portal_error, wants_json
from portal.ratelimit import rate_limit
from releases.models import Distro, PackageLink, Release
from releases.permissions import can_see_distro_work, report_read_count
from releases.sourceproof.selectors import latest_proof, proof_sentence

from . import presenters, selectors, services
from .forms import PackageLinkForm, PackageLinksForm, UploadForm
from .uploads import check_upload, prepare_upload


def _release_distro_or_404(request, project: str, version: str, distro: str):
    release = get_object_or_404(
        Release.objects.select_related("project", "prerelease"),
        project__slug=project,
        version=version,
    )
    distro_obj = get_object_or_404(Distro, slug=distro)
    if not can_see_distro_work(request.user, release.project, distro_obj):
        raise Http404("No such release or distro for you.")  # don't reveal what exists
    return release, distro_obj


def _roots(release, distro) -> tuple[str, ...]:
    return selectors.packaging_paths(release.project, distro)["roots"]


@csrf_exempt  # the token is checked by csrf_protect below, once uploads stream to disk
@login_required
def release_distro(request, project: str, version: str, distro: str):
    release, distro_obj = _release_distro_or_404(request, project, version, distro)
    if request.method != "POST":
        return _release_distro_page(
            request, release, distro_obj, UploadForm(roots=_roots(release, distro_obj))
        )
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
        form = UploadForm(request.POST, request.FILES, roots=_roots(release, distro))
        rate_limit("upload", str(request.user.pk), limit=settings.UPLOADS_PER_HOUR, window=3600)
        if not form.is_valid():
            if wants_json(request):
                labels = {name: field.label for name, field in form.fields.items() if field.label}
                raise form_refusal(form, names=labels)
            return _release_distro_page(request, release, distro, form, status=400)
        submission, created = services.submission_create(
            release=release,
            distro=distro,
            submitter=request.user,
            upload=form.cleaned_data["bundle"],
            package=form.cleaned_data["package"],
            signature=form.cleaned_data["signature"],
            package_links=form.cleaned_data["package_links"],
            note=form.cleaned_data["note"],
            expected_sha256=form.cleaned_data["sha256"],
        )
    except PortalError as error:
        return _upload_refused(request, release, distro, error, form)
    url = reverse("submission-detail", args=[submission.pk])
    if not created:
        messages.info(request, "These exact bytes were already uploaded: here is that submission.")
    if wants_json(request):
        return JsonResponse(
            {"id": submission.pk, "redirect": url, "created": created},
            status=201 if created else 200,
        )
    return HttpResponseRedirect(url)


def _upload_refused(request, release, distro, error: PortalError, form=None):
    """The refusal on the distro page, beside the form; or the error layer's JSON."""
    if wants_json(request):
        return portal_error(request, error)
    form = form or UploadForm(roots=_roots(release, distro))
    form.add_error(None, error.message)
    response = _release_distro_page(request, release, distro, form, status=error.status)
    if getattr(error, "retry_after", None):
        response["Retry-After"] = str(error.retry_after)
    return response


def _release_distro_page(request, release, distro, form, status=200):
    context = selectors.release_distro_context(release, distro, request.user)
    # What changed since this person last looked at this page (in this browser).
    seen_key = f"seen:{release.pk}:{distro.pk}"
    seen = request.session.get(seen_key)
    since = datetime.fromisoformat(seen) if isinstance(seen, str) else None
    news = selectors.distro_news(release, distro, request.user, since)
    request.session[seen_key] = timezone.now().isoformat()
    context.update(
        status=presenters.distro_status(context, release, news),
        form=form,
        # Its own ids: the upload form has a package_links field too.
        links_form=PackageLinksForm(auto_id="more_%s"),
        upload_limit=settings.UPLOAD_MAX_BYTES,
        source_proof=proof_sentence(latest_proof(release)),
    )
    return render(request, "releases/release_distro.html", context, status=status)


@login_required
@require_POST
def package_links_add(request, project: str, version: str, distro: str):
    release, distro_obj = _release_distro_or_404(request, project, version, distro)
    form = PackageLinksForm(request.POST)
    try:
        rate_limit("links", str(request.user.pk), limit=settings.UPLOADS_PER_HOUR, window=3600)
        if form.is_valid():
            services.package_links_add(
                release=release,
                distro=distro_obj,
                actor=request.user,
                links=form.cleaned_data["package_links"],
            )
            messages.success(request, "Package links added; each is being checked now.")
        else:
            for error in form.errors.get("package_links", []):
                messages.error(request, error)
    except PortalError as error:
        messages.error(request, error.message)
    return redirect(reverse("release-distro", args=[project, version, distro]) + "#links")


def _link_action(request, project, version, distro, link_id, action):
    """Run one change to a distro's package link; say what happened, or why not."""
    release, distro_obj = _release_distro_or_404(request, project, version, distro)
    link = get_object_or_404(
        PackageLink.objects.select_related("release__project", "distro"),
        pk=link_id,
        release=release,
        distro=distro_obj,
    )
    try:
        rate_limit("links", str(request.user.pk), limit=settings.UPLOADS_PER_HOUR, window=3600)
        messages.success(request, action(link))
    except PortalError as error:
        messages.error(request, error.message)
    return redirect(reverse("release-distro", args=[project, version, distro]) + "#links")


@login_required
@require_POST
def package_link_recheck(request, project: str, version: str, distro: str, link_id: int):
    def run(link):
        services.package_link_recheck(link=link, actor=request.user)
        return "The link is being checked again now."

    return _link_action(request, project, version, distro, link_id, run)


@login_required
@require_POST
def package_link_edit(request, project: str, version: str, distro: str, link_id: int):
    form = PackageLinkForm(request.POST)

    def run(link):
        if not form.is_valid():
            raise BadInput(" ".join(e for errors in form.errors.values() for e in errors))
        url, sha256 = form.cleaned_data["link"]
        services.package_link_update(link=link, actor=request.user, url=url, sha256=sha256)
        return "Link changed; it is being checked now."

    return _link_action(request, project, version, distro, link_id, run)


@login_required
@require_POST
def package_link_remove(request, project: str, version: str, distro: str, link_id: int):
    def run(link):
        services.package_link_remove(link=link, actor=request.user)
        return "Link removed."

    return _link_action(request, project, version, distro, link_id, run)


def _submission_or_404(request, submission_id: int):
    report_read_count(request.user)
    submission = selectors.submission_for_page(submission_id)
    if submission is None or not can_see_distro_work(
        request.user, submission.release.project, submission.distro
    ):
        raise Http404("No such submission for you.")
    return submission


@login_required
def submission_detail(request, submission_id: int):
    submission = _submission_or_404(request, submission_id)
    context = selectors.submission_context(submission, page=request.GET.get("page", 1))
    return render(request, "releases/submission.html", context)


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

"""Maintainer pages: my distros, the release x distro page with its upload, the
live verification report, and personal pre-release downloads."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.files.storage import storages
from django.http import FileResponse, Http404, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_POST

from . import coordination, selectors, services
from .errors import PortalError
from .forms import (
    ClaimForm,
    CommentForm,
    DecisionForm,
    PackageLinksForm,
    ReleaseForm,
    RespinForm,
    UploadForm,
)
from .models import Maintainership, Release, Submission
from .publishing.services import ReleaseStateError, release_publish, release_withdraw
from .ratelimit import rate_limit
from .uploads import check_upload, prepare_upload, streamed_upload


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
        return _release_distro_page(request, release, distro_obj, UploadForm(distro=distro_obj))
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
        form = UploadForm(request.POST, request.FILES, distro=distro)
        rate_limit("upload", str(request.user.pk), limit=settings.UPLOADS_PER_HOUR, window=3600)
        if not form.is_valid():
            if _wants_json(request):
                field, problems = next(iter(form.errors.items()))
                label = form.fields[field].label if field in form.fields else ""
                return JsonResponse(
                    {"error": f"{label}: {problems[0]}" if label else problems[0]}, status=400
                )
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
        form = form or UploadForm(distro=distro)
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
    try:
        services.release_accepting_uploads(release, distro_obj)
        rate_limit("links", str(request.user.pk), limit=settings.UPLOADS_PER_HOUR, window=3600)
    except PortalError as error:
        messages.error(request, error.message)
        return redirect("release-distro", project, version, distro)
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


# --- Staff: the release dashboard ---------------------------------------------------


@staff_member_required
def staff_releases(request):
    return render(
        request, "releases/staff_releases.html", {"projects": selectors.staff_release_list()}
    )


@staff_member_required
@streamed_upload
def staff_release_new(request, project: str):
    project_obj = get_object_or_404(selectors.Project, slug=project)
    form = ReleaseForm(request.POST or None, request.FILES or None)
    if request.method == "POST":
        try:
            check_upload(request)
            if form.is_valid():
                release = coordination.release_create(
                    project=project_obj,
                    version=form.cleaned_data["version"],
                    actor=request.user,
                    tarball=form.cleaned_data["tarball"],
                    deadline=form.cleaned_data["submission_deadline"],
                    release_date=form.cleaned_data["release_date"],
                    open_now=form.cleaned_data["open_now"],
                )
                messages.success(request, f"{release} created.")
                return redirect("staff-release", release.pk)
        except PortalError as error:
            form.add_error(None, error.message)
    return render(
        request,
        "releases/staff_release_new.html",
        {"project": project_obj, "form": form},
        status=400 if request.method == "POST" else 200,
    )


def _staff_release(release_id: int) -> Release:
    return get_object_or_404(
        Release.objects.select_related("project", "prerelease", "source_tarball"), pk=release_id
    )


@staff_member_required
def staff_release(request, release_id: int):
    release = _staff_release(release_id)
    context = selectors.readiness(release)
    context.update(comment_form=CommentForm(), respin_form=RespinForm())
    return render(request, "releases/staff_release.html", context)


def _error_text(error: Exception) -> str:
    if isinstance(error, ValidationError):
        return " ".join(error.messages)
    return getattr(error, "message", None) or str(error)


def _staff_action(request, release_id: int, action) -> HttpResponseRedirect:
    """Run a staff action on a release; say what happened, or why it could not."""
    release = _staff_release(release_id)
    try:
        messages.success(request, action(release))
    except (PortalError, ReleaseStateError, ValidationError) as error:
        messages.error(request, _error_text(error))
    return redirect("staff-release", release.pk)


def _open(release, actor, reason):
    services.release_open(release=release, actor=actor)
    return "Opened: the maintainers are being mailed their links."


def _freeze(release, actor, reason):
    coordination.release_freeze(release=release, actor=actor)
    return "Frozen: uploads now answer 409 unless you reopen a distro."


def _unfreeze(release, actor, reason):
    coordination.release_unfreeze(release=release, actor=actor)
    return "Open for submissions again."


def _remind(release, actor, reason):
    lagging = selectors.readiness(release)["lagging"]
    reminded = coordination.release_remind(release=release, actor=actor, distros=lagging)
    if not reminded:
        return (
            "Nobody to remind: every lagging distro was reminded in the last day, "
            "or has no maintainer."
        )
    return "Reminded: " + ", ".join(d.name for d in reminded) + "."


def _publish(release, actor, reason):
    release_publish(release=release, actor=actor)
    return "Publishing: a worker assembles the source tarball."


def _withdraw(release, actor, reason):
    release_withdraw(release=release, actor=actor, reason=reason)
    return "Withdrawn; the download page says why."


RELEASE_ACTIONS = {
    "open": _open,
    "freeze": _freeze,
    "unfreeze": _unfreeze,
    "remind": _remind,
    "publish": _publish,
    "withdraw": _withdraw,
}


@staff_member_required
@require_POST
def staff_release_action(request, release_id: int, action: str):
    if action not in RELEASE_ACTIONS:
        raise Http404
    reason = request.POST.get("reason", "")
    return _staff_action(
        request, release_id, lambda release: RELEASE_ACTIONS[action](release, request.user, reason)
    )


@staff_member_required
@require_POST
def staff_reopen_distro(request, release_id: int, distro: str):
    distro_obj = get_object_or_404(selectors.Distro, slug=distro)

    def reopen(release):
        coordination.release_reopen_distro(release=release, distro=distro_obj, actor=request.user)
        return f"{distro_obj} may upload again."

    return _staff_action(request, release_id, reopen)


@staff_member_required
@streamed_upload
@require_POST
def staff_release_respin(request, release_id: int):
    form = RespinForm(request.POST, request.FILES)

    def respin(release):
        check_upload(request)
        if not form.is_valid():
            raise PortalError(" ".join(str(e) for errors in form.errors.values() for e in errors))
        coordination.release_respin(
            release=release, actor=request.user, tarball=form.cleaned_data["tarball"]
        )
        return "Pre-release replaced: older submissions are stale; maintainers are mailed what changed."

    return _staff_action(request, release_id, respin)


@staff_member_required
@require_POST
def staff_submission_decide(request, submission_id: int, decision: str):
    submission = get_object_or_404(
        Submission.objects.select_related("release", "distro"), pk=submission_id
    )
    form = CommentForm(request.POST)
    form.is_valid()
    comment = form.cleaned_data.get("comment", "")
    decide = {"accept": coordination.submission_accept, "reject": coordination.submission_reject}
    if decision not in decide:
        raise Http404

    def run(release):
        decide[decision](submission=submission, actor=request.user, comment=comment)
        return f"{submission.distro}: submission {submission.pk} {decision}ed."

    return _staff_action(request, submission.release_id, run)

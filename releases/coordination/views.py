"""The release dashboard for staff: the release list, a new release, the
readiness matrix, and one view per action a release manager can take."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from portal.errors import BadInput, PortalError
from releases.models import Distro, Project, Release, Submission
from releases.submissions.uploads import check_upload, streamed_upload

from . import lifecycle, selectors, services
from .forms import CommentForm, ReleaseForm, RespinForm


@staff_member_required
def staff_releases(request):
    return render(
        request, "releases/staff_releases.html", {"projects": selectors.staff_release_list()}
    )


@staff_member_required
@streamed_upload
def staff_release_new(request, project: str):
    project_obj = get_object_or_404(Project, slug=project)
    form = ReleaseForm(request.POST or None, request.FILES or None)
    if request.method == "POST":
        try:
            check_upload(request)
            if form.is_valid():
                release = services.release_create(
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


def _act(request, release_id: int, action) -> HttpResponseRedirect:
    """Run one staff action on a release; say what happened, or why it could not."""
    release = _staff_release(release_id)
    try:
        messages.success(request, action(release))
    except PortalError as error:
        messages.error(request, error.message)
    return redirect("staff-release", release.pk)


@staff_member_required
@require_POST
def staff_release_open(request, release_id: int):
    def run(release):
        lifecycle.release_open(release=release, actor=request.user)
        return "Opened: the maintainers are being mailed their links."

    return _act(request, release_id, run)


@staff_member_required
@require_POST
def staff_release_freeze(request, release_id: int):
    def run(release):
        lifecycle.release_freeze(release=release, actor=request.user)
        return "Frozen: uploads now answer 409 unless you reopen a distro."

    return _act(request, release_id, run)


@staff_member_required
@require_POST
def staff_release_unfreeze(request, release_id: int):
    def run(release):
        lifecycle.release_unfreeze(release=release, actor=request.user)
        return "Open for submissions again."

    return _act(request, release_id, run)


@staff_member_required
@require_POST
def staff_release_remind(request, release_id: int):
    def run(release):
        lagging = selectors.readiness(release)["lagging"]
        reminded = services.release_remind(release=release, actor=request.user, distros=lagging)
        if not reminded:
            return (
                "Nobody to remind: every lagging distro was reminded in the last day, "
                "or has no maintainer."
            )
        return "Reminded: " + ", ".join(d.name for d in reminded) + "."

    return _act(request, release_id, run)


@staff_member_required
@require_POST
def staff_release_publish(request, release_id: int):
    def run(release):
        lifecycle.release_publish(release=release, actor=request.user)
        return "Publishing: a worker assembles the source tarball."

    return _act(request, release_id, run)


@staff_member_required
@require_POST
def staff_release_withdraw(request, release_id: int):
    def run(release):
        lifecycle.release_withdraw(
            release=release, actor=request.user, reason=request.POST.get("reason", "")
        )
        return "Withdrawn; the download page says why."

    return _act(request, release_id, run)


@staff_member_required
@require_POST
def staff_reopen_distro(request, release_id: int, distro: str):
    distro_obj = get_object_or_404(Distro, slug=distro)

    def run(release):
        lifecycle.release_reopen_distro(release=release, distro=distro_obj, actor=request.user)
        return f"{distro_obj} may upload again."

    return _act(request, release_id, run)


@staff_member_required
@streamed_upload
@require_POST
def staff_release_respin(request, release_id: int):
    form = RespinForm(request.POST, request.FILES)

    def run(release):
        check_upload(request)
        if not form.is_valid():
            raise BadInput(" ".join(str(e) for errors in form.errors.values() for e in errors))
        lifecycle.release_respin(
            release=release, actor=request.user, tarball=form.cleaned_data["tarball"]
        )
        return "Pre-release replaced: older submissions are stale; maintainers are mailed what changed."

    return _act(request, release_id, run)


def _decide(request, submission_id: int, decide, verb: str):
    submission = get_object_or_404(
        Submission.objects.select_related("release", "distro"), pk=submission_id
    )
    form = CommentForm(request.POST)
    form.is_valid()
    comment = form.cleaned_data.get("comment", "")

    def run(release):
        decide(submission=submission, actor=request.user, comment=comment)
        return f"{submission.distro}: submission {submission.pk} {verb}."

    return _act(request, submission.release_id, run)


@staff_member_required
@require_POST
def staff_submission_accept(request, submission_id: int):
    return _decide(request, submission_id, services.submission_accept, "accepted")


@staff_member_required
@require_POST
def staff_submission_reject(request, submission_id: int):
    return _decide(request, submission_id, services.submission_reject, "rejected")

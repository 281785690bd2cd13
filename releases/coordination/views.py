"""The release dashboard for staff: the release list, a new release, the
readiness matrix, and one view per action a release manager can take."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from portal.errors import BadInput, NotFound, PortalError
from portal.forms import refusal_on_form
from releases import permissions, publication, rules
from releases.models import (
    Distro,
    Project,
    ProjectMember,
    Release,
    Submission,
)
from releases.policies import PolicyInvalid, latest_reverification
from releases.sourceproof.selectors import source_proof_view
from releases.sourceproof.services import source_proof_override
from releases.submissions.uploads import check_upload, streamed_upload

from . import lifecycle, presenters, selectors, services
from .forms import (
    CommentForm,
    ProjectForm,
    ReleaseForm,
    RespinForm,
    SourceOverrideForm,
    WithdrawForm,
)


@login_required
def staff_releases(request):
    """The releases of the projects the person serves; a site administrator on no
    team sees an empty list, anyone else on no team the same 404 as elsewhere."""
    projects = permissions.projects_served(request.user)
    if not permissions.is_site_admin(request.user) and not projects.exists():
        raise NotFound(permissions.NOT_SERVED)
    roles = permissions.roles_of(request.user)
    rows = [
        {
            "project": project,
            "role": ProjectMember.Role(roles[project.pk]).label,
            "may": permissions.allowed(roles[project.pk]),
        }
        for project in selectors.staff_release_list(projects)
    ]
    return render(
        request,
        "releases/staff_releases.html",
        {
            "rows": rows,
            "site_admin": permissions.is_site_admin(request.user),
            "claims_waiting": selectors.claims_waiting_count(
                permissions.projects_served(request.user, permissions.RUN)
            ),
        },
    )


@login_required
def staff_project_new(request):
    """A new upstream project, with its packaging policy written in the form."""
    if not permissions.is_site_admin(request.user):
        raise NotFound(permissions.NOT_SERVED)
    form = ProjectForm(request.POST or None)
    problems = []
    if request.method == "POST" and form.is_valid():
        try:
            project = services.project_create(
                name=form.cleaned_data["name"],
                slug=form.cleaned_data["slug"],
                homepage=form.cleaned_data["homepage"],
                source_repository=form.cleaned_data["source_repository"],
                policy_text=form.cleaned_data["policy_text"],
                actor=request.user,
            )
        except PolicyInvalid as error:
            problems = error.problems
            form.add_error("policy_text", error.message)
        except PortalError as error:
            refusal_on_form(form, error)
        else:
            messages.success(
                request,
                f"{project} created, with version 1 of its packaging policy. "
                "Distro maintainers can now ask to package it.",
            )
            return redirect("staff-release-new", project.slug)
    return render(
        request,
        "releases/staff_project_new.html",
        {
            "form": form,
            "problems": problems,
            "problem_lines": {p["line"] for p in problems if p["line"]},
        },
        status=400 if request.method == "POST" else 200,
    )


@login_required
@streamed_upload
def staff_release_new(request, project: str):
    project_obj = permissions.project_for(request.user, project, permissions.RUN)
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
                    source_tag=form.cleaned_data["source_tag"],
                )
                if release.source_tag:
                    messages.success(request, f"{release} created. Its tarball is being compared "
                                     f"with tag {release.source_tag}; open it once the proof passes.")
                else:
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


def _staff_release(request, release_id: int, need: str = permissions.RUN) -> Release:
    """The release, if the person's role on its project allows `need` (404 off the team)."""
    return permissions.release_for(
        request.user, release_id, need, "prerelease", "source_tarball"
    )


@login_required
def staff_release(request, release_id: int):
    release = _staff_release(request, release_id, permissions.VIEW)
    context = presenters.readiness(release)
    context.update(
        progress=presenters.progress_picture(release, context["rows"]),
        comment_form=CommentForm(),
        respin_form=RespinForm(),
        publish_failure=selectors.publish_failure(release),
        # A re-verification concerns live submissions: once the release is out, it is history.
        reverification=latest_reverification(release.project, release)
        if release.state in rules.OPEN_STATES
        else None,
        # What staff may do now, from the lifecycle table: the buttons below.
        actions=_staff_actions(
            permissions.project_role(request.user, release.project), release
        ),
        public_page=release.state in publication.SERVED_STATES,
        # Read from the settings and rows only: the page never runs gpg.
        unsigned=not settings.RELEASE_KEY_FILE
        and release.project.signing == Project.Signing.PORTAL
        and not release.project.keys.filter(retired_at__isnull=True).exists(),
        offline_signing=release.project.signing == Project.Signing.RELEASE_MANAGER,
        source_proof=_source_proof_for(request.user, release),
        override_form=SourceOverrideForm(),
    )
    return render(request, "releases/staff_release.html", context)


def _source_proof_for(user, release) -> dict | None:
    """The proof's section; only an owner is offered the override."""
    view = source_proof_view(release)
    if view and not permissions.allowed(permissions.project_role(user, release.project))[
        permissions.MANAGE
    ]:
        view = {**view, "may_override": False}
    return view


def _staff_actions(role, release) -> set[str]:
    """The buttons: what the lifecycle allows now, and the person's role allows at all."""
    actions = set(lifecycle.allowed_actions(release))
    if rules.remind_refusal(release) is None:
        actions.add("remind")
    if not permissions.allowed(role)[permissions.RUN]:
        actions.clear()
    return actions


def _act(request, release_id: int, action, need: str = permissions.RUN) -> HttpResponseRedirect:
    """Run one staff action on a release; say what happened, or why it could not."""
    release = _staff_release(request, release_id, need)
    try:
        messages.success(request, action(release))
    except PortalError as error:
        messages.error(request, error.message)
    return redirect("staff-release", release.pk)


@login_required
@require_POST
def staff_release_source_override(request, release_id: int):
    form = SourceOverrideForm(request.POST)

    def run(release):
        if not form.is_valid():
            raise BadInput(form.errors["reason"][0], field="reason")
        source_proof_override(release=release, actor=request.user, reason=form.cleaned_data["reason"])
        return "The failed source proof is overridden; your reason is in the audit trail. The release may open."

    # Overriding a failed proof is the owners' decision (the project's policy and keys).
    return _act(request, release_id, run, permissions.MANAGE)


@login_required
@require_POST
def staff_release_open(request, release_id: int):
    def run(release):
        lifecycle.release_open(release=release, actor=request.user)
        return "Opened: the maintainers are being mailed their links."

    return _act(request, release_id, run)


def _confirm(
    request,
    release,
    *,
    action: str,
    title: str,
    consequences: list[str],
    button: str,
    form=None,
    multipart: bool = False,
    status: int = 200,
):
    """The page that stands between a release manager and a move that is hard to undo."""
    summary = presenters.release_summary(release)
    return render(
        request,
        "releases/staff_confirm.html",
        {
            "release": release,
            "project": release.project,
            "action_url": reverse(f"staff-release-{action}", args=[release.pk]),
            "title": title,
            "consequences": consequences,
            "summary": summary,
            "button": button,
            "form": form,
            "multipart": multipart,
        },
        status=status,
    )


def _confirmed(request) -> bool:
    return request.method == "POST" and request.POST.get("confirmed") == "yes"


@login_required
@require_http_methods(["GET", "POST"])
def staff_release_freeze(request, release_id: int):
    release = _staff_release(request, release_id)
    if not _confirmed(request):
        return _confirm(
            request,
            release,
            action="freeze",
            title=f"Freeze {release}?",
            consequences=[
                "Uploads stop for every distro. You can reopen a single distro, "
                "or the whole release, afterwards.",
                "Submissions already received are still verified, accepted or rejected.",
            ],
            button="Freeze the release",
        )

    def run(release):
        lifecycle.release_freeze(release=release, actor=request.user)
        return (
            "Frozen: maintainers can no longer upload. Reopen a distro from its row "
            "to let it upload again."
        )

    return _act(request, release_id, run)


@login_required
@require_POST
def staff_release_unfreeze(request, release_id: int):
    def run(release):
        lifecycle.release_unfreeze(release=release, actor=request.user)
        return "Open for submissions again."

    return _act(request, release_id, run)


@login_required
@require_POST
def staff_release_remind(request, release_id: int):
    def run(release):
        lagging = presenters.readiness(release)["lagging"]
        reminded = services.release_remind(release=release, actor=request.user, distros=lagging)
        if not reminded:
            return (
                "Nobody to remind: every lagging distro was reminded in the last day, "
                "or has no maintainer."
            )
        return "Reminded: " + ", ".join(d.name for d in reminded) + "."

    return _act(request, release_id, run)


@login_required
@require_POST
def staff_release_remind_distro(request, release_id: int, distro: str):
    distro_obj = get_object_or_404(Distro, slug=distro)

    def run(release):
        reminded = services.release_remind(
            release=release, actor=request.user, distros=[distro_obj]
        )
        if not reminded:
            return f"{distro_obj} was reminded in the last day, or has no maintainer: not mailed again."
        return f"Reminded the maintainers of {distro_obj}."

    return _act(request, release_id, run)


@login_required
@require_http_methods(["GET", "POST"])
def staff_release_publish(request, release_id: int):
    release = _staff_release(request, release_id)
    if not _confirmed(request):
        accepted = presenters.release_summary(release)["accepted"]
        names = ", ".join(row["distro"].name for row in accepted)
        return _confirm(
            request,
            release,
            action="publish",
            title=f"Publish {release}?",
            consequences=[
                f"The public source tarball is built from the pre-release and the accepted "
                f"distros only ({names}); nothing else goes in."
                if names
                else "No distro is accepted: the public source tarball would hold the "
                "pre-release alone, with no distro's packaging in it.",
                "The public download page then offers it, with its checksums, and "
                "submissions can no longer be accepted or rejected.",
            ],
            button="Publish the release",
        )

    def run(release):
        lifecycle.release_publish(release=release, actor=request.user)
        return "Publishing: a worker assembles the source tarball."

    return _act(request, release_id, run)


@login_required
@require_http_methods(["GET", "POST"])
def staff_release_withdraw(request, release_id: int):
    release = _staff_release(request, release_id)
    form = WithdrawForm(request.POST or None)
    if not (_confirmed(request) and form.is_valid()):
        return _confirm(
            request,
            release,
            action="withdraw",
            title=f"Withdraw {release}?",
            consequences=[*publication.WITHDRAW_COMMON, "Choose below what happens to its files."],
            button="Withdraw the release",
            form=form,
            status=400 if request.method == "POST" else 200,
        )

    def run(release):
        lifecycle.release_withdraw(
            release=release,
            actor=request.user,
            reason=form.cleaned_data["reason"],
            compromised=form.compromised,
        )
        notice = publication.withdrawn_notice(
            state=Release.State.WITHDRAWN, compromised=form.compromised
        )
        return f"Withdrawn; the download page says why. {notice}"

    return _act(request, release_id, run)


@login_required
@require_POST
def staff_reopen_distro(request, release_id: int, distro: str):
    distro_obj = get_object_or_404(Distro, slug=distro)

    def run(release):
        lifecycle.release_reopen_distro(release=release, distro=distro_obj, actor=request.user)
        return f"{distro_obj} may upload again."

    return _act(request, release_id, run)


def _respin_consequences(release) -> list[str]:
    summary = presenters.release_summary(release)
    accepted, passing = len(summary["accepted"]), len(summary["passing"])
    deadline = release.submission_deadline
    until = f"until {deadline:%Y-%m-%d %H:%M} UTC" if deadline else "with no deadline set"
    lines = [
        f"Submissions that become stale: {accepted} accepted, {passing} passing; their "
        "maintainers upload again against the new tarball.",
    ]
    if release.state != Release.State.DRAFT:
        lines.append(
            f"The release is open for uploads again {until} (or the new deadline given below)."
        )
        lines.append(
            f"{summary['maintainers']} maintainer{'s are' if summary['maintainers'] != 1 else ' is'} "
            "mailed a fresh link and what changed under their distro."
        )
    return lines


@login_required
@streamed_upload
@require_http_methods(["GET", "POST"])
def staff_release_respin(request, release_id: int):
    release = _staff_release(request, release_id)
    form = RespinForm(request.POST or None, request.FILES or None)
    if request.method == "POST":
        try:
            check_upload(request)
        except PortalError as error:
            form.add_error(None, error.message)
    if not (_confirmed(request) and form.is_valid()):
        return _confirm(
            request,
            release,
            action="respin",
            title=f"Respin {release}: replace its pre-release tarball?",
            consequences=_respin_consequences(release),
            button="Replace the pre-release",
            form=form,
            multipart=True,
            status=400 if request.method == "POST" else 200,
        )

    def run(release):
        lifecycle.release_respin(
            release=release,
            actor=request.user,
            tarball=form.cleaned_data["tarball"],
            deadline=form.cleaned_data["submission_deadline"],
            source_tag=form.cleaned_data["source_tag"],
        )
        return "Pre-release replaced: older submissions are stale; maintainers are mailed what changed."

    return _act(request, release_id, run)


def _decide(request, submission_id: int, decide, verb: str):
    submission = permissions.object_for(
        request.user,
        Submission.objects.select_related("release__project", "distro"),
        submission_id,
        lambda submission: submission.release.project,
        permissions.REVIEW,
    )
    form = CommentForm(request.POST)
    form.is_valid()
    comment = form.cleaned_data.get("comment", "")

    def run(release):
        decide(submission=submission, actor=request.user, comment=comment)
        return f"{submission.distro}: submission {submission.pk} {verb}."

    return _act(request, submission.release_id, run, permissions.REVIEW)


@login_required
@require_POST
def staff_submission_accept(request, submission_id: int):
    return _decide(request, submission_id, services.submission_accept, "accepted")


@login_required
@require_POST
def staff_submission_reject(request, submission_id: int):
    return _decide(request, submission_id, services.submission_reject, "rejected")


@login_required
def staff_audit(request):
    """The audit log: every change, who made it, filterable, each event linked to its object."""
    served = permissions.projects_served(request.user)
    site_admin = permissions.is_site_admin(request.user)
    if not site_admin and not served.exists():
        raise NotFound(permissions.NOT_SERVED)
    releases = Release.objects.select_related("project").filter(project__in=served)
    release = distro = None
    wanted = request.GET.get("release", "")
    if wanted.isascii() and wanted.isdigit():
        release = releases.filter(pk=int(wanted)).first()
    if request.GET.get("distro"):
        distro = Distro.objects.filter(slug=request.GET["distro"]).first()
    actor, verb = request.GET.get("actor", "").strip(), request.GET.get("verb", "").strip()
    events = selectors.audit_events(
        release=release,
        distro=distro,
        actor=actor,
        verb=verb,
        projects=served,
        unscoped=site_admin,
    )
    page = Paginator(events, selectors.AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "releases/staff_audit.html",
        {
            "page": page,
            "rows": presenters.audit_page(page),
            "releases": releases.order_by("-created_at"),
            "distros": Distro.objects.order_by("slug"),
            "verbs": selectors.audit_verbs(),
            "chosen": {
                "release": release.pk if release else None,
                "distro": distro.slug if distro else "",
                "actor": actor,
                "verb": verb,
            },
            "query": query.urlencode(),
        },
    )

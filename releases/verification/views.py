"""The packaging guide page, and the staff's policy editor: review (problems,
diff, guide preview), save as a new version, and judge the live submissions again."""

from __future__ import annotations

import difflib
import logging

import bundlecheck
from bundlecheck.policyspec import reference_tables
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpResponse, HttpResponseNotModified
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from releases import permissions
from releases.models import PolicyVersion, Project, Release
from releases.policies import (
    PolicyInvalid,
    current_version,
    latest_reverification,
    parse,
    policy_problems,
    unreadable_problems,
    version_in_force,
)

from . import selectors, services, tools
from .forms import PolicyForm

logger = logging.getLogger(__name__)


def _at_home(request, project: Project) -> dict:
    """The addresses a maintainer pastes to run the same checks at home."""
    return {
        "wheel_url": request.build_absolute_uri(reverse("bundlecheck-wheel", args=[tools.wheel_name()])),
        "policy_url": request.build_absolute_uri(reverse("project-policy-text", args=[project.slug])),
    }


def project_guide(request, project: str):
    project_obj = get_object_or_404(Project, slug=project)
    context = selectors.guide_context(project_obj)
    return render(request, "releases/guide.html", {**context, **_at_home(request, project_obj)})


def bundlecheck_wheel(request, filename: str):
    """The bundlecheck wheel this portal runs (built once, then kept: see tools.py)."""
    if filename != tools.wheel_name():
        raise Http404("This portal serves only the bundlecheck it runs: " + tools.wheel_name())
    try:
        path = tools.wheel_path()
    except tools.WheelUnavailable as error:
        logger.error("%s", error)
        return HttpResponse(
            "The bundlecheck wheel cannot be built on this server just now; the guide's other "
            "steps still work. The portal's staff are told in its log.",
            status=503,
            content_type="text/plain; charset=utf-8",
        )
    return FileResponse(
        path.open("rb"), as_attachment=True, filename=filename, content_type="application/octet-stream"
    )


def policy_format(request):
    """Every key a policy may hold, with its meaning and an example."""
    return render(request, "releases/policy_format.html", {"tables": reference_tables()})


def project_policy_text(request, project: str, number: int | None = None):
    """A policy version's TOML, public like the guide made from it, so that a maintainer
    runs `bundlecheck check --policy` by exactly the rules a report names."""
    project_obj = get_object_or_404(Project, slug=project)
    version = (
        version_in_force(project_obj)
        if number is None
        else get_object_or_404(PolicyVersion, project=project_obj, number=number)
    )
    etag = f'"{version.sha256}"'
    if request.headers.get("If-None-Match") == etag:
        return HttpResponseNotModified()
    response = HttpResponse(version.text, content_type="application/toml; charset=utf-8")
    response["Content-Disposition"] = (
        f'inline; filename="{project_obj.slug}-policy-v{version.number}.toml"'
    )
    response["ETag"] = etag
    response["X-Policy-Version"] = str(version.number)
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _diff(old: str, new: str, old_name: str, new_name: str) -> list[tuple[str, str]]:
    """A unified diff as (kind, line) pairs: kind is add, del, hunk or same."""
    lines = difflib.unified_diff(
        old.splitlines(), new.splitlines(), old_name, new_name, lineterm="", n=3
    )
    out = []
    for line in lines:
        if line.startswith(("---", "+++")):
            continue
        kind = {"+": "add", "-": "del", "@": "hunk"}.get(line[:1], "same")
        out.append((kind, line))
    return out


def _editor(request, project: Project, form: PolicyForm, status: int = 200, **extra):
    current = current_version(project)
    in_force = version_in_force(project)
    context = {
        "project": project,
        "current": current,
        # Its owners change it; the rest of the team reads it.
        "may_edit": permissions.may(request.user, project, permissions.MANAGE),
        # A version this engine no longer reads (saved under an older one): said, with why.
        "in_force": in_force,
        "unreadable": unreadable_problems(current) if in_force != current else [],
        "form": form,
        "versions": project.policy_versions.select_related("author").order_by("-number")[:50],
        "live": services.reverifiable_submissions(project).count(),
        "progress": latest_reverification(project),
        **extra,
    }
    context["problem_lines"] = {p["line"] for p in context.get("problems") or () if p["line"]}
    return render(request, "releases/staff_policy.html", context, status=status)


@login_required
def staff_policy(request, project: str):
    """GET: the current version in the editor. POST: review or save the edited text.
    The team reads it; its owners change it."""
    project_obj = permissions.project_for(
        request.user, project, permissions.MANAGE if request.method == "POST" else permissions.VIEW
    )
    current = current_version(project_obj)
    if request.method != "POST":
        form = PolicyForm(initial={"text": current.text, "base": current.number, "reverify": True})
        return _editor(request, project_obj, form)
    form = PolicyForm(request.POST)
    if not form.is_valid():
        return _editor(request, project_obj, form, status=400)
    text, base = form.cleaned_data["text"], form.cleaned_data["base"]
    if request.POST.get("action") == "save":
        try:
            version, reverification = services.policy_version_save(
                project=project_obj,
                text=text,
                note=form.cleaned_data["note"],
                author=request.user,
                base_number=base,
                reverify=form.cleaned_data["reverify"],
            )
        except PolicyInvalid as error:
            return _editor(
                request, project_obj, form, status=400, problems=error.problems, error=error.message
            )
        except services.PolicyChanged as error:
            # Keep the editor's text, move its base to the version now in force, and
            # show what that version changed against the editor's text.
            data = request.POST.copy()
            data["base"] = str(error.current.number)
            return _editor(
                request,
                project_obj,
                PolicyForm(data),
                status=409,
                error=error.message,
                conflict=error.current,
                diff=_diff(
                    error.current.text, text, f"version {error.current.number}", "your text"
                ),
            )
        except services.BadInput as error:
            return _editor(request, project_obj, form, status=400, error=error.message)
        note = f"Saved as version {version.number}."
        if reverification is not None:
            note += f" Re-verifying {reverification.items.count()} live submissions against it."
        messages.success(request, note)
        return redirect("staff-policy", project_obj.slug)
    # Review: the problems, or what would change; nothing is saved.
    problems = policy_problems(text, f"{project_obj.slug} policy")
    extra = {"problems": problems, "reviewed": not problems}
    if base != current.number:
        extra["conflict"] = current
        extra["error"] = (
            f"Version {current.number} was saved since you started from version {base}: "
            "the diff below is against it."
        )
        data = request.POST.copy()
        data["base"] = str(current.number)
        form = PolicyForm(data)
        form.is_valid()
    if not problems:
        extra["diff"] = _diff(current.text, text, f"version {current.number}", "your text")
    return _editor(request, project_obj, form, status=400 if problems else 200, **extra)


@login_required
@require_POST
def staff_policy_preview(request, project: str):
    """The guide page the edited text would give, before it is saved."""
    project_obj = permissions.project_for(request.user, project, permissions.MANAGE)
    text = request.POST.get("text", "")
    try:
        rules = parse(text, f"{project_obj.slug} policy")
    except bundlecheck.PolicyError:
        form = PolicyForm(request.POST)
        form.is_valid()
        return _editor(
            request,
            project_obj,
            form,
            status=400,
            problems=policy_problems(text, f"{project_obj.slug} policy"),
            error="The guide cannot be previewed until the policy is valid.",
        )
    context = {**selectors.guide_context(project_obj, policy=rules), **_at_home(request, project_obj)}
    context["preview"] = True
    return render(request, "releases/guide.html", context)


@login_required
def staff_policy_version(request, project: str, number: int):
    """One saved version, whole, with its diff against the one before."""
    project_obj = permissions.project_for(request.user, project, permissions.VIEW)
    version = get_object_or_404(
        PolicyVersion.objects.select_related("author"), project=project_obj, number=number
    )
    previous = project_obj.policy_versions.filter(number__lt=number).order_by("-number").first()
    return render(
        request,
        "releases/staff_policy_version.html",
        {
            "project": project_obj,
            "version": version,
            "previous": previous,
            "diff": _diff(
                previous.text, version.text, f"version {previous.number}", f"version {number}"
            )
            if previous
            else [],
        },
    )


@login_required
def staff_policy_progress(request, project: str):
    """The re-verification's progress box, polled by the policy page and the dashboard."""
    project_obj = permissions.project_for(request.user, project, permissions.VIEW)
    release = None
    wanted = request.GET.get("release", "")
    if wanted.isascii() and wanted.isdigit():
        release = get_object_or_404(Release, pk=int(wanted), project=project_obj)
    progress = latest_reverification(project_obj, release)
    if progress is None:
        raise Http404("No re-verification of this project yet.")
    return render(
        request, "releases/_reverification.html", {"progress": progress, "release": release}
    )

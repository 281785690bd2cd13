"""Asking for a new project, site administrators deciding, and a project's team page."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from portal.errors import BadInput, NotFound, PortalError
from portal.forms import refusal_on_form
from releases import permissions
from releases.models import Project, ProjectKey, ProjectMember, ProjectRequest
from releases.policies import PolicyInvalid

from . import selectors, services
from .forms import (
    DeclineForm,
    InviteForm,
    ProjectRequestForm,
    PublicKeyForm,
    RoleForm,
    SecretKeyForm,
    SigningForm,
)


@login_required
@require_http_methods(["GET", "POST"])
def project_ask(request):
    """Anyone with an account asks for a new project; a site administrator decides."""
    form = ProjectRequestForm(request.POST or None)
    problems = []
    if request.method == "POST" and form.is_valid():
        try:
            asked = services.project_request_create(
                actor=request.user,
                name=form.cleaned_data["name"],
                slug=form.cleaned_data["slug"],
                homepage=form.cleaned_data["homepage"],
                repository=form.cleaned_data["repository"],
                policy_text=form.cleaned_data["policy_text"],
            )
        except PolicyInvalid as error:
            problems = error.problems
            form.add_error("policy_text", error.message)
        except PortalError as error:
            refusal_on_form(form, error)
        else:
            messages.success(
                request,
                f"Asked for {asked.name}. A site administrator decides; once approved you "
                "are its owner and find it under Releases.",
            )
            return redirect("project-ask")
    return render(
        request,
        "releases/project_ask.html",
        {
            "form": form,
            "problems": problems,
            "problem_lines": {p["line"] for p in problems if p["line"]},
            "asked": selectors.requests_of(request.user),
        },
        status=400 if request.method == "POST" else 200,
    )


def _site_admin(request) -> None:
    if not permissions.is_site_admin(request.user):
        raise NotFound(permissions.NOT_SERVED)


def _waiting(request, request_id: int) -> ProjectRequest:
    _site_admin(request)
    asked = ProjectRequest.objects.select_related("requested_by").filter(pk=request_id).first()
    if asked is None:
        raise NotFound(permissions.NOT_SERVED)
    return asked


@login_required
def staff_project_requests(request):
    _site_admin(request)
    return render(
        request,
        "releases/staff_project_requests.html",
        {"waiting": selectors.requests_waiting(), "form": DeclineForm()},
    )


@login_required
@require_POST
def staff_project_request_approve(request, request_id: int):
    asked = _waiting(request, request_id)
    try:
        project = services.project_request_approve(request=asked, actor=request.user)
    except PortalError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"{project} is made; {asked.requested_by} is its owner.")
    return redirect("staff-project-requests")


@login_required
@require_POST
def staff_project_request_decline(request, request_id: int):
    asked = _waiting(request, request_id)
    form = DeclineForm(request.POST)
    form.is_valid()
    try:
        services.project_request_decline(
            request=asked, actor=request.user, reason=form.cleaned_data.get("reason", "")
        )
    except PortalError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"The request for {asked.name} is declined.")
    return redirect("staff-project-requests")


@login_required
@require_http_methods(["GET", "POST"])
def staff_team(request, project: str):
    """The team: everyone on it sees it; its owners invite, change roles and remove."""
    need = permissions.MANAGE if request.method == "POST" else permissions.VIEW
    project_obj = permissions.project_for(request.user, project, need)
    form = InviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            member = services.member_add(
                project=project_obj,
                who=form.cleaned_data["who"],
                role=form.cleaned_data["role"],
                actor=request.user,
            )
        except PortalError as error:
            refusal_on_form(form, error)
        else:
            messages.success(
                request, f"{member.user} joined {project_obj} as {member.get_role_display()}."
            )
            return redirect("staff-team", project_obj.slug)
    role = permissions.project_role(request.user, project_obj)
    return render(
        request,
        "releases/staff_team.html",
        {
            "project": project_obj,
            "members": selectors.team_of(project_obj),
            "form": form,
            "roles": ProjectMember.Role.choices,
            "may_manage": permissions.allowed(role)[permissions.MANAGE],
        },
        status=400 if request.method == "POST" else 200,
    )


def _member(request, member_id: int) -> ProjectMember:
    return permissions.object_for(
        request.user,
        ProjectMember.objects.select_related("project", "user"),
        member_id,
        lambda member: member.project,
        permissions.MANAGE,
    )


@login_required
@require_POST
def staff_member_role(request, member_id: int):
    member = _member(request, member_id)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a role: owner, release manager or reviewer.")
    else:
        try:
            member = services.member_role_change(
                member=member, role=form.cleaned_data["role"], actor=request.user
            )
        except PortalError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, f"{member.user} is now {member.get_role_display()}.")
    return redirect("staff-team", member.project.slug)


@login_required
@require_POST
def staff_member_remove(request, member_id: int):
    member = _member(request, member_id)
    slug = member.project.slug
    try:
        services.member_remove(member=member, actor=request.user)
    except PortalError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"{member.user} is off the team of {member.project}.")
    return redirect("staff-team", slug)


@login_required
@require_http_methods(["GET", "POST"])
def staff_keys(request, project: str):
    """The project's KEYS and who signs: the team reads it; owners change it.
    No secret key is ever shown."""
    need = permissions.MANAGE if request.method == "POST" else permissions.VIEW
    project_obj = permissions.project_for(request.user, project, need)
    forms_ = {
        "secret": SecretKeyForm(),
        "public": PublicKeyForm(),
        "signing": SigningForm(initial={"signing": project_obj.signing}),
    }
    status = 200
    if request.method == "POST":
        action = request.POST.get("action", "")
        bound = {
            "upload": ("secret", SecretKeyForm),
            "public": ("public", PublicKeyForm),
            "signing": ("signing", SigningForm),
        }.get(action)
        try:
            if action == "generate":
                key = services.project_key_generate(project=project_obj, actor=request.user)
                done = f"A new key {key.fingerprint} signs {project_obj}'s releases from now on."
            elif bound is None:
                raise NotFound("No such action.")
            else:
                name, form_class = bound
                form = forms_[name] = form_class(request.POST)
                if not form.is_valid():
                    raise BadInput("Correct what is named below.")
                done = _key_action(request, project_obj, action, form.cleaned_data)
        except PortalError as error:
            target = forms_.get(bound[0]) if bound else None
            if target is not None and target.is_bound:
                field = error.field if error.field in target.fields else None
                if field or not target.errors:
                    target.add_error(field, error.message)
            else:
                messages.error(request, error.message)
            status = 400
        else:
            messages.success(request, done)
            return redirect("staff-keys", project_obj.slug)
    role = permissions.project_role(request.user, project_obj)
    return render(
        request,
        "releases/staff_keys.html",
        {
            "project": project_obj,
            "keys": selectors.keys_of(project_obj),
            "forms": forms_,
            "may_manage": permissions.allowed(role)[permissions.MANAGE],
        },
        status=status,
    )


def _key_action(request, project, action: str, data: dict) -> str:
    if action == "upload":
        key = services.project_key_upload(
            project=project,
            armor=data["secret_key"],
            passphrase=data["passphrase"],
            actor=request.user,
        )
        return f"Key {key.fingerprint} is held by the portal and signs {project}'s releases."
    if action == "public":
        key = services.project_key_add_public(
            project=project, armor=data["public_key"], actor=request.user
        )
        return f"Key {key.fingerprint} is in {project}'s KEYS."
    services.project_signing_set(project=project, signing=data["signing"], actor=request.user)
    return "Saved: " + str(Project.Signing(data["signing"]).label) + "."


@login_required
@require_POST
def staff_key_retire(request, key_id: int):
    key = permissions.object_for(
        request.user,
        ProjectKey.objects.select_related("project"),
        key_id,
        lambda key: key.project,
        permissions.MANAGE,
    )
    try:
        services.project_key_retire(key=key, actor=request.user)
    except PortalError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"Key {key.fingerprint} signs no more; KEYS keeps it.")
    return redirect("staff-keys", key.project.slug)

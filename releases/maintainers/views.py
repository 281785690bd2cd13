"""Claiming a distro, and staff deciding on claims."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from portal.errors import NotFound, PortalError
from portal.forms import refusal_on_form
from releases import permissions
from releases.models import Maintainership

from . import selectors, services
from .forms import ClaimForm, DecisionForm


@login_required
def my_distros(request):
    form = ClaimForm(request.POST or None, user=request.user)
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
            refusal_on_form(form, error)
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
            "layouts": selectors.project_layouts(),
        },
    )


@login_required
def claims(request):
    """The claims on the projects whose releases the person runs."""
    projects = permissions.projects_served(request.user, permissions.RUN)
    if not projects.exists():
        raise NotFound(permissions.NOT_SERVED)
    return render(
        request,
        "releases/claims.html",
        {
            "pending": selectors.claims_pending(projects),
            "approved": selectors.claims_approved(projects),
            "form": DecisionForm(),
        },
    )


def _decide(request, claim_id: int, decide, done: str):
    claim = permissions.object_for(
        request.user,
        Maintainership.objects.select_related("user", "project", "distro"),
        claim_id,
        lambda claim: claim.project,
        permissions.RUN,
    )
    form = DecisionForm(request.POST)
    form.is_valid()
    try:
        decide(claim, form.cleaned_data.get("reason", ""))
    except PortalError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"{claim.user} for {claim.distro}: {done}.")
    return redirect("claims")


@login_required
@require_POST
def claim_approve(request, claim_id: int):
    def decide(claim, reason):
        services.maintainership_approve(claim=claim, actor=request.user)

    return _decide(request, claim_id, decide, "approved")


@login_required
@require_POST
def claim_decline(request, claim_id: int):
    def decide(claim, reason):
        services.maintainership_decline(claim=claim, actor=request.user, reason=reason)

    return _decide(request, claim_id, decide, "declined")


@login_required
@require_POST
def claim_revoke(request, claim_id: int):
    def decide(claim, reason):
        services.maintainership_revoke(claim=claim, actor=request.user, reason=reason)

    return _decide(request, claim_id, decide, "revoked")


@login_required
def packager_home(request):
    """Every project x distro the person maintains, ordered by what is due next."""
    now = timezone.now()
    calendar = services.packager_calendar(user=request.user)
    return render(
        request,
        "releases/packager_home.html",
        {
            "rows": selectors.packager_agenda(request.user, now=now),
            "calendar_url": request.build_absolute_uri(
                reverse("packager-calendar", args=[calendar.token])
            ),
        },
    )


@require_POST
@login_required
def packager_calendar_reset(request):
    services.packager_calendar_reset(user=request.user)
    messages.success(request, "Your calendar has a new address; the old one no longer answers.")
    return redirect("packager-home")

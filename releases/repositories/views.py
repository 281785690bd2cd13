"""A distro maintainer names the repositories their distro ships the project from."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from portal.errors import PortalError
from releases import permissions
from releases.models import Distro, DistroRepository, Project
from releases.permissions import can_see_distro_work

from . import presenters, selectors, services
from .forms import RepositoryForm


def _allowed(request, project_slug: str, distro_slug: str) -> tuple[Project, Distro]:
    project = get_object_or_404(Project, slug=project_slug)
    distro = get_object_or_404(Distro, slug=distro_slug)
    if not can_see_distro_work(request.user, project, distro):
        raise Http404
    return project, distro


@login_required
def distro_repositories(request, project: str, distro: str):
    project_row, distro_row = _allowed(request, project, distro)
    form = RepositoryForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            repository = services.repository_add(
                project=project_row, distro=distro_row, actor=request.user,
                branch=data["branch"], url=data["url"], fmt=data["format"],
                package_names=data["package_names"], legacy=data["legacy"],
                page_url=data["page_url"],
            )
        except PortalError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, f"Following {repository}; it is read in a moment.")
            return redirect("distro-repositories", project_row.slug, distro_row.slug)
    return render(request, "releases/distro_repositories.html", {
        "project": project_row, "distro": distro_row, "form": form,
        "repositories": selectors.project_repositories(project_row, distro_row),
    })


@login_required
@require_POST
def distro_repository_remove(request, project: str, distro: str, repository_id: int):
    project_row, distro_row = _allowed(request, project, distro)
    repository = get_object_or_404(DistroRepository, pk=repository_id, project=project_row,
                                   distro=distro_row)
    services.repository_remove(repository=repository, actor=request.user)
    messages.success(request, f"No longer following {repository}.")
    return redirect("distro-repositories", project_row.slug, distro_row.slug)


@login_required
def staff_distros(request, project: str):
    """Every followed branch and the days each release took to reach each distro: the
    project's team's page (the same 404 as for a project that does not exist otherwise)."""
    project_row = permissions.project_for(request.user, project, permissions.VIEW)
    return render(request, "releases/staff_distros.html", {
        "project": project_row,
        "picture": presenters.reach_picture(project_row),
        "repositories": selectors.project_repositories(project_row),
    })

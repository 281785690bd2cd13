"""The packaging guide page."""

from __future__ import annotations

from django.shortcuts import get_object_or_404, render

from releases.models import Project

from . import selectors


def project_guide(request, project: str):
    project_obj = get_object_or_404(Project, slug=project)
    return render(request, "releases/guide.html", selectors.guide_context(project_obj))

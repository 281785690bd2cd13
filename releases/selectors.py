"""Reads: the queries pages and tasks need, each in as few round trips as it takes."""

from django.db.models import Prefetch

from .models import Project, Release


def project_list_with_releases():
    return Project.objects.prefetch_related(
        Prefetch("releases", queryset=Release.objects.order_by("-created_at"))
    )

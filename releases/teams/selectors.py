"""Reads of a project's people."""

from __future__ import annotations

from releases.models import ProjectMember, ProjectRequest


def team_of(project):
    return (
        ProjectMember.objects.filter(project=project)
        .select_related("user")
        .order_by("role", "user__username")
    )


def requests_waiting():
    return ProjectRequest.objects.filter(state=ProjectRequest.State.REQUESTED).select_related(
        "requested_by"
    )


def requests_of(user):
    return ProjectRequest.objects.filter(requested_by=user).select_related("project")

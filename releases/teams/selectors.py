"""Reads of a project's people."""

from __future__ import annotations

from django.db.models import BooleanField, ExpressionWrapper, Q

from releases.models import ProjectKey, ProjectMember, ProjectRequest


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


def keys_of(project):
    """The project's keys, in use first; never their secrets (deferred, not read)."""
    return (
        ProjectKey.objects.filter(project=project)
        .defer("secret_encrypted", "public_armor")
        .annotate(held=ExpressionWrapper(~Q(secret_encrypted=""), output_field=BooleanField()))
        .order_by("retired_at", "-added_at")
    )

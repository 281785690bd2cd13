"""What the navigation shows a person: read once per page from the permissions."""

from __future__ import annotations

from . import permissions


def team_nav(request) -> dict:
    """`nav_team`: the person serves a project (release pages, audit); `nav_claims`:
    they decide claims on one; `nav_site_admin`: they administer the site."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    site_admin = permissions.is_site_admin(user)
    roles = set(permissions.roles_of(user).values())  # one query
    return {
        "nav_team": site_admin or bool(roles),
        "nav_claims": bool(roles & permissions.MAY[permissions.RUN]),
        "nav_site_admin": site_admin,
    }

"""What a project's source repository may be."""

from __future__ import annotations

from bundlecheck.gitsource import is_remote
from django.conf import settings

from portal.outbound import url_problem


def repository_problem(value: str) -> str | None:
    """Why `value` cannot be a project's source repository, as a sentence; None when it can."""
    if not value:
        return None
    if is_remote(value):
        problem = url_problem(value)
        return f"The repository URL is refused: {problem}" if problem else None
    if settings.SOURCE_REPOSITORY_ALLOW_LOCAL and (value.startswith("file://") or value.startswith("/")):
        return None
    return "Give the repository's https:// URL (e.g. https://git.example.org/project.git)."

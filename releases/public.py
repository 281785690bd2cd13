"""What the public sees changed: its download page is regenerated once this commits.

The page is marked stale first, in the same transaction, so a regeneration
whose task is lost is found and queued again by the sweeper.
"""

from __future__ import annotations

from django.utils import timezone

from publishing.tasks import page_regenerate_task

from .models import Project


def public_changed(project: Project) -> None:
    Project.objects.filter(pk=project.pk).update(page_stale_since=timezone.now())
    page_regenerate_task.delay(project.pk)

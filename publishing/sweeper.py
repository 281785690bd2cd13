"""The public side's part of the sweep (`releases.recovery.sweeper.sweep_part`):
pages left stale by a lost regeneration, and what a killed page write left
half-written in local storage."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.core.files.storage import storages
from django.utils import timezone

from releases.models import Project
from releases.recovery.sweeper import BATCH, sweep_part

from .storage import partial_writes_remove
from .tasks import page_regenerate_task


@sweep_part("stale_pages")
def pages_requeue_stale(*, now: datetime | None = None) -> list[int]:
    """Queue again the regeneration of public pages left stale (the task was lost)."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.SWEEPER_RECEIVED_SECONDS)
    stale = list(
        Project.objects.filter(page_stale_since__lte=cutoff).values_list("pk", flat=True)[:BATCH]
    )
    for pk in stale:
        page_regenerate_task.delay(pk)
    return stale


@sweep_part("partial_writes_removed")
def partial_writes_clean(*, now: datetime | None = None) -> list[str]:
    """Remove what a page write killed midway left in local public storage."""
    return partial_writes_remove(storages["public"], older_than=settings.CELERY_TASK_TIME_LIMIT)

"""A release published or withdrawn changes what *newest* means: read the branches again."""

from __future__ import annotations

from releases.events import Event, subscribe
from releases.models import AuditEvent

from .tasks import repositories_refresh_task


@subscribe(Event.RELEASE_PUBLISHED, Event.RELEASE_WITHDRAWN)
def repositories_judge_again(record: AuditEvent) -> None:
    if record.project_id is not None:
        repositories_refresh_task.delay(record.project_id)

"""Worker liveness: a ping the web queues and a worker answers."""

from __future__ import annotations

from django.db import transaction

from releases.models import WorkerPing

from .tasks import worker_ping_task


@transaction.atomic
def worker_ping_send() -> WorkerPing:
    """Queue a ping once this transaction commits; a worker stamps the answer."""
    ping = WorkerPing.objects.create()
    worker_ping_task.delay(ping.pk)
    return ping

"""Worker liveness: a ping the web queues and a worker answers."""

import socket

from celery import shared_task
from django.utils import timezone

from .models import WorkerPing


@shared_task(ignore_result=True)
def worker_ping(ping_id: int) -> None:
    WorkerPing.objects.filter(pk=ping_id, answered_at__isnull=True).update(
        answered_at=timezone.now(), worker=socket.gethostname()
    )


@shared_task(ignore_result=True)
def worker_ping_periodic() -> None:
    """Beat's heartbeat: proves beat and a worker both run."""
    from .services import worker_ping_send

    worker_ping_send()

"""Beat's periodic work: the sweeper, and the heartbeat that proves a worker runs."""

from __future__ import annotations

import socket

from django.utils import timezone

from portal.celery import app
from releases.models import WorkerPing


@app.task(ignore_result=True)
def worker_ping_task(ping_id: int) -> None:
    WorkerPing.objects.filter(pk=ping_id, answered_at__isnull=True).update(
        answered_at=timezone.now(), worker=socket.gethostname()
    )


@app.task(ignore_result=True)
def worker_ping_periodic_task() -> None:
    """Beat's heartbeat: proves beat and a worker both run."""
    from .services import worker_ping_send

    worker_ping_send()


@app.task
def recovery_sweep_task() -> dict:
    """Queue again whatever a lost task or a dead worker left stuck."""
    from .sweeper import sweep

    return sweep()

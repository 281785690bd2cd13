"""Thin tasks on the `outbound` queue: they take primary keys and call a service."""

from __future__ import annotations

from celery.exceptions import SoftTimeLimitExceeded

from portal.celery import app

#: Seconds one reading may take, fetch and parse together; past it the branch is *unknown*.
READ_SECONDS = 300


@app.task(soft_time_limit=READ_SECONDS, time_limit=READ_SECONDS + 30)
def repository_refresh_task(repository_id: int) -> str:
    from .services import repository_give_up, repository_refresh

    try:
        seen = repository_refresh(repository_id=repository_id)
    except SoftTimeLimitExceeded:
        repository_give_up(repository_id=repository_id,
                           reason=f"Reading the index took longer than {READ_SECONDS} s.")
        return "unknown"
    return seen.status if seen is not None else "unchanged"


@app.task
def repositories_refresh_task(project_id: int | None = None) -> int:
    from .services import repositories_refresh_all

    return repositories_refresh_all(project_id=project_id)

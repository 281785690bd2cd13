"""The ledger task: takes a release's primary key, calls the service.

Computing twice is harmless (the result is the same, saved under a row lock),
so a task delivered twice only wastes a little time.
"""

from __future__ import annotations

from portal.celery import app


@app.task(bind=True, soft_time_limit=600)
def patch_ledger_compute_task(self, release_id: int) -> int:
    from . import services

    ledger = services.patch_ledger_compute(release_id=release_id)
    return len(ledger.data.get("entries", [])) if ledger is not None else 0

"""Celery tasks of the publishing side: thin, they load rows and call a service.

Bound to the portal's app rather than `shared_task`: a shared task follows
whichever Celery app was made last in the process, and a second app (a test's
sender, a script's) would silently take its messages elsewhere.
"""

from __future__ import annotations

import logging

from celery import Task

from portal.celery import app
from releases.models import Project

from . import services

log = logging.getLogger(__name__)


def _transient_storage_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [OSError]
    try:
        from botocore.exceptions import BotoCoreError, ClientError

        errors += [BotoCoreError, ClientError]
    except ImportError:  # pragma: no cover - botocore comes with django-storages[s3]
        pass
    return tuple(errors)


TRANSIENT = _transient_storage_errors()


@app.task(
    autoretry_for=TRANSIENT,
    retry_backoff=2,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=6,
)
def page_regenerate(project_id: int) -> None:
    project = Project.objects.filter(pk=project_id).first()
    if project is None:
        return
    services.public_page_regenerate(project=project)


class AssembleTask(Task):
    def on_failure(self, exc, task_id, args, kwargs, einfo):
        release_id = args[0] if args else kwargs.get("release_id")
        services.release_publish_fail(release_id=release_id, error=f"{type(exc).__name__}: {exc}")


@app.task(
    bind=True,
    base=AssembleTask,
    autoretry_for=TRANSIENT,
    retry_backoff=5,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=6,
)
def release_assemble(self, release_id: int) -> str:
    try:
        return services.release_assemble(release_id=release_id)
    except services.ClaimedElsewhere as busy:
        # Another run holds the claim: come back when its lease is over. If it
        # finished by then, this run finds nothing to do.
        raise self.retry(countdown=busy.retry_in, max_retries=None) from busy


@app.task
def package_links_check() -> str:
    from . import links

    return links.package_links_check_all()

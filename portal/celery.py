"""The Celery application shared by the web process, the workers and beat, and
the one task base every portal task uses.

The base decides two things once, for every task:

- **Publishing waits for the commit.** A service queues its follow-up work
  with a plain `task.delay(pk)` inside its transaction; the message leaves
  only once that transaction commits (never before the row exists, never
  after a rollback). A broker that is down is logged, never raised: the work
  waits in a row that the sweeper (`releases.recovery.sweeper`) watches, and
  is queued again once the broker is back.
- **One retry policy.** Storage, network and database hiccups are retried
  with exponential backoff and jitter, a few times; errors another try will
  not mend are not.
"""

from __future__ import annotations

import logging
import os

from botocore.exceptions import BotoCoreError, ClientError
from celery import Celery, Task
from django.db import InterfaceError, transaction
from django.db import OperationalError as DatabaseError
from kombu.exceptions import OperationalError as BrokerError

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

logger = logging.getLogger(__name__)

# Errors worth another try: storage, network and database hiccups, never a bad archive.
TRANSIENT = (OSError, BotoCoreError, ClientError, DatabaseError, InterfaceError)
# OSErrors that another try will not mend.
PERMANENT = (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError)
# A broker that is down or restarting, as publishing a task meets it.
BROKER_DOWN = (BrokerError, ConnectionError, TimeoutError)


class PortalTask(Task):
    """Published once the caller's transaction commits; retried by one policy."""

    abstract = True
    autoretry_for = TRANSIENT
    dont_autoretry_for = PERMANENT
    retry_backoff = 2
    retry_backoff_max = 300
    retry_jitter = True
    max_retries = 5

    def apply_async(self, args=None, kwargs=None, **options):
        if transaction.get_connection().in_atomic_block:
            transaction.on_commit(lambda: self._publish(args, kwargs, options))
            return None
        return self._publish(args, kwargs, options)

    def _publish(self, args, kwargs, options):
        try:
            return super().apply_async(args, kwargs, **options)
        except BROKER_DOWN as error:
            logger.error(
                "could not queue %s%r: %s; the sweeper will queue it again",
                self.name,
                tuple(args or ()),
                error,
            )
            return None


def route_by_kind(name, args, kwargs, options, task=None, **kw):
    """`<default queue>.<kind>` for the kinds in CELERY_TASK_KINDS (verify,
    pages, mail), the default queue for everything else (docs/operations.md)."""
    from django.conf import settings

    kind = settings.CELERY_TASK_KINDS.get(name)
    default = app.conf.task_default_queue
    return {"queue": f"{default}.{kind}" if kind else default}


app = Celery("portal", task_cls=PortalTask)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(
    [
        "accounts",
        "releases.prereleases",
        "releases.verification",
        "releases.recovery",
        "publishing",
    ]
)

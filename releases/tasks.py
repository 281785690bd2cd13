"""Celery tasks: each takes primary keys, loads rows, calls one service.

The work a task does is recorded in a row (a submission's state, a release's
state), claimed with a conditional update, so a task delivered twice, or run
again after its worker died, does nothing the second time. What no broker
can promise, the sweeper (`releases.recovery`, on beat) makes good: a task
that was never published, or lost with its broker, is queued again.

Bound to the portal's app rather than `shared_task`: a shared task follows
whichever Celery app was made last in the process.
"""

from __future__ import annotations

import logging

from botocore.exceptions import BotoCoreError, ClientError
from celery import Task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import InterfaceError
from django.db import OperationalError as DatabaseError
from kombu.exceptions import OperationalError as BrokerError

from portal.celery import app

from . import services
from .models import Release

logger = logging.getLogger(__name__)

# Errors worth another try: storage, network and database hiccups, never a bad archive.
TRANSIENT = (OSError, BotoCoreError, ClientError, DatabaseError, InterfaceError)
# OSErrors that another try will not mend.
PERMANENT = (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError)
# A broker that is down or restarting, as publishing a task meets it.
BROKER_DOWN = (BrokerError, ConnectionError, TimeoutError)


class SweptTask(Task):
    """A task whose work waits in a row that the sweeper watches.

    Publishing it never fails the caller: when the broker is down, the error
    is logged and the row stays as it is (a submission stays `received`),
    and the sweeper queues it again once the broker is back. An upload must
    not fail, after its row committed, because the queue is unreachable.
    """

    abstract = True

    def apply_async(self, args=None, kwargs=None, **options):
        if self.app.conf.task_always_eager:
            return super().apply_async(args, kwargs, **options)
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


def queue_on_commit(task, *args) -> None:
    """Queue `task` once the current transaction commits; a broker error is logged.

    For callers that queue work the sweeper will find again if this fails.
    """
    from django.db import transaction

    def publish() -> None:
        try:
            task.delay(*args)
        except BROKER_DOWN as error:
            logger.error("could not queue %s%r: %s", task.name, args, error)

    transaction.on_commit(publish)


@app.task(
    bind=True,
    base=SweptTask,
    autoretry_for=TRANSIENT,
    dont_autoretry_for=PERMANENT,
    retry_backoff=2,
    retry_backoff_max=120,
    retry_jitter=True,
    max_retries=5,
)
def submission_verify(self, submission_id: int) -> str:
    try:
        done = services.submission_verify(submission_id=submission_id)
    except SoftTimeLimitExceeded:
        limit = settings.CELERY_TASK_SOFT_TIME_LIMIT
        services.submission_fail(
            submission_id=submission_id,
            error=f"Verification did not finish within {limit} seconds and was stopped. "
            "If the archive is very large, upload only your distros/$DISTRO bundle.",
        )
        return "timed out"
    except PERMANENT:
        services.submission_fail(
            submission_id=submission_id,
            error="The uploaded file is missing from storage. Upload it again; "
            "if this repeats, tell the release manager.",
        )
        return "file missing"
    except TRANSIENT:
        if self.request.retries >= self.max_retries:
            services.submission_fail(
                submission_id=submission_id,
                error="The uploaded file could not be read back from storage. "
                "Upload it again; if this repeats, tell the release manager.",
            )
            return "gave up"
        # Let it be claimed again on the retry (or by the sweeper, if the retry is lost).
        services.submission_release_claim(submission_id=submission_id)
        raise
    except Exception:
        # Not the archive's fault (the engine reports those as findings) and not
        # worth another try: say so once, rather than be swept up forever.
        logger.exception("verification of submission %s crashed", submission_id)
        services.submission_fail(
            submission_id=submission_id,
            error="The verifier met a problem of its own and could not finish. The release "
            "manager has been told through the logs; upload again later, or ask them.",
        )
        return "crashed"
    if done is None:
        # Another delivery claimed it, or it is decided already.
        return "nothing to claim"
    return done.state


@app.task(
    autoretry_for=TRANSIENT,
    dont_autoretry_for=PERMANENT,
    retry_backoff=2,
    retry_jitter=True,
    max_retries=5,
)
def release_deliver_prerelease(release_id: int) -> None:
    release = Release.objects.select_related("project", "prerelease").get(pk=release_id)
    sent = services.release_deliver_prerelease(release=release)
    logger.info("pre-release of %s mailed to %d maintainers", release, sent)


@app.task(
    autoretry_for=(DatabaseError, InterfaceError),
    retry_backoff=5,
    retry_jitter=True,
    max_retries=3,
)
def recovery_sweep() -> dict:
    """Beat's sweeper: queue again whatever a lost task or a dead worker left stuck."""
    from . import recovery

    return recovery.sweep()

"""The verification task: takes a submission's primary key, calls the service.

The work is claimed with a conditional update, so a task delivered twice, or
run again after its worker died, does nothing the second time; what no
broker can promise, the sweeper (`releases.recovery.sweeper`) makes good.
"""

from __future__ import annotations

import logging

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings

from portal.celery import PERMANENT, TRANSIENT, app

logger = logging.getLogger(__name__)


@app.task(bind=True)
def submission_verify_task(self, submission_id: int) -> str:
    from . import services

    try:
        done = services.submission_verify(submission_id=submission_id)
    except SoftTimeLimitExceeded:
        limit = settings.CELERY_TASK_SOFT_TIME_LIMIT
        services.submission_fail(
            submission_id=submission_id,
            error=f"Verification did not finish within {limit} seconds and was stopped. "
            "If the archive is very large, upload only your distro's own directory.",
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


@app.task(bind=True)
def submission_reverify_task(self, item_id: int) -> str:
    """One submission of a re-verification, judged by the new policy version (once).

    However it ends, the item ends: a time-out, a crash or storage that stays
    down closes it with that outcome, so the progress box always finishes."""
    from . import services

    try:
        return services.submission_reverify(item_id=item_id)
    except SoftTimeLimitExceeded:
        services.reverify_item_close(item_id=item_id, outcome="timed out")
        return "timed out"
    except TRANSIENT:
        if self.request.retries >= self.max_retries:
            logger.exception("re-verification item %s gave up on storage", item_id)
            services.reverify_item_close(item_id=item_id, outcome="storage error")
            return "gave up"
        raise
    except PERMANENT:
        services.reverify_item_close(item_id=item_id, outcome="file missing")
        return "file missing"
    except Exception:
        logger.exception("re-verification item %s crashed", item_id)
        services.reverify_item_close(item_id=item_id, outcome="error")
        return "crashed"

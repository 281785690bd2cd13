"""Celery tasks: each takes primary keys, loads rows, calls one service."""

from __future__ import annotations

import logging

from botocore.exceptions import BotoCoreError, ClientError
from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings

from . import services
from .models import Release

logger = logging.getLogger(__name__)

# Errors worth another try: storage and network hiccups, never a bad archive.
TRANSIENT = (OSError, ConnectionError, TimeoutError, BotoCoreError, ClientError)


@shared_task(
    bind=True,
    autoretry_for=TRANSIENT,
    retry_backoff=2,
    retry_backoff_max=120,
    retry_jitter=True,
    max_retries=5,
)
def submission_verify(self, submission_id: int) -> None:
    try:
        services.submission_verify(submission_id=submission_id)
    except SoftTimeLimitExceeded:
        limit = settings.CELERY_TASK_SOFT_TIME_LIMIT
        services.submission_fail(
            submission_id=submission_id,
            error=f"Verification did not finish within {limit} seconds and was stopped. "
            "If the archive is very large, upload only your distros/$DISTRO bundle.",
        )
    except TRANSIENT:
        if self.request.retries >= self.max_retries:
            services.submission_fail(
                submission_id=submission_id,
                error="The uploaded file could not be read back from storage. "
                "Upload it again; if this repeats, tell the release manager.",
            )
            return
        # Let it be claimed again on the retry.
        services.submission_release_claim(submission_id=submission_id)
        raise


@shared_task(autoretry_for=TRANSIENT, retry_backoff=2, retry_jitter=True, max_retries=5)
def release_deliver_prerelease(release_id: int) -> None:
    release = Release.objects.select_related("project", "prerelease").get(pk=release_id)
    sent = services.release_deliver_prerelease(release=release)
    logger.info("pre-release of %s mailed to %d maintainers", release, sent)

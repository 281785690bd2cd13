"""The pre-release delivery, run by a worker after the release opens or is respun."""

from __future__ import annotations

import logging

from portal.celery import app
from releases.models import Release

logger = logging.getLogger(__name__)


@app.task
def release_deliver_prerelease_task(release_id: int) -> None:
    from .services import release_deliver_prerelease

    release = Release.objects.select_related("project", "prerelease").get(pk=release_id)
    sent = release_deliver_prerelease(release=release)
    logger.info("pre-release of %s mailed to %d maintainers", release, sent)

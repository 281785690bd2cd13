"""The pre-release delivery, run by a worker after the release opens or is respun."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from portal.celery import app
from releases.models import Release, SourceProof

logger = logging.getLogger(__name__)

# While the new pre-release's source proof is being made, the delivery waits for
# it, so that the mail says whether the tarball matches its tag; a proof that
# takes longer than its fetch may is no reason to keep the maintainers waiting.
PROOF_WAIT_SECONDS = 5


def _proof_pending(release: Release) -> bool:
    recent = timezone.now() - timedelta(seconds=settings.SOURCE_FETCH_SECONDS + 60)
    return SourceProof.objects.filter(
        release=release,
        prerelease_id=release.prerelease_id,
        state=SourceProof.State.PENDING,
        created_at__gt=recent,
    ).exists()


@app.task(bind=True, max_retries=None)
def release_deliver_prerelease_task(self, release_id: int) -> None:
    from .services import release_deliver_prerelease

    release = Release.objects.select_related("project", "prerelease").get(pk=release_id)
    if _proof_pending(release):
        raise self.retry(countdown=PROOF_WAIT_SECONDS)
    sent = release_deliver_prerelease(release=release)
    logger.info("pre-release of %s mailed to %d maintainers", release, sent)

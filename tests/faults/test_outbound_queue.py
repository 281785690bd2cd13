"""A tarpit behind a maintainer's package links never delays another distro's verdict:
link checks run on the outbound queue, on a worker of their own, each ended at
its deadline (real Celery worker processes, a real trickling server)."""

from __future__ import annotations

import re
import time

import pytest
from django.conf import settings
from django.db import transaction

from publishing.tasks import package_link_check_task
from releases.models import PackageLink, Submission
from tests.factories import approve, link, packager
from tests.helpers import RawServer, bundle_bytes, submit, trickle
from tests.processes import wait_for

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

CHECK_SECONDS = 6
TARPITTED_LINKS = 3


def test_a_tarpit_holds_its_link_checks_to_their_deadline_and_no_verdict_waits(
    start_worker, release, ubuntu, fedora, maintainer
):
    tarpit = RawServer(trickle)
    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    outbound_queue = settings.CELERY_TASK_QUEUES_BY_KIND["outbound"]
    env = {"OUTBOUND_ALLOW_PRIVATE": "true", "PACKAGE_LINK_CHECK_TIMEOUT": str(CHECK_SECONDS)}
    try:
        # One process each, as compose runs them: every queue but outbound, and outbound.
        start_worker("verify", exclude_queues=[outbound_queue], **env)
        checker = start_worker("outbound", queues=[outbound_queue], **env)
        fedora_packager = packager("fiona")
        approve(fedora_packager, release.project, fedora)
        links = [
            link(release, fedora, f"http://127.0.0.1:{tarpit.port}/convirt-{i}.rpm")
            for i in range(TARPITTED_LINKS)
        ]
        with transaction.atomic():
            for each in links:
                transaction.on_commit(lambda pk=each.pk: package_link_check_task.delay(pk))
        time.sleep(0.5)  # the outbound worker has taken the first check

        started = time.monotonic()
        submission = submit(release, ubuntu, maintainer, bundle_bytes())
        wait_for(
            lambda: Submission.objects.filter(pk=submission.pk, state__in=("passed", "failed"))
            .exists(),
            timeout=60,
            interval=0.05,
            what="the ubuntu verdict",
        )
        verdict_seconds = time.monotonic() - started
        # The checks queued before it would hold a shared worker 3 x 6 s.
        assert verdict_seconds < CHECK_SECONDS, verdict_seconds

        wait_for(
            lambda: PackageLink.objects.filter(pk__in=[x.pk for x in links])
            .exclude(checked_at=None)
            .count()
            == TARPITTED_LINKS,
            timeout=TARPITTED_LINKS * CHECK_SECONDS + 30,
            what="the tarpitted link checks",
        )
        for each in PackageLink.objects.filter(pk__in=[x.pk for x in links]):
            assert (each.health, each.check_detail) == ("broken", "could not be reached")
            assert each.check_internal == f"timed out after {CHECK_SECONDS} s"
        def durations() -> list[float]:
            return [
                float(s)
                for s in re.findall(
                    r"package_link_check_task\[[^\]]+\] succeeded in ([\d.]+)s", checker.log()
                )
            ]

        # A task writes its row before the worker logs that it succeeded.
        wait_for(lambda: len(durations()) >= TARPITTED_LINKS, timeout=10,
                 what="the worker's log of the link checks")
        took = durations()
        assert len(took) == TARPITTED_LINKS
        assert all(CHECK_SECONDS - 0.1 < s < CHECK_SECONDS + 1.5 for s in took), took
        print(
            f"\noutbound: tarpit checks took {', '.join(f'{s:.2f}' for s in took)} s "
            f"(deadline {CHECK_SECONDS} s); the other distro's verdict {verdict_seconds:.2f} s"
            f" (queue {queue})"
        )
    finally:
        tarpit.close()

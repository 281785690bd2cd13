"""A worker killed mid-verification, the same task twice at once, a broker lost."""

from __future__ import annotations

import re
import time

import pytest

from releases.models import AuditEvent, Finding, Submission
from releases.recovery import sweeper as recovery
from releases.verification.tasks import submission_verify_task as submission_verify
from tests.faults.conftest import celery_broker, submit
from tests.processes import free_port, wait_for

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

DECIDED = ("passed", "failed")


def decided(pk: int) -> Submission | None:
    return Submission.objects.filter(pk=pk, state__in=DECIDED).first()


def verdict_events(pk: int) -> int:
    return AuditEvent.objects.filter(object_id=str(pk), verb="submission.verified").count()


def expected_findings(submission: Submission) -> list[tuple]:
    """What one verification of the same bytes finds, run here in the test."""
    from releases.policies import rules_for
    from releases.prereleases.services import release_index
    from releases.verification.services import _verify_artifact

    report = _verify_artifact(
        submission.artifact,
        submission=submission,
        rules=rules_for(submission.release.project),
        reference=release_index(release=submission.release),
        progress=None,
    )
    return sorted((f.check, f.path or "", f.message) for f in report.findings)


def stored_findings(pk: int) -> list[tuple]:
    return sorted(
        (check, path or "", message)
        for check, path, message in Finding.objects.filter(submission_id=pk).values_list(
            "check_id", "path", "message"
        )
    )


def test_a_worker_killed_mid_verification_is_replaced_and_one_verdict_results(
    start_worker, release, ubuntu, maintainer, slow_bundle, settings
):
    first = start_worker("doomed")
    submission = submit(release, ubuntu, maintainer, slow_bundle)
    wait_for(
        lambda: Submission.objects.filter(pk=submission.pk, state="verifying").exists(),
        timeout=60,
        interval=0.05,
        what="the worker to start verifying",
    )
    time.sleep(0.5)  # well into the few seconds this bundle takes
    first.kill()  # SIGKILL: no clean-up, the message stays unacknowledged
    assert Submission.objects.get(pk=submission.pk).state == "verifying"

    start_worker("replacement")
    # Redis would hand the message over only after its visibility timeout
    # (hours): nothing happens until the sweeper takes the submission back.
    settings.SWEEPER_VERIFYING_SECONDS = 0
    assert recovery.sweep()["stalled_verifications"] == [submission.pk]
    done = wait_for(lambda: decided(submission.pk), timeout=90, what="verdict after the kill")

    assert done.state == "failed" and done.progress == 100 and not done.error
    findings = stored_findings(submission.pk)
    assert findings and findings == expected_findings(done)  # one set, not two
    assert verdict_events(submission.pk) == 1


def _task_seconds(log: str) -> list[float]:
    return [
        float(s) for s in re.findall(r"submission_verify_task\[[^\]]+\] succeeded in ([\d.]+)s", log)
    ]


def test_the_same_verification_delivered_twice_at_once_runs_once(
    start_worker, release, ubuntu, maintainer, slow_bundle
):
    workers = [start_worker("twin-a"), start_worker("twin-b")]
    with celery_broker(f"redis://127.0.0.1:{free_port()}/0"):  # nothing listens: not queued
        submission = submit(release, ubuntu, maintainer, slow_bundle)
    # Delivered twice at once: each idle worker takes one.
    submission_verify.delay(submission.pk)
    submission_verify.delay(submission.pk)

    wait_for(lambda: decided(submission.pk), timeout=90, what="a verdict")
    wait_for(
        lambda: sum(len(_task_seconds(w.log())) for w in workers) == 2,
        timeout=30,
        what="both deliveries to finish",
    )
    durations = sorted(d for w in workers for d in _task_seconds(w.log()))
    assert all(len(_task_seconds(w.log())) == 1 for w in workers), "each worker took one"
    # One did the work (seconds); the other claimed nothing and returned at once.
    assert durations[0] < 0.5 < 1.0 < durations[1], durations
    logs = "".join(w.log() for w in workers)
    assert logs.count("'nothing to claim'") == 1
    assert verdict_events(submission.pk) == 1
    assert stored_findings(submission.pk) == expected_findings(
        Submission.objects.get(pk=submission.pk)
    )


def test_uploads_while_the_broker_is_down_all_reach_a_verdict_once_it_is_back(
    start_worker, private_redis, release, maintainer, settings, client, caplog
):
    from django.urls import reverse

    from accounts.models import ApiToken
    from tests.factories import DistroFactory, MaintainershipFactory
    from tests.helpers import bundle_bytes, multipart

    distros = ["ubuntu", "debian", "mint"]
    for slug in distros[1:]:
        MaintainershipFactory(
            user=maintainer, project=release.project, distro=DistroFactory(slug=slug)
        )
    key = ApiToken.issue(user=maintainer, name="ubuntu CI")[1]
    worker = start_worker("survivor")
    private_redis.kill()

    ids = []
    for slug in distros:
        body, content_type = multipart({}, {"bundle": (f"{slug}.tar.gz", bundle_bytes())})
        response = client.generic(
            "POST",
            reverse("api-submission-create", args=[release.project.slug, release.version, slug]),
            body,
            content_type=content_type,
            HTTP_AUTHORIZATION=f"Token {key}",
        )
        assert response.status_code == 201, response.content  # the upload does not fail
        ids.append(response.json()["id"])
    assert caplog.text.count("the sweeper will queue it again") == len(distros)
    assert set(Submission.objects.filter(pk__in=ids).values_list("state", flat=True)) == {
        "received"
    }

    private_redis.start()  # back, and empty: nothing that was published survived
    settings.SWEEPER_RECEIVED_SECONDS = 0
    assert sorted(recovery.sweep()["lost_verifications"]) == sorted(ids)
    for pk in ids:
        wait_for(
            lambda pk=pk: decided(pk), timeout=90, what=f"verdict on {pk} (log: {worker.log_path})"
        )
        assert verdict_events(pk) == 1

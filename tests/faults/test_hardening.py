"""Hardening: Content-Security-Policy, rate limits on the account forms and token
creation, the sweeper's settings, downloads as attachments."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.urls import reverse

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def test_every_page_has_a_policy_without_inline_script(client):
    response = client.get(reverse("login"))
    policy = response["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["script-src"] == "'self'"
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'"


def test_the_public_page_has_its_own_policy_and_no_script(client, settings, tmp_path):
    from publishing.services import public_page_regenerate
    from tests.factories import ProjectFactory

    settings.STORAGES = {
        **settings.STORAGES,
        "public": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path), "base_url": "/downloads/"},
        },
    }
    public_page_regenerate(project=ProjectFactory())
    response = client.get("/downloads/convirt/")
    assert response.status_code == 200
    policy = response["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script-src" not in policy


def test_no_template_has_inline_script_or_style_attributes():
    """The policy forbids them; the public page's stylesheet is the one inline style."""
    offenders = []
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text()
        for tag in re.findall(r"<script\b[^>]*>", text):
            if "src=" not in tag:
                offenders.append(f"{path.relative_to(TEMPLATES)}: {tag}")
        if re.search(r"\son[a-z]+\s*=", text):
            offenders.append(f"{path.relative_to(TEMPLATES)}: an on...= handler")
        if re.search(r"\sstyle\s*=", text):
            offenders.append(f"{path.relative_to(TEMPLATES)}: a style= attribute")
    assert not offenders, offenders


@pytest.mark.parametrize(
    ("name", "data", "setting"),
    [
        ("login", {"username": "someone", "password": "wrong"}, "LOGINS_PER_15_MINUTES"),
        (
            "signup",
            {"username": "x", "email": "bad", "password1": "a", "password2": "b"},
            "SIGNUPS_PER_HOUR",
        ),
        ("password_reset", {"email": "someone@example.org"}, "PASSWORD_RESETS_PER_HOUR"),
    ],
)
def test_account_forms_answer_429_with_retry_after(client, settings, name, data, setting):
    setattr(settings, setting, 3)
    url = reverse(name)
    statuses = [client.post(url, data).status_code for _ in range(4)]
    assert 429 not in statuses[:3] and statuses[3] == 429
    response = client.post(url, data)
    assert response.status_code == 429 and int(response["Retry-After"]) > 0
    assert b"try again in" in response.content
    assert client.get(url).status_code == 200  # reading the form is never limited


def test_guesses_at_one_account_from_other_addresses_never_lock_its_owner_out(client, settings):
    # Each guessing address is refused; the owner, from theirs, is not.
    settings.LOGINS_PER_15_MINUTES = 2
    UserFactory(username="victim")
    url = reverse("login")
    for n in range(3):
        for _ in range(3):
            client.post(url, {"username": "victim", "password": "x"}, REMOTE_ADDR=f"10.0.0.{n}")
        assert (
            client.post(
                url, {"username": "victim", "password": "x"}, REMOTE_ADDR=f"10.0.0.{n}"
            ).status_code
            == 429
        )
    response = client.post(
        url, {"username": "victim", "password": "a-long-test-password"}, REMOTE_ADDR="10.0.0.9"
    )
    assert response.status_code == 302


def test_token_creation_answers_429_with_retry_after(client, settings):
    settings.TOKENS_PER_HOUR = 2
    client.force_login(UserFactory())
    url = reverse("token-create")
    assert [client.post(url, {"name": f"ci {n}"}).status_code for n in range(2)] == [200, 200]
    response = client.post(url, {"name": "one too many"})
    assert response.status_code == 429 and response["Retry-After"]


def test_the_sweeper_runs_on_beat_and_waits_past_the_hard_time_limit(settings):
    schedule = settings.CELERY_BEAT_SCHEDULE["recovery-sweep"]
    assert schedule["task"] == "releases.recovery.tasks.recovery_sweep_task"
    assert schedule["schedule"] == settings.SWEEPER_INTERVAL_SECONDS
    assert settings.SWEEPER_VERIFYING_SECONDS > settings.CELERY_TASK_TIME_LIMIT
    assert settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] > (
        settings.CELERY_TASK_TIME_LIMIT
    )
    assert settings.CELERY_TASK_ACKS_LATE and settings.CELERY_TASK_REJECT_ON_WORKER_LOST
    assert settings.CELERY_WORKER_PREFETCH_MULTIPLIER == 1
    assert settings.CELERY_TASK_SOFT_TIME_LIMIT < settings.CELERY_TASK_TIME_LIMIT


def test_settings_refuse_a_visibility_timeout_below_the_hard_limit(monkeypatch):
    import importlib

    from django.core.exceptions import ImproperlyConfigured

    import portal.settings

    monkeypatch.setenv("CELERY_TASK_TIME_LIMIT", "3600")
    monkeypatch.setenv("CELERY_VISIBILITY_TIMEOUT", "1800")
    with pytest.raises(ImproperlyConfigured, match="CELERY_VISIBILITY_TIMEOUT"):
        importlib.reload(portal.settings)
    monkeypatch.undo()
    importlib.reload(portal.settings)


def test_the_sweeper_leaves_fresh_work_alone(release, ubuntu, maintainer, settings):
    from releases.models import Submission
    from releases.recovery import sweeper as recovery
    from tests.faults.conftest import submit
    from tests.helpers import bundle_bytes

    submission = submit(release, ubuntu, maintainer, bundle_bytes())
    assert recovery.sweep() == {
        "stalled_verifications": [],
        "lost_verifications": [],
        "stuck_releases": [],
        "missing_deliveries": [],
        "stale_pages": [],
        "lost_reverifications": [],
        "lost_source_proofs": [],
        "frozen_at_deadline": [],
        "partial_writes_removed": [],
        "upload_bytes_removed": [],
        "events_redispatched": [],
    }
    Submission.objects.filter(pk=submission.pk).update(state="verifying")
    from django.utils import timezone

    Submission.objects.filter(pk=submission.pk).update(verification_started_at=timezone.now())
    assert recovery.sweep()["stalled_verifications"] == []
    settings.SWEEPER_VERIFYING_SECONDS = 0
    assert recovery.sweep()["stalled_verifications"] == [submission.pk]
    assert Submission.objects.get(pk=submission.pk).state == "received"
    # Just re-queued: not queued again at once.
    settings.SWEEPER_RECEIVED_SECONDS = 60
    assert recovery.sweep()["lost_verifications"] == []


def test_the_sweeper_queues_the_assembly_of_a_release_left_publishing(
    release, settings, django_capture_on_commit_callbacks, tasks_queued
):
    from releases.models import AuditEvent, Release
    from releases.recovery import sweeper as recovery

    Release.objects.filter(pk=release.pk).update(state="publishing", published_at=None)
    assert recovery.sweep()["stuck_releases"] == []  # just published: its task may be queued
    settings.SWEEPER_RECEIVED_SECONDS = 0
    with django_capture_on_commit_callbacks(execute=True):
        assert recovery.sweep()["stuck_releases"] == [release.pk]
    assert tasks_queued == [("release_assemble_task", (release.pk,))]
    assert AuditEvent.objects.filter(verb="release.assembly_requeued", object_id=str(release.pk)).count() == 1


def test_a_verification_that_keeps_stalling_fails_instead_of_looping(
    release, ubuntu, maintainer, settings
):
    from releases.models import Submission
    from releases.recovery import sweeper as recovery
    from tests.faults.conftest import submit
    from tests.helpers import bundle_bytes

    settings.SWEEPER_VERIFYING_SECONDS = 0
    settings.SWEEPER_MAX_STALLS = 2
    submission = submit(release, ubuntu, maintainer, bundle_bytes())
    for _ in range(2):
        Submission.objects.filter(pk=submission.pk).update(state="verifying")
        assert recovery.submissions_requeue()["stalled"] == [submission.pk]
    Submission.objects.filter(pk=submission.pk).update(state="verifying")
    assert recovery.submissions_requeue()["stalled"] == []
    submission.refresh_from_db()
    assert submission.state == "failed" and "stopped 2 times" in submission.error


def test_a_crash_in_the_verifier_fails_the_submission_once(
    release, ubuntu, maintainer, monkeypatch
):
    from releases.models import Submission
    from releases.verification import services, tasks
    from tests.faults.conftest import submit
    from tests.helpers import bundle_bytes

    submission = submit(release, ubuntu, maintainer, bundle_bytes())

    def explode(**kwargs):
        Submission.objects.filter(pk=submission.pk).update(state="verifying")
        raise KeyError("policy lost a table")

    monkeypatch.setattr(services, "submission_verify", explode)
    assert tasks.submission_verify_task.run(submission.pk) == "crashed"
    submission.refresh_from_db()
    assert submission.state == "failed" and "problem of its own" in submission.error

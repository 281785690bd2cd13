"""Storage cannot be exhausted: failed and replaced uploads lose their bytes after
the retention period (the record stays), and a distro has a byte quota."""

from datetime import timedelta

import pytest
from django.core.files.storage import storages
from django.urls import reverse
from django.utils import timezone

from releases.models import Artifact, AuditEvent, Submission
from releases.recovery import sweeper
from tests.helpers import bundle_bytes, multipart, submit

pytestmark = pytest.mark.django_db


def test_retention_deletes_the_bytes_of_failed_and_replaced_uploads_and_keeps_the_record(
    client, release, ubuntu, maintainer, clock, settings
):
    settings.UPLOAD_RETENTION_DAYS = 14
    failed = submit(release, ubuntu, maintainer, bundle_bytes(), "first.tar.gz")
    Submission.objects.filter(pk=failed.pk).update(state="failed")
    accepted = submit(release, ubuntu, maintainer, bundle_bytes() + b"\0" * 1024, "second.tar.gz")
    Submission.objects.filter(pk=accepted.pk).update(state="accepted")
    uploads = storages["uploads"]
    assert uploads.exists(failed.artifact.key)

    clock.advance(days=13)
    assert sweeper.sweep()["upload_bytes_removed"] == []
    clock.advance(days=2)
    assert sweeper.sweep()["upload_bytes_removed"] == [failed.pk]

    assert not uploads.exists(failed.artifact.key)
    assert uploads.exists(accepted.artifact.key)  # accepted work is never touched
    failed.refresh_from_db()
    artifact = Artifact.objects.get(pk=failed.artifact_id)
    assert artifact.removed_at is not None and artifact.sha256 == failed.artifact.sha256
    assert Submission.objects.get(pk=failed.pk).state == "superseded"  # the row stays
    assert AuditEvent.objects.filter(verb="submission.bytes_removed", object_id=str(failed.pk))
    assert sweeper.sweep()["upload_bytes_removed"] == []  # once

    client.force_login(maintainer)
    page = client.get(reverse("submission-detail", args=[failed.pk])).content.decode()
    assert "The uploaded file was removed on" in page and artifact.sha256 in page


def test_an_upload_past_the_distros_quota_is_refused_naming_the_quota(
    client, release, ubuntu, maintainer, settings
):
    data = bundle_bytes()
    settings.DISTRO_QUOTA_BYTES = len(data) * 2 + 100
    submit(release, ubuntu, maintainer, data, "one.tar.gz")
    submit(release, ubuntu, maintainer, data + b"\0" * 10, "two.tar.gz")
    before = Artifact.objects.count()
    client.force_login(maintainer)
    body, content_type = multipart({}, {"bundle": ("three.tar.gz", data + b"\0" * 20)})
    response = client.generic(
        "POST",
        reverse("release-distro", args=["convirt", "2.0", "ubuntu"]),
        body,
        content_type=content_type,
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 413
    message = response.json()["error"]
    assert "quota" in message and "Ubuntu" in message and "nothing was stored" in message
    assert Artifact.objects.count() == before

    # Removed bytes no longer count.
    Artifact.objects.filter(kind="submission").update(removed_at=timezone.now() - timedelta(days=1))
    body, content_type = multipart({}, {"bundle": ("three.tar.gz", data + b"\0" * 20)})
    response = client.generic(
        "POST",
        reverse("release-distro", args=["convirt", "2.0", "ubuntu"]),
        body,
        content_type=content_type,
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code in (200, 201)

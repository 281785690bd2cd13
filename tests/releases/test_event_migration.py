"""A database at the head before the event vocabulary (releases 0014) keeps its
audit trail, under the new words, and gains the state the sweeper now reads."""

from datetime import timedelta

import pytest
from django.utils import timezone

from releases.events import Event
from tests.helpers import migrate_to

BEFORE = [("releases", "0014_distro_slug_help")]


@pytest.mark.django_db(transaction=True)
def test_old_audit_rows_take_the_event_words_and_scope_and_the_state_is_rebuilt():
    old = migrate_to(BEFORE)
    Project = old.get_model("releases", "Project")
    Distro = old.get_model("releases", "Distro")
    Release = old.get_model("releases", "Release")
    Artifact = old.get_model("releases", "Artifact")
    Submission = old.get_model("releases", "Submission")
    AuditEvent = old.get_model("releases", "AuditEvent")
    User = old.get_model("auth", "User")

    staff = User.objects.create(username="old-staff", is_staff=True)
    project = Project.objects.create(slug="convirt", name="ConVirt")
    ubuntu = Distro.objects.create(slug="ubuntu", name="Ubuntu")
    deadline = timezone.now() - timedelta(days=1)
    release = Release.objects.create(
        project=project, version="2.0", state="frozen", submission_deadline=deadline
    )
    artifact = Artifact.objects.create(
        kind="submission", key="k", size=1, sha256="0" * 64, original_name="b.tar.gz"
    )
    submission = Submission.objects.create(
        release=release, distro=ubuntu, submitter=staff, artifact=artifact, state="verifying"
    )

    def record(verb, obj, actor=None, **detail):
        return AuditEvent.objects.create(
            verb=verb,
            actor=actor,
            object_type=f"releases.{obj._meta.model_name}",
            object_id=str(obj.pk),
            object_repr=str(obj),
            detail=detail,
        )

    opened = record("release.open", release, staff)
    record("submission.create", submission, staff)
    requeued = record("submission.requeue", submission, reason="verification stalled")
    record("release.freeze", release)  # by the sweeper, at the deadline
    record("release.released", release, staff)
    untouched = record("something.else", project)

    new = migrate_to()
    AuditEvent = new.get_model("releases", "AuditEvent")
    verbs = list(AuditEvent.objects.order_by("pk").values_list("verb", flat=True))
    assert verbs == [
        Event.RELEASE_OPENED,
        Event.SUBMISSION_CREATED,
        Event.SUBMISSION_REQUEUED,
        Event.RELEASE_FROZEN,
        Event.RELEASE_PUBLISHED,
        "something.else",  # a word the migration does not know stays as it was
    ]
    row = AuditEvent.objects.get(pk=requeued.pk)
    assert (row.project_id, row.release_id, row.distro_id) == (project.pk, release.pk, ubuntu.pk)
    assert AuditEvent.objects.get(pk=opened.pk).release_id == release.pk
    assert AuditEvent.objects.get(pk=untouched.pk).project_id == project.pk
    # What was recorded before had its mail and webhooks: nothing is dispatched again.
    assert not AuditEvent.objects.filter(dispatched_at__isnull=True).exists()

    release = new.get_model("releases", "Release").objects.get(pk=release.pk)
    assert release.frozen_reason == "deadline"  # the newest freeze had no actor
    assert release.deadline_frozen_at == deadline  # the sweeper will not freeze it again
    assert release.delivery_queued_at == AuditEvent.objects.get(pk=opened.pk).created_at
    submission = new.get_model("releases", "Submission").objects.get(pk=submission.pk)
    assert submission.stalls == 1
    assert submission.queued_at == AuditEvent.objects.get(pk=requeued.pk).created_at

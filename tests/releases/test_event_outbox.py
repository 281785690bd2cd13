"""The audit row is the outbox: an event whose process died between commit and
its subscribers is dispatched again by the sweeper, once."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from releases.events import Event, event_record, events_dispatch_lost
from releases.models import AuditEvent
from tests.factories import SubmissionFactory

pytestmark = pytest.mark.django_db


def test_a_lost_dispatch_is_sent_again_once(staff, mailoutbox, django_capture_on_commit_callbacks):
    submission = SubmissionFactory(state="accepted")
    # The process dies after the commit, before the subscribers ran.
    with django_capture_on_commit_callbacks(execute=False), transaction.atomic():
        record = event_record(Event.SUBMISSION_ACCEPTED, actor=staff, target=submission)
    assert mailoutbox == [] and AuditEvent.objects.get(pk=record.pk).dispatched_at is None

    now = timezone.now()
    assert events_dispatch_lost(older_than=now - timedelta(minutes=5)) == []  # too young
    AuditEvent.objects.filter(pk=record.pk).update(created_at=now - timedelta(hours=1))

    assert events_dispatch_lost(older_than=now - timedelta(minutes=5)) == [record.pk]
    assert [m.to for m in mailoutbox] == [[submission.submitter.email]]
    assert AuditEvent.objects.get(pk=record.pk).dispatched_at is not None
    assert events_dispatch_lost(older_than=now) == []  # never twice
    assert len(mailoutbox) == 1

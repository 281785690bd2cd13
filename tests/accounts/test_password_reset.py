"""Password reset answers alike, in the same time, for known and unknown
addresses: the request only queues the mail; a worker looks the address up,
records the event and mails the link."""

import re
import statistics
import time

import pytest
from django.core import mail
from django.core.mail.backends import locmem
from django.db import connection
from django.test import Client, TestCase
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from kombu.simple import SimpleQueue

from accounts.tasks import password_reset_mail_task
from portal.celery import app
from releases.models import AuditEvent
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

KNOWN, UNKNOWN = "owner@example.org", "nobody@example.org"


@pytest.fixture
def owner(db):
    return UserFactory(username="owner", email=KNOWN)


@pytest.fixture
def mail_queue(settings):
    """The queue the reset mail goes to, read with the broker's own client."""
    name = settings.CELERY_TASK_QUEUES_BY_KIND["mail"]
    with app.connection_for_read() as conn:
        queue = SimpleQueue(conn, name)
        queue.clear()
        yield queue
        queue.clear()
        queue.close()


def ask(email: str):
    # The test's transaction stands for the request's: the task leaves on commit.
    with (
        TestCase.captureOnCommitCallbacks(execute=True),
        CaptureQueriesContext(connection) as queries,
    ):
        response = Client().post(reverse("password_reset"), {"email": email})
    return response, [q["sql"] for q in queries.captured_queries]


def queued_addresses(queue) -> list[str]:
    found = []
    while True:
        try:
            message = queue.get(timeout=2)
        except queue.Empty:
            return found
        assert message.headers["task"] == password_reset_mail_task.name
        found.append(message.payload[0][0])
        message.ack()


def test_known_and_unknown_addresses_get_the_same_answer_and_only_a_queued_task(owner, mail_queue):
    known, known_sql = ask(KNOWN)
    unknown, unknown_sql = ask(UNKNOWN)
    assert (known.status_code, known["Location"], known.content) == (
        unknown.status_code,
        unknown["Location"],
        unknown.content,
    )
    assert known["Location"] == reverse("password_reset_done")
    # The request never looks the address up, and sends nothing itself.
    assert known_sql == unknown_sql
    assert not [sql for sql in known_sql if "auth_user" in sql]
    assert mail.outbox == []
    assert queued_addresses(mail_queue) == [KNOWN, UNKNOWN]


def test_the_worker_mails_a_link_that_sets_a_new_password(
    owner, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        password_reset_mail_task.apply(args=[UNKNOWN])
    assert mail.outbox == []
    with django_capture_on_commit_callbacks(execute=True):
        password_reset_mail_task.apply(args=["OWNER@example.org"])
    (sent,) = mail.outbox
    assert sent.to == [KNOWN] and sent.subject == "Reset your password at the release portal"
    assert AuditEvent.objects.filter(verb="account.password_reset", object_id=str(owner.pk))

    link = re.search(r"https?://\S+/password/reset/\S+/", sent.body).group(0)
    client = Client()
    form = client.get(link.split("://", 1)[1].split("/", 1)[1].join(["/", ""]), follow=True)
    assert form.status_code == 200 and b"new_password1" in form.content
    done = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": "a-brand-new-pw-42", "new_password2": "a-brand-new-pw-42"},
    )
    assert done.status_code == 302
    assert Client().login(username="owner", password="a-brand-new-pw-42")


def test_the_reset_mail_has_its_own_queue():
    from portal.celery import route_by_kind

    queue = route_by_kind(password_reset_mail_task.name, (), {}, {})["queue"]
    assert queue.endswith(".mail")


class SlowMailServer(locmem.EmailBackend):
    """A mail server that takes its time, as a real one over the network does."""

    def send_messages(self, messages):
        time.sleep(0.2)
        return super().send_messages(messages)


def test_the_answer_takes_the_same_time(owner, mail_queue, settings):
    settings.PASSWORD_RESETS_PER_HOUR = 1000
    settings.EMAIL_BACKEND = f"{__name__}.SlowMailServer"

    def timed(email):
        started = time.perf_counter()
        ask(email)
        return time.perf_counter() - started

    timed(KNOWN), timed(UNKNOWN)  # warm up
    known = statistics.median(timed(KNOWN) for _ in range(15))
    unknown = statistics.median(timed(UNKNOWN) for _ in range(15))
    print(
        f"password reset answer, median of 15: known {known * 1000:.1f} ms, "
        f"unknown {unknown * 1000:.1f} ms"
    )
    # Before: 3.6 s against 0.05 s (the mail was sent on the request's path).
    assert abs(known - unknown) < max(0.05, 0.5 * min(known, unknown))

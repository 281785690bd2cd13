import pytest
from django.urls import reverse

from releases.models import WorkerPing
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_status_page_is_for_site_administrators_only(client, staff):
    assert client.get(reverse("status")).status_code == 302  # to the log-in page
    client.force_login(UserFactory(username="someone"))
    assert client.get(reverse("status")).status_code == 404
    client.force_login(staff)  # a project's owner, not the site's
    assert client.get(reverse("status")).status_code == 404


def test_staff_ping_queues_a_worker_ping(client, django_capture_on_commit_callbacks):
    client.force_login(UserFactory(username="staff", is_staff=True))
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(reverse("status-ping"))
    assert response.status_code == 302
    assert WorkerPing.objects.count() == 1
    assert len(callbacks) == 1  # queued only once the ping row is committed

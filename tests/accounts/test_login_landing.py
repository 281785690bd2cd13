"""After logging in, each person lands where their work is; an account whose
address is not confirmed yet is told so, with a way to have the mail again."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.services import account_create
from releases.models import Maintainership
from tests.factories import ProjectMemberFactory, UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-enough-password-42"


def log_in(client, username, password=PASSWORD, *, next_="", address="10.9.0.1"):
    url = reverse("login") + (f"?next={next_}" if next_ else "")
    return client.post(url, {"username": username, "password": password}, REMOTE_ADDR=address)


def test_a_maintainer_lands_on_my_distros(maintainer):
    maintainer.set_password(PASSWORD)
    maintainer.save()
    response = log_in(Client(), maintainer.username)
    assert response.status_code == 302 and response["Location"] == reverse("my-distros")


def test_staff_land_on_the_dashboard_with_the_claims_waiting(release, ubuntu, fedora):
    staff = UserFactory(username="rm", password=PASSWORD)
    ProjectMemberFactory(user=staff, project=release.project, role="release_manager")
    for name, distro in (("a", ubuntu), ("b", fedora)):
        Maintainership.objects.create(
            user=UserFactory(username=name), project=release.project, distro=distro, state="requested"
        )
    client = Client()
    response = log_in(client, staff.username)
    assert response.status_code == 302 and response["Location"] == reverse("staff-releases")
    page = client.get(response["Location"]).content.decode()
    badge = re.search(r'<a class="claims-waiting"[^>]*>(.*?)</a>', page, re.S)
    assert badge, "no claims badge"
    assert re.sub(r"<[^>]+>|\s+", " ", badge.group(1)).split() == ["2", "claims", "waiting"]
    # None waiting: no badge.
    Maintainership.objects.filter(state="requested").update(state="approved")
    assert "claims-waiting" not in client.get(reverse("staff-releases")).content.decode()


def test_an_explicit_next_wins(maintainer):
    maintainer.set_password(PASSWORD)
    maintainer.save()
    response = log_in(Client(), maintainer.username, next_="/accounts/profile/")
    assert response["Location"] == "/accounts/profile/"


def test_an_unconfirmed_account_is_told_so_and_can_have_the_mail_again(
    django_capture_on_commit_callbacks, settings
):
    settings.CONFIRM_MAILS_PER_HOUR = 2
    with django_capture_on_commit_callbacks(execute=True):
        account_create(username="newbie", email="newbie@example.org", password=PASSWORD)
    assert len(mail.outbox) == 1
    client = Client()
    page = log_in(client, "newbie").content.decode()
    assert "not confirmed your address" in page
    assert "newbie@example.org" in page
    assert "correct username and password" not in page
    resend = re.search(r'<form method="post" action="([^"]+)"[^>]*>.*?Send the confirmation mail again', page, re.S)
    assert resend, page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(resend.group(1), REMOTE_ADDR="10.9.0.1", follow=True)
    assert "mailed a new confirmation link to newbie@example.org" in response.content.decode()
    assert len(mail.outbox) == 2 and mail.outbox[1].to == ["newbie@example.org"]
    link = re.search(r"https?://\S+/accounts/confirm/\S+/", mail.outbox[1].body).group(0)
    assert client.get(link.split("://", 1)[1].split("/", 1)[1].join(["/", ""])).status_code == 302
    # Rate limited like the other mails.
    with django_capture_on_commit_callbacks(execute=True):
        client.post(resend.group(1), REMOTE_ADDR="10.9.0.1")
        limited = client.post(resend.group(1), REMOTE_ADDR="10.9.0.1")
    assert limited.status_code == 429 and "Retry-After" in limited


def test_a_wrong_password_on_an_unconfirmed_account_says_nothing_more(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        account_create(username="newbie", email="newbie@example.org", password=PASSWORD)
    client = Client()
    page = log_in(client, "newbie", "wrong-password-123").content.decode()
    assert "not confirmed" not in page and "newbie@example.org" not in page
    # Nobody who has not given the password can have the mail sent again.
    response = client.post(reverse("signup-confirm-resend"), REMOTE_ADDR="10.9.0.1")
    assert response.status_code == 302 and len(mail.outbox) == 1

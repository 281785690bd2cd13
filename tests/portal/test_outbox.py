"""On the embedded defaults, mail lands in an outbox a newcomer opens in the browser:
every mail, newest first, with its links. Elsewhere there is no such page."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.services import account_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def outbox(settings, tmp_path):
    settings.EMAIL_BACKEND = "portal.outbox.OutboxBackend"
    settings.EMAIL_OUTBOX_DIR = tmp_path / "outbox"
    settings.OUTBOX_PAGE = True
    return settings.EMAIL_OUTBOX_DIR


def test_a_sign_up_s_mail_is_in_the_outbox_with_its_link(outbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        account_create(username="newbie", email="newbie@example.org", password="a-long-password-42")
    assert len(list(outbox.glob("*.eml"))) == 1
    client = Client()
    home = client.get("/").content.decode()
    assert f'href="{reverse("outbox")}"' in home  # the header says where mail went
    page = client.get(reverse("outbox")).content.decode()
    assert "Confirm your release portal account" in page and "To newbie@example.org" in page
    link = re.search(r'<a href="(http://[^"]+/accounts/confirm/[^"]+/)">', page).group(1)
    path = "/" + link.split("/", 3)[3]
    assert client.get(path).status_code == 302  # the link confirms the account
    assert client.get(reverse("my-distros")).status_code == 200


def test_the_newest_mail_comes_first(outbox):
    for subject in ("mail-one", "mail-two"):
        mail.send_mail(subject, "body https://example.org/x.", "portal@localhost", ["a@example.org"])
    page = Client().get(reverse("outbox")).content.decode()
    assert page.index("mail-two") < page.index("mail-one")
    assert '<a href="https://example.org/x">' in page  # a sentence's full stop is not the link's


def test_there_is_no_outbox_when_mail_is_sent(settings):
    settings.OUTBOX_PAGE = False
    client = Client()
    assert client.get(reverse("outbox")).status_code == 404
    assert f'href="{reverse("outbox")}"' not in client.get("/").content.decode()

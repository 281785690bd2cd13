"""Sign-up says the same whether or not an address has an account: the
address's owner is told by mail instead, and no second account is made."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db


def sign_up(
    username, email, django_capture_on_commit_callbacks, *, password="a-long-enough-password-42"
):
    with django_capture_on_commit_callbacks(execute=True):
        return Client().post(
            reverse("signup"),
            {
                "username": username,
                "email": email,
                "display_name": "",
                "password1": password,
                "password2": password,
            },
            REMOTE_ADDR=f"10.1.0.{len(mail.outbox) + 1}",
        )


def page_text(response) -> str:
    # The CSRF token is new on every page; nothing else may differ.
    return re.sub(r'value="[^"]+"', 'value=""', response.content.decode())


@pytest.mark.parametrize(
    "second_address", ["ubu@example.org", "UBU@example.org", "ubu@EXAMPLE.ORG"]
)
def test_a_taken_address_gets_the_same_reply_and_its_owner_a_mail(
    django_capture_on_commit_callbacks, second_address
):
    first = sign_up("ubu", "ubu@example.org", django_capture_on_commit_callbacks)
    assert first.status_code == 200 and "Check your mail" in first.content.decode()
    assert len(mail.outbox) == 1

    second = sign_up("someone-else", second_address, django_capture_on_commit_callbacks)
    assert second.status_code == first.status_code
    assert page_text(second) == page_text(first).replace("ubu@example.org", second_address)
    assert "exists" not in second.content.decode()

    assert get_user_model().objects.filter(email__iexact="ubu@example.org").count() == 1
    assert not get_user_model().objects.filter(username="someone-else").exists()
    assert len(mail.outbox) == 2
    told = mail.outbox[-1]
    assert told.to == ["ubu@example.org"]
    assert "tried to sign up" in told.body
    assert "http://testserver" not in told.body
    from django.conf import settings

    assert settings.SITE_URL + reverse("password_reset") in told.body
    assert "ubu" in told.body  # the account's name, so the owner knows which one


def test_an_unconfirmed_account_is_mailed_a_fresh_confirmation_link(
    django_capture_on_commit_callbacks,
):
    sign_up("ubu", "ubu@example.org", django_capture_on_commit_callbacks)
    sign_up("ubu2", "ubu@example.org", django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 2
    told = mail.outbox[-1]
    assert "tried to sign up" in told.body
    link = re.search(r"https?://\S+/accounts/confirm/\S+", told.body).group(0)
    response = Client().get("/" + link.split("/", 3)[3])
    assert response.status_code == 302
    assert get_user_model().objects.get(username="ubu").is_active


def test_a_confirmed_account_gets_no_confirmation_link(
    django_capture_on_commit_callbacks,
):
    sign_up("ubu", "ubu@example.org", django_capture_on_commit_callbacks)
    Client().get("/" + re.search(r"https?://\S+", mail.outbox[-1].body).group(0).split("/", 3)[3])
    sign_up("ubu2", "ubu@example.org", django_capture_on_commit_callbacks)
    assert "/accounts/confirm/" not in mail.outbox[-1].body


def test_a_taken_username_is_still_said(django_capture_on_commit_callbacks):
    # Usernames are public (pages and mail show them), so saying one is taken
    # tells nothing new; the address is what stays private.
    sign_up("ubu", "ubu@example.org", django_capture_on_commit_callbacks)
    again = sign_up("ubu", "other@example.org", django_capture_on_commit_callbacks)
    assert again.status_code == 200
    assert "username already exists" in again.content.decode()
    assert len(mail.outbox) == 1

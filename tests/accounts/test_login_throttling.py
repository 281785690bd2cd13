"""Log-in throttling counts wrong passwords per (account name, client address)
and, with a higher limit, per client address: someone guessing from one
address never locks the owner out from another, and an address with no
failures is never refused a right password."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import ApiToken
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-test-password"


@pytest.fixture
def owner(db):
    return UserFactory(username="owner")


def log_in(username, password, address, client=None):
    return (client or Client()).post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address
    )


def guess(username, address, times):
    return [log_in(username, f"wrong-{n}", address).status_code for n in range(times)]


def test_guessing_from_one_address_does_not_lock_the_owner_out_elsewhere(owner, settings):
    statuses = guess("owner", "10.0.0.1", settings.LOGINS_PER_15_MINUTES + 1)
    assert statuses[-1] == 429
    # The owner, from their own address, logs in.
    response = log_in("owner", PASSWORD, "10.0.0.2")
    assert response.status_code == 302
    # The guesser's address is refused even the right password.
    refused = log_in("owner", PASSWORD, "10.0.0.1")
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert "_auth_user_id" not in refused.client.session


def test_a_locked_out_reply_says_nothing_about_the_account(owner, settings):
    limit = settings.LOGINS_PER_15_MINUTES + 1
    known = guess("owner", "10.0.0.1", limit)
    unknown = guess("nobody-here", "10.0.0.3", limit)
    assert known == unknown
    one = log_in("owner", "wrong", "10.0.0.1")
    other = log_in("nobody-here", "wrong", "10.0.0.3")
    # The two were locked a few seconds apart, so the wait they are told may
    # differ by a minute at a boundary; everything else is the same bytes.
    def same(response):
        return re.sub(rb"try again in [^<.]+", b"try again in ...", response.content)

    assert (one.status_code, same(one)) == (other.status_code, same(other))
    assert one.status_code == 429
    # The portal's error page, the same as every other refusal a browser gets.
    assert one["Content-Type"] == other["Content-Type"] == "text/html; charset=utf-8"
    assert b"try again in" in one.content
    assert b"owner" not in one.content


def test_a_wrong_password_reply_is_the_same_for_known_and_unknown_accounts(owner):
    one = log_in("owner", "wrong", "10.0.0.1")
    other = log_in("nobody-here", "wrong", "10.0.0.1")
    assert one.status_code == other.status_code == 200
    assert one.context["form"].errors == other.context["form"].errors


def test_the_account_name_is_counted_whatever_its_case(owner, settings):
    for n in range(settings.LOGINS_PER_15_MINUTES + 1):
        log_in("OWNER" if n % 2 else "owner", "wrong", "10.0.0.1")
    assert log_in("Owner", PASSWORD, "10.0.0.1").status_code == 429


def test_one_address_trying_many_accounts_is_stopped_at_a_higher_limit(settings):
    settings.LOGINS_PER_15_MINUTES = 2
    settings.LOGIN_FAILURES_PER_ADDRESS = 6
    statuses = [log_in(f"user{n}", "wrong", "10.0.0.5").status_code for n in range(7)]
    assert 429 not in statuses[:6] and statuses[6] == 429
    assert log_in("someone-else", "wrong", "10.0.0.6").status_code == 200


def test_right_passwords_from_a_busy_address_are_never_refused(settings):
    # One office behind one address: many people log in, none is refused.
    for n in range(settings.LOGIN_FAILURES_PER_ADDRESS + 5):
        UserFactory(username=f"colleague{n}")
        assert log_in(f"colleague{n}", PASSWORD, "10.0.0.7").status_code == 302


def test_the_lock_ends_after_the_cool_off(owner, settings):
    from datetime import timedelta

    from axes.models import AccessAttempt
    from django.db.models import F

    guess("owner", "10.0.0.1", settings.LOGINS_PER_15_MINUTES + 1)
    refused = log_in("owner", PASSWORD, "10.0.0.1")
    assert refused.status_code == 429 and 14 * 60 < int(refused["Retry-After"]) <= 15 * 60 + 1
    # The failures were 14 minutes ago: the lock has a minute left.
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - timedelta(minutes=14))
    refused = log_in("owner", PASSWORD, "10.0.0.1")
    assert refused.status_code == 429 and 0 < int(refused["Retry-After"]) <= 61
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - timedelta(minutes=2))
    assert log_in("owner", PASSWORD, "10.0.0.1").status_code == 302


def test_api_tokens_are_not_throttled_with_log_ins(owner, settings, release):
    guess("owner", "10.0.0.1", settings.LOGINS_PER_15_MINUTES + 1)
    key = ApiToken.issue(user=owner, name="ci")[1]
    response = Client().get(
        reverse("api-release", args=["convirt", "2.0"]),
        HTTP_AUTHORIZATION=f"Token {key}",
        REMOTE_ADDR="10.0.0.1",
    )
    assert response.status_code == 404  # authenticated (not 401); the owner maintains nothing
    for _ in range(settings.LOGIN_FAILURES_PER_ADDRESS + 1):
        Client().get(
            reverse("api-release", args=["convirt", "2.0"]),
            HTTP_AUTHORIZATION="Token wrong",
            REMOTE_ADDR="10.0.0.8",
        )
    assert log_in("owner", PASSWORD, "10.0.0.8").status_code == 302


def test_client_login_in_tests_still_works(owner):
    assert Client().login(username="owner", password=PASSWORD)

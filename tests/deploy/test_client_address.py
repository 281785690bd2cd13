"""The client's address through the shipped front server: nginx -> gunicorn as
docker-compose.yml runs them (deploy/native_stack.py), clients on distinct
loopback addresses.

Someone guessing an account's password from one address is locked out there,
and the owner still logs in from another; a forged X-Forwarded-For sent to
gunicorn by a peer that is not the front server changes nothing.
"""

import shutil
import time

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import Argon2PasswordHasher

from deploy import native_stack
from tests import processes

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

OWNER, PASSWORD = "fedora-packager", "fedora-packager-pw-1"
GUESSER, OWNER_ADDRESS, FORGER = "127.0.0.2", "127.0.0.3", "127.0.0.4"


def test_compose_trusts_only_its_front_server():
    compose = native_stack.load_compose({"SECRET_KEY": "x"})
    front = native_stack.front_address(compose)
    for name in ("web", "worker", "beat"):
        env = native_stack.service_env(compose["services"][name])
        assert env["TRUSTED_PROXIES"] == front, name


def log_in(browser, password: str, expect: set[int], headers=None):
    # One form read per client: its CSRF token serves every try.
    if not hasattr(browser, "token"):
        browser.token = browser.csrf("/accounts/login/", "the log-in form")
    return browser.request(
        "POST",
        "/accounts/login/",
        "log in",
        expect,
        data={"csrfmiddlewaretoken": browser.token, "username": OWNER, "password": password},
        headers={**(headers or {}), "Referer": browser.base + "/accounts/login/"},
    )


def test_guesses_lock_out_their_address_only_and_forged_headers_change_nothing(settings):
    missing = [
        t for t in ("redis-server", "nginx") if not shutil.which(t, path="/usr/sbin:/usr/bin")
    ]
    assert not missing, f"install Debian's {' '.join(missing)}"
    if not processes.test_database_url().startswith("postgres"):
        pytest.skip("the stack runs on PostgreSQL, as compose does")
    hasher = Argon2PasswordHasher()  # production's; the tests' own hasher is not
    get_user_model().objects.create(
        username=OWNER, email="fedora@example.org", password=hasher.encode(PASSWORD, hasher.salt())
    )
    started = time.monotonic()
    with native_stack.NativeStack(timeout=120) as stack:
        base = stack.up(services=("web", "nginx"), database_url=processes.test_database_url())
        print(f"nginx and gunicorn up in {time.monotonic() - started:.1f} s")
        try:
            guesser = native_stack.Browser(base, source=GUESSER)
            wrong = [
                log_in(guesser, f"wrong-{n}", {200, 429}).status_code
                for n in range(settings.LOGINS_PER_15_MINUTES + 1)
            ]
            assert wrong == [200] * settings.LOGINS_PER_15_MINUTES + [429]

            # Straight to gunicorn, not through nginx, claiming to be the owner's address.
            forger = native_stack.Browser(f"http://127.0.0.1:{stack.ports['web']}", source=FORGER)
            forged = {"X-Forwarded-For": OWNER_ADDRESS, "X-Real-IP": OWNER_ADDRESS}
            statuses = [
                log_in(forger, "x", {200, 429}, headers=forged).status_code
                for _ in range(settings.LOGINS_PER_15_MINUTES + 1)
            ]
            # Counted under the forger's own address, which is locked out...
            assert statuses[-1] == 429, statuses

            # ...and not under the owner's, who logs in through nginx from theirs.
            owner = native_stack.Browser(base, source=OWNER_ADDRESS)
            answer = log_in(owner, PASSWORD, {302, 429})
            assert answer.status_code == 302, answer.text[:300]
            assert owner.request("GET", "/accounts/profile/", "the owner's profile", {200})

            # The guesser's address stays locked, even with the right password.
            assert log_in(guesser, PASSWORD, {302, 429}).status_code == 429
        except BaseException:
            for name, process in stack.processes.items():
                print(f"--- {name}\n{process.log()[-2000:]}")
            raise
    print(f"the nginx -> gunicorn run took {time.monotonic() - started:.1f} s")

    from axes.models import AccessAttempt

    counted = set(AccessAttempt.objects.values_list("ip_address", flat=True))
    assert counted == {GUESSER, FORGER}

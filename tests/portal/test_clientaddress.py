"""The client's address, read in one place (portal/clientaddress.py): forwarding
headers count only from TRUSTED_PROXIES, and every limit keyed by address
(log-ins, sign-up, password reset) uses it."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse

from portal.clientaddress import client_address
from tests.factories import UserFactory

REPO = Path(__file__).resolve().parent.parent.parent
PROXY = "10.87.0.10"


def address(remote="203.0.113.9", **headers):
    request = RequestFactory().get("/", REMOTE_ADDR=remote, **headers)
    return client_address(request)


@pytest.fixture
def behind_proxy(settings):
    settings.TRUSTED_PROXIES = [PROXY]


def test_without_trusted_proxies_headers_are_ignored(settings):
    settings.TRUSTED_PROXIES = []
    assert address(HTTP_X_FORWARDED_FOR="198.51.100.1", HTTP_X_REAL_IP="198.51.100.2") == (
        "203.0.113.9"
    )


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        # What nginx sends: one address, the one it saw.
        ({"HTTP_X_FORWARDED_FOR": "198.51.100.1"}, "198.51.100.1"),
        # Anything left of the last hop came from the client.
        ({"HTTP_X_FORWARDED_FOR": "192.0.2.66, 10.0.0.1, 198.51.100.1"}, "198.51.100.1"),
        ({"HTTP_X_REAL_IP": "198.51.100.2"}, "198.51.100.2"),
        ({"HTTP_X_FORWARDED_FOR": "[2001:db8::5]:4711"}, "2001:db8::5"),
        ({"HTTP_X_FORWARDED_FOR": "::ffff:198.51.100.7"}, "198.51.100.7"),
        # A last hop that does not parse spoils the header; X-Real-IP, then the peer.
        ({"HTTP_X_FORWARDED_FOR": "198.51.100.1, nonsense"}, PROXY),
        (
            {"HTTP_X_FORWARDED_FOR": "198.51.100.1, nonsense", "HTTP_X_REAL_IP": "198.51.100.2"},
            "198.51.100.2",
        ),
        ({}, PROXY),
    ],
)
def test_a_trusted_proxy_names_the_client(behind_proxy, headers, expected):
    assert address(PROXY, **headers) == expected


def test_an_untrusted_peer_is_the_client_whatever_it_says(behind_proxy):
    assert (
        address("203.0.113.9", HTTP_X_FORWARDED_FOR="10.0.0.1", HTTP_X_REAL_IP="10.0.0.1")
        == "203.0.113.9"
    )


def test_trusted_proxies_may_be_networks(settings):
    settings.TRUSTED_PROXIES = ["10.87.0.0/24", "fd00::/64"]
    assert address("10.87.0.77", HTTP_X_FORWARDED_FOR="198.51.100.1") == "198.51.100.1"
    assert address("::ffff:10.87.0.77", HTTP_X_FORWARDED_FOR="198.51.100.1") == "198.51.100.1"
    assert address("fd00::3", HTTP_X_FORWARDED_FOR="198.51.100.3") == "198.51.100.3"
    assert address("10.87.1.1", HTTP_X_FORWARDED_FOR="198.51.100.1") == "10.87.1.1"


def test_a_wrong_trusted_proxy_stops_the_start():
    result = subprocess.run(
        [sys.executable, "-c", "import portal.settings"],
        cwd=REPO,
        env={**os.environ, "TRUSTED_PROXIES": "10.87.0.10,nginx"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "TRUSTED_PROXIES: 'nginx' is not an IP address or network" in result.stderr


def test_no_other_code_reads_the_address():
    readers = re.compile(r"REMOTE_ADDR|X_FORWARDED_FOR|X_REAL_IP|X-Forwarded-For|X-Real-IP", re.I)
    found = []
    for package in ("portal", "accounts", "releases", "publishing"):
        for path in (REPO / package).rglob("*.py"):
            if path.relative_to(REPO).as_posix() == "portal/clientaddress.py":
                continue
            found += [
                f"{path.relative_to(REPO)}:{n}"
                for n, line in enumerate(path.read_text().splitlines(), 1)
                if readers.search(line)
            ]
    assert found == [], "read the client's address with portal.clientaddress: " + ", ".join(found)


# --- the limits keyed by address, behind the front server ---------------------


def through_proxy(client_ip: str) -> dict:
    return {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": client_ip}


@pytest.mark.django_db
def test_made_up_names_lock_only_their_own_address(behind_proxy, settings):
    UserFactory(username="release-manager")
    statuses = [
        Client()
        .post(
            reverse("login"),
            {"username": f"made-up-{n}", "password": "x"},
            **through_proxy("198.51.100.1"),
        )
        .status_code
        for n in range(settings.LOGIN_FAILURES_PER_ADDRESS + 1)
    ]
    assert 429 not in statuses[:-1] and statuses[-1] == 429
    owner = Client().post(
        reverse("login"),
        {"username": "release-manager", "password": "a-long-test-password"},
        **through_proxy("198.51.100.2"),
    )
    assert owner.status_code == 302


@pytest.mark.django_db
def test_sign_up_limit_is_per_client_not_for_everyone_behind_the_proxy(behind_proxy, settings):
    settings.SIGNUPS_PER_HOUR = 2

    def sign_up(client_ip):
        return Client().post(reverse("signup"), {"username": ""}, **through_proxy(client_ip))

    assert [sign_up("198.51.100.1").status_code for _ in range(3)] == [200, 200, 429]
    assert sign_up("198.51.100.2").status_code == 200

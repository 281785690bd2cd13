"""Signed links whose payload has the wrong shape: a valid signature over a
list, a string, missing or non-integer fields. Each one is refused (404 for
a pre-release link, "not valid" for a sign-up link), fresh or expired, and
never reaches the code that reads the fields."""

import time
from unittest import mock

import pytest
from django.core import signing
from django.urls import reverse

from accounts.services import SIGNUP_SALT
from releases.models import PrereleaseDownload
from releases.prereleases.services import PRERELEASE_SALT
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

# Each payload is built from the real ids (r, u, a), so that the fields that
# are right would let a careless reader get further.
PRERELEASE_PAYLOADS = {
    "list": lambda r, u, a: [r, u, a],
    "string": lambda r, u, a: "hello",
    "int": lambda r, u, a: r,
    "null": lambda r, u, a: None,
    "empty dict": lambda r, u, a: {},
    "missing r": lambda r, u, a: {"u": u, "a": a},
    "missing u": lambda r, u, a: {"r": r, "a": a},
    "missing a": lambda r, u, a: {"r": r, "u": u},
    "extra key": lambda r, u, a: {"r": r, "u": u, "a": a, "x": 1},
    "r a string": lambda r, u, a: {"r": str(r), "u": u, "a": a},
    "r not a number": lambda r, u, a: {"r": "abc", "u": u, "a": a},
    "r a list": lambda r, u, a: {"r": [r], "u": u, "a": a},
    "r a dict": lambda r, u, a: {"r": {"pk": r}, "u": u, "a": a},
    "r a float": lambda r, u, a: {"r": r + 0.5, "u": u, "a": a},
    "r whole float": lambda r, u, a: {"r": float(r), "u": u, "a": a},
    "r null": lambda r, u, a: {"r": None, "u": u, "a": a},
    "r true": lambda r, u, a: {"r": True, "u": u, "a": a},
    "r huge": lambda r, u, a: {"r": 2**80, "u": u, "a": a},
    "r negative": lambda r, u, a: {"r": -1, "u": u, "a": a},
    "u a string": lambda r, u, a: {"r": r, "u": str(u), "a": a},
    "u true": lambda r, u, a: {"r": r, "u": True, "a": a},
    "a a string": lambda r, u, a: {"r": r, "u": u, "a": str(a)},
    "a a list": lambda r, u, a: {"r": r, "u": u, "a": [a]},
}


def signed(payload, *, age_days: float = 0, salt=PRERELEASE_SALT, compress=True) -> str:
    when = time.time() - age_days * 86400
    with mock.patch("django.core.signing.time.time", return_value=when):
        return signing.dumps(payload, salt=salt, compress=compress)


@pytest.mark.parametrize("shape", PRERELEASE_PAYLOADS)
@pytest.mark.parametrize("age", ["fresh", "expired"])
def test_a_prerelease_link_with_a_payload_of_the_wrong_shape_is_not_found(
    client, release, maintainer, settings, age, shape
):
    client.force_login(maintainer)
    payload = PRERELEASE_PAYLOADS[shape](release.pk, maintainer.pk, release.prerelease_id)
    age_days = 0 if age == "fresh" else settings.PRERELEASE_LINK_DAYS + 1
    response = client.get(reverse("prerelease-download", args=[signed(payload, age_days=age_days)]))
    assert response.status_code == 404
    assert PrereleaseDownload.objects.count() == 0


def test_the_well_formed_links_still_work(client, release, maintainer, settings):
    client.force_login(maintainer)
    good = {"r": release.pk, "u": maintainer.pk, "a": release.prerelease_id}
    fresh = client.get(reverse("prerelease-download", args=[signed(good)]))
    assert fresh.status_code == 200
    old = signed(good, age_days=settings.PRERELEASE_LINK_DAYS + 1)
    assert client.get(reverse("prerelease-download", args=[old])).status_code == 410


SIGNUP_PAYLOADS = {
    "list": lambda pk: [pk],
    "empty list": lambda pk: [],
    "string of the pk": lambda pk: str(pk),
    "string": lambda pk: "abc",
    "null": lambda pk: None,
    "dict": lambda pk: {"pk": pk},
    "float": lambda pk: float(pk),
    "true": lambda pk: True,
    "huge": lambda pk: 2**80,
    "negative": lambda pk: -1,
}


@pytest.mark.parametrize("shape", SIGNUP_PAYLOADS)
def test_a_signup_link_with_a_payload_of_the_wrong_shape_is_not_valid(client, shape):
    waiting = UserFactory(is_active=False)
    token = signed(SIGNUP_PAYLOADS[shape](waiting.pk), salt=SIGNUP_SALT, compress=False)
    response = client.get(reverse("signup-confirm", args=[token]))
    assert response.status_code == 400
    assert "not valid" in response.content.decode()
    waiting.refresh_from_db()
    assert not waiting.is_active


@pytest.mark.parametrize("shape", SIGNUP_PAYLOADS)
def test_an_expired_signup_link_of_any_shape_is_refused(client, settings, shape):
    waiting = UserFactory(is_active=False)
    token = signed(
        SIGNUP_PAYLOADS[shape](waiting.pk),
        age_days=settings.SIGNUP_LINK_DAYS + 1,
        salt=SIGNUP_SALT,
        compress=False,
    )
    response = client.get(reverse("signup-confirm", args=[token]))
    assert response.status_code == 400
    waiting.refresh_from_db()
    assert not waiting.is_active

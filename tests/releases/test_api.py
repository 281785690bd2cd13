"""The maintainers' API, as a CI script would use it."""

import hashlib
import json

import pytest
from django.urls import reverse

from accounts.models import ApiToken
from releases.models import Submission
from tests.helpers import bundle_bytes, multipart

pytestmark = pytest.mark.django_db


@pytest.fixture
def key(maintainer):
    return ApiToken.issue(user=maintainer, name="ubuntu CI")[1]


@pytest.fixture
def create_url():
    return reverse("api-submission-create", args=["convirt", "2.0", "ubuntu"])


def upload(client, url, key, *, fields=None, files=None):
    body, content_type = multipart(fields or {}, files or {"bundle": ("u.tar.gz", bundle_bytes())})
    return client.generic(
        "POST", url, body, content_type=content_type, HTTP_AUTHORIZATION=f"Token {key}"
    )


def test_upload_then_read_the_submission_and_the_release(client, release, ubuntu, key, create_url):
    data = bundle_bytes()
    response = upload(
        client,
        create_url,
        key,
        fields={
            "sha256": hashlib.sha256(data).hexdigest(),
            "package_url": [
                "https://example.org/convirt_2.0_all.deb",
                "https://example.org/b.deb " + "b" * 64,
            ],
        },
        files={"bundle": ("u.tar.gz", data)},
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) >= {"id", "url", "state", "sha256"}
    assert body["state"] == "received" and body["sha256"] == hashlib.sha256(data).hexdigest()

    detail = client.get(
        reverse("api-submission", args=[body["id"]]), HTTP_AUTHORIZATION=f"Token {key}"
    )
    assert detail.status_code == 200
    assert set(detail.json()) >= {"id", "state", "progress", "verdict", "sha256", "findings"}
    assert detail.json()["verdict"] is None  # not verified yet

    overview = client.get(
        reverse("api-release", args=["convirt", "2.0"]), HTTP_AUTHORIZATION=f"Token {key}"
    ).json()
    assert overview["state"] == "prerelease"
    assert overview["distros"]["ubuntu"]["state"] == "received"
    assert Submission.objects.get().submitter.username == "ubuntu-dev"


@pytest.mark.parametrize("header", [None, "Token nope", "Bearer whatever", "Token "])
def test_no_valid_token_is_401_in_json(client, release, ubuntu, create_url, header):
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    response = client.post(create_url, **extra)
    assert response.status_code == 401
    assert "API token" in response.json()["error"]
    assert response["WWW-Authenticate"].startswith("Token")


def test_a_revoked_token_is_401(client, release, ubuntu, maintainer, create_url):
    from accounts.services import api_token_revoke

    token, key = ApiToken.issue(user=maintainer, name="old")
    api_token_revoke(token=token, actor=maintainer)
    assert upload(client, create_url, key).status_code == 401


def test_tokens_are_stored_hashed(maintainer):
    token, key = ApiToken.issue(user=maintainer, name="ci")
    assert key not in json.dumps(list(ApiToken.objects.values()), default=str)
    assert token.key_hash == hashlib.sha256(key.encode()).hexdigest()


def test_create_api_token_command_prints_a_working_key(
    client, release, ubuntu, maintainer, create_url, capsys
):
    from django.core.management import call_command

    call_command("create_api_token", "ubuntu-dev")
    key = capsys.readouterr().out.strip()
    assert key.startswith("rp_")
    assert upload(client, create_url, key).status_code == 201


@pytest.mark.parametrize(
    ("fields", "files", "status", "words"),
    [
        ({}, {"other": ("u.tar.gz", b"x")}, 400, "`bundle`"),
        ({"sha256": "f" * 64}, None, 400, "does not match"),
        ({"sha256": "xyz"}, None, 400, "64 hexadecimal"),
        ({"package_url": "ftp://x/y.deb"}, None, 400, "package_url"),
        ({}, {"bundle": ("u.zip", b"PK")}, 400, "must be one of"),
        ({}, {"bundle": ("../u.tar.gz", b"x")}, 400, "path separator"),
    ],
)
def test_bad_input_is_json_with_its_status(
    client, release, ubuntu, key, create_url, fields, files, status, words
):
    response = upload(client, create_url, key, fields=fields, files=files)
    assert response.status_code == status
    assert words in response.json()["error"]
    assert Submission.objects.count() == 0


def test_unknown_release_or_someone_elses_distro_is_404(client, release, ubuntu, fedora, key):
    for args in (
        ["convirt", "9.9", "ubuntu"],
        ["convirt", "2.0", "fedora"],
        ["nope", "2.0", "ubuntu"],
    ):
        response = upload(client, reverse("api-submission-create", args=args), key)
        assert response.status_code == 404
        assert "error" in response.json()


def test_frozen_release_is_409(client, release, ubuntu, key, create_url):
    release.state = "frozen"
    release.save()
    response = upload(client, create_url, key)
    assert response.status_code == 409 and "frozen" in response.json()["error"]


def test_too_large_is_413_and_too_fast_is_429(client, release, ubuntu, key, create_url, settings):
    settings.UPLOAD_MAX_BYTES = 100
    assert upload(client, create_url, key).status_code == 413
    settings.UPLOAD_MAX_BYTES = 10**9
    settings.UPLOADS_PER_HOUR = 1
    assert upload(client, create_url, key).status_code == 201
    response = upload(
        client,
        create_url,
        key,
        files={"bundle": ("v.tar.gz", bundle_bytes([("distros/ubuntu/x", b"2", 0o644)]))},
    )
    assert response.status_code == 429 and int(response["Retry-After"]) > 0


def test_wrong_method_is_405_json(client, key, release):
    response = client.delete(
        reverse("api-release", args=["convirt", "2.0"]), HTTP_AUTHORIZATION=f"Token {key}"
    )
    assert response.status_code == 405 and response.json()["error"]


def test_openapi_description_lists_every_route(client):
    spec = client.get(reverse("api-openapi")).json()
    assert spec["openapi"].startswith("3.")
    assert set(spec["paths"]) == {
        "/projects/{project}/releases/{version}/distros/{distro}/submissions/",
        "/submissions/{id}/",
        "/projects/{project}/releases/{version}/",
        # The staff API.
        "/projects/{project}/releases/",
        "/submissions/{id}/accept",
        "/submissions/{id}/reject",
        *(
            f"/projects/{{project}}/releases/{{version}}/{action}"
            for action in (
                "freeze", "unfreeze", "respin", "publish", "withdraw", "audit", "patches"
            )
        ),
        "/projects/{project}/policy",
    }


def test_session_cookies_do_not_authenticate_the_api(
    client, maintainer, release, ubuntu, create_url
):
    client.force_login(maintainer)
    assert client.post(create_url).status_code == 401  # no CSRF-able cookie auth

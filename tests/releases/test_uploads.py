"""Uploads over HTTP from the browser: every bad input of the upload table, and the good path."""

import hashlib
import os

import pytest
from django.core.files.storage import storages
from django.urls import reverse

from releases.models import Artifact, PackageLink, Release, Submission
from tests.helpers import bundle_bytes, multipart

pytestmark = pytest.mark.django_db


@pytest.fixture
def url(release, ubuntu):
    return reverse("release-distro", args=[release.project.slug, release.version, ubuntu.slug])


def post(
    client, url, *, name="ubuntu.tar.gz", data=None, fields=None, accept_json=False, files=None
):
    body, content_type = multipart(
        fields or {}, files or {"bundle": (name, bundle_bytes() if data is None else data)}
    )
    headers = {"HTTP_ACCEPT": "application/json"} if accept_json else {}
    return client.generic("POST", url, body, content_type=content_type, **headers)


def stored_objects():
    location = storages["uploads"].location
    return {os.path.join(d, f) for d, _, files in os.walk(location) for f in files}


def temporary_files():
    from django.conf import settings

    return os.listdir(settings.FILE_UPLOAD_TEMP_DIR)


def nothing_stored(before):
    return (
        Submission.objects.count() == 0 and stored_objects() == before and temporary_files() == []
    )


def test_maintainer_uploads_a_bundle_and_is_sent_to_its_report(
    client, url, maintainer, django_capture_on_commit_callbacks, tasks_queued
):
    client.force_login(maintainer)
    data = bundle_bytes()
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = post(client, url, data=data)
    assert tasks_queued == []  # nothing leaves before the row is committed
    submission = Submission.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("submission-detail", args=[submission.pk])
    assert submission.state == "received"
    assert submission.artifact.sha256 == hashlib.sha256(data).hexdigest()
    assert submission.artifact.size == len(data)
    with storages["uploads"].open(submission.artifact.key, "rb") as stored:
        assert stored.read() == data
    for callback in queued:
        callback()
    # Verification, queued once the row committed.
    assert tasks_queued == [("submission_verify_task", (submission.pk,))]
    assert temporary_files() == []  # the streamed temporary file is gone with the request


def test_a_new_upload_supersedes_the_previous_one_whose_history_stays(client, url, maintainer):
    client.force_login(maintainer)
    post(client, url, data=bundle_bytes())
    other = bundle_bytes([("distros/ubuntu/README.Debian", b"notes\n", 0o644)])
    post(client, url, data=other)
    states = list(Submission.objects.order_by("created_at").values_list("state", flat=True))
    assert states == ["superseded", "received"]
    page = client.get(url).content.decode()
    assert page.count("superseded") >= 1 and page.count("received") >= 1


def test_the_same_bytes_twice_return_the_existing_submission(client, url, maintainer):
    client.force_login(maintainer)
    first = post(client, url, accept_json=True)
    second = post(client, url, accept_json=True)
    assert first.status_code == 201 and second.status_code == 200
    assert first.json()["id"] == second.json()["id"]
    assert (
        Submission.objects.count() == 1 and Artifact.objects.filter(kind="submission").count() == 1
    )


def test_anonymous_is_sent_to_log_in_and_nothing_is_stored(client, url):
    before = stored_objects()
    response = post(client, url)
    assert response.status_code == 302 and reverse("login") in response["Location"]
    assert nothing_stored(before)


@pytest.mark.parametrize("who", ["other_maintainer", "revoked_maintainer"])
def test_others_get_404_and_nothing_is_stored(client, url, who, request):
    client.force_login(request.getfixturevalue(who))
    before = stored_objects()
    assert post(client, url).status_code == 404
    assert nothing_stored(before)


def test_no_csrf_token_is_403_and_nothing_is_stored(url, maintainer):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(maintainer)
    before = stored_objects()
    assert post(client, url).status_code == 403
    assert nothing_stored(before)


def test_a_body_over_the_limit_is_413_naming_the_limit(client, url, maintainer, settings):
    settings.UPLOAD_MAX_BYTES = 1000
    client.force_login(maintainer)
    before = stored_objects()
    response = post(client, url, data=os.urandom(5000), accept_json=True)
    assert response.status_code == 413
    assert "1,000 bytes" in response.json()["error"]
    assert nothing_stored(before)


def test_a_stream_past_the_limit_is_cut_off_while_it_arrives(client, url, maintainer, settings):
    """A declared length within the early check's slack: the upload handler cuts the stream."""
    settings.UPLOAD_MAX_BYTES = 64 * 1024
    client.force_login(maintainer)
    before = stored_objects()
    response = post(client, url, data=os.urandom(300 * 1024), accept_json=True)
    assert response.status_code == 413
    assert "65,536 bytes" in response.json()["error"]
    assert nothing_stored(before)


@pytest.mark.parametrize(
    ("name", "rule"),
    [
        ("../convirt.tar.gz", "path separator"),
        ("sub/convirt.tar.gz", "path separator"),
        ("sub\\\\convirt.tar.gz", "path separator"),
        ("convirt..tar.gz", "'..'"),
        ("conv\x00irt.tar.gz", "NUL byte"),
        ("conv\x1birt.tar.gz", "control characters"),
        ("c" * 250 + ".tar.gz", "at most 255"),
    ],
)
def test_a_bad_file_name_is_400_naming_the_rule(client, url, maintainer, name, rule):
    client.force_login(maintainer)
    before = stored_objects()
    response = post(client, url, name=name, accept_json=True)
    assert response.status_code == 400, response.content
    assert rule in response.json()["error"]
    assert nothing_stored(before)


@pytest.mark.parametrize("name", ["convirt.zip", "convirt.exe", "convirt"])
def test_an_extension_not_allowed_is_400(client, url, maintainer, name):
    client.force_login(maintainer)
    response = post(client, url, name=name)
    assert response.status_code == 400
    assert "must be one of .tar" in response.content.decode()
    assert Submission.objects.count() == 0


def test_a_sha256_that_does_not_match_is_400_and_nothing_is_stored(client, url, maintainer):
    client.force_login(maintainer)
    before = stored_objects()
    response = post(client, url, fields={"sha256": "0" * 64}, accept_json=True)
    assert response.status_code == 400
    assert "does not match" in response.json()["error"]
    assert nothing_stored(before)


def test_a_matching_sha256_is_accepted(client, url, maintainer):
    client.force_login(maintainer)
    data = bundle_bytes()
    response = post(
        client,
        url,
        data=data,
        fields={"sha256": hashlib.sha256(data).hexdigest()},
        accept_json=True,
    )
    assert response.status_code == 201


@pytest.mark.parametrize(
    ("state", "words"),
    [
        ("frozen", "frozen"),
        ("withdrawn", "withdrawn"),
        ("draft", "not open"),
        ("released", "already published"),
    ],
)
def test_a_closed_release_is_409_with_the_reason(client, url, maintainer, release, state, words):
    release.state = state
    release.withdrawn_reason = "broken installer" if state == "withdrawn" else ""
    release.save()
    client.force_login(maintainer)
    response = post(client, url, accept_json=True)
    assert response.status_code == 409
    assert words in response.json()["error"]
    assert Submission.objects.count() == 0


def test_too_many_uploads_is_429_with_retry_after(client, url, maintainer, settings):
    settings.UPLOADS_PER_HOUR = 2
    client.force_login(maintainer)
    for n in range(2):
        data = bundle_bytes([("distros/ubuntu/x", str(n).encode(), 0o644)])
        assert post(client, url, data=data, accept_json=True).status_code == 201
    response = post(client, url, accept_json=True)
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 3600
    assert Submission.objects.count() == 2


def test_script_in_names_notes_and_links_is_escaped(client, url, maintainer):
    client.force_login(maintainer)
    evil = "<script>alert(1)</script>"
    response = post(
        client,
        url,
        name=f"{evil}.tar.gz".replace("/", ""),
        fields={"note": evil, "package_links": f"https://example.org/{evil}.deb"},
    )
    # The slash-free name is allowed; the link is refused by the URL validator or kept escaped.
    submission = Submission.objects.first()
    page = (
        client.get(reverse("submission-detail", args=[submission.pk])).content.decode()
        if submission
        else response.content.decode()
    )
    assert "<script>alert(1)" not in page
    assert "&lt;script&gt;" in page


def test_package_links_are_recorded_with_their_sha256(client, url, maintainer):
    client.force_login(maintainer)
    sha = "a" * 64
    post(
        client,
        url,
        fields={
            "package_links": f"https://example.org/convirt_2.0_all.deb {sha}\n"
            "https://example.org/convirt-2.0.rpm"
        },
    )
    links = list(PackageLink.objects.order_by("url").values_list("url", "sha256"))
    assert links == [
        ("https://example.org/convirt-2.0.rpm", ""),
        ("https://example.org/convirt_2.0_all.deb", sha),
    ]


@pytest.mark.parametrize(
    "line",
    ["ftp://example.org/x.deb", "javascript:alert(1)", "https://example.org/x.deb not-a-digest"],
)
def test_a_bad_package_link_is_refused_naming_the_line(client, url, maintainer, line):
    client.force_login(maintainer)
    response = post(client, url, fields={"package_links": line})
    assert response.status_code == 400
    assert "Line 1" in response.content.decode()
    assert Submission.objects.count() == 0 and PackageLink.objects.count() == 0


def test_a_staged_package_must_be_deb_or_rpm(client, url, maintainer):
    client.force_login(maintainer)
    response = post(
        client,
        url,
        files={"bundle": ("u.tar.gz", bundle_bytes()), "package": ("convirt.exe", b"MZ")},
    )
    assert response.status_code == 400
    assert ".deb, .rpm" in response.content.decode()


def test_release_page_shows_state_and_upload_form(client, url, maintainer, release):
    client.force_login(maintainer)
    page = client.get(url).content.decode()
    assert "Upload and verify" in page
    assert "distros/ubuntu/" in page
    Release.objects.filter(pk=release.pk).update(state="frozen")
    assert "takes no uploads now" in client.get(url).content.decode()


@pytest.mark.django_db(transaction=True)
def test_a_client_that_disconnects_mid_upload_leaves_nothing(
    live_server, release, ubuntu, maintainer
):
    """A real server, a real socket closed halfway through the body."""
    import socket
    import time
    from urllib.parse import urlparse

    from accounts.models import ApiToken

    _, key = ApiToken.issue(user=maintainer, name="ci")
    path = reverse("api-submission-create", args=["convirt", "2.0", "ubuntu"])
    body, content_type = multipart({}, {"bundle": ("ubuntu.tar.gz", os.urandom(2 * 1024 * 1024))})
    before = stored_objects()
    address = urlparse(live_server.url)
    with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: {address.netloc}\r\nAuthorization: Token {key}\r\n"
            f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        )
        sock.sendall(body[: len(body) // 2])
    time.sleep(1.5)  # let the server notice the broken connection and clean up
    assert nothing_stored(before)


def test_a_package_link_too_long_to_keep_is_400_not_a_crash(client, url, maintainer):
    client.force_login(maintainer)
    long_url = "https://example.org/" + "a" * 1200 + ".deb"
    response = post(client, url, fields={"package_links": long_url})
    assert response.status_code == 400
    assert "at most 1000 are kept" in response.content.decode()
    assert Submission.objects.count() == 0 and PackageLink.objects.count() == 0


def test_links_cannot_be_added_to_a_release_that_takes_no_uploads(
    client, maintainer, release, ubuntu
):
    release.state = "withdrawn"
    release.withdrawn_reason = "bad build"
    release.save()
    client.force_login(maintainer)
    response = client.post(
        reverse("package-links-add", args=["convirt", "2.0", "ubuntu"]),
        {"package_links": "https://example.org/x.deb"},
        follow=True,
    )
    assert "withdrawn" in response.content.decode()
    assert PackageLink.objects.count() == 0


def test_a_reopened_distro_sees_the_upload_form_while_the_release_is_frozen(
    client, url, maintainer, release, ubuntu
):
    release.state = "frozen"
    release.save()
    client.force_login(maintainer)
    assert "takes no uploads now" in client.get(url).content.decode()
    release.reopened_distros.add(ubuntu)
    assert "Upload and verify" in client.get(url).content.decode()


def test_a_browser_upload_refused_by_the_form_says_why_in_json(client, url, maintainer):
    client.force_login(maintainer)
    response = post(client, url, name="convirt.zip", accept_json=True)
    assert response.status_code == 400
    assert "must be one of .tar" in response.json()["error"]


def test_the_same_bytes_again_still_record_the_package_links_sent_with_them(
    client, url, maintainer
):
    client.force_login(maintainer)
    first = post(client, url, accept_json=True)
    again = post(
        client,
        url,
        accept_json=True,
        fields={"package_links": "https://ppa.example.org/convirt_2.0-1_all.deb"},
    )
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert list(PackageLink.objects.values_list("url", flat=True)) == [
        "https://ppa.example.org/convirt_2.0-1_all.deb"
    ]

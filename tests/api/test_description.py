"""The OpenAPI description states the constraints the server enforces, and the
server enforces exactly those: the path patterns, the multipart fields, the
file names an upload takes, text that must say something."""

import re

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.models import ApiToken
from portal.api import openapi_schema
from releases.converters import VERSION_PATTERN
from releases.models import Release, Submission
from tests.factories import ArtifactFactory, SubmissionFactory

pytestmark = pytest.mark.django_db

SCHEMA = openapi_schema()
UPLOAD = "/projects/{project}/releases/{version}/distros/{distro}/submissions/"


def parameter(path, method, name):
    operation = SCHEMA["paths"][path][method]
    return next(p["schema"] for p in operation["parameters"] if p["name"] == name)


def multipart(path):
    return SCHEMA["paths"][path]["post"]["requestBody"]["content"]["multipart/form-data"]


@pytest.mark.parametrize(
    "version", ["2.0", "2.0~rc1", "1.0+git.2", "a_b-c", "2.0 beta", " 2.0", ".2", "ö", "x" * 51]
)
def test_the_version_converter_takes_what_a_release_may_be_named(version):
    try:
        Release._meta.get_field("version").run_validators(version)  # pattern and length
        validator_ok = True
    except ValidationError:
        validator_ok = False
    described = parameter("/projects/{project}/releases/{version}/", "get", "version")
    assert bool(re.fullmatch(VERSION_PATTERN, version)) == validator_ok
    assert bool(re.search(described["pattern"], version)) == validator_ok


def test_the_description_states_the_patterns_and_file_names():
    assert parameter(UPLOAD, "post", "project")["pattern"] == "^[-a-zA-Z0-9_]+$"
    assert parameter("/submissions/{id}/", "get", "id")["minimum"] == 1
    body = multipart(UPLOAD)
    assert body["schema"]["properties"]["sha256"]["pattern"] == "^([0-9a-fA-F]{64})?$"
    names = body["encoding"]["bundle"]["headers"]["Content-Disposition"]["schema"]["pattern"]
    for good in ["convirt-2.0.tar.gz", "BUNDLE.TXZ", "x.tar"]:
        assert re.fullmatch(names, f'filename="{good}"')
    for bad in ["x.zip", "../x.tar", "a/b.tar", "a\\b.tar", "x\x01.tar", "x" * 252 + ".tar"]:
        assert not re.fullmatch(names, f'filename="{bad}"')
    release = multipart("/projects/{project}/releases/")["schema"]
    assert release["required"] == ["version", "prerelease"]
    assert release["properties"]["submission_deadline"]["format"] == "date-time"
    reject = SCHEMA["components"]["schemas"]["RejectIn"]["properties"]["comment"]
    assert reject["pattern"] and not re.search(reject["pattern"], " \t\n\x1c")


@pytest.fixture
def staff_token(staff):
    return "Token " + ApiToken.issue(user=staff, name="t")[1]


@pytest.mark.parametrize("blank", [" ", "\t\n", "\x1c\u3000"])
def test_white_space_alone_is_not_a_reason(client, staff_token, release, ubuntu, blank):
    submission = SubmissionFactory(
        release=release, distro=ubuntu, artifact=ArtifactFactory(), state=Submission.State.PASSED
    )
    response = client.post(
        reverse("api-submission-reject", args=[submission.pk]),
        {"comment": blank},
        content_type="application/json",
        HTTP_AUTHORIZATION=staff_token,
    )
    assert response.status_code == 400
    assert response.json()["error"].startswith("comment: white space alone is not a reason")
    submission.refresh_from_db()
    assert submission.state == Submission.State.PASSED


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"version": " 2.1"}, "version: a version is letters, digits"),
        ({"version": "2.1", "submission_deadline": "2027-03-01"}, "submission_deadline: give a"),
        ({"version": "2.1", "release_date": "1700000000"}, "release_date: give a date"),
    ],
)
def test_the_release_fields_are_held_to_their_description(
    client, staff_token, release, fields, words
):
    tarball = SimpleUploadedFile("convirt-2.1.tar.gz", b"\x1f\x8b not really")
    response = client.post(
        reverse("api-release-create", args=[release.project.slug]),
        {**fields, "prerelease": tarball},
        HTTP_AUTHORIZATION=staff_token,
    )
    assert response.status_code == 400 and response.json()["error"].startswith(words)
    assert not Release.objects.filter(version="2.1").exists()

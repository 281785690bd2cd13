"""Who may see what: every maintainer-facing page and API route, for every kind of person."""

import pytest
from django.urls import reverse

from accounts.models import ApiToken
from releases.prereleases.services import prerelease_link
from tests.factories import ArtifactFactory, SubmissionFactory, UserFactory

pytestmark = pytest.mark.django_db

PEOPLE = ["anonymous", "other_maintainer", "maintainer", "revoked_maintainer", "staff"]


@pytest.fixture
def submission(release, ubuntu, maintainer):
    return SubmissionFactory(
        release=release, distro=ubuntu, submitter=maintainer, artifact=ArtifactFactory()
    )


def routes(release, submission, maintainer):
    base = ("convirt", "2.0", "ubuntu")
    token = (
        prerelease_link(release=release, user=maintainer).rsplit("/prerelease/", 1)[1].strip("/")
    )
    return {
        # name: (method, url, expected status per person in PEOPLE order)
        "release page": ("get", reverse("release-distro", args=base), [302, 404, 200, 404, 200]),
        "add links": ("post", reverse("package-links-add", args=base), [302, 404, 302, 404, 302]),
        "submission": (
            "get",
            reverse("submission-detail", args=[submission.pk]),
            [302, 404, 200, 404, 200],
        ),
        "live status": (
            "get",
            reverse("submission-status", args=[submission.pk]),
            [302, 404, 200, 404, 200],
        ),
        "json report": (
            "get",
            reverse("submission-report", args=[submission.pk]),
            [302, 404, 200, 404, 200],
        ),
        # The link is personal: only the maintainer it was made for downloads with it.
        "pre-release link": (
            "get",
            reverse("prerelease-download", args=[token]),
            [302, 404, 200, 404, 404],
        ),
        "my distros": ("get", reverse("my-distros"), [302, 200, 200, 200, 200]),
        "claims (staff)": ("get", reverse("claims"), [302, 404, 404, 404, 200]),
        "profile": ("get", reverse("profile"), [302, 200, 200, 200, 200]),
    }


def api_routes(submission):
    return {
        "api upload": (
            "post",
            reverse("api-submission-create", args=["convirt", "2.0", "ubuntu"]),
            [401, 404, 400, 404, 400],
        ),
        "api submission": (
            "get",
            reverse("api-submission", args=[submission.pk]),
            [401, 404, 200, 404, 200],
        ),
        "api release": (
            "get",
            reverse("api-release", args=["convirt", "2.0"]),
            [401, 200, 200, 404, 200],
        ),
    }


def person(request, who):
    return None if who == "anonymous" else request.getfixturevalue(who)


@pytest.mark.parametrize("who", PEOPLE)
def test_pages(client, request, who, release, submission, maintainer):
    user = person(request, who)
    if user:
        client.force_login(user)
    index = PEOPLE.index(who)
    for name, (method, url, expected) in routes(release, submission, maintainer).items():
        response = getattr(client, method)(url)
        assert response.status_code == expected[index], f"{name} as {who}"


@pytest.mark.parametrize("who", PEOPLE)
def test_api(client, request, who, release, submission):
    user = person(request, who)
    headers = {}
    if user:
        headers["HTTP_AUTHORIZATION"] = "Token " + ApiToken.issue(user=user, name="t")[1]
    index = PEOPLE.index(who)
    for name, (method, url, expected) in api_routes(submission).items():
        response = getattr(client, method)(url, **headers)
        assert response.status_code == expected[index], f"{name} as {who}: {response.content[:200]}"


def test_an_inactive_account_is_treated_as_anonymous(client, release, submission, maintainer):
    maintainer.is_active = False
    maintainer.save()
    key = ApiToken.issue(user=maintainer, name="t")[1]
    response = client.get(
        reverse("api-submission", args=[submission.pk]), HTTP_AUTHORIZATION=f"Token {key}"
    )
    assert response.status_code == 401


def test_a_plain_user_sees_no_submission(client, submission):
    client.force_login(UserFactory(username="curious"))
    assert client.get(reverse("submission-detail", args=[submission.pk])).status_code == 404


def test_the_release_api_shows_a_maintainer_only_their_distros(
    client, release, submission, other_maintainer, staff
):
    from tests.factories import UserFactory

    url = reverse("api-release", args=["convirt", "2.0"])
    mine = client.get(
        url, HTTP_AUTHORIZATION="Token " + ApiToken.issue(user=other_maintainer, name="t")[1]
    ).json()
    assert mine["distros"] == {}  # fedora has nothing; ubuntu's work is not theirs to see
    everything = client.get(
        url, HTTP_AUTHORIZATION="Token " + ApiToken.issue(user=staff, name="t")[1]
    ).json()
    assert set(everything["distros"]) == {"ubuntu"}
    stranger = UserFactory(username="stranger")
    response = client.get(
        url, HTTP_AUTHORIZATION="Token " + ApiToken.issue(user=stranger, name="t")[1]
    )
    assert response.status_code == 404

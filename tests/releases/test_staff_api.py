"""The staff API: a release run from a script with a staff user's token."""

import json
import uuid

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import ApiToken
from releases.coordination import lifecycle
from releases.models import AuditEvent, Release, Submission
from tests.factories import (
    ArtifactFactory,
    MaintainershipFactory,
    ProjectMemberFactory,
    SubmissionFactory,
    UserFactory,
)
from tests.helpers import bundle_bytes, multipart, prerelease_bytes
from tests.processes import wait_for

pytestmark = pytest.mark.django_db


def token(user) -> dict:
    return {"HTTP_AUTHORIZATION": "Token " + ApiToken.issue(user=user, name="script")[1]}


def post_multipart(client, url, headers, fields, files):
    body, content_type = multipart(fields, files)
    return client.generic("POST", url, body, content_type=content_type, **headers)


def post_json(client, url, headers, data=None):
    return client.post(url, data or {}, content_type="application/json", **headers)


def distro_bundle(slug: str) -> bytes:
    """The demo's ubuntu bundle, laid out for the distro `slug`."""
    from demo import builders as demo

    return bundle_bytes(
        [
            (name.replace("ubuntu", slug), data, mode)
            for name, data, mode in demo.ubuntu_bundle_members()
        ]
    )


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_release_run_through_the_api_alone(client, worker):
    slug = f"api-{uuid.uuid4().hex[:8]}"
    from tests.factories import DistroFactory, ProjectFactory

    project = ProjectFactory(slug=slug, name="API Project")
    ubuntu = DistroFactory(slug=f"ubuntu-{slug}", name="Ubuntu")
    fedora = DistroFactory(slug=f"fedora-{slug}", name="Fedora")
    staff = token(
        ProjectMemberFactory(user=UserFactory(username=f"boss-{slug}"), project=project).user
    )
    packagers = {}
    for distro in (ubuntu, fedora):
        user = MaintainershipFactory(
            user=UserFactory(username=f"{distro.slug}-dev"), project=project, distro=distro
        ).user
        packagers[distro] = token(user)
    # From here on, HTTP only.
    releases_url = reverse("api-releases", args=[slug])
    created = post_multipart(
        client,
        releases_url,
        staff,
        {"version": "2.0", "submission_deadline": "2030-01-01T12:00:00Z"},
        {"prerelease": ("convirt-2.0.tar.gz", prerelease_bytes())},
    )
    assert created.status_code == 201, created.content
    assert created.json()["state"] == "prerelease"
    assert created.json()["submission_deadline"].startswith("2030-01-01T12:00:00")
    assert [r["version"] for r in client.get(releases_url, **staff).json()] == ["2.0"]

    submissions = {}
    for distro in (ubuntu, fedora):
        response = post_multipart(
            client,
            reverse("api-submission-create", args=[slug, "2.0", distro.slug]),
            packagers[distro],
            {},
            {"bundle": (f"{distro.slug}.tar.gz", distro_bundle(distro.slug))},
        )
        assert response.status_code == 201, response.content
        submissions[distro] = response.json()["id"]

    def verified(distro):
        body = client.get(
            reverse("api-submission", args=[submissions[distro]]), **packagers[distro]
        ).json()
        return body if body["state"] not in ("received", "verifying") else None

    for distro in (ubuntu, fedora):
        wait_for(lambda d=distro: verified(d), timeout=60, what=f"{distro.slug} verified")
    assert verified(ubuntu)["state"] == "passed", verified(ubuntu)["findings"]

    accept = post_json(
        client, reverse("api-submission-accept", args=[submissions[ubuntu]]), staff, {}
    )
    assert accept.status_code == 200, accept.content
    assert accept.json()["state"] == "accepted"
    reject = post_json(
        client,
        reverse("api-submission-reject", args=[submissions[fedora]]),
        staff,
        {"comment": "Please package the fedora paths."},
    )
    assert reject.status_code == 200, reject.content
    assert reject.json() | {"decided_at": None} == {
        "id": submissions[fedora],
        "state": "rejected",
        "distro": fedora.slug,
        "decided_by": f"boss-{slug}",
        "decided_at": None,
        "comment": "Please package the fedora paths.",
    }

    release_url = reverse("api-release", args=[slug, "2.0"])
    frozen = post_json(client, release_url + "freeze", staff)
    assert frozen.status_code == 200 and frozen.json()["state"] == "frozen"
    publishing = post_json(client, release_url + "publish", staff)
    assert publishing.status_code == 202 and publishing.json()["state"] == "publishing"

    wait_for(
        lambda: client.get(release_url, **staff).json()["state"] == "released",
        timeout=60,
        what="the worker assembled the release",
    )

    def listed():
        response = client.get(f"/downloads/{slug}/downloads.json")
        if response.status_code != 200:
            return None
        data = json.loads(b"".join(response.streaming_content))
        return data if data["releases"] else None

    public = wait_for(listed, timeout=60, what="the public downloads.json lists the release")
    assert public["releases"][0]["version"] == "2.0"

    audit = client.get(release_url + "audit", **staff).json()
    verbs = [event["verb"] for event in audit["results"]]
    for verb in (
        "release.created",
        "release.opened",
        "submission.accepted",
        "submission.rejected",
        "release.frozen",
        "release.publishing",
        "release.published",
    ):
        assert verb in verbs
    assert audit["next"] is None


def staff_routes(release, submission):
    project, version = release.project.slug, release.version
    tarball = {"prerelease": ("convirt-2.1.tar.gz", prerelease_bytes("2.1"))}
    return [
        ("GET", reverse("api-releases", args=[project]), None, None),
        ("POST", reverse("api-releases", args=[project]), {"version": "2.1"}, tarball),
        ("POST", reverse("api-submission-accept", args=[submission.pk]), {}, None),
        ("POST", reverse("api-submission-reject", args=[submission.pk]), {"comment": "x"}, None),
        *[
            ("POST", reverse(f"api-release-{action}", args=[project, version]), {}, None)
            for action in ("freeze", "unfreeze", "publish")
        ],
        ("POST", reverse("api-release-respin", args=[project, version]), {}, tarball),
        ("POST", reverse("api-release-withdraw", args=[project, version]), {"reason": "x"}, None),
        ("GET", reverse("api-release-audit", args=[project, version]), None, None),
        ("GET", reverse("api-release-patches", args=[project, version]), None, None),
        ("GET", reverse("api-policy", args=[project]), None, None),
        ("POST", reverse("api-policy", args=[project]), {"text": "schema = 1", "base": 1}, None),
    ]


@pytest.fixture
def submission(release, ubuntu, maintainer):
    return SubmissionFactory(
        release=release,
        distro=ubuntu,
        submitter=maintainer,
        artifact=ArtifactFactory(),
        state=Submission.State.PASSED,
    )


def call(client, method, url, headers, fields, files):
    if method == "GET":
        return client.get(url, **headers)
    if files is not None:
        return post_multipart(client, url, headers, fields, files)
    return post_json(client, url, headers, fields)


def test_every_staff_route_is_covered(release, submission):
    from django.urls import resolve

    from portal import api

    maintainers = {"api-openapi", "api-submission-create", "api-submission", "api-release"}
    staff_names = {p.name for p in api.urlpatterns} - maintainers
    # The list and the creation share their path, so the list's name resolves for both.
    covered = {resolve(url).url_name for _, url, _, _ in staff_routes(release, submission)}
    assert covered | {"api-release-create", "api-policy-save"} == staff_names


def test_a_maintainers_token_is_404_on_every_staff_route(client, release, submission, maintainer):
    headers = token(maintainer)
    before = (Release.objects.get().state, Submission.objects.get().state, Release.objects.count())
    for method, url, fields, files in staff_routes(release, submission):
        response = call(client, method, url, headers, fields, files)
        assert response.status_code == 404, (method, url, response.content)
        assert response.json()["error"] == "Nothing here among the projects you serve."
    after = (Release.objects.get().state, Submission.objects.get().state, Release.objects.count())
    assert before == after


def test_no_token_is_401_on_every_staff_route(client, release, submission):
    for method, url, fields, files in staff_routes(release, submission):
        response = call(client, method, url, {}, fields, files)
        assert response.status_code == 401 and response["WWW-Authenticate"].startswith("Token")


ACTIONS = ["freeze", "unfreeze", "respin", "publish", "withdraw"]
ILLEGAL = [
    (state, action)
    for state in Release.State.values
    for action in ACTIONS
    if (state, action) not in lifecycle.TRANSITIONS
]


@pytest.mark.parametrize(("state", "action"), ILLEGAL)
def test_each_illegal_transition_is_409_with_the_lifecycles_sentence(
    client, release, staff, state, action
):
    withdrawn = state == Release.State.WITHDRAWN
    Release.objects.filter(pk=release.pk).update(
        state=state,
        withdrawn_reason="broken" if withdrawn else "",
        withdrawn_at=timezone.now() if withdrawn else None,
    )
    release.refresh_from_db()
    url = reverse(f"api-release-{action}", args=[release.project.slug, release.version])
    if action == "respin":
        response = post_multipart(
            client, url, token(staff), {}, {"prerelease": ("c.tar.gz", prerelease_bytes("2.1"))}
        )
    else:
        response = post_json(client, url, token(staff), {"reason": "broken"})
    assert response.status_code == 409, response.content
    assert response.json() == {"error": lifecycle.refusal(release, action)}
    release.refresh_from_db()
    assert release.state == state


def test_creating_a_release_refuses_what_it_cannot_use(client, release, staff):
    headers, url = token(staff), reverse("api-releases", args=[release.project.slug])
    tarball = {"prerelease": ("convirt-2.1.tar.gz", prerelease_bytes("2.1"))}
    missing = post_multipart(client, url, headers, {"version": "2.1"}, {})
    assert missing.status_code == 400 and "`prerelease`" in missing.json()["error"]
    no_version = post_multipart(client, url, headers, {}, tarball)
    assert no_version.status_code == 400 and no_version.json()["error"].startswith("version:")
    zip_file = post_multipart(
        client, url, headers, {"version": "2.1"}, {"prerelease": ("c.zip", b"PK")}
    )
    assert zip_file.status_code == 400 and "prerelease: " in zip_file.json()["error"]
    twice = post_multipart(client, url, headers, {"version": "2.0"}, tarball)
    assert twice.status_code == 409 and "exists already" in twice.json()["error"]
    nowhere = post_multipart(
        client, reverse("api-releases", args=["nope"]), headers, {"version": "2.1"}, tarball
    )
    assert nowhere.status_code == 404
    assert Release.objects.count() == 1


def test_a_tarball_over_the_limit_is_413_before_the_body_is_read(client, release, staff, settings):
    settings.UPLOAD_MAX_BYTES = 10
    response = client.generic(
        "POST",
        reverse("api-releases", args=[release.project.slug]),
        b"",
        content_type="multipart/form-data; boundary=x",
        CONTENT_LENGTH=str(10**9),
        **token(staff),
    )
    assert response.status_code == 413 and response.json()["error"]


def test_a_rejection_needs_a_comment_naming_the_field(client, release, submission, staff):
    url = reverse("api-submission-reject", args=[submission.pk])
    for body in ({}, {"comment": ""}, {"comment": "   "}):
        response = post_json(client, url, token(staff), body)
        assert response.status_code == 400, body
        assert "comment" in response.json()["error"].lower(), response.json()
    not_json = client.post(url, "{", content_type="application/json", **token(staff))
    assert not_json.status_code == 400 and not_json.json()["error"]
    assert Submission.objects.get().state == "passed"


def test_accepting_twice_is_409_and_an_unknown_submission_404(client, release, submission, staff):
    url = reverse("api-submission-accept", args=[submission.pk])
    assert post_json(client, url, token(staff)).status_code == 200
    again = post_json(client, url, token(staff))
    assert again.status_code == 409 and "accepted" in again.json()["error"]
    missing = post_json(client, reverse("api-submission-accept", args=[99999]), token(staff))
    assert missing.status_code == 404 and missing.json()["error"]


def test_withdraw_needs_a_reason(client, release, staff):
    Release.objects.filter(pk=release.pk).update(state=Release.State.RELEASED)
    url = reverse("api-release-withdraw", args=[release.project.slug, release.version])
    assert post_json(client, url, token(staff), {}).status_code == 400
    response = post_json(client, url, token(staff), {"reason": "a security hole"})
    assert response.status_code == 200 and response.json()["state"] == "withdrawn"
    assert response.json()["withdrawn_reason"] == "a security hole"


def test_respin_replaces_the_tarball(client, release, submission, staff):
    url = reverse("api-release-respin", args=[release.project.slug, release.version])
    response = post_multipart(
        client, url, token(staff), {}, {"prerelease": ("convirt-2.0.tar.gz", prerelease_bytes())}
    )
    assert response.status_code == 200, response.content
    assert Submission.objects.get().state == "stale"


def test_the_audit_trail_pages_in_a_fixed_number_of_queries(
    client, release, submission, staff, django_assert_max_num_queries, settings
):
    from releases.events import event_record

    for n in range(60):
        event_record("release.reminded", actor=staff, target=release, n=n)
    for n in range(10):
        event_record("submission.accepted", actor=staff, target=submission, n=n)
    event_record("release.opened", actor=staff, target=ReleaseOther.make(release))
    headers = token(staff)
    url = reverse("api-release-audit", args=[release.project.slug, release.version])
    with django_assert_max_num_queries(6):
        first = client.get(url, **headers)
    body = first.json()
    assert len(body["results"]) == 50 and body["next"].endswith("?page=2")
    second = client.get(body["next"], **headers).json()
    assert len(second["results"]) == 20 and second["next"] is None
    seen = body["results"] + second["results"]
    assert {e["object_type"] for e in seen} == {"releases.release", "releases.submission"}
    assert len(seen) == AuditEvent.objects.count() - 1  # not the other release's
    assert client.get(url + "?page=0", **headers).status_code == 400
    assert client.get(url + "?page=x", **headers).status_code == 400


class ReleaseOther:
    @staticmethod
    def make(release):
        return Release.objects.create(project=release.project, version="9.9")

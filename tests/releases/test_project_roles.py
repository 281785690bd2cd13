"""Every staff page and staff API route x every role x both projects, from one table.

The routes come from the URL resolver: a route that is in neither table below
fails `test_every_route_is_classified`, so a new page cannot slip past the walk.
Each person holds one role on ConVirt and none on Tern (the other project): on
Tern every project's route answers the same 404 as a project that does not exist.
"""

import re

import pytest
from django.urls import URLResolver, get_resolver, reverse

from accounts.models import ApiToken
from releases import permissions
from releases.models import ProjectKey, ProjectRequest, WebhookDelivery, WebhookEndpoint
from releases.policies import current_version
from tests.factories import (
    ArtifactFactory,
    DistroFactory,
    MaintainershipFactory,
    ProjectFactory,
    ProjectMemberFactory,
    ReleaseFactory,
    SubmissionFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

ROLES = ["outsider", "site_admin", "reviewer", "release_manager", "owner"]
OK, DENIED, HIDDEN = "ok", 403, 404

# What each role may do, in ROLES order (an outsider and a site administrator
# serve no project, so their answers are the same on both).
VIEW = [HIDDEN, HIDDEN, OK, OK, OK]
REVIEW = [HIDDEN, HIDDEN, OK, OK, OK]
RUN = [HIDDEN, HIDDEN, DENIED, OK, OK]
MANAGE = [HIDDEN, HIDDEN, DENIED, DENIED, OK]

# Site-wide staff pages (no project in the path): (route, method) -> answers.
SITE = {
    ("staff-releases", "GET"): [HIDDEN, OK, OK, OK, OK],
    ("staff-audit", "GET"): [HIDDEN, OK, OK, OK, OK],
    ("staff-project-new", "GET"): [HIDDEN, OK, HIDDEN, HIDDEN, HIDDEN],
    ("claims", "GET"): [HIDDEN, HIDDEN, HIDDEN, OK, OK],
    ("status", "GET"): [HIDDEN, OK, HIDDEN, HIDDEN, HIDDEN],
    ("status-ping", "POST"): [HIDDEN, OK, HIDDEN, HIDDEN, HIDDEN],
    ("staff-project-requests", "GET"): [HIDDEN, OK, HIDDEN, HIDDEN, HIDDEN],
}

# Site administrators' decisions on a request for a new project.
REQUEST = {
    ("staff-project-request-approve", "POST"): [HIDDEN, OK, HIDDEN, HIDDEN, HIDDEN],
    ("staff-project-request-decline", "POST"): [HIDDEN, OK, HIDDEN, HIDDEN, HIDDEN],
}

# A project's staff pages and API routes: (route, method) -> answers on one's own
# project; on the other project every one of them is HIDDEN. The order is the walk's:
# what removes an object (a webhook endpoint) comes after what reads it.
PROJECT = {
    ("staff-policy", "GET"): VIEW,
    ("staff-policy", "POST"): MANAGE,
    ("staff-policy-preview", "POST"): MANAGE,
    ("staff-policy-progress", "GET"): VIEW,
    ("staff-policy-version", "GET"): VIEW,
    ("staff-release-new", "GET"): RUN,
    ("staff-release", "GET"): VIEW,
    ("staff-release-patches", "GET"): VIEW,
    ("staff-release-patches-json", "GET"): VIEW,
    ("staff-release-patches-mbox", "GET"): VIEW,
    ("staff-release-patch-answer", "POST"): REVIEW,
    ("staff-submission-accept", "POST"): REVIEW,
    ("staff-submission-reject", "POST"): REVIEW,
    ("staff-release-open", "POST"): RUN,
    ("staff-release-source-override", "POST"): MANAGE,
    ("staff-project-distros", "GET"): VIEW,
    ("staff-release-freeze", "GET"): RUN,
    ("staff-release-freeze", "POST"): RUN,
    ("staff-release-unfreeze", "POST"): RUN,
    ("staff-release-remind", "POST"): RUN,
    ("staff-release-remind-distro", "POST"): RUN,
    ("staff-reopen-distro", "POST"): RUN,
    ("staff-release-respin", "GET"): RUN,
    ("staff-release-publish", "GET"): RUN,
    ("staff-release-withdraw", "GET"): RUN,
    ("staff-release-signing", "GET"): RUN,
    ("staff-release-signing", "POST"): RUN,
    ("staff-release-signing-prepare", "POST"): RUN,
    ("staff-release-signing-tarball", "GET"): RUN,
    ("claim-approve", "POST"): RUN,
    ("claim-decline", "POST"): RUN,
    ("claim-revoke", "POST"): RUN,
    ("staff-team", "GET"): VIEW,
    ("staff-team", "POST"): MANAGE,
    ("staff-member-role", "POST"): MANAGE,
    ("staff-keys", "GET"): VIEW,
    ("staff-keys", "POST"): MANAGE,
    ("staff-key-retire", "POST"): MANAGE,
    ("staff-webhooks", "GET"): MANAGE,
    ("staff-webhook-disable", "POST"): MANAGE,
    ("staff-webhook-enable", "POST"): MANAGE,
    ("staff-webhook-rotate-secret", "POST"): MANAGE,
    ("staff-webhook-resend", "POST"): MANAGE,
    ("staff-webhook-delete", "POST"): MANAGE,
    ("staff-member-remove", "POST"): MANAGE,
    # The staff API, with a token.
    ("api-releases", "GET"): VIEW,
    ("api-release-create", "POST"): RUN,
    ("api-submission-accept", "POST"): REVIEW,
    ("api-submission-reject", "POST"): REVIEW,
    ("api-release-freeze", "POST"): RUN,
    ("api-release-unfreeze", "POST"): RUN,
    ("api-release-respin", "POST"): RUN,
    ("api-release-publish", "POST"): RUN,
    ("api-release-withdraw", "POST"): RUN,
    ("api-release-audit", "GET"): VIEW,
    ("api-policy", "GET"): VIEW,
    ("api-policy-save", "POST"): MANAGE,
    ("api-release-patches", "GET"): VIEW,
}

# Routes that are not staff routes: public pages, and maintainers' own pages
# (tests/releases/test_authorization.py walks those).
NOT_STAFF = {
    "outbox",
    "bundlecheck-wheel",
    "policy-format",
    "publishing:distros-feed",
    "distro-repositories",
    "distro-repository-remove",
    "project-guide",
    "project-policy-text",
    "project-policy-version-text",
    "my-distros",
    "release-distro",
    "package-links-add",
    "package-link-recheck",
    "package-link-edit",
    "package-link-remove",
    "submission-detail",
    "submission-status",
    "submission-report",
    "prerelease-download",
    "prerelease-resend",
    "healthz",
    "release-distro-patches",
    "api-release",
    "api-submission",
    "api-submission-create",
    "api-openapi",
    "home",
    "publishing:page",
    "publishing:json",
    "publishing:feed",
    "publishing:staged",
    "publishing:file",
    "project-ask",
    "publishing:provenance-predicate",
    "packager-home",
    "packager-calendar",
    "packager-calendar-reset",  # anyone with an account asks (tests/releases/test_teams.py)
    # accounts: a person's own pages
    "login",
    "logout",
    "signup",
    "signup-confirm",
    "signup-confirm-resend",
    "profile",
    "token-create",
    "token-revoke",
    "openpgp-key-add",
    "openpgp-key-remove",
    "password_change",
    "password_change_done",
    "password_reset",
    "password_reset_complete",
    "password_reset_confirm",
    "password_reset_done",
}

# A body that passes each API route's schema, so that what answers is the permission.
API_BODIES = {
    "api-submission-reject": {"comment": "Not this one."},
    "api-release-withdraw": {"reason": "A walk through the roles."},
    "api-policy-save": {"text": "schema = 1", "base": 1},
    "api-submission-accept": {},
}


def _routes(patterns, namespace="", prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = namespace + (f"{pattern.namespace}:" if pattern.namespace else "")
            yield from _routes(pattern.url_patterns, inner, prefix + str(pattern.pattern))
        elif pattern.name:
            yield namespace + pattern.name, prefix + str(pattern.pattern)


def all_routes() -> dict[str, str]:
    return {
        name: route
        for name, route in _routes(get_resolver().url_patterns)
        if not name.startswith("admin:")
    }


def test_every_route_is_classified():
    named = set(all_routes())
    staff = {name for table in (SITE, REQUEST, PROJECT) for name, _ in table}
    assert named - staff - NOT_STAFF == set(), "classify the new route in the tables above"
    assert staff - named == set() and NOT_STAFF - named == set()


def _world(slug: str, name: str):
    project = ProjectFactory(slug=slug, name=name)
    current_version(project)
    ubuntu = DistroFactory(slug="ubuntu")
    release = ReleaseFactory(project=project, version="2.0", prerelease=ArtifactFactory())
    submission = SubmissionFactory(
        release=release,
        distro=ubuntu,
        state="passed",
        submitter=UserFactory(username=f"{slug}-packager"),
    )
    claim = MaintainershipFactory(
        project=project,
        distro=ubuntu,
        user=UserFactory(username=f"{slug}-asker"),
        state="requested",
    )
    asked = ProjectRequest.objects.create(
        name=f"{name} tools",
        slug=f"{slug}-tools",
        repository="https://git.example.org/tools.git",
        requested_by=UserFactory(username=f"{slug}-founder"),
    )
    member = ProjectMemberFactory(
        project=project, user=UserFactory(username=f"{slug}-reviewer"), role="reviewer"
    )
    key = ProjectKey.objects.create(
        project=project, fingerprint=slug.upper().ljust(40, "0"), public_armor="(public)"
    )
    endpoint = WebhookEndpoint.objects.create(
        project=project,
        url="https://hooks.example.org/in",
        events=["release.published"],
        secret="s",
    )
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint, event="release.published", message_id=f"msg_{slug}", payload={}
    )
    return {
        "project": slug,
        "release_id": release.pk,
        "version": "2.0",
        "submission_id": submission.pk,
        "id": submission.pk,
        "claim_id": claim.pk,
        "request_id": asked.pk,
        "member_id": member.pk,
        "key_id": key.pk,
        "endpoint_id": endpoint.pk,
        "delivery_id": delivery.pk,
        "distro": "ubuntu",
        "number": 1,
        "fingerprint": "0" * 64,
    }


@pytest.fixture
def worlds(db):
    return {"own": _world("convirt", "ConVirt"), "other": _world("tern", "Tern")}


def _person(role: str):
    user = UserFactory(username=f"walker-{role}", is_staff=role == "site_admin")
    if role in ("reviewer", "release_manager", "owner"):
        ProjectMemberFactory(project=ProjectFactory(slug="convirt"), user=user, role=role)
    return user


def _url(name: str, values: dict) -> str:
    params = re.findall(r"<(?:\w+:)?(\w+)>", all_routes()[name])
    return reverse(name, kwargs={param: values[param] for param in params})


def _answer(client, name: str, method: str, url: str, token: str):
    if name.startswith("api-"):
        headers = {"HTTP_AUTHORIZATION": f"Token {token}"}
        if method == "GET":
            response = client.get(url, **headers)
        else:
            response = client.post(
                url, API_BODIES.get(name, {}), content_type="application/json", **headers
            )
        body = response.json().get("error", "") if response.status_code >= 400 else ""
    else:
        response = client.get(url) if method == "GET" else client.post(url, {})
        body = response.content.decode() if response.status_code == 404 else ""
    assert response.status_code < 500, (name, method, response.content[:300])
    if response.status_code == 404 and permissions.NOT_SERVED in body:
        return HIDDEN
    if response.status_code == 403:
        return DENIED
    return OK


@pytest.mark.parametrize("role", ROLES)
def test_every_staff_route_for_every_role_on_both_projects(client, worlds, role):
    user = _person(role)
    client.force_login(user)
    token = ApiToken.issue(user=user, name="walk")[1]
    index = ROLES.index(role)
    seen = {}
    for (name, method), answers in SITE.items():
        seen[(name, method, "site")] = (
            _answer(client, name, method, reverse(name), token),
            answers[index],
        )
    for (name, method), answers in REQUEST.items():
        url = _url(name, worlds["own"])
        seen[(name, method, "site")] = (_answer(client, name, method, url, token), answers[index])
    for which in ("other", "own"):  # the other first: it must change nothing
        for (name, method), answers in PROJECT.items():
            expected = answers[index] if which == "own" else HIDDEN
            got = _answer(client, name, method, _url(name, worlds[which]), token)
            seen[(name, method, which)] = (got, expected)
    wrong = {key: pair for key, pair in seen.items() if pair[0] != pair[1]}
    assert wrong == {}, f"as {role}: (got, expected)"


def _without_csrf(page: bytes) -> bytes:
    return re.sub(rb'name="csrfmiddlewaretoken" value="[^"]*"', b"", page)


def test_another_projects_route_is_the_same_404_as_a_missing_one(client, worlds):
    owner = _person("owner")
    client.force_login(owner)
    other, missing = worlds["other"], {**worlds["other"], "release_id": 999999, "project": "nope"}
    for name in ("staff-release", "staff-policy", "staff-webhooks"):
        theirs, nobody = client.get(_url(name, other)), client.get(_url(name, missing))
        assert theirs.status_code == nobody.status_code == 404
        assert _without_csrf(theirs.content) == _without_csrf(nobody.content)
    token = {"HTTP_AUTHORIZATION": "Token " + ApiToken.issue(user=owner, name="t")[1]}
    theirs = client.get(_url("api-releases", other), **token)
    nobody = client.get(_url("api-releases", missing), **token)
    assert theirs.status_code == nobody.status_code == 404 and theirs.json() == nobody.json()


def test_pages_listing_projects_show_only_those_served(client, worlds):
    client.force_login(_person("reviewer"))
    releases = client.get(reverse("staff-releases")).content.decode()
    assert "ConVirt" in releases and "Tern" not in releases
    assert "New release" not in releases  # a reviewer runs no release
    audit = client.get(reverse("staff-audit")).content.decode()
    assert "tern" not in audit.lower()

"""The one error layer: every path under /api/ answers JSON in the documented
shape `{"error": "..."}`, whatever went wrong (no route, a refused path value,
a refusal, a failure); pages get the portal's HTML error page; a script that
asks for JSON gets JSON everywhere."""

import pytest
from django.test import Client

from accounts.models import ApiToken
from tests.factories import ArtifactFactory, SubmissionFactory

pytestmark = pytest.mark.django_db

TRACEBACK_WORDS = ("Traceback", 'File "', "RuntimeError", "the secret detail")


def assert_json_error(response, status):
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"} and body["error"].strip()
    return body["error"]


@pytest.fixture
def token(maintainer):
    return "Token " + ApiToken.issue(user=maintainer, name="ci")[1]


@pytest.fixture
def submission(release, ubuntu, maintainer):
    return SubmissionFactory(
        release=release, distro=ubuntu, submitter=maintainer, artifact=ArtifactFactory()
    )


@pytest.mark.parametrize(
    "path",
    [
        "/api/nope/",
        "/api/v1/nope",
        "/api/v1/projects/%C3%B6/releases/",  # the slug converter refuses it
        "/api/v1/submissions/abc/",  # the int converter refuses it
        "/api/v1/projects/convirt/releases/2.0%20beta/",  # not a version
    ],
)
@pytest.mark.parametrize("debug", [False, True], ids=["production", "debug"])
def test_a_path_no_api_route_takes_is_a_json_404(client, settings, path, debug):
    # With DEBUG on, Django answered these with its HTML "technical" 404 page.
    settings.DEBUG = debug
    for method in ("get", "post", "delete"):
        message = assert_json_error(getattr(client, method)(path), 404)
        assert "openapi.json" in message


def test_a_route_without_its_trailing_slash_says_so_in_json(client, token, submission):
    # Django's slash redirect answered a 301 HTML page here (and lost a POST's body).
    response = client.post(f"/api/v1/submissions/{submission.pk}/accept/")
    assert "No such API route" in assert_json_error(response, 404)
    response = client.get(f"/api/v1/submissions/{submission.pk}", HTTP_AUTHORIZATION=token)
    assert f"/api/v1/submissions/{submission.pk}/" in assert_json_error(response, 404)


@pytest.fixture
def failing(monkeypatch):
    """Makes the function at a dotted path fail; a client that gets the 500 answer."""

    def broken(*args, **kwargs):
        raise RuntimeError("the secret detail")

    def fail(target: str) -> Client:
        monkeypatch.setattr(target, broken)
        return Client(raise_request_exception=False)

    return fail


def test_a_failure_under_the_api_is_a_json_500_without_traceback(token, submission, failing):
    client = failing("releases.submissions.selectors.submission_report")
    response = client.get(f"/api/v1/submissions/{submission.pk}/", HTTP_AUTHORIZATION=token)
    assert_json_error(response, 500)
    assert not any(word in response.content.decode() for word in TRACEBACK_WORDS)


def test_a_failure_on_a_page_is_an_html_500_without_traceback(maintainer, submission, failing):
    client = failing("releases.submissions.selectors.submission_context")
    client.force_login(maintainer)
    response = client.get(f"/submissions/{submission.pk}/")
    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/html")
    assert b"The portal failed" in response.content
    assert not any(word in response.content.decode() for word in TRACEBACK_WORDS)


def test_permission_denied_under_the_api_is_json(client, token, submission, monkeypatch):
    from django.core.exceptions import PermissionDenied

    def refuse(user):
        raise PermissionDenied("Not with this token.")

    monkeypatch.setattr("releases.submissions.api.report_read_count", refuse)
    response = client.get(f"/api/v1/submissions/{submission.pk}/", HTTP_AUTHORIZATION=token)
    assert assert_json_error(response, 403) == "Not with this token."


def test_pages_get_the_html_error_page(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    assert b"There is no page at this address" in response.content
    assert b"<h1>Not found</h1>" in response.content


def test_a_script_asking_for_json_gets_json_on_a_page_too(client):
    response = client.get("/no-such-page/", HTTP_ACCEPT="application/json")
    assert "no page" in assert_json_error(response, 404)


def test_a_form_without_its_csrf_token_is_told_why(maintainer):
    client = Client(enforce_csrf_checks=True)
    client.force_login(maintainer)
    page = client.post("/accounts/profile/", {"display_name": "x"})
    assert page.status_code == 403 and page["Content-Type"].startswith("text/html")
    assert b"Reload the page and send it again" in page.content
    script = client.post(
        "/accounts/profile/", {"display_name": "x"}, HTTP_ACCEPT="application/json"
    )
    assert "Reload the page" in assert_json_error(script, 403)


def test_too_many_sign_ups_are_a_429_page_or_json(client, settings):
    settings.SIGNUPS_PER_HOUR = 1
    client.post("/accounts/signup/", {}, REMOTE_ADDR="10.9.0.1")
    page = client.post("/accounts/signup/", {}, REMOTE_ADDR="10.9.0.1")
    assert page.status_code == 429 and int(page["Retry-After"]) > 0
    assert page["Content-Type"].startswith("text/html") and b"try again in" in page.content
    script = client.post(
        "/accounts/signup/", {}, REMOTE_ADDR="10.9.0.1", HTTP_ACCEPT="application/json"
    )
    assert "try again in" in assert_json_error(script, 429)
    assert int(script["Retry-After"]) > 0

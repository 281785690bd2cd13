"""Under /api/ every answer is JSON: an unknown path is a JSON 404 and a
method a route does not take is a JSON 405 with `Allow`, token or no token.
Elsewhere the pages keep their HTML 404."""

import pytest
from django.urls import reverse

from accounts.models import ApiToken
from portal import api as api_urls

pytestmark = pytest.mark.django_db

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

# Each API route, with the methods it takes.
ROUTES = {
    "api-openapi": ([], ["GET"]),
    "api-submission-create": (["convirt", "2.0", "ubuntu"], ["POST"]),
    "api-release": (["convirt", "2.0"], ["GET"]),
    "api-submission": ([1], ["GET"]),
    "api-releases": (["convirt"], ["GET", "POST"]),
    "api-release-create": (["convirt"], ["GET", "POST"]),
    "api-submission-accept": ([1], ["POST"]),
    "api-submission-reject": ([1], ["POST"]),
    "api-release-freeze": (["convirt", "2.0"], ["POST"]),
    "api-release-unfreeze": (["convirt", "2.0"], ["POST"]),
    "api-release-respin": (["convirt", "2.0"], ["POST"]),
    "api-release-publish": (["convirt", "2.0"], ["POST"]),
    "api-release-withdraw": (["convirt", "2.0"], ["POST"]),
    "api-release-audit": (["convirt", "2.0"], ["GET"]),
    "api-release-patches": (["convirt", "2.0"], ["GET"]),
    "api-policy": (["convirt"], ["GET", "POST"]),
    "api-policy-save": (["convirt"], ["GET", "POST"]),
}


def test_every_api_route_is_walked():
    assert {pattern.name for pattern in api_urls.urlpatterns} == set(ROUTES)


@pytest.mark.parametrize(
    "path",
    [
        "/api/",
        "/api/v1/",
        "/api/v1/nope/",
        "/api/v1/submissions/abc/",
        "/api/v1/submissions/1/extra/",
        "/api/v1/projects/convirt/",
        "/api/v2/x",
        "/api/v1/openapi.json/",
        "/api/%3Cscript%3E/",
    ],
)
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("with_token", [False, True], ids=["anonymous", "token"])
def test_an_unknown_api_path_is_a_json_404(client, maintainer, path, method, with_token):
    headers = {}
    if with_token:
        headers["HTTP_AUTHORIZATION"] = "Token " + ApiToken.issue(user=maintainer, name="t")[1]
    response = client.generic(method, path, **headers)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]


WRONG_METHODS = [
    (name, method)
    for name, (_, allowed) in ROUTES.items()
    for method in METHODS
    if method not in allowed
]


@pytest.mark.parametrize(("name", "method"), WRONG_METHODS)
@pytest.mark.parametrize("with_token", [False, True], ids=["anonymous", "token"])
def test_a_wrong_method_on_an_api_route_is_a_json_405(client, maintainer, name, method, with_token):
    args, allowed = ROUTES[name]
    headers = {}
    if with_token:
        headers["HTTP_AUTHORIZATION"] = "Token " + ApiToken.issue(user=maintainer, name="t")[1]
    response = client.generic(method, reverse(name, args=args), **headers)
    assert response.status_code == 405
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]
    assert response["Allow"] == ", ".join(allowed)


def test_the_openapi_description_is_still_served(client):
    response = client.get(reverse("api-openapi"))
    assert response.status_code == 200 and "openapi" in response.json()


@pytest.mark.parametrize("path", ["/nope/", "/apix/", "/accounts/nope/"])
def test_pages_keep_their_html_404(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_api_without_its_slash_leads_to_the_api(client):
    # Like any page whose address lacks its trailing slash; /api/ then answers JSON.
    response = client.get("/api", follow=True)
    assert response.redirect_chain == [("/api/", 301)]
    assert response.status_code == 404 and response["Content-Type"] == "application/json"


@pytest.mark.parametrize("name", ROUTES)
def test_a_post_without_a_csrf_token_is_answered_by_the_api_not_the_csrf_page(name):
    from django.test import Client

    args, allowed = ROUTES[name]
    response = Client(enforce_csrf_checks=True).post(reverse(name, args=args))
    assert response["Content-Type"] == "application/json"
    assert response.status_code == (401 if "POST" in allowed else 405)

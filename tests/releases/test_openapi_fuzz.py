"""Schemathesis against /api/v1/openapi.json: every operation, with a staff
token, answers no 500 and nothing its own description does not allow.

Requests go through Django's WSGI application in this process, inside the
test's transaction. The examples are bounded (25 per operation, derandomised)
so the whole run stays well under a minute. Multipart bodies are generated
from the routes' described fields; the files in them are arbitrary bytes, so
those routes mostly answer 400 — which the description declares.

Each operation runs its own Hypothesis test over `operation.as_strategy()`
rather than through schemathesis' pytest plugin (`schema.parametrize()`),
which does not run under pytest 9 (`'Function' object has no attribute
'_nodeid'`).
"""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from accounts.models import ApiToken
from portal.api import openapi_schema
from tests.factories import ArtifactFactory, SubmissionFactory

pytestmark = pytest.mark.django_db

CHECKS = [not_a_server_error, response_schema_conformance]
EXAMPLES = 25
STATUSES: dict[str, list[int]] = {}  # what each operation answered, for a failing run's message

# The description exactly as /api/v1/openapi.json serves it (a test below checks that).
SCHEMA = schemathesis.openapi.from_dict(openapi_schema())
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]


@pytest.fixture
def wsgi_app():
    """Django's WSGI application, which must not close the test's database
    connection after each request (Django's test client takes the same care)."""
    from django.core import signals
    from django.core.wsgi import get_wsgi_application
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield get_wsgi_application()
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.fixture
def staff_headers(staff, release, ubuntu, maintainer, settings):
    # Something for the generated requests to find besides 404s.
    submission = SubmissionFactory(
        release=release, distro=ubuntu, submitter=maintainer, artifact=ArtifactFactory()
    )
    settings.UPLOADS_PER_HOUR = 10**6
    settings.REPORT_READS_PER_MINUTE = 10**6
    settings.UPLOAD_MAX_BYTES = 1024 * 1024
    existing = {
        "project": release.project.slug,
        "version": release.version,
        "distro": ubuntu.slug,
        "id": submission.pk,
    }
    return {"Authorization": "Token " + ApiToken.issue(user=staff, name="fuzz")[1]}, existing


def test_the_fuzzed_description_is_the_served_one(client):
    assert client.get("/api/v1/openapi.json").json() == SCHEMA.raw_schema


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: op.label)
def test_every_operation_keeps_to_its_description(operation, wsgi_app, staff_headers):
    headers, existing = staff_headers
    seen = []

    def aimed(case_and_aim):
        # Most examples name what exists, so that they reach past the 404.
        case, aim = case_and_aim
        if aim and case.path_parameters:
            case.path_parameters = {
                name: existing.get(name, value) for name, value in case.path_parameters.items()
            }
        return case

    cases = st.tuples(operation.as_strategy(), st.integers(0, 3).map(bool)).map(aimed)

    @given(case=cases)
    @settings(
        max_examples=EXAMPLES,
        deadline=5000,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case):
        response = case.call(app=wsgi_app, headers=headers)
        seen.append(response.status_code)
        STATUSES.setdefault(operation.label, []).append(response.status_code)
        case.validate_response(response, checks=CHECKS)

    run()
    assert seen and 500 not in seen

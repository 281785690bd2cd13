"""Findings cannot flood the portal: capped per submission with a count of the
rest, paginated on the report page and in the API, reads rate-limited."""

from types import SimpleNamespace

import pytest
from django.urls import reverse

from accounts.models import ApiToken
from releases.models import Finding, Submission
from releases.verification.services import submission_verdict_save
from tests.helpers import bundle_bytes, submit

pytestmark = pytest.mark.django_db


def _report(n_errors: int, n_infos: int, omitted: int = 0):
    finding = lambda i, severity: SimpleNamespace(  # noqa: E731
        check="archive-duplicate-member" if severity == "error" else "note",
        severity=severity,
        path=f"distros/ubuntu/f{i}",
        message=f"member {i}",
        hint="",
    )
    findings = [finding(i, "info") for i in range(n_infos)]
    findings += [finding(i, "error") for i in range(n_errors)]
    return SimpleNamespace(findings=findings, omitted=omitted)


@pytest.fixture
def flooded(release, ubuntu, maintainer, settings):
    settings.FINDINGS_PER_SUBMISSION = 30
    settings.FINDINGS_PER_PAGE = 10
    submission = submit(release, ubuntu, maintainer, bundle_bytes())
    Submission.objects.filter(pk=submission.pk).update(state="verifying")
    submission_verdict_save(
        submission_id=submission.pk, reports=[("bundle", _report(25, 25, omitted=249_950))]
    )
    submission.refresh_from_db()
    return submission


def test_findings_are_capped_errors_first_and_the_rest_counted(flooded):
    assert flooded.state == "failed"
    stored = Finding.objects.filter(submission=flooded)
    assert stored.count() == 30
    assert stored.filter(severity="error").count() == 25  # no error is dropped for a note
    # 20 dropped here, beside the 249,950 the engine counted and collapsed.
    assert flooded.findings_omitted == 249_970


def test_the_report_page_shows_one_page_and_says_what_was_left_out(client, flooded, maintainer):
    client.force_login(maintainer)
    url = reverse("submission-detail", args=[flooded.pk])
    first = client.get(url).content.decode()
    assert first.count('class="finding ') == 10
    assert "249970 more findings left out" in first
    assert "page 1 of 3" in first and "?page=2" in first
    third = client.get(url + "?page=3").content.decode()
    assert third.count('class="finding ') == 10 and "page 3 of 3" in third
    status = client.get(reverse("submission-status", args=[flooded.pk])).content.decode()
    assert status.count('class="finding ') == 10  # the live fragment: the first page only


def test_the_api_pages_findings(client, flooded, maintainer):
    _, key = ApiToken.issue(user=maintainer, name="ci")
    url = reverse("api-submission", args=[flooded.pk])
    body = client.get(url, HTTP_AUTHORIZATION=f"Token {key}").json()
    assert len(body["findings"]) == 10 and body["findings_count"] == 30
    assert body["findings_omitted"] == 249_970
    assert (body["findings_page"], body["findings_pages"], body["findings_next_page"]) == (1, 3, 2)
    assert all(f["severity"] == "error" for f in body["findings"])  # errors first
    last = client.get(url + "?page=3", HTTP_AUTHORIZATION=f"Token {key}").json()
    assert last["findings_next_page"] is None and len(last["findings"]) == 10


def test_report_reads_are_rate_limited(client, flooded, maintainer, settings):
    settings.REPORT_READS_PER_MINUTE = 3
    client.force_login(maintainer)
    url = reverse("submission-status", args=[flooded.pk])
    assert [client.get(url).status_code for _ in range(3)] == [200, 200, 200]
    refused = client.get(url)
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert "Too many reads of verification reports" in refused.content.decode()

"""Signed outbound webhooks: every release event reaches a receiver on loopback and
verifies with the `standardwebhooks` library; failing endpoints are retried and
given up with a visible log; the portal's own network is never connected to."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.urls import reverse
from standardwebhooks.webhooks import Webhook

from publishing import webhooks
from releases.coordination import lifecycle
from releases.coordination import services as coordination
from releases.events import WEBHOOK_EVENTS
from releases.models import (
    AuditEvent,
    DistroRepository,
    Release,
    Submission,
    WebhookDelivery,
    WebhookEndpoint,
)
from releases.policies import current_version
from releases.repositories.services import repository_judgement_save
from releases.repositories.statuses import Judgement
from releases.verification.services import (
    policy_version_save,
    submission_reverify,
    submission_verdict_save,
)
from tests.factories import ArtifactFactory
from tests.helpers import RawServer, Upload, bundle_bytes, prerelease_bytes, submit, trickle

pytestmark = pytest.mark.django_db


class Receiver(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append((dict(self.headers), body))
        mode = self.server.mode
        if mode == "slow":
            time.sleep(1.5)
        code = {"ok": 204, "fail": 500, "redirect": 302}.get(mode, 204)
        self.send_response(code)
        if code == 302:
            self.send_header("Location", "http://127.0.0.1:9/elsewhere")
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture
def receiver(settings):
    settings.OUTBOUND_ALLOW_PRIVATE = False
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]  # the receiver, nothing else
    settings.WEBHOOK_TIMEOUT = 0.5
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    server.daemon_threads = True
    server.received, server.mode = [], "ok"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    yield server
    server.shutdown()
    server.server_close()


def _deliver_all() -> list:
    return [
        webhooks.webhook_deliver(delivery_id=pk)
        for pk in WebhookDelivery.objects.order_by("pk").values_list("pk", flat=True)
    ]


def test_every_event_arrives_signed_and_verifies(
    receiver, release, ubuntu, maintainer, staff, django_capture_on_commit_callbacks
):
    endpoint = webhooks.webhook_endpoint_create(
        project=release.project, url=receiver.url, events=[e.value for e in WEBHOOK_EVENTS], actor=staff
    )
    Release.objects.filter(pk=release.pk).update(state="draft")
    release.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.release_open(release=release, actor=staff)
        passed = submit(release, ubuntu, maintainer, bundle_bytes())
        Submission.objects.filter(pk=passed.pk).update(state="verifying")
        submission_verdict_save(submission_id=passed.pk, reports=[])
        coordination.submission_accept(submission=passed, actor=staff, comment="thanks")
        # A new policy version judges the accepted submission again.
        current = current_version(release.project)
        _, reverification = policy_version_save(
            project=release.project,
            text=current.text + "\n# reviewed\n",
            note="reviewed",
            author=staff,
            base_number=current.number,
            reverify=True,
        )
        submission_reverify(item_id=reverification.items.get().pk)
        coordination.submission_reject(submission=passed, actor=staff, comment="after all, no")
        lifecycle.release_freeze(release=release, actor=staff)
        lifecycle.release_reopen_distro(release=release, distro=ubuntu, actor=staff)
        lifecycle.release_unfreeze(release=release, actor=staff)
        lifecycle.release_respin(
            release=release, actor=staff, tarball=Upload(prerelease_bytes(), "convirt-2.0.tar.gz")
        )
        lifecycle.release_publish(release=release, actor=staff)
        token = lifecycle.assembly_claim(release.pk)
        lifecycle.release_assembly_done(
            release_id=release.pk, token=token, source_tarball=ArtifactFactory(kind="source_release")
        )
        # After publishing, a distro's branch is seen shipping it.
        repository = DistroRepository.objects.create(
            project=release.project, distro=ubuntu, branch="noble", format="deb-packages",
            url="https://archive.example.org/dists/noble/main/binary-amd64/Packages.xz",
            package_names=["convirt"],
        )
        repository_judgement_save(
            repository_id=repository.pk, judgement=Judgement("newest", "2.0-1")
        )
        lifecycle.release_withdraw(release=release, actor=staff, reason="broken")
    assert set(_deliver_all()) == {"delivered"}

    verifier = Webhook(endpoint.secret)
    types = []
    for headers, body in receiver.received:
        lowered = {k.lower(): v for k, v in headers.items()}
        payload = verifier.verify(body, lowered)  # raises if the signature is wrong
        types.append(payload["type"])
        assert payload["data"]["project"] == release.project.slug
    assert sorted(types) == sorted(e.value for e in WEBHOOK_EVENTS)
    with pytest.raises(Exception):  # noqa: B017 - any verification failure
        Webhook(webhooks._secret()).verify(
            receiver.received[0][1], {k.lower(): v for k, v in receiver.received[0][0].items()}
        )


@pytest.mark.parametrize("mode", ["fail", "slow", "redirect"])
def test_a_failing_endpoint_is_retried_then_given_up_with_a_log(
    receiver, release, staff, mode, django_capture_on_commit_callbacks
):
    receiver.mode = mode
    webhooks.webhook_endpoint_create(
        project=release.project, url=receiver.url, events=["release.frozen"], actor=staff
    )
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.release_freeze(release=release, actor=staff)
    delivery = WebhookDelivery.objects.get()
    outcomes = [webhooks.webhook_deliver(delivery_id=delivery.pk) for _ in range(6)]
    assert outcomes[:4] == [10.0, 60.0, 300.0, 1800.0]  # the backoff before each retry
    assert outcomes[4:] == ["given up", "nothing to do"]
    delivery.refresh_from_db()
    assert delivery.attempts == 5 and delivery.given_up_at is not None
    expected = {"fail": "HTTP 500", "slow": "could not be reached", "redirect": "HTTP 302"}[mode]
    assert expected in delivery.outcome


def test_an_endpoint_on_the_portals_network_is_never_connected_to(
    receiver, release, staff, settings, django_capture_on_commit_callbacks
):
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    webhooks.webhook_endpoint_create(
        project=release.project, url=receiver.url, events=["release.frozen"], actor=staff
    )
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.release_freeze(release=release, actor=staff)
    delivery = WebhookDelivery.objects.get()
    assert webhooks.webhook_deliver(delivery_id=delivery.pk) == "given up"
    assert receiver.received == []
    delivery.refresh_from_db()
    assert "private or local network" in delivery.outcome


def test_staff_add_an_endpoint_see_its_log_and_send_again(
    client, receiver, release, staff, django_capture_on_commit_callbacks
):
    client.force_login(staff)
    url = reverse("staff-webhooks", args=[release.project.slug])
    page = client.post(url, {"url": receiver.url, "events": ["release.frozen"]}).content.decode()
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.secret in page  # shown once
    assert endpoint.secret not in client.get(url).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.release_freeze(release=release, actor=staff)
    delivery = WebhookDelivery.objects.get()
    webhooks.webhook_deliver(delivery_id=delivery.pk)
    page = client.get(url).content.decode()
    assert "release.frozen" in page and "delivered (HTTP 204)" in page
    client.post(reverse("staff-webhook-resend", args=[delivery.pk]))
    assert WebhookDelivery.objects.count() == 2
    again = WebhookDelivery.objects.exclude(pk=delivery.pk).get()
    webhooks.webhook_deliver(delivery_id=again.pk)
    # Standard Webhooks: a resend keeps the webhook-id, so the receiver dedupes it.
    ids = [headers["webhook-id"] for headers, _ in receiver.received]
    assert ids == [delivery.message_id, delivery.message_id]
    assert again.resend_of_id == delivery.pk


@pytest.mark.parametrize(
    ("url", "sentence"),
    [
        ("ftp://admin:hunter2@127.0.0.1:9104/etc/passwd", "Only http:// and https://"),
        ("https://user:secret@hooks.example.org/", "no credentials in a URL"),
        ("http://127.0.0.1:9101\\@evil.example/", "backslash"),
        ("http://exa$mple.org/hook", "is not a valid domain name"),
        ("http://[::1/hook", "cannot be read as a URL"),
    ],
)
def test_the_form_refuses_what_the_client_cannot_send(client, release, staff, url, sentence):
    client.force_login(staff)
    page = client.post(
        reverse("staff-webhooks", args=[release.project.slug]),
        {"url": url, "events": ["release.frozen"]},
    )
    assert page.status_code == 200
    assert sentence in page.content.decode().replace("&#x27;", "'")
    assert not WebhookEndpoint.objects.exists()


def test_a_delivery_that_cannot_be_made_ends_with_its_reason(
    release, staff, django_capture_on_commit_callbacks
):
    """An endpoint stored before the form refused such addresses: given up at once."""
    endpoint = webhooks.webhook_endpoint_create(
        project=release.project, url="https://hooks.example.org/", events=["release.frozen"],
        actor=staff,
    )
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        url="http://127.0.0.1:9101\\@evil.example/"
    )
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.release_freeze(release=release, actor=staff)
    delivery = WebhookDelivery.objects.get()
    assert webhooks.webhook_deliver(delivery_id=delivery.pk) == "given up"
    delivery.refresh_from_db()
    assert delivery.given_up_at and delivery.outcome.startswith("refused: The address holds a backslash")


def test_staff_disable_rotate_and_delete_an_endpoint(
    client, receiver, release, staff, django_capture_on_commit_callbacks
):
    client.force_login(staff)
    endpoint = webhooks.webhook_endpoint_create(
        project=release.project, url=receiver.url, events=["release.frozen"], actor=staff,
    )
    old_secret = endpoint.secret
    # Disabled: a waiting delivery ends with its reason, and no new one is made.
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.release_freeze(release=release, actor=staff)
    client.post(reverse("staff-webhook-disable", args=[endpoint.pk]))
    waiting = WebhookDelivery.objects.get()
    assert webhooks.webhook_deliver(delivery_id=waiting.pk) == "given up"
    waiting.refresh_from_db()
    assert waiting.outcome == "not sent: the endpoint is disabled"
    assert "(disabled)" in client.get(reverse("staff-webhooks", args=[release.project.slug])).content.decode()
    client.post(reverse("staff-webhook-enable", args=[endpoint.pk]))

    # Rotated: the new secret is shown once; during the overlap both verify.
    page = client.post(reverse("staff-webhook-rotate-secret", args=[endpoint.pk])).content.decode()
    endpoint.refresh_from_db()
    assert endpoint.secret != old_secret and endpoint.secret in page
    assert endpoint.previous_secret == old_secret
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.release_unfreeze(release=release, actor=staff)
        lifecycle.release_freeze(release=release, actor=staff)
    new = WebhookDelivery.objects.exclude(pk=waiting.pk).get()
    assert webhooks.webhook_deliver(delivery_id=new.pk) == "delivered"
    headers, body = receiver.received[-1]
    lowered = {k.lower(): v for k, v in headers.items()}
    assert len(lowered["webhook-signature"].split(" ")) == 2
    for secret in (old_secret, endpoint.secret):
        assert Webhook(secret).verify(body, lowered)["type"] == "release.frozen"
    # After the overlap only the new secret signs.
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        previous_secret_until="2000-01-01T00:00:00Z"
    )
    client.post(reverse("staff-webhook-resend", args=[new.pk]))
    resent = WebhookDelivery.objects.filter(resend_of=new).get()
    assert webhooks.webhook_deliver(delivery_id=resent.pk) == "delivered"
    headers, body = receiver.received[-1]
    lowered = {k.lower(): v for k, v in headers.items()}
    assert lowered["webhook-id"] == new.message_id
    Webhook(endpoint.secret).verify(body, lowered)
    with pytest.raises(Exception):  # noqa: B017 - any verification failure
        Webhook(old_secret).verify(body, lowered)

    # Deleted: gone with its log; the audit keeps who and what.
    client.post(reverse("staff-webhook-delete", args=[endpoint.pk]))
    assert not WebhookEndpoint.objects.exists() and not WebhookDelivery.objects.exists()
    verbs = list(AuditEvent.objects.filter(verb__startswith="webhook.").values_list("verb", flat=True))
    for verb in ("webhook.disabled", "webhook.enabled", "webhook.secret_rotated", "webhook.deleted"):
        assert verb in verbs


def test_the_events_are_in_the_openapi_description(client):
    schema = client.get("/api/v1/openapi.json").json()
    assert schema["openapi"].startswith("3.1")
    assert set(schema["webhooks"]) == {e.value for e in WEBHOOK_EVENTS}
    headers = {p["name"] for p in schema["webhooks"]["release.published"]["post"]["parameters"]}
    assert headers == {"webhook-id", "webhook-timestamp", "webhook-signature"}


def test_a_tarpit_endpoint_holds_an_attempt_only_until_its_deadline(
    release, staff, settings, django_capture_on_commit_callbacks
):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    settings.WEBHOOK_TIMEOUT = 2
    tarpit = RawServer(trickle)
    try:
        webhooks.webhook_endpoint_create(
            project=release.project,
            url=f"http://127.0.0.1:{tarpit.port}/hook",
            events=["release.frozen"],
            actor=staff,
        )
        with django_capture_on_commit_callbacks(execute=True):
            lifecycle.release_freeze(release=release, actor=staff)
        delivery = WebhookDelivery.objects.get()
        started = time.monotonic()
        assert webhooks.webhook_deliver(delivery_id=delivery.pk) == 10.0  # retried later
        assert 1.9 < time.monotonic() - started < 2.6
        delivery.refresh_from_db()
        assert delivery.outcome == "could not be reached: timed out after 2 s"
        assert b"User-Agent: release-portal webhooks (+" in tarpit.requests[0]
    finally:
        tarpit.close()

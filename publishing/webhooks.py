"""Outbound webhooks: release events POSTed to the endpoints staff registered,
signed per the Standard Webhooks specification (`standardwebhooks`), delivered
by a worker after commit with retries and exponential backoff, every attempt
logged for staff. The same guard as package-link checks: no endpoint on the
portal's own network is ever connected to, and a redirect is not followed.

Payload of every event::

    {"type": "release.published", "timestamp": "2026-12-01T12:00:00+00:00",
     "data": {"project": "convirt", "version": "2.0", "state": "released", ...}}
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
import urllib.error
import urllib.request
import uuid

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from portal.errors import BadInput
from releases.audit import audit_record
from releases.models import Project, WebhookDelivery, WebhookEndpoint

from . import links
from .tasks import webhook_deliver_task

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
BACKOFF_SECONDS = (10, 60, 300, 1800)  # after attempts 1..4


def _secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


@transaction.atomic
def webhook_endpoint_create(*, project: Project, url: str, events: list[str], actor):
    """A new endpoint; returns it with its secret, which is shown once."""
    unknown = sorted(set(events) - set(WebhookEndpoint.EVENTS))
    if unknown or not events:
        raise BadInput(
            "Choose the events to send: " + ", ".join(WebhookEndpoint.EVENTS), field="events"
        )
    endpoint = WebhookEndpoint.objects.create(
        project=project, url=url, events=sorted(events), secret=_secret(), created_by=actor
    )
    audit_record(actor=actor, verb="webhook.create", target=endpoint, url=url)
    return endpoint


def _iso(moment):
    return moment.isoformat() if moment else None


def release_event(release, event: str, **extra) -> list[WebhookDelivery]:
    return webhook_emit(
        project=release.project,
        event=event,
        data={
            "project": release.project.slug,
            "version": release.version,
            "state": release.state,
            "submission_deadline": _iso(release.submission_deadline),
            "release_date": _iso(release.release_date),
            "published_at": _iso(release.published_at),
            **extra,
        },
    )


def submission_event(submission, event: str, **extra) -> list[WebhookDelivery]:
    return webhook_emit(
        project=submission.release.project,
        event=event,
        data={
            "id": submission.pk,
            "project": submission.release.project.slug,
            "version": submission.release.version,
            "distro": submission.distro.slug,
            "state": submission.state,
            "sha256": submission.artifact.sha256,
            **extra,
        },
    )


def webhook_emit(*, project: Project, event: str, data: dict) -> list[WebhookDelivery]:
    """Record a delivery of `event` for every endpoint that wants it; each is sent
    by a worker once the current transaction commits."""
    deliveries = []
    for endpoint in WebhookEndpoint.objects.filter(project=project):
        if event not in endpoint.events:
            continue
        delivery = WebhookDelivery.objects.create(
            endpoint=endpoint,
            event=event,
            message_id=f"msg_{uuid.uuid4().hex}",
            payload={"type": event, "timestamp": timezone.now().isoformat(), "data": data},
        )
        webhook_deliver_task.delay(delivery.pk)
        deliveries.append(delivery)
    return deliveries


def webhook_resend(*, delivery: WebhookDelivery, actor) -> WebhookDelivery:
    """Send an event again, as a new delivery with the same payload."""
    copy = WebhookDelivery.objects.create(
        endpoint=delivery.endpoint,
        event=delivery.event,
        message_id=f"msg_{uuid.uuid4().hex}",
        payload=delivery.payload,
    )
    audit_record(actor=actor, verb="webhook.resend", target=delivery.endpoint, event=delivery.event)
    webhook_deliver_task.delay(copy.pk)
    return copy


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # answered as the 3xx it is: a webhook is never redirected


def _post(url: str, body: bytes, headers: dict, timeout: float) -> int:
    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler({}),
        _NoRedirect(),
        links._GuardedHTTPHandler(),
        links._GuardedHTTPSHandler(),
    )
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)  # noqa: S310
    try:
        with opener.open(request, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as error:
        error.close()
        return error.code


def webhook_deliver(*, delivery_id: int) -> str | float:
    """One attempt. Returns "delivered", "given up", or the seconds to wait before
    the next attempt."""
    delivery = WebhookDelivery.objects.select_related("endpoint").filter(pk=delivery_id).first()
    if delivery is None or delivery.delivered_at or delivery.given_up_at:
        return "nothing to do"
    body = json.dumps(delivery.payload, sort_keys=True, separators=(",", ":"))
    now = timezone.now()
    signature = Webhook(delivery.endpoint.secret).sign(delivery.message_id, now, body)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": links.USER_AGENT,
        "webhook-id": delivery.message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
    }
    status, outcome = None, ""
    try:
        status = _post(delivery.endpoint.url, body.encode(), headers, settings.WEBHOOK_TIMEOUT)
        outcome = f"HTTP {status}"
    except links._Inward as refused:
        outcome = f"refused: {refused}"
    except (urllib.error.URLError, OSError, ValueError) as error:
        outcome = f"could not be reached: {getattr(error, 'reason', error)}"
    attempts = delivery.attempts + 1
    fields = {"attempts": attempts, "status_code": status, "outcome": outcome[:300]}
    if status is not None and 200 <= status < 300:
        WebhookDelivery.objects.filter(pk=delivery.pk).update(delivered_at=timezone.now(), **fields)
        return "delivered"
    if attempts >= MAX_ATTEMPTS or outcome.startswith("refused"):
        WebhookDelivery.objects.filter(pk=delivery.pk).update(given_up_at=timezone.now(), **fields)
        log.warning("webhook %s to %s given up: %s", delivery.event, delivery.endpoint.url, outcome)
        return "given up"
    WebhookDelivery.objects.filter(pk=delivery.pk).update(**fields)
    return float(BACKOFF_SECONDS[min(attempts, len(BACKOFF_SECONDS)) - 1])


def openapi_webhooks() -> dict:
    """The events, for the OpenAPI description's `webhooks` section (OpenAPI 3.1)."""
    payload = {
        "type": "object",
        "required": ["type", "timestamp", "data"],
        "properties": {
            "type": {"type": "string", "enum": list(WebhookEndpoint.EVENTS)},
            "timestamp": {"type": "string", "format": "date-time"},
            "data": {
                "type": "object",
                "description": "release.*: project, version, state, submission_deadline, "
                "release_date, published_at (+ sha256, prerelease_sha256 or reason); "
                "submission.*: id, project, version, distro, state, sha256 (+ findings or comment)",
            },
        },
    }
    headers = {
        name: {"required": True, "schema": {"type": "string"}}
        for name in ("webhook-id", "webhook-timestamp", "webhook-signature")
    }
    return {
        event: {
            "post": {
                "summary": f"{event}, signed per Standard Webhooks",
                "parameters": [
                    {"in": "header", "name": name, **spec} for name, spec in headers.items()
                ],
                "requestBody": {"content": {"application/json": {"schema": payload}}},
                "responses": {"2XX": {"description": "received; anything else is retried"}},
            }
        }
        for event in WebhookEndpoint.EVENTS
    }

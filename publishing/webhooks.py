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
from portal.timefmt import iso
from releases.events import WEBHOOK_EVENTS, Event, event_record
from releases.models import (
    AuditEvent,
    Project,
    Release,
    Submission,
    WebhookDelivery,
    WebhookEndpoint,
)

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
    known = [event.value for event in WEBHOOK_EVENTS]
    unknown = sorted(set(events) - set(known))
    if unknown or not events:
        raise BadInput("Choose the events to send: " + ", ".join(known), field="events")
    endpoint = WebhookEndpoint.objects.create(
        project=project, url=url, events=sorted(events), secret=_secret(), created_by=actor
    )
    event_record(Event.WEBHOOK_CREATED, actor=actor, target=endpoint, url=url)
    return endpoint


# What each webhook event's `data` carries besides the object's own fields:
# the public part of the event's detail, never what only staff may read.
PUBLIC_DETAIL = {
    Event.RELEASE_FROZEN: ("reason",),
    Event.RELEASE_DISTRO_REOPENED: ("distro",),
    Event.RELEASE_RESPUN: ("prerelease_sha256",),
    Event.RELEASE_PUBLISHED: ("sha256",),
    Event.RELEASE_WITHDRAWN: ("reason", "compromised"),
    Event.SUBMISSION_VERIFIED: ("findings",),
    Event.SUBMISSION_REVERIFIED: ("was", "policy_version", "verdict_changed"),
    Event.SUBMISSION_ACCEPTED: ("comment",),
    Event.SUBMISSION_REJECTED: ("comment",),
}


def _release_data(release: Release, state: str) -> dict:
    return {
        "project": release.project.slug,
        "version": release.version,
        "state": state,
        "submission_deadline": iso(release.submission_deadline),
        "release_date": iso(release.release_date),
        "published_at": iso(release.published_at),
    }


def _submission_data(submission: Submission, state: str) -> dict:
    return {
        "id": submission.pk,
        "project": submission.release.project.slug,
        "version": submission.release.version,
        "distro": submission.distro.slug,
        "state": state,
        "sha256": submission.artifact.sha256,
    }


def event_payload_data(record: AuditEvent) -> dict | None:
    """A webhook event's `data`: its object as the event left it, and the public detail."""
    target = record.target()
    if target is None:
        return None
    state = record.detail.get("state", getattr(target, "state", ""))
    if isinstance(target, Release):
        data = _release_data(target, state)
    elif isinstance(target, Submission):
        data = _submission_data(target, state)
    else:
        return None
    event = Event(record.verb)
    data.update(
        {key: record.detail[key] for key in PUBLIC_DETAIL.get(event, ()) if key in record.detail}
    )
    return data


def webhook_emit_event(record: AuditEvent) -> list[WebhookDelivery]:
    """Record a delivery of the event for every endpoint of its project that wants it,
    and queue each. Safe to run twice for one event: its deliveries are made once."""
    if record.project_id is None:
        return []
    data = event_payload_data(record)
    if data is None:
        return []
    deliveries = []
    for endpoint in WebhookEndpoint.objects.filter(project_id=record.project_id):
        if record.verb not in endpoint.events:
            continue
        delivery, created = WebhookDelivery.objects.get_or_create(
            message_id=f"msg_{record.pk}_{endpoint.pk}",
            defaults={
                "endpoint": endpoint,
                "event": record.verb,
                "payload": {
                    "type": record.verb,
                    "timestamp": record.created_at.isoformat(),
                    "data": data,
                },
            },
        )
        if created:
            webhook_deliver_task.delay(delivery.pk)
            deliveries.append(delivery)
    return deliveries


@transaction.atomic
def webhook_resend(*, delivery: WebhookDelivery, actor) -> WebhookDelivery:
    """Send an event again, as a new delivery with the same payload."""
    copy = WebhookDelivery.objects.create(
        endpoint=delivery.endpoint,
        event=delivery.event,
        message_id=f"msg_{uuid.uuid4().hex}",
        payload=delivery.payload,
    )
    event_record(Event.WEBHOOK_RESENT, actor=actor, target=delivery.endpoint, event=delivery.event)
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
            "type": {"type": "string", "enum": [event.value for event in WEBHOOK_EVENTS]},
            "timestamp": {"type": "string", "format": "date-time"},
            "data": {
                "type": "object",
                "description": "release.*: project, version, state, submission_deadline, "
                "release_date, published_at; submission.*: id, project, version, distro, "
                "state, sha256; and per event: "
                + "; ".join(
                    f"{event}: {', '.join(fields)}" for event, fields in PUBLIC_DETAIL.items()
                ),
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
        for event in (event.value for event in WEBHOOK_EVENTS)
    }

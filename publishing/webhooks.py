"""Outbound webhooks: release events POSTed to the endpoints staff registered,
signed per the Standard Webhooks specification (`standardwebhooks`), delivered
by a worker after commit with retries and exponential backoff, every attempt
logged for staff. Sent through the portal's one outbound client
(portal/outbound.py, on the `outbound` queue): no endpoint on the portal's own
network is ever connected to, a redirect is not followed, one deadline per
attempt. A delivery that cannot be made (an address the client refuses, a
disabled or deleted endpoint) ends at once with its reason.

Staff can disable an endpoint, delete it, or rotate its secret: during the
overlap (WEBHOOK_SECRET_OVERLAP_HOURS) each delivery carries two signatures,
space-separated, and a receiver holding either secret verifies it.

Payload of every event::

    {"type": "release.published", "timestamp": "2026-12-01T12:00:00+00:00",
     "data": {"project": "convirt", "version": "2.0", "state": "released", ...}}
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from portal import outbound
from portal.errors import BadInput
from portal.timefmt import iso
from releases.events import WEBHOOK_EVENTS, Event, event_record
from releases.models import (
    AuditEvent,
    DistroRepository,
    Project,
    Release,
    Submission,
    WebhookDelivery,
    WebhookEndpoint,
)

from .tasks import webhook_deliver_task

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
BACKOFF_SECONDS = (10, 60, 300, 1800)  # after attempts 1..4
# What is read of a receiver's answer: its status only matters.
ANSWER_BYTES = 64 * 1024


def _purpose() -> outbound.Purpose:
    return outbound.Purpose(
        "webhooks", seconds=float(settings.WEBHOOK_TIMEOUT), max_bytes=ANSWER_BYTES
    )


def _secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


@transaction.atomic
def webhook_endpoint_create(*, project: Project, url: str, events: list[str], actor):
    """A new endpoint; returns it with its secret, which is shown once."""
    known = [event.value for event in WEBHOOK_EVENTS]
    unknown = sorted(set(events) - set(known))
    if unknown or not events:
        raise BadInput("Choose the events to send: " + ", ".join(known), field="events")
    problem = outbound.url_problem(url)
    if problem:
        raise BadInput(problem, field="url")
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
    Event.DISTRO_VERSION_SEEN: (
        "version", "status", "reason", "previous_version", "previous_status", "release",
        "days_to_reach",
    ),
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


def _repository_data(repository: DistroRepository) -> dict:
    return {
        "project": repository.project.slug,
        "distro": repository.distro.slug,
        "branch": repository.branch,
        "format": repository.format,
        "packages": list(repository.package_names),
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
    elif isinstance(target, DistroRepository):
        data = _repository_data(target)
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
    endpoints = WebhookEndpoint.objects.filter(project_id=record.project_id, disabled_at=None)
    for endpoint in endpoints:
        if record.verb not in endpoint.events:
            continue
        delivery, created = WebhookDelivery.objects.get_or_create(
            message_id=f"msg_{record.pk}_{endpoint.pk}",
            resend_of=None,
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
    """Send an event again: a new delivery, logged on its own, with the same payload
    and the same `webhook-id` (Standard Webhooks: a receiver dedupes on it)."""
    endpoint = delivery.endpoint
    if endpoint.disabled_at:
        raise BadInput(f"{endpoint.url} is disabled; enable it before sending again.")
    copy = WebhookDelivery.objects.create(
        endpoint=endpoint,
        event=delivery.event,
        message_id=delivery.message_id,
        resend_of=delivery.resend_of or delivery,
        payload=delivery.payload,
    )
    event_record(
        Event.WEBHOOK_RESENT,
        actor=actor,
        target=endpoint,
        event=delivery.event,
        message_id=delivery.message_id,
    )
    webhook_deliver_task.delay(copy.pk)
    return copy


@transaction.atomic
def webhook_endpoint_disable(*, endpoint: WebhookEndpoint, actor) -> None:
    """No new delivery is made; those waiting are given up when their turn comes."""
    if endpoint.disabled_at:
        return
    endpoint.disabled_at = timezone.now()
    endpoint.save(update_fields=["disabled_at"])
    event_record(Event.WEBHOOK_DISABLED, actor=actor, target=endpoint, url=endpoint.url)


@transaction.atomic
def webhook_endpoint_enable(*, endpoint: WebhookEndpoint, actor) -> None:
    if not endpoint.disabled_at:
        return
    endpoint.disabled_at = None
    endpoint.save(update_fields=["disabled_at"])
    event_record(Event.WEBHOOK_ENABLED, actor=actor, target=endpoint, url=endpoint.url)


@transaction.atomic
def webhook_endpoint_delete(*, endpoint: WebhookEndpoint, actor) -> None:
    """The endpoint, its secret and its log go; the audit keeps who did it and the URL."""
    event_record(
        Event.WEBHOOK_DELETED,
        actor=actor,
        target=endpoint,
        url=endpoint.url,
        deliveries=endpoint.deliveries.count(),
    )
    endpoint.delete()


@transaction.atomic
def webhook_secret_rotate(*, endpoint: WebhookEndpoint, actor) -> WebhookEndpoint:
    """A new secret (returned, shown once); the old one still signs, as a second
    signature, for WEBHOOK_SECRET_OVERLAP_HOURS."""
    hours = settings.WEBHOOK_SECRET_OVERLAP_HOURS
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_until = timezone.now() + timedelta(hours=hours)
    endpoint.secret = _secret()
    endpoint.save(update_fields=["secret", "previous_secret", "previous_secret_until"])
    event_record(
        Event.WEBHOOK_SECRET_ROTATED,
        actor=actor,
        target=endpoint,
        url=endpoint.url,
        old_secret_until=endpoint.previous_secret_until.isoformat(),
    )
    return endpoint


def _signatures(endpoint: WebhookEndpoint, message_id: str, when, body: str) -> str:
    """`v1,<sig>` with the current secret, and with the previous one during the overlap."""
    secrets_now = [endpoint.secret]
    if endpoint.previous_secret and endpoint.previous_secret_until and (
        endpoint.previous_secret_until > when
    ):
        secrets_now.append(endpoint.previous_secret)
    return " ".join(Webhook(secret).sign(message_id, when, body) for secret in secrets_now)


def _end(delivery: WebhookDelivery, fields: dict, outcome: str) -> str:
    fields["outcome"] = outcome[:300]
    WebhookDelivery.objects.filter(pk=delivery.pk).update(given_up_at=timezone.now(), **fields)
    log.warning("webhook %s to %s given up: %s", delivery.event, delivery.endpoint.url, outcome)
    return "given up"


def webhook_deliver(*, delivery_id: int) -> str | float:
    """One attempt. Returns "delivered", "given up", or the seconds to wait before
    the next attempt."""
    delivery = WebhookDelivery.objects.select_related("endpoint").filter(pk=delivery_id).first()
    if delivery is None or delivery.delivered_at or delivery.given_up_at:
        return "nothing to do"
    endpoint = delivery.endpoint
    if endpoint.disabled_at:
        return _end(delivery, {}, "not sent: the endpoint is disabled")
    problem = outbound.url_problem(endpoint.url)
    if problem:  # an endpoint stored before the form refused such addresses
        return _end(delivery, {}, f"refused: {problem}")
    body = json.dumps(delivery.payload, sort_keys=True, separators=(",", ":"))
    now = timezone.now()
    headers = {
        "Content-Type": "application/json",
        "webhook-id": delivery.message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": _signatures(endpoint, delivery.message_id, now, body),
    }
    status, outcome, final = None, "", False
    try:
        answer = outbound.fetch(
            endpoint.url,
            purpose=_purpose(),
            method="POST",
            headers=headers,
            body=body.encode(),
            read_body=False,
        )
        status, outcome = answer.status, f"HTTP {answer.status}"
    except outbound.Refused as refused:
        outcome, final = f"refused: {refused}", True
    except outbound.Failed as failed:
        outcome = f"could not be reached: {failed}"
    attempts = delivery.attempts + 1
    fields = {"attempts": attempts, "status_code": status, "outcome": outcome[:300]}
    if status is not None and 200 <= status < 300:
        WebhookDelivery.objects.filter(pk=delivery.pk).update(delivered_at=timezone.now(), **fields)
        return "delivered"
    if attempts >= MAX_ATTEMPTS or final:
        return _end(delivery, fields, outcome)
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
                "state, sha256; distro.version_seen: project, distro, branch, format, "
                "packages; and per event: "
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

"""Every event the portal knows, and the one call that records one.

A service ends each change with one `event_record(Event.X, actor=..., target=...,
**detail)` inside its transaction. That writes the audit row, in the same
transaction as the change, and once the transaction commits the subscribers
react: mail, webhooks, the public page, the assembly queue, the pre-release
delivery, and whatever is added later. Each app registers its own
subscribers in its `AppConfig.ready()`; a service never calls a side effect
by hand, so a new door cannot forget one, and `releases` never needs to know
what `publishing` does with an event.

One word names an event everywhere: it is the audit verb, the webhook
`type`, and the mail template's name (`templates/mail/<event>.txt`).

The audit row is also the outbox: it is marked dispatched once its
subscribers ran, and the sweeper dispatches again an event whose process
died between the commit and its subscribers. Subscribers are therefore
written to be safe to run twice (a webhook delivery per event and endpoint,
a page regeneration, a task that claims its work).
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Callable
from enum import StrEnum

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models, transaction
from django.utils import timezone

from .models import AuditEvent

logger = logging.getLogger(__name__)


class Audience(models.TextChoices):
    """Who may read an event: in the audit, on a maintainer's pages, in a feed."""

    STAFF = "staff", "the release team"
    MAINTAINERS = "maintainers", "the release team and the maintainers concerned"
    PUBLIC = "public", "everyone"


class Event(StrEnum):
    """The vocabulary. Each member: its word, who may read it, the sentence the
    audit shows after the actor's name, and whether it is sent as a webhook."""

    def __new__(cls, word: str, audience: Audience, sentence: str, webhook: bool = False):
        member = str.__new__(cls, word)
        member._value_ = word
        member.audience = audience
        member.sentence = sentence
        member.webhook = webhook
        return member

    # People and their keys.
    ACCOUNT_CREATED = "account.created", Audience.STAFF, "signed up"
    ACCOUNT_SIGNUP_AGAIN = (
        "account.signup_again",
        Audience.STAFF,
        "was signed up for again with the address of this account",
    )
    ACCOUNT_CONFIRMATION_RESENT = (
        "account.confirmation_resent",
        Audience.STAFF,
        "was mailed the confirmation link again, asked for after a log-in with the right password",
    )
    ACCOUNT_CONFIRMED = "account.confirmed", Audience.STAFF, "confirmed their address"
    ACCOUNT_PASSWORD_RESET = (
        "account.password_reset",
        Audience.STAFF,
        "was mailed a password reset link, asked for with the account's address",
    )
    PROFILE_UPDATED = "profile.updated", Audience.STAFF, "changed their profile"
    API_TOKEN_CREATED = "api_token.created", Audience.STAFF, "made an API token"
    API_TOKEN_REVOKED = "api_token.revoked", Audience.STAFF, "revoked an API token"
    OPENPGP_KEY_ADDED = "openpgp_key.added", Audience.STAFF, "added an OpenPGP key"
    OPENPGP_KEY_REMOVED = "openpgp_key.removed", Audience.STAFF, "removed an OpenPGP key"

    # Projects and their packaging policy.
    PROJECT_CREATED = "project.created", Audience.STAFF, "created the project"
    PROJECT_REQUESTED = "project.requested", Audience.STAFF, "asked for a new project"
    PROJECT_REQUEST_DECLINED = (
        "project.request_declined",
        Audience.STAFF,
        "declined a request for a new project",
    )
    KEY_ADDED = "project_key.added", Audience.STAFF, "added a key to the project's KEYS"
    KEY_RETIRED = "project_key.retired", Audience.STAFF, "retired a key of the project"
    SIGNING_CHANGED = "project.signing_changed", Audience.STAFF, "changed who signs releases"
    RELEASE_SIGNING_PREPARED = (
        "release.signing_prepared",
        Audience.STAFF,
        "assembled the source tarball for a release manager to sign",
    )
    RELEASE_SIGNED = (
        "release.signed",
        Audience.STAFF,
        "uploaded a signature made offline, verified against the project's KEYS",
    )
    CALENDAR_RESET = "calendar.reset", Audience.STAFF, "reset the address of their calendar"
    MEMBER_ADDED = "member.added", Audience.STAFF, "added a member to the project's team"
    MEMBER_ROLE_CHANGED = "member.role_changed", Audience.STAFF, "changed a team member's role"
    MEMBER_REMOVED = "member.removed", Audience.STAFF, "removed a member from the project's team"
    POLICY_SAVED = "policy.saved", Audience.PUBLIC, "saved a new version of the packaging policy"
    POLICY_REVERIFICATION_STARTED = (
        "policy.reverification_started",
        Audience.STAFF,
        "started judging the live submissions again by the new policy",
    )

    # Who packages what.
    DISTRO_CREATED = "distro.created", Audience.STAFF, "named a new distro"
    DISTRO_APPROVED = (
        "distro.approved",
        Audience.STAFF,
        "approved a new distro's name: it is offered to everyone who claims a distro",
    )
    MAINTAINERSHIP_REQUESTED = (
        "maintainership.requested",
        Audience.STAFF,
        "asked to maintain a distro",
    )
    MAINTAINERSHIP_APPROVED = (
        "maintainership.approved",
        Audience.MAINTAINERS,
        "approved a maintainership",
    )
    MAINTAINERSHIP_DECLINED = (
        "maintainership.declined",
        Audience.MAINTAINERS,
        "declined a request to maintain a distro",
    )
    MAINTAINERSHIP_REVOKED = (
        "maintainership.revoked",
        Audience.MAINTAINERS,
        "revoked a maintainership",
    )

    # A release's lifecycle (releases/coordination/lifecycle.py).
    RELEASE_CREATED = "release.created", Audience.STAFF, "created the release"
    RELEASE_OPENED = "release.opened", Audience.PUBLIC, "opened the release for submissions", True
    RELEASE_FROZEN = "release.frozen", Audience.MAINTAINERS, "froze the release", True
    RELEASE_UNFROZEN = (
        "release.unfrozen",
        Audience.MAINTAINERS,
        "reopened the release for submissions",
        True,
    )
    RELEASE_DISTRO_REOPENED = (
        "release.distro_reopened",
        Audience.MAINTAINERS,
        "reopened the frozen release for one distro",
        True,
    )
    RELEASE_RESPUN = "release.respun", Audience.MAINTAINERS, "replaced the pre-release", True
    RELEASE_PUBLISHING = "release.publishing", Audience.STAFF, "asked to publish the release"
    RELEASE_PUBLISHED = "release.published", Audience.PUBLIC, "published the release", True
    RELEASE_PUBLISH_FAILED = (
        "release.publish_failed",
        Audience.STAFF,
        "could not assemble the release; it is frozen again",
    )
    RELEASE_WITHDRAWN = "release.withdrawn", Audience.PUBLIC, "withdrew the release", True
    RELEASE_REMINDED = (
        "release.reminded",
        Audience.MAINTAINERS,
        "reminded lagging distros' maintainers",
    )
    RELEASE_ASSEMBLY_REQUEUED = (
        "release.assembly_requeued",
        Audience.STAFF,
        "queued the release's assembly again",
    )
    RELEASE_DELIVERY_REQUEUED = (
        "release.delivery_requeued",
        Audience.STAFF,
        "queued the pre-release's delivery again",
    )
    PRERELEASE_INVITED = (
        "prerelease.invited",
        Audience.MAINTAINERS,
        "mailed a personal pre-release link",
    )

    # A submission's lifecycle (releases/submission_lifecycle.py).
    SUBMISSION_CREATED = "submission.created", Audience.MAINTAINERS, "uploaded a submission"
    SUBMISSION_VERIFICATION_STARTED = (
        "submission.verification_started",
        Audience.STAFF,
        "started verifying the submission",
    )
    SUBMISSION_REQUEUED = (
        "submission.requeued",
        Audience.STAFF,
        "queued the submission's verification again",
    )
    SUBMISSION_VERIFIED = (
        "submission.verified",
        Audience.MAINTAINERS,
        "verified the submission",
        True,
    )
    SUBMISSION_REVERIFIED = (
        "submission.reverified",
        Audience.MAINTAINERS,
        "judged the submission again by a new policy version",
        True,
    )
    SUBMISSION_ACCEPTED = (
        "submission.accepted",
        Audience.MAINTAINERS,
        "accepted the submission",
        True,
    )
    SUBMISSION_REJECTED = (
        "submission.rejected",
        Audience.MAINTAINERS,
        "rejected the submission",
        True,
    )
    SUBMISSION_BYTES_REMOVED = (
        "submission.bytes_removed",
        Audience.STAFF,
        "deleted the bytes of an old upload (its record stays)",
    )

    # Where the public downloads each distro's package.
    PACKAGE_LINK_ADDED = "package_link.added", Audience.MAINTAINERS, "added a package link"
    PACKAGE_LINK_UPDATED = "package_link.updated", Audience.MAINTAINERS, "changed a package link"
    PACKAGE_LINK_REMOVED = "package_link.removed", Audience.MAINTAINERS, "removed a package link"
    PACKAGE_LINK_RECHECKED = (
        "package_link.rechecked",
        Audience.MAINTAINERS,
        "asked for a package link to be checked again",
    )
    PACKAGE_LINK_BROKEN = (
        "package_link.broken",
        Audience.MAINTAINERS,
        "found a package link broken",
    )
    PACKAGE_LINK_WORKING = (
        "package_link.working",
        Audience.MAINTAINERS,
        "found a package link working",
    )

    # The patch ledger: the patches distros carry, against the pre-release.
    PATCHES_CHANGED = (
        "patches.changed",
        Audience.MAINTAINERS,
        "found that carried patches changed status against the pre-release",
    )
    PATCHES_DECIDED = "patches.decided", Audience.MAINTAINERS, "answered a carried patch"

    # The source proof: a pre-release against its tag in the project's repository.
    SOURCE_PROOF_DONE = (
        "source_proof.done",
        Audience.STAFF,
        "compared the pre-release with its tag",
    )
    SOURCE_PROOF_OVERRIDDEN = (
        "source_proof.overridden",
        Audience.STAFF,
        "let the release open although its pre-release does not match its tag",
    )

    # After publishing: what each distro's branches ship (releases/repositories).
    DISTRO_REPOSITORY_ADDED = (
        "distro_repository.added",
        Audience.MAINTAINERS,
        "named a distro repository to follow",
    )
    DISTRO_REPOSITORY_REMOVED = (
        "distro_repository.removed",
        Audience.MAINTAINERS,
        "stopped following a distro repository",
    )
    DISTRO_VERSION_SEEN = (
        "distro.version_seen",
        Audience.PUBLIC,
        "saw a change in what a distro's branch ships",
        True,
    )

    # Webhooks.
    WEBHOOK_CREATED = "webhook.created", Audience.STAFF, "added a webhook endpoint"
    WEBHOOK_RESENT = "webhook.resent", Audience.STAFF, "sent a webhook event again"
    WEBHOOK_DISABLED = "webhook.disabled", Audience.STAFF, "disabled a webhook endpoint"
    WEBHOOK_ENABLED = "webhook.enabled", Audience.STAFF, "enabled a webhook endpoint"
    WEBHOOK_DELETED = "webhook.deleted", Audience.STAFF, "deleted a webhook endpoint"
    WEBHOOK_SECRET_ROTATED = (
        "webhook.secret_rotated",
        Audience.STAFF,
        "rotated a webhook endpoint's secret",
    )


WEBHOOK_EVENTS: tuple[Event, ...] = tuple(event for event in Event if event.webhook)

Subscriber = Callable[[AuditEvent], None]
_subscribers: dict[Event, list[Subscriber]] = defaultdict(list)


def subscribe(*events: Event) -> Callable[[Subscriber], Subscriber]:
    """Register the decorated function to run, after commit, for each of `events`.

    Called at import time of a module an app loads in `AppConfig.ready()`.
    """

    def register(function: Subscriber) -> Subscriber:
        for event in events:
            if function not in _subscribers[Event(event)]:
                _subscribers[Event(event)].append(function)
        return function

    return register


def subscribers(event: Event) -> list[Subscriber]:
    return list(_subscribers.get(Event(event), ()))


def _scope(target: models.Model | None) -> dict:
    """The project, release and distro an event concerns, from its object:
    what the audit filters by, and what decides who may read it."""
    scope: dict = {}
    if target is None:
        return scope
    label = target._meta.label_lower
    if label == "releases.project":
        scope["project_id"] = target.pk
    elif label == "releases.release":
        scope.update(project_id=target.project_id, release_id=target.pk)
    elif label == "releases.distro":
        scope["distro_id"] = target.pk
    else:
        release_id = getattr(target, "release_id", None)
        if release_id is not None:
            scope["release_id"] = release_id
            project_id = getattr(getattr(target, "release", None), "project_id", None)
            scope["project_id"] = project_id
        if getattr(target, "project_id", None) is not None:
            scope["project_id"] = target.project_id
        if getattr(target, "distro_id", None) is not None:
            scope["distro_id"] = target.distro_id
    return scope


class _DetailEncoder(DjangoJSONEncoder):
    def default(self, o):
        if isinstance(o, set | frozenset | tuple):
            return sorted(o)
        return super().default(o)


def _plain(detail: dict) -> dict:
    """The detail as JSON gives it back: times as ISO strings, sets as sorted lists."""
    return json.loads(json.dumps(detail, cls=_DetailEncoder))


def event_record(event: Event, /, *, actor, target: models.Model | None = None, **detail):
    """Record that `event` happened to `target`, by `actor` (None: the portal itself).

    Call it inside the transaction that makes the change: the audit row is
    written with the change, and the subscribers run once it commits (never
    after a rollback).
    """
    event = Event(event)
    if not connection.in_atomic_block:
        raise RuntimeError(
            f"{event} recorded outside a transaction: record an event in the "
            "transaction that makes its change."
        )
    state = getattr(target, "state", None)
    if isinstance(state, str) and "state" not in detail:
        detail["state"] = state
    record = AuditEvent.objects.create(
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        verb=event.value,
        object_type=target._meta.label_lower if target is not None else "",
        object_id=str(target.pk) if target is not None else "",
        object_repr=str(target)[:200] if target is not None else "",
        detail=_plain(detail),
        **_scope(target),
    )
    transaction.on_commit(lambda: event_dispatch(record))
    return record


def event_dispatch(record: AuditEvent) -> None:
    """Run the event's subscribers, then mark it dispatched.

    A subscriber that fails is logged and the others still run: the change
    is committed, and the person who made it must not see an error for a
    mail server or a webhook endpoint that is down.
    """
    for subscriber in subscribers(record.verb):
        try:
            subscriber(record)
        except Exception:
            logger.exception(
                "subscriber %s of %s (event %s) failed",
                getattr(subscriber, "__qualname__", subscriber),
                record.verb,
                record.pk,
            )
    AuditEvent.objects.filter(pk=record.pk, dispatched_at__isnull=True).update(
        dispatched_at=timezone.now()
    )


def events_dispatch_lost(*, older_than, limit: int = 500) -> list[int]:
    """Dispatch again the events whose process died between commit and subscribers.

    Each row is taken under its lock (skipping rows another sweeper holds) and
    checked again, so two sweepers never dispatch the same event twice.
    """
    lost = []
    candidates = AuditEvent.objects.filter(
        dispatched_at__isnull=True, created_at__lte=older_than
    ).order_by("created_at", "pk")
    for pk in candidates.values_list("pk", flat=True)[:limit]:
        with transaction.atomic():
            record = (
                AuditEvent.objects.select_for_update(skip_locked=True, no_key=True)
                .filter(pk=pk, dispatched_at__isnull=True)
                .first()
            )
            if record is not None:
                event_dispatch(record)
                lost.append(record.pk)
    return lost

"""What the public side does after the domain's events commit: webhooks, the
public page, the assembly queue. Registered by `PublishingConfig.ready()`;
`releases` never imports any of it."""

from __future__ import annotations

from releases.events import WEBHOOK_EVENTS, Event, subscribe
from releases.models import AuditEvent

from .services import public_page_stale
from .tasks import package_link_check_task, release_assemble_task
from .webhooks import webhook_emit_event

# Events after which what the download page (and its JSON and feed) shows may
# have changed: releases, the accepted distros, their links and packagers.
PAGE_EVENTS = (
    # The page says what is being prepared, before anything is published.
    Event.PROJECT_CREATED,
    Event.RELEASE_OPENED,
    Event.RELEASE_RESPUN,
    Event.RELEASE_PUBLISHED,
    Event.RELEASE_WITHDRAWN,
    Event.SUBMISSION_ACCEPTED,
    Event.SUBMISSION_REJECTED,
    Event.SUBMISSION_REVERIFIED,
    Event.PACKAGE_LINK_ADDED,
    Event.PACKAGE_LINK_UPDATED,
    Event.PACKAGE_LINK_REMOVED,
    Event.PACKAGE_LINK_BROKEN,
    Event.PACKAGE_LINK_WORKING,
    Event.MAINTAINERSHIP_APPROVED,
    Event.MAINTAINERSHIP_REVOKED,
    Event.PROFILE_UPDATED,
    # "Available in": what the distros' branches ship.
    Event.DISTRO_VERSION_SEEN,
    Event.DISTRO_REPOSITORY_REMOVED,
)


@subscribe(*PAGE_EVENTS)
def page_changed(record: AuditEvent) -> None:
    """Mark the project's page stale and queue its regeneration."""
    if record.project_id is not None:
        public_page_stale(project_id=record.project_id)
    elif record.verb == Event.PROFILE_UPDATED:
        # A packager's name is credited on every page of the projects they package.
        for project_id in record.detail.get("projects", []):
            public_page_stale(project_id=project_id)


@subscribe(Event.RELEASE_PUBLISHING, Event.RELEASE_ASSEMBLY_REQUEUED)
def assembly_queue(record: AuditEvent) -> None:
    if record.release_id is not None:
        release_assemble_task.delay(record.release_id)


@subscribe(*WEBHOOK_EVENTS)
def webhooks_send(record: AuditEvent) -> None:
    webhook_emit_event(record)


@subscribe(Event.PACKAGE_LINK_ADDED, Event.PACKAGE_LINK_UPDATED, Event.PACKAGE_LINK_RECHECKED)
def link_check(record: AuditEvent) -> None:
    """A link a maintainer gave, changed or asked about is checked at once."""
    package_link_check_task.delay(int(record.object_id))

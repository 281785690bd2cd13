"""What follows a branch's reading, and a release that changes what *newest* means."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse

from releases.events import Event, subscribe
from releases.models import AuditEvent, Release
from releases.notifications import mail_event, maintainer_addresses

from .tasks import repositories_refresh_task


@subscribe(Event.RELEASE_PUBLISHED, Event.RELEASE_WITHDRAWN)
def repositories_judge_again(record: AuditEvent) -> None:
    if record.project_id is not None:
        repositories_refresh_task.delay(record.project_id)


@subscribe(Event.DISTRO_VERSION_SEEN)
def outdated_remind(record: AuditEvent) -> None:
    """A branch found behind the newest release: its maintainers are told what it shows."""
    if record.detail.get("status") != "outdated":
        return
    repository = record.target()
    if repository is None:
        return
    project, distro = repository.project, repository.distro
    newest = (
        Release.objects.filter(project=project, state=Release.State.RELEASED)
        .exclude(published_at=None).order_by("-published_at").first()
    )
    mail_event(
        record,
        to=maintainer_addresses(project, distro),
        project=project,
        distro=distro,
        repository=repository,
        version=record.detail.get("version", ""),
        reason=record.detail.get("reason", ""),
        newest=newest,
        url=settings.SITE_URL + reverse("distro-repositories", args=[project.slug, distro.slug]),
    )

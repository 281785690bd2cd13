"""The ledger's reactions to events: recompute after an upload is verified or the pre-release
is replaced; mail each distro's maintainers what changed for their patches."""

from __future__ import annotations

from collections import defaultdict

from django.conf import settings
from django.urls import reverse

from releases.events import Event, subscribe
from releases.models import AuditEvent, Distro, Release
from releases.notifications import mail_event, maintainer_addresses

from .selectors import STATE_LABELS
from .services import patch_ledger_queue


@subscribe(Event.SUBMISSION_VERIFIED, Event.RELEASE_RESPUN)
def ledger_recompute(record: AuditEvent) -> None:
    target = record.target()
    release = target if isinstance(target, Release) else getattr(target, "release", None)
    if release is not None:
        patch_ledger_queue(release=release)


@subscribe(Event.PATCHES_CHANGED)
def patches_changed(record: AuditEvent) -> None:
    release = record.target()
    if release is None:
        return
    by_distro: dict[str, list[dict]] = defaultdict(list)
    for change in record.detail.get("changes", []):
        by_distro[change["distro"]].append(
            {
                **change,
                "before_label": STATE_LABELS.get(change["before"], change["before"]),
                "after_label": STATE_LABELS.get(change["after"], change["after"]),
            }
        )
    for distro in Distro.objects.filter(slug__in=by_distro):
        addresses = maintainer_addresses(release.project, distro)
        if not addresses:
            continue
        url = settings.SITE_URL + reverse(
            "release-distro", args=[release.project.slug, release.version, distro.slug]
        )
        mail_event(
            record,
            to=addresses,
            release=release,
            distro=distro,
            changes=by_distro[distro.slug],
            url=url,
        )

"""A packager's deadlines as an iCalendar feed (RFC 5545), written by `icalendar`."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.http import Http404, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_safe
from icalendar import Calendar, Event

from releases.models import PackagerCalendar

from . import selectors


def agenda_calendar(rows: list[dict], *, now) -> bytes:
    """One event per submission deadline still ahead, with what is due on it."""
    calendar = Calendar()
    calendar.add("prodid", "-//Release portal//packager deadlines//EN")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", "Packaging deadlines")
    for row in rows:
        deadline = row["deadline"]
        if deadline is None:
            continue
        release, distro = row["release"], row["distro"]
        event = Event()
        host = urlsplit(settings.SITE_URL).hostname or "release-portal"
        event.add("uid", f"deadline-{release.pk}-{distro.slug}@{host}")
        event.add("dtstamp", now)
        event.add("dtstart", deadline - timedelta(minutes=30))
        event.add("dtend", deadline)
        event.add("summary", f"{release.project.name} {release.version}: {distro.name} deadline")
        event.add("description", "\n".join(row["due"]))
        event.add(
            "url",
            settings.SITE_URL
            + reverse("release-distro", args=[release.project.slug, release.version, distro.slug]),
        )
        calendar.add_component(event)
    return calendar.to_ical()


@require_safe
def packager_calendar(request, token: str):
    """The deadlines feed, for calendar programs: the secret in the address is the login."""
    calendar = (
        PackagerCalendar.objects.select_related("user").filter(token=token).first()
        if len(token) <= 64
        else None
    )
    if calendar is None or not calendar.user.is_active:
        raise Http404("No calendar at this address: it was reset, or never was.")
    now = timezone.now()
    body = agenda_calendar(selectors.packager_agenda(calendar.user, now=now), now=now)
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Cache-Control"] = "private, max-age=300"
    return response

"""Package link health: is each distro's download still there, and is it the
file the maintainer said it was?

`link_probe` asks through the portal's one outbound client (portal/outbound.py:
http and https only, the address guard on every hop, at most five redirects,
one deadline for the whole check, a byte cap; a HEAD, a ranged GET when HEAD is
refused, the sha256 streamed); `package_link_check` records what it found and
tells the maintainers once per breakage. Both run on the `outbound` queue.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from portal import outbound
from releases.events import Event, event_record
from releases.models import PackageLink

log = logging.getLogger(__name__)

MAX_REDIRECTS = 5
LOCK_KEY = "publishing:package-links-check"


def _timeout() -> float:
    return float(getattr(settings, "PACKAGE_LINK_CHECK_TIMEOUT", 10))


def _download_budget() -> float:
    """Seconds a whole download (to compare a sha256) may take."""
    return float(getattr(settings, "PACKAGE_LINK_DOWNLOAD_SECONDS", 600))


def _purpose(seconds: float, max_bytes: int = 0) -> outbound.Purpose:
    return outbound.Purpose(
        "link check", seconds=seconds, max_bytes=max_bytes, max_redirects=MAX_REDIRECTS
    )


# What a maintainer (and the log of their page) learns of any network failure:
# never which addresses exist, listen or answer inside the portal's network.
UNREACHABLE = "could not be reached"


@dataclass(frozen=True)
class Probe:
    ok: bool
    detail: str  # shown to the distro's maintainers
    internal: str = ""  # for staff and the log only: what the network said


def _seconds(value: float) -> str:
    return f"{value:g} s"


def link_probe(url: str, *, sha256: str = "", timeout: float | None = None) -> Probe:
    """Check one package link; the detail says what was found, in plain words."""
    timeout = _timeout() if timeout is None else timeout
    problem = outbound.url_problem(url)
    if problem:
        return Probe(False, f"not checked: {problem}")
    try:
        if sha256:
            return _compare_digest(url, sha256.lower())
        answer = outbound.fetch(url, purpose=_purpose(timeout), method="HEAD")
        if answer.status in (405, 501):
            answer = outbound.fetch(
                url, purpose=_purpose(timeout, max_bytes=1024), headers={"Range": "bytes=0-0"}
            )
            if answer.status < 300:
                return Probe(True, f"HTTP {answer.status} (HEAD refused; ranged GET)")
        if 300 <= answer.status < 400:
            return Probe(False, f"redirect without a usable Location (HTTP {answer.status})")
        if answer.status >= 400:
            return Probe(False, f"HTTP {answer.status}")
        return Probe(True, f"HTTP {answer.status}")
    except outbound.Inward as refused:
        return _unreachable(url, str(refused))
    except outbound.TooLarge as large:
        return Probe(False, f"{large}; not compared")
    except outbound.Refused as refused:
        return Probe(False, str(refused))
    except outbound.Failed as failed:
        return _unreachable(url, str(failed))


def _unreachable(url: str, internal: str) -> Probe:
    log.info("package link %s %s: %s", url, UNREACHABLE, internal)
    return Probe(False, UNREACHABLE, internal)


def _compare_digest(url: str, expected: str) -> Probe:
    digest = hashlib.sha256()
    budget = _download_budget()
    purpose = _purpose(budget, max_bytes=settings.UPLOAD_MAX_BYTES)
    try:
        answer = outbound.fetch(url, purpose=purpose, sink=digest.update)
    except outbound.TimedOut:
        return Probe(False, f"download took longer than {_seconds(budget)}")
    if answer.status >= 300:
        return Probe(False, f"HTTP {answer.status}")
    got = digest.hexdigest()
    if got != expected:
        return Probe(False, f"sha256 differs: got {got}, expected {expected}")
    return Probe(True, f"HTTP {answer.status}, sha256 matches ({answer.size} bytes)")


def package_link_check(*, link: PackageLink) -> bool:
    """Probe one link and record the result; returns whether its health changed."""
    result = link_probe(link.url, sha256=link.sha256)
    new = PackageLink.Health.OK if result.ok else PackageLink.Health.BROKEN
    old = link.health
    with transaction.atomic():
        # Conditional on the health we started from: of two concurrent checks
        # only one records the transition, so only one mails.
        changed = PackageLink.objects.filter(pk=link.pk, health=old).update(
            health=new,
            checked_at=timezone.now(),
            check_detail=result.detail,
            check_internal=result.internal,
        )
        if not changed:
            return False
        link.health, link.check_detail = new, result.detail
        if new != old:
            event_record(
                Event.PACKAGE_LINK_BROKEN if new == PackageLink.Health.BROKEN
                else Event.PACKAGE_LINK_WORKING,
                actor=None,
                target=link,
                was=old,
                found=result.detail,
            )
    return new != old


def package_links_check_all() -> str:
    """Check every package link with a URL; one run at a time across beats and workers."""
    lock_seconds = int(getattr(settings, "CELERY_TASK_TIME_LIMIT", 1200))
    if not cache.add(LOCK_KEY, "1", timeout=lock_seconds):
        return "another check is running"
    try:
        checked = changed = 0
        links = (
            PackageLink.objects.exclude(url="")
            .select_related("release__project", "distro")
            .order_by("checked_at", "pk")
        )
        for link in links.iterator(chunk_size=200):
            checked += 1
            try:
                changed += package_link_check(link=link)
            except SoftTimeLimitExceeded:
                raise
            except Exception:  # one odd link must not stop the others
                log.exception("package link %s: check failed", link.pk)
        return f"checked {checked} links, {changed} changed health"
    finally:
        cache.delete(LOCK_KEY)

"""Package link health: is each distro's download still there, and is it the
file the maintainer said it was?

`link_probe` is plain Python over urllib (HEAD, a ranged GET when HEAD is
refused, at most five redirects, http and https only, the sha256 streamed);
`package_link_check` records what it found and tells the maintainers once per
breakage.
"""

from __future__ import annotations

import hashlib
import http.client
import ipaddress
import logging
import socket
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from releases.events import Event, event_record
from releases.models import PackageLink

log = logging.getLogger(__name__)

MAX_REDIRECTS = 5
CHUNK = 64 * 1024
USER_AGENT = "release-portal link check (+https://github.com/)"
LOCK_KEY = "publishing:package-links-check"


def _timeout() -> float:
    return float(getattr(settings, "PACKAGE_LINK_CHECK_TIMEOUT", 10))


def _download_budget() -> float:
    """Seconds a whole download (to compare a sha256) may take."""
    return float(getattr(settings, "PACKAGE_LINK_DOWNLOAD_SECONDS", 600))


# What a maintainer (and the log of their page) learns of any network failure:
# never which addresses exist, listen or answer inside the portal's network.
UNREACHABLE = "could not be reached"


@dataclass(frozen=True)
class Probe:
    ok: bool
    detail: str  # shown to the distro's maintainers
    internal: str = ""  # for staff and the log only: what the network said


class _Refused(Exception):
    """A reason in plain words, raised from inside urllib's handlers."""


class _Inward(_Refused):
    """An address the checker must not reach; the maintainer is not told which."""


class _RedirectHandler(urllib.request.HTTPRedirectHandler):
    # urllib's own limits sit above ours so that ours is the one that speaks.
    max_redirections = max_repeats = MAX_REDIRECTS * 2

    def http_error_302(self, req, fp, code, msg, headers):
        target = headers.get("Location") or headers.get("URI") or ""
        scheme = urlsplit(urljoin(req.full_url, target)).scheme.lower()
        if scheme not in {"http", "https"}:
            fp.close()
            raise _Refused(f"redirected to a non-http address ({scheme}:)")
        return super().http_error_302(req, fp, code, msg, headers)

    http_error_301 = http_error_303 = http_error_307 = http_error_308 = http_error_302

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        hops = getattr(req, "portal_hops", 0) + 1
        if hops > MAX_REDIRECTS:
            raise _Refused(f"more than {MAX_REDIRECTS} redirects")
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None:
            new.portal_hops = hops
        return new


def _allowed_networks():
    return [
        ipaddress.ip_network(cidr.strip(), strict=False)
        for cidr in getattr(settings, "PACKAGE_LINK_ALLOWED_NETWORKS", [])
        if cidr.strip()
    ]


def _refuse_private(address: str) -> None:
    """Links are checked on the public internet only: never the portal's own network
    (unless a network is named in PACKAGE_LINK_ALLOWED_NETWORKS, an internal mirror)."""
    if getattr(settings, "PACKAGE_LINK_ALLOW_PRIVATE", False):
        return
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if getattr(ip, "ipv4_mapped", None):
        ip = ip.ipv4_mapped
    if any(ip in network for network in _allowed_networks()):
        return
    if not ip.is_global:
        raise _Inward(
            f"{address} is on a private or local network; only public addresses are checked"
        )


def _judged_connection(address, timeout=socket._GLOBAL_DEFAULT_TIMEOUT, source_address=None):
    """Resolve the name, judge every address it has, and only then connect, to a
    judged address: no TCP connection (let alone a TLS handshake) ever reaches a
    refused one, and a name cannot re-resolve elsewhere between judging and
    connecting. http.client keeps the name for the Host header and TLS's SNI."""
    host, port = address
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise _Inward(f"the name {host} does not resolve ({error})") from None
    for *_, sockaddr in infos:
        _refuse_private(sockaddr[0])
    last_error: OSError | None = None
    for family, kind, proto, _, sockaddr in infos:
        sock = socket.socket(family, kind, proto)
        try:
            if timeout is not socket._GLOBAL_DEFAULT_TIMEOUT:
                sock.settimeout(timeout)
            if source_address:
                sock.bind(source_address)
            sock.connect(sockaddr)
            return sock
        except OSError as error:
            sock.close()
            last_error = error
    raise last_error or OSError(f"no address to connect to for {host}")


class _GuardedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._create_connection = _judged_connection


class _GuardedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._create_connection = _judged_connection


class _GuardedHTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req):
        return self.do_open(_GuardedHTTPConnection, req)


class _GuardedHTTPSHandler(urllib.request.HTTPSHandler):
    def https_open(self, req):
        return self.do_open(_GuardedHTTPSConnection, req, context=self._context)


def _opener() -> urllib.request.OpenerDirector:
    return urllib.request.build_opener(
        # No proxy from the environment: every connection is judged here.
        urllib.request.ProxyHandler({}),
        _RedirectHandler(),
        _GuardedHTTPHandler(),
        _GuardedHTTPSHandler(),
    )


def _open(opener, url: str, headers: dict, timeout: float, method: str = "GET"):
    # The scheme was checked (http/https only) before, and every redirect is.
    request = urllib.request.Request(url, method=method, headers=headers)  # noqa: S310
    return opener.open(request, timeout=timeout)


def _seconds(value: float) -> str:
    return f"{value:g} s"


def link_probe(url: str, *, sha256: str = "", timeout: float | None = None) -> Probe:
    """Check one package link; the detail says what was found, in plain words."""
    timeout = _timeout() if timeout is None else timeout
    if urlsplit(url).scheme.lower() not in {"http", "https"}:
        return Probe(False, "not an http or https address; not checked")
    opener = _opener()
    headers = {"User-Agent": USER_AGENT}
    try:
        if sha256:
            return _compare_digest(opener, url, sha256.lower(), headers, timeout)
        try:
            with _open(opener, url, headers, timeout, method="HEAD") as response:
                return Probe(True, f"HTTP {response.status}")
        except urllib.error.HTTPError as error:
            if error.code not in (405, 501):
                raise
            error.close()
        ranged = {**headers, "Range": "bytes=0-0"}
        with _open(opener, url, ranged, timeout) as response:
            response.read(1)
            return Probe(True, f"HTTP {response.status} (HEAD refused; ranged GET)")
    except urllib.error.HTTPError as error:
        error.close()
        if 300 <= error.code < 400:
            return Probe(False, f"redirect loop (HTTP {error.code})")
        return Probe(False, f"HTTP {error.code}")
    except _Inward as refused:
        return _unreachable(url, str(refused))
    except _Refused as refused:
        return Probe(False, str(refused))
    except TimeoutError:
        return _unreachable(url, f"timed out after {_seconds(timeout)}")
    except urllib.error.URLError as error:
        if isinstance(error.reason, _Refused) and not isinstance(error.reason, _Inward):
            return Probe(False, str(error.reason))
        if isinstance(error.reason, TimeoutError | socket.timeout):
            return _unreachable(url, f"timed out after {_seconds(timeout)}")
        return _unreachable(url, f"could not connect: {error.reason}")
    except (OSError, ValueError) as error:
        return _unreachable(url, f"could not fetch: {error}")


def _unreachable(url: str, internal: str) -> Probe:
    log.info("package link %s %s: %s", url, UNREACHABLE, internal)
    return Probe(False, UNREACHABLE, internal)


def _compare_digest(opener, url: str, expected: str, headers: dict, timeout: float) -> Probe:
    digest, size = hashlib.sha256(), 0
    deadline = time.monotonic() + _download_budget()
    limit = settings.UPLOAD_MAX_BYTES
    with _open(opener, url, headers, timeout) as response:
        while chunk := response.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
            if time.monotonic() > deadline:
                return Probe(False, f"download took longer than {_seconds(_download_budget())}")
            if size > limit:
                return Probe(False, f"the file is larger than {limit:,} bytes; not compared")
    got = digest.hexdigest()
    if got != expected:
        return Probe(False, f"sha256 differs: got {got}, expected {expected}")
    return Probe(True, f"HTTP {response.status}, sha256 matches ({size} bytes)")


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

"""The one way out: every request the portal makes to another server (package
link checks, webhooks, and whatever comes later) goes through `fetch`.

Built on urllib3's connection classes, used one connection per hop, because
they let the connection itself be made here (`_new_conn`): the name is
resolved, every address it has is judged, and only then is a judged address
connected to. No TCP connection (let alone TLS) reaches a refused address,
and a name cannot re-resolve elsewhere between judging and connecting.
Redirects are followed here, hop by hop, each hop judged the same way.

What the client guarantees, whoever calls it:

- http and https only, no credentials in the URL, a host that parses
  (`url_problem` says why not, in a sentence; forms use it too);
- no loopback, private, link-local, multicast, reserved or unspecified address,
  unless `OUTBOUND_ALLOW_PRIVATE` (tests, a portal on an internal network) or
  the address is in `OUTBOUND_ALLOWED_NETWORKS` (one internal mirror);
- one total deadline per request, redirects included: a watchdog shuts the
  socket down when it passes, so a server trickling one byte a second cannot
  stretch it (a per-read timeout would);
- a cap on the bytes read;
- a User-Agent naming the purpose;
- file:// only where `OUTBOUND_ALLOW_FILE_URLS` says so (the demo's local
  repositories and tests; never in production), read under the same deadline
  and cap, and never reached by a redirect.

Work that calls it runs on the `outbound` Celery queue (portal/settings.py),
so a slow server never delays a verdict.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote, urljoin, urlsplit

from django.conf import settings
from urllib3.connection import HTTPConnection, HTTPSConnection

CHUNK = 64 * 1024
MAX_URL_LENGTH = 2048
REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
_HOST_NAME = re.compile(r"^(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?\.)*"
                        r"[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?\.?$")


class Refused(Exception):
    """The request is not sent, or not followed further; the message says why."""


class Inward(Refused):
    """An address on a private or local network: what a maintainer is told hides which."""


class Failed(Exception):
    """The other side did not give a usable answer (network, TLS, protocol)."""


class TimedOut(Failed):
    pass


class TooLarge(Failed):
    pass


@dataclass(frozen=True)
class Purpose:
    """Who is asking, and the limits it asks with."""

    name: str  # "link check", "webhooks": in the User-Agent
    seconds: float  # the whole request, redirects included
    max_bytes: int  # of the body read
    max_redirects: int = 0

    @property
    def user_agent(self) -> str:
        return f"release-portal {self.name} (+{settings.SITE_URL}/)"


@dataclass
class Response:
    status: int
    url: str  # after redirects
    headers: Mapping = field(default_factory=dict)
    size: int = 0  # body bytes read


def url_problem(url: str, *, allow_file: bool = False) -> str | None:
    """Why the client cannot send to `url`, as a sentence; None when it can.

    `allow_file`: a caller that reads local files in the demo and tests (distro
    repositories) asks for file:// too; it is granted only by OUTBOUND_ALLOW_FILE_URLS."""
    if len(url) > MAX_URL_LENGTH:
        return f"The address is {len(url):,} characters long; at most {MAX_URL_LENGTH:,} are sent."
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        return "The address holds a space or a control character; remove it."
    if "\\" in url:
        return (
            "The address holds a backslash, which programs read in different ways; "
            "write the address with forward slashes only."
        )
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port that is not a number in range
    except ValueError:
        return "The address cannot be read as a URL; check its host and port."
    scheme = parts.scheme.lower()
    if scheme == "file" and allow_file and getattr(settings, "OUTBOUND_ALLOW_FILE_URLS", False):
        if parts.netloc not in ("", "localhost") or not parts.path.startswith("/"):
            return "A file:// address names an absolute path on this machine: file:///path."
        return None
    if scheme not in ("http", "https"):
        shown = f"{scheme}:" if scheme else "no scheme"
        return f"Only http:// and https:// addresses can be used, not {shown}."
    if "@" in parts.netloc:
        return (
            "The address holds a user name or password (before an @); the portal sends "
            "no credentials in a URL. Remove them."
        )
    host = parts.hostname or ""
    if not host:
        return "The address has no host name."
    try:
        ipaddress.ip_address(host)
        return None
    except ValueError:
        pass
    try:
        ascii_host = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return f"The host name {host!r} is not a valid domain name."
    if not _HOST_NAME.match(ascii_host) or ascii_host.replace(".", "").isdigit():
        return f"The host name {host!r} is not a valid domain name."
    return None


def _allowed_networks():
    return [
        ipaddress.ip_network(cidr.strip(), strict=False)
        for cidr in getattr(settings, "OUTBOUND_ALLOWED_NETWORKS", [])
        if cidr.strip()
    ]


def address_judge(address: str) -> None:
    """Raise Inward for an address the portal must not connect to."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if getattr(ip, "ipv4_mapped", None):
        ip = ip.ipv4_mapped
    if getattr(settings, "OUTBOUND_ALLOW_PRIVATE", False):
        return
    if any(ip in network for network in _allowed_networks()):
        return
    if (
        not ip.is_global
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_unspecified
    ):
        raise Inward(
            f"{address} is on a private or local network; only public addresses are reached"
        )


class _Clock:
    """One deadline for a whole request: past it, every socket the request opened
    is shut down, which ends whatever read or write is blocked on it."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds
        self.expired = False
        self._lock = threading.Lock()
        self._watched: list[socket.socket] = []
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def left(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0 or self.expired:
            raise self.timed_out()
        return left

    def timed_out(self) -> TimedOut:
        return TimedOut(f"timed out after {self.seconds:g} s")

    def watch(self, sock: socket.socket) -> None:
        # A duplicate of the descriptor: TLS takes the original over, and a
        # shutdown through either ends the connection for both.
        with self._lock:
            self._watched.append(sock.dup())
            if self.expired:
                self._shutdown()

    def _shutdown(self) -> None:
        for sock in self._watched:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            self._shutdown()

    def close(self) -> None:
        self._timer.cancel()
        with self._lock:
            for sock in self._watched:
                sock.close()
            self._watched.clear()


def _resolve(host: str, port: int, clock: _Clock) -> list:
    """getaddrinfo cannot be interrupted: it runs aside and is waited for until the deadline."""
    answer: dict = {}

    def lookup():
        try:
            answer["infos"] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as error:
            answer["error"] = error

    thread = threading.Thread(target=lookup, daemon=True)
    thread.start()
    thread.join(clock.left())
    if thread.is_alive():
        raise clock.timed_out()
    if "error" in answer:
        raise Failed(f"the name {host} does not resolve ({answer['error']})")
    return answer["infos"]


def _connect(host: str, port: int, clock: _Clock) -> socket.socket:
    infos = _resolve(host, port, clock)
    for *_, sockaddr in infos:
        address_judge(sockaddr[0])
    last_error: OSError | None = None
    for family, kind, proto, _, sockaddr in infos:
        sock = socket.socket(family, kind, proto)
        try:
            sock.settimeout(clock.left())
            sock.connect(sockaddr)
            clock.watch(sock)
            return sock
        except OSError as error:
            sock.close()
            last_error = error
    raise Failed(f"could not connect: {last_error or 'no address'}")


class _GuardedHTTPConnection(HTTPConnection):
    clock: _Clock

    def _new_conn(self) -> socket.socket:
        return _connect(self._dns_host, self.port, self.clock)


class _GuardedHTTPSConnection(HTTPSConnection):
    clock: _Clock

    def _new_conn(self) -> socket.socket:
        return _connect(self._dns_host, self.port, self.clock)


def _hop(method, url, headers, body, clock, sink, purpose, read_body):
    parts = urlsplit(url)
    cls = _GuardedHTTPSConnection if parts.scheme.lower() == "https" else _GuardedHTTPConnection
    conn = cls(parts.hostname, parts.port, timeout=clock.left())
    conn.clock = clock
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    try:
        conn.request(method, path, body=body, headers=headers, preload_content=False,
                     decode_content=False)
        answer = conn.getresponse()
        response = Response(answer.status, url, answer.headers)  # case-insensitive
        if read_body and method != "HEAD" and answer.status not in REDIRECT_CODES:
            while True:
                if conn.sock is not None:
                    conn.sock.settimeout(clock.left())
                chunk = answer.read(CHUNK, decode_content=False)
                if not chunk:
                    if clock.expired:  # the watchdog's shutdown reads as an end: it is not one
                        raise clock.timed_out()
                    break
                response.size += len(chunk)
                if response.size > purpose.max_bytes:
                    raise TooLarge(f"the answer is larger than {purpose.max_bytes:,} bytes")
                if sink:
                    sink(chunk)
        return response
    finally:
        conn.close()


def _file_fetch(url: str, purpose: Purpose, sink, clock: _Clock) -> Response:
    """A local file, as the demo and tests serve repositories: same cap, same deadline."""
    path = unquote(urlsplit(url).path)
    response = Response(200, url, {})
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(CHUNK):
                clock.left()
                response.size += len(chunk)
                if response.size > purpose.max_bytes:
                    raise TooLarge(f"the answer is larger than {purpose.max_bytes:,} bytes")
                if sink:
                    sink(chunk)
    except FileNotFoundError:
        response.status = 404
    except (IsADirectoryError, PermissionError) as error:
        raise Failed(f"could not read {path}: {error.strerror}") from None
    return response


def fetch(
    url: str,
    *,
    purpose: Purpose,
    method: str = "GET",
    headers: dict | None = None,
    body: bytes | None = None,
    sink: Callable[[bytes], None] | None = None,
    read_body: bool = True,
    seconds: float | None = None,
    allow_file: bool = False,
) -> Response:
    """Send one request (and follow its redirects, if the purpose allows) within one
    deadline; `sink` receives the body's chunks. Raises Refused, Inward, Failed."""
    problem = url_problem(url, allow_file=allow_file)
    if problem:
        raise Refused(problem)
    clock = _Clock(purpose.seconds if seconds is None else seconds)
    if urlsplit(url).scheme.lower() == "file":  # url_problem let it through: allowed here
        try:
            return _file_fetch(url, purpose, sink, clock)
        finally:
            clock.close()
    headers = {
        **(headers or {}),
        "User-Agent": purpose.user_agent,
        "Accept-Encoding": "identity",  # the cap counts the bytes as they are sent
        "Connection": "close",
    }
    hops = 0
    try:
        while True:
            try:
                response = _hop(method, url, headers, body, clock, sink, purpose, read_body)
            except (Refused, TooLarge):
                raise
            except Failed:
                if clock.expired:
                    raise clock.timed_out() from None
                raise
            except Exception as error:  # whatever the network did, one kind of failure
                if clock.expired or isinstance(error, TimeoutError | socket.timeout):
                    raise clock.timed_out() from None
                raise Failed(f"could not fetch: {error}") from None
            location = response.headers.get("Location")
            if response.status not in REDIRECT_CODES or not location or not purpose.max_redirects:
                return response
            hops += 1
            if hops > purpose.max_redirects:
                raise Refused(f"more than {purpose.max_redirects} redirects")
            target = urljoin(url, location)
            scheme = urlsplit(target).scheme.lower()
            if scheme not in ("http", "https"):
                raise Refused(f"redirected to a non-http address ({scheme}:)")
            problem = url_problem(target)
            if problem:
                raise Refused(f"redirected to an address that is refused: {problem}")
            if response.status == 303 or (response.status in (301, 302) and method == "POST"):
                method, body = ("HEAD" if method == "HEAD" else "GET"), None
            url = target
    finally:
        clock.close()


def git_remote_settings(url: str, *, seconds: float, purpose: str = "source proof") -> list[str]:
    """`git -c` settings that hold a fetch from `url` (the git CLI makes the
    connection, not this module) to the same rules as `fetch`: the URL judged by
    `url_problem`, the host resolved here and every address judged by
    `address_judge`, then pinned with curl's resolve list so git cannot reach
    another address; no redirects, no proxy, no credentials asked, and a transfer
    slower than 1 KB/s for `seconds` ended. The caller bounds the total time and
    the bytes written. Raises Refused (or Inward) and Failed like `fetch`."""
    problem = url_problem(url)
    if problem:
        raise Refused(problem)
    parts = urlsplit(url)
    https = parts.scheme.lower() == "https"
    port = parts.port or (443 if https else 80)
    host = parts.hostname or ""
    clock = _Clock(seconds)
    try:
        infos = _resolve(host, port, clock)
    finally:
        clock.close()
    addresses = sorted({info[4][0] for info in infos})
    if not addresses:
        raise Failed(f"the name {host} does not resolve")
    for address in addresses:
        address_judge(address)
    shown = ",".join(f"[{a}]" if ":" in a else a for a in addresses)
    return [
        f"http.curloptResolve={host}:{port}:{shown}",
        "http.followRedirects=false",
        "http.proxy=",
        "http.lowSpeedLimit=1000",
        f"http.lowSpeedTime={max(1, int(seconds))}",
        f"http.userAgent=release-portal {purpose} (+{settings.SITE_URL}/)",
        "credential.helper=",
    ]

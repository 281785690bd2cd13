"""Package link health, checked against a real HTTP server on loopback."""

import hashlib
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from publishing import links
from releases.models import AuditEvent, PackageLink, Release
from tests.factories import approve, link, packager, released

pytestmark = pytest.mark.django_db

PACKAGE = b"!<arch>\ndebian-binary   0  0  0  100644  4  `\n2.0\n" * 100
PACKAGE_SHA256 = hashlib.sha256(PACKAGE).hexdigest()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # path -> what to do; the state (for "now broken") lives on the server.

    def log_message(self, *args):
        pass

    def _send(self, code, body=b"", headers=None):
        self.send_response(code)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _route(self):
        path = self.path
        if path == "/ok.deb" or (path == "/flaky.deb" and not self.server.flaky_broken):
            return self._send(200, PACKAGE, {"Content-Type": "application/octet-stream"})
        if path == "/flaky.deb":
            return self._send(404, b"gone")
        if path == "/missing.deb":
            return self._send(404, b"not here")
        if path.startswith("/loop"):
            return self._send(
                302, headers={"Location": "/loop-b" if path == "/loop-a" else "/loop-a"}
            )
        if path == "/hops-5":
            return self._send(301, headers={"Location": "/hops-4"})
        if path.startswith("/hops-"):
            left = int(path.rsplit("-", 1)[1])
            target = "/ok.deb" if left <= 1 else f"/hops-{left - 1}"
            return self._send(301, headers={"Location": target})
        if path == "/to-file":
            return self._send(302, headers={"Location": "file:///etc/passwd"})
        if path == "/slow.deb":
            time.sleep(1.5)
            return self._send(200, PACKAGE)
        if path == "/no-head.deb":
            if self.command == "HEAD":
                return self._send(405)
            assert self.headers["Range"] == "bytes=0-0"
            return self._send(206, PACKAGE[:1], {"Content-Range": f"bytes 0-0/{len(PACKAGE)}"})
        return self._send(404)

    do_GET = do_HEAD = _route


@pytest.fixture
def http_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.flaky_broken = False
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.base = f"http://127.0.0.1:{server.server_address[1]}"
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def short_timeout(settings):
    settings.PACKAGE_LINK_CHECK_TIMEOUT = 0.5
    # The test server is on loopback, which production refuses (see below).
    settings.OUTBOUND_ALLOW_PRIVATE = True


@pytest.mark.parametrize(
    ("path", "sha256", "ok", "detail"),
    [
        ("/ok.deb", "", True, "HTTP 200"),
        ("/missing.deb", "", False, "HTTP 404"),
        ("/loop-a", "", False, "more than 5 redirects"),
        ("/hops-5", "", True, "HTTP 200"),  # five redirects are allowed
        ("/hops-6", "", False, "more than 5 redirects"),
        ("/to-file", "", False, "redirected to a non-http address (file:)"),
        # A network failure: the same words for every kind, what happened is internal.
        ("/slow.deb", "", False, "could not be reached"),
        ("/no-head.deb", "", True, "HTTP 206 (HEAD refused; ranged GET)"),
        ("/ok.deb", PACKAGE_SHA256, True, "sha256 matches"),
        ("/ok.deb", "0" * 64, False, f"sha256 differs: got {PACKAGE_SHA256}"),
    ],
)
def test_probe(http_server, path, sha256, ok, detail):
    result = links.link_probe(http_server.base + path, sha256=sha256)
    assert result.ok is ok
    assert detail in result.detail
    if path == "/slow.deb":
        assert result.internal == "timed out after 0.5 s"


@pytest.mark.parametrize("url", ["ftp://example.org/x.deb", "file:///etc/passwd", "javascript:x"])
def test_other_schemes_are_refused_without_a_request(url):
    result = links.link_probe(url)
    assert not result.ok and "Only http:// and https:// addresses can be used" in result.detail


def test_maintainers_are_mailed_once_per_breakage_and_the_page_follows(
    http_server, project, ubuntu, django_capture_on_commit_callbacks, tasks_queued
):
    release = released(project, "2.0")
    ada = packager("ada", "Ada")
    approve(ada, project, ubuntu)
    approve(packager("revoked-rita"), project, ubuntu).delete()
    package = link(release, ubuntu, http_server.base + "/flaky.deb")

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert links.package_link_check(link=package) is True  # unchecked -> ok
    package.refresh_from_db()
    assert package.health == "ok" and package.checked_at is not None
    assert tasks_queued == [("page_regenerate_task", (project.pk,))]
    assert mail.outbox == []

    http_server.flaky_broken = True
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert links.package_link_check(link=package) is True  # ok -> broken
    package.refresh_from_db()
    assert (package.health, package.check_detail) == ("broken", "HTTP 404")
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["ada@example.org"]
    assert "HTTP 404" in mail.outbox[0].body and "/flaky.deb" in mail.outbox[0].body

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert links.package_link_check(link=package) is False  # still broken
    assert len(mail.outbox) == 1  # no second mail for the same breakage
    assert callbacks == []  # nothing the public sees changed

    http_server.flaky_broken = False
    links.package_link_check(link=package)
    http_server.flaky_broken = True
    with django_capture_on_commit_callbacks(execute=True):
        links.package_link_check(link=package)
    assert len(mail.outbox) == 2  # a new breakage, a new mail


def test_the_periodic_check_covers_every_url_link_and_holds_a_lock(
    http_server, project, ubuntu, fedora
):
    release = released(project, "2.0")
    link(release, ubuntu, http_server.base + "/ok.deb")
    link(release, fedora, http_server.base + "/missing.deb")

    assert links.package_links_check_all() == "checked 2 links, 2 changed health"
    assert dict(PackageLink.objects.values_list("distro__slug", "health")) == {
        "ubuntu": "ok",
        "fedora": "broken",
    }

    from django.core.cache import cache

    cache.add(links.LOCK_KEY, "1")
    try:
        assert links.package_links_check_all() == "another check is running"
    finally:
        cache.delete(links.LOCK_KEY)


class Listener:
    """A bare TCP listener that counts the connections reaching it (a TLS
    ClientHello needs one): the proof that a refused address was never touched."""

    def __init__(self, host: str):
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.bind((host, 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.accepted += 1
            conn.close()

    def close(self):
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


@pytest.fixture
def listeners():
    opened = []

    def listen(host):
        listener = Listener(host)
        opened.append(listener)
        return listener

    yield listen
    for listener in opened:
        listener.close()


@pytest.mark.parametrize("scheme", ["http", "https"])
@pytest.mark.parametrize(
    ("listen_on", "host"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("127.0.0.1", "localhost"),
        ("::1", "[::1]"),
        ("127.0.0.1", "[::ffff:127.0.0.1]"),  # IPv4-mapped IPv6
    ],
)
def test_no_connection_reaches_the_portals_own_network(
    listeners, settings, scheme, listen_on, host
):
    settings.OUTBOUND_ALLOW_PRIVATE = False
    if host == "[::ffff:127.0.0.1]" and not socket.has_dualstack_ipv6():
        pytest.skip("this machine's IPv6 stack does not carry IPv4-mapped addresses")
    listener = listeners(listen_on)
    result = links.link_probe(f"{scheme}://{host}:{listener.port}/ok.deb")
    time.sleep(0.3)  # a connection, had one been made, would be counted by now
    assert listener.accepted == 0
    assert (result.ok, result.detail) == (False, "could not be reached")
    assert "private or local network" in result.internal  # for staff and the log only


class RedirectingHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_HEAD(self):
        self.send_response(302)
        self.send_header("Location", self.server.target)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_HEAD


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_a_redirect_inward_is_refused_before_it_connects(listeners, settings, scheme):
    """An allowed mirror (127.0.0.2, named in OUTBOUND_ALLOWED_NETWORKS) answers
    with a redirect to the portal's own 127.0.0.1: the next hop is judged first."""
    settings.OUTBOUND_ALLOW_PRIVATE = False
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.2/32"]
    inside = listeners("127.0.0.1")
    mirror = ThreadingHTTPServer(("127.0.0.2", 0), RedirectingHandler)
    mirror.target = f"{scheme}://127.0.0.1:{inside.port}/secret"
    thread = threading.Thread(target=mirror.serve_forever, daemon=True)
    thread.start()
    try:
        result = links.link_probe(f"http://127.0.0.2:{mirror.server_address[1]}/pkg.deb")
    finally:
        mirror.shutdown()
        mirror.server_close()
    time.sleep(0.3)
    assert inside.accepted == 0
    assert (result.ok, result.detail) == (False, "could not be reached")
    assert "127.0.0.1 is on a private or local network" in result.internal


def test_every_network_failure_looks_the_same_to_the_maintainer(listeners, settings):
    """A listening port and a closed one give one answer: nothing to map the network by."""
    settings.OUTBOUND_ALLOW_PRIVATE = False
    listening = listeners("127.0.0.1")
    closed = Listener("127.0.0.1")
    closed_port = closed.port
    closed.close()
    answers = {
        links.link_probe(f"http://127.0.0.1:{port}/x.deb").detail
        for port in (listening.port, closed_port)
    }
    settings.OUTBOUND_ALLOW_PRIVATE = True  # even when allowed, a refused port says no more
    answers.add(links.link_probe(f"http://127.0.0.1:{closed_port}/x.deb").detail)
    assert answers == {"could not be reached"}


def _distro_url(name, release, *args):
    return reverse(name, args=[release.project.slug, release.version, "ubuntu", *args])


def test_a_maintainer_adds_checks_again_edits_and_removes_a_link(
    client, http_server, release, ubuntu, maintainer, django_capture_on_commit_callbacks, tasks_queued
):
    from publishing.tasks import package_link_check_task

    client.force_login(maintainer)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            _distro_url("package-links-add", release),
            {"package_links": http_server.base + "/missing.deb"},
        )
    link = PackageLink.objects.get()
    # Its check, at once, and the public page.
    assert sorted(tasks_queued) == [
        ("package_link_check_task", (link.pk,)),
        ("page_regenerate_task", (release.project_id,)),
    ]
    package_link_check_task.run(link.pk)  # what the worker runs
    link.refresh_from_db()
    assert link.health == "broken"
    page = client.get(_distro_url("release-distro", release)).content.decode()
    assert "HTTP 404" in page and "Check again</button>" in page

    with django_capture_on_commit_callbacks(execute=False) as queued:
        client.post(
            _distro_url("package-link-edit", release, link.pk),
            {"url": http_server.base + "/ok.deb", "sha256": ""},
        )
    link.refresh_from_db()
    assert (link.url, link.health) == (http_server.base + "/ok.deb", "unchecked") and queued
    package_link_check_task.run(link.pk)
    link.refresh_from_db()
    assert link.health == "ok"

    with django_capture_on_commit_callbacks(execute=False) as queued:
        client.post(_distro_url("package-link-recheck", release, link.pk))
    assert queued  # checked again now, not in six hours
    client.post(_distro_url("package-link-remove", release, link.pk))
    assert not PackageLink.objects.exists()
    verbs = set(AuditEvent.objects.values_list("verb", flat=True))
    assert {"package_link.added", "package_link.updated", "package_link.removed"} <= verbs


def test_links_are_fixed_once_the_release_is_published(client, release, ubuntu, maintainer):
    link = PackageLink.objects.create(
        release=release, distro=ubuntu, url="https://example.org/a.deb", added_by=maintainer
    )
    Release.objects.filter(pk=release.pk).update(state="released")
    client.force_login(maintainer)
    response = client.post(_distro_url("package-link-remove", release, link.pk), follow=True)
    assert "its package links are fixed now" in response.content.decode()
    assert PackageLink.objects.filter(pk=link.pk).exists()
    response = client.post(
        _distro_url("package-link-edit", release, link.pk), {"url": "https://x.org/b.deb"}
    )
    link.refresh_from_db()
    assert link.url == "https://example.org/a.deb"


def test_another_distros_maintainer_cannot_touch_the_link(
    client, release, ubuntu, other_maintainer
):
    link = PackageLink.objects.create(release=release, distro=ubuntu, url="https://e.org/a.deb")
    client.force_login(other_maintainer)
    assert client.post(_distro_url("package-link-remove", release, link.pk)).status_code == 404
    assert PackageLink.objects.filter(pk=link.pk).exists()


def test_the_public_never_sees_an_unchecked_link_or_what_a_check_met(
    client, project, ubuntu, settings
):
    from publishing.services import public_page_regenerate

    current = released(project, "2.0")
    PackageLink.objects.create(release=current, distro=ubuntu, url="https://a.example/new.deb")
    PackageLink.objects.create(
        release=current,
        distro=ubuntu,
        url="https://a.example/old.deb",
        health="broken",
        check_detail="could not connect: [Errno 111] Connection refused",
        checked_at=timezone.now(),
    )
    public_page_regenerate(project=project)
    import json

    def served(url):
        return b"".join(client.get(url).streaming_content).decode()

    page = served("/downloads/convirt/")
    data = json.loads(served("/downloads/convirt/downloads.json"))
    assert "not checked yet" not in page and "Errno" not in page and "Errno" not in str(data)
    links_ = data["releases"][0]["distros"][0]["links"]
    assert [(entry["health"], bool(entry["checked_at"])) for entry in links_] == [
        (None, False),
        ("unavailable", True),
    ]

"""The one outbound client, against real sockets on loopback: a tarpit that trickles
one byte a second, a server that never answers, one that sends without end."""

from __future__ import annotations

import time

import pytest

from portal import outbound
from publishing import links
from tests.helpers import RawServer, endless, silent, trickle

PURPOSE = outbound.Purpose("link check", seconds=2, max_bytes=1024 * 1024, max_redirects=5)


@pytest.fixture
def serve(settings):
    settings.OUTBOUND_ALLOW_PRIVATE = True  # the servers are on loopback
    servers = []

    def start(behave):
        servers.append(RawServer(behave))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


@pytest.mark.parametrize("behave", [trickle, silent])
def test_a_request_ends_at_its_one_deadline(serve, behave):
    server = serve(behave)
    started = time.monotonic()
    with pytest.raises(outbound.TimedOut, match="timed out after 2 s"):
        outbound.fetch(f"http://127.0.0.1:{server.port}/pkg.deb", purpose=PURPOSE)
    assert 1.9 < time.monotonic() - started < 2.5


def test_the_tarpit_link_check_ends_at_its_deadline(serve, settings):
    """The red-team's tarpit: 150 s per check before, now the check's own deadline."""
    settings.PACKAGE_LINK_CHECK_TIMEOUT = 3
    server = serve(trickle)
    started = time.monotonic()
    result = links.link_probe(f"http://127.0.0.1:{server.port}/pkg.deb")
    took = time.monotonic() - started
    assert (result.ok, result.detail, result.internal) == (
        False,
        "could not be reached",
        "timed out after 3 s",
    )
    assert 2.9 < took < 3.5, took


def test_the_bytes_read_are_capped(serve):
    server = serve(endless)
    started = time.monotonic()
    with pytest.raises(outbound.TooLarge, match="larger than 1,048,576 bytes"):
        outbound.fetch(f"http://127.0.0.1:{server.port}/big.deb", purpose=PURPOSE)
    assert time.monotonic() - started < 1.5


def test_the_user_agent_names_the_purpose(serve):
    def answer(conn, stop):
        conn.sendall(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")

    server = serve(answer)
    for name in ("webhooks", "link check"):
        purpose = outbound.Purpose(name, seconds=2, max_bytes=10)
        assert outbound.fetch(f"http://127.0.0.1:{server.port}/", purpose=purpose).status == 204
    agents = [
        line for request in server.requests for line in request.split(b"\r\n") if line.startswith(b"User-Agent")
    ]
    assert agents[0].startswith(b"User-Agent: release-portal webhooks (+")
    assert agents[1].startswith(b"User-Agent: release-portal link check (+")


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("ftp://admin:hunter2@127.0.0.1:9104/etc/passwd", "Only http:// and https://"),
        ("ftps://example.org/", "not ftps:"),
        ("file:///etc/passwd", "not file:"),
        ("example.org/hook", "not no scheme"),
        ("https://user:pw@example.org/hook", "no credentials in a URL"),
        ("https://token@example.org/hook", "no credentials in a URL"),
        ("http://127.0.0.1:9101\\@evil.example/", "backslash"),
        ("http://exa mple.org/", "a space"),
        ("http://[::1/", "cannot be read as a URL"),
        ("http://example.org:99999/", "cannot be read as a URL"),
        ("http:///path-only", "no host name"),
        ("http://-bad-.example/", "not a valid domain name"),
        ("http://a..b/", "not a valid domain name"),
        ("http://under_score$.example/", "not a valid domain name"),
        ("https://" + "a" * 3000 + ".example/", "at most 2,048"),
    ],
)
def test_what_the_client_cannot_send_is_refused_with_a_sentence(url, problem, serve):
    assert problem in outbound.url_problem(url)
    with pytest.raises(outbound.Refused, match="."):
        outbound.fetch(url, purpose=PURPOSE)


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.org/portal?x=1",
        "http://127.0.0.1:8080/hook",
        "https://[2001:db8::1]/hook",
        "https://bücher.example/hook",
    ],
)
def test_what_it_can_send(url):
    assert outbound.url_problem(url) is None


@pytest.mark.parametrize(
    ("address", "refused"),
    [
        ("10.1.2.3", True),
        ("192.168.0.9", True),
        ("172.16.5.4", True),
        ("100.64.0.1", True),  # shared address space (carrier NAT)
        ("169.254.169.254", True),  # cloud metadata
        ("127.0.0.1", True),
        ("::1", True),
        ("::ffff:127.0.0.1", True),
        ("fd00::1", True),
        ("fe80::1%eth0", True),
        ("0.0.0.0", True),
        ("224.0.0.1", True),  # multicast
        ("239.255.255.250", True),
        ("ff02::1", True),
        ("240.0.0.1", True),  # reserved
        ("255.255.255.255", True),
        ("93.184.216.34", False),
        ("2606:2800:220:1:248:1893:25c8:1946", False),
    ],
)
def test_which_addresses_are_refused(settings, address, refused):
    settings.OUTBOUND_ALLOW_PRIVATE = False
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    if refused:
        with pytest.raises(outbound.Inward, match="private or local network"):
            outbound.address_judge(address)
    else:
        outbound.address_judge(address)


def test_an_allowed_network_opens_only_itself(settings):
    settings.OUTBOUND_ALLOW_PRIVATE = False
    settings.OUTBOUND_ALLOWED_NETWORKS = ["10.8.0.0/24"]
    outbound.address_judge("10.8.0.7")
    with pytest.raises(outbound.Inward):
        outbound.address_judge("10.8.1.7")


def test_no_connection_is_made_to_a_refused_address(serve, settings):
    server = serve(silent)
    settings.OUTBOUND_ALLOW_PRIVATE = False
    with pytest.raises(outbound.Inward):
        outbound.fetch(f"http://localhost:{server.port}/", purpose=PURPOSE)
    time.sleep(0.2)
    assert server.accepted == 0

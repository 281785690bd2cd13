"""The client's address: the one place the portal reads it.

Log-in throttling (django-axes, `AXES_CLIENT_IP_CALLABLE`), every rate limit
and the log-in audit (axes' attempt records) ask `client_address(request)`,
never `REMOTE_ADDR` or a forwarding header themselves (tests/portal/
test_clientaddress.py fails on any other reader).

The rule: the connection's peer (`REMOTE_ADDR`) is the client, unless the peer
is one of `TRUSTED_PROXIES` (the front server, README "Configuration"). Only
then is the address that proxy forwarded believed: the last hop of
`X-Forwarded-For` (the one the proxy itself wrote; anything to its left came
from the client), or `X-Real-IP`. A header from any other peer is ignored,
so a client that reaches gunicorn directly cannot choose the address it is
counted under. A chain of proxies is resolved by the front server (nginx's
`set_real_ip_from`, NGINX_REAL_IP_FROM), so the portal trusts one hop only.

Header parsing (lists, ports, brackets, IPv4-mapped IPv6) is python-ipware's.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings
from python_ipware import IpWare

# What a trusted proxy may tell: nginx sends both (deploy/nginx/portal.conf.template).
FORWARDING_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_X_REAL_IP")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def trusted_networks(entries) -> tuple[Network, ...]:
    """TRUSTED_PROXIES as networks; raises ValueError naming an entry that is neither
    an address nor a network."""
    networks = []
    for entry in entries:
        try:
            networks.append(_unmapped_network(ipaddress.ip_network(entry.strip(), strict=False)))
        except ValueError:
            raise ValueError(
                f"TRUSTED_PROXIES: {entry!r} is not an IP address or network "
                "(e.g. 10.87.0.10 or 10.87.0.0/24)"
            ) from None
    return tuple(networks)


def _unmapped_network(network: Network) -> Network:
    if isinstance(network, ipaddress.IPv6Network) and network.network_address.ipv4_mapped:
        mapped = network.network_address.ipv4_mapped
        return ipaddress.ip_network(f"{mapped}/{max(0, network.prefixlen - 96)}")
    return network


def _address(text) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    if not isinstance(text, str):
        return None
    try:
        address = ipaddress.ip_address(text.strip().split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


@lru_cache(maxsize=8)
def _trusted(entries: tuple[str, ...]) -> tuple[Network, ...]:
    return trusted_networks(entries)


def _forwarded(meta) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The client a trusted proxy names: the last hop of its first forwarding header.

    Only the last entry of X-Forwarded-For is the proxy's own; entries to its
    left are whatever the client sent. A last entry that does not parse makes
    the whole header untrusted, rather than falling back on the entries before it.
    """
    for name in FORWARDING_HEADERS:
        raw = meta.get(name)
        if not isinstance(raw, str) or not raw.strip():
            continue
        last = raw.rsplit(",", 1)[-1]
        found, _ = _reader(name).get_client_ip({name: last}, strict=True)
        if found is not None:
            return _address(str(found))
    return None


@lru_cache(maxsize=len(FORWARDING_HEADERS))
def _reader(header: str) -> IpWare:
    return IpWare(precedence=(header,), proxy_count=0)


def client_address(request) -> str | None:
    """The address of the person making `request`, as text; None when unknown."""
    meta = request.META
    peer = _address(meta.get("REMOTE_ADDR"))
    if peer is None:
        return None
    if not any(peer in network for network in _trusted(tuple(settings.TRUSTED_PROXIES))):
        return str(peer)
    # A trusted proxy that forwarded nothing usable (its own health check):
    # the request is its own.
    return str(_forwarded(meta) or peer)


def client_key(request) -> str:
    """The address as a rate limit's key: never empty."""
    return client_address(request) or "unknown"

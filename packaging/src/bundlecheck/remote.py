"""A policy read from its address (``bundlecheck check --policy https://…/policy.toml``),
so a maintainer checks a bundle at home by exactly the rules the portal serves.

The fetch is bounded: http(s) only, one deadline for the whole transfer, and no more
than a policy's largest size read; what comes back is judged by the same loader as a
file. Only the command line uses it: the engine never reaches the network.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from .errors import PolicyError
from .policy import MAX_POLICY_BYTES

#: Seconds the whole fetch may take, redirects and body included.
DEADLINE = 20.0
_CHUNK = 16 * 1024


def is_url(name: str) -> bool:
    return urlsplit(name).scheme.lower() in {"http", "https"}


def fetch_policy(url: str, *, deadline: float = DEADLINE) -> tuple[str, str]:
    """(text, origin) of the policy at ``url``; PolicyError with the reason otherwise."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in {"http", "https"} or not parts.hostname:
        raise PolicyError(f"{url} is not an http(s) address of a policy")
    ends = time.monotonic() + deadline
    request = urllib.request.Request(
        url, headers={"User-Agent": "bundlecheck (policy fetch)", "Accept": "application/toml, text/plain"}
    )
    try:
        with urllib.request.urlopen(request, timeout=min(deadline, 10.0)) as response:
            if urlsplit(response.geturl()).scheme.lower() not in {"http", "https"}:
                raise PolicyError(f"{url} redirected away from http(s)")
            body = bytearray()
            while chunk := response.read1(_CHUNK):
                body += chunk
                if len(body) > MAX_POLICY_BYTES:
                    raise PolicyError(
                        f"{url} sent more than {MAX_POLICY_BYTES // 1024} KiB: that is not a policy"
                    )
                if time.monotonic() > ends:
                    raise PolicyError(f"{url} took longer than {deadline:g} s to send the policy")
    except urllib.error.HTTPError as error:
        raise PolicyError(f"{url} answered HTTP {error.code}: is the address right?") from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise PolicyError(f"cannot fetch {url}: {reason}") from None
    try:
        return bytes(body).decode("utf-8"), url
    except UnicodeDecodeError as error:
        raise PolicyError(f"{url} did not send UTF-8 text (byte {error.start})") from None

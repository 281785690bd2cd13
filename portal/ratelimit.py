"""Fixed-window rate limits kept in the cache (Redis in production, shared by all web processes)."""

from __future__ import annotations

import time

from django.core.cache import cache

from portal.errors import RateLimited


def rate_limit(scope: str, who: str, *, limit: int, window: int, what: str = "attempts") -> None:
    """Count one more action; raise RateLimited (429 with Retry-After) past `limit` per `window` s."""
    now = int(time.time())
    window_start = now - now % window
    key = f"ratelimit:{scope}:{who}:{window_start}"
    cache.add(key, 0, timeout=window + 5)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window + 5)
        count = 1
    if count > limit:
        raise RateLimited(retry_after=window_start + window - now or 1, what=what)

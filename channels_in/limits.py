"""Per-minute counters in Django's cache (locmem embedded, Redis in production):
how many messages one sender, visitor or address may send us a minute."""

from __future__ import annotations

from django.core.cache import cache


def admit(key: str, limit: int) -> bool:
    """Count one hit against the key's current minute; False once over `limit`."""
    # The window opens with the first hit and lasts a minute; incr keeps its expiry.
    cache.add(key, 0, timeout=60)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=60)
        count = 1
    return count <= limit

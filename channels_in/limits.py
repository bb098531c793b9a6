"""Per-minute counters in Django's cache (locmem embedded, Redis in production):
how many messages one sender, visitor or address may send us a minute."""

from __future__ import annotations

import time

from django.core.cache import cache

# A window's counter outlives its minute a little, then goes.
_KEEP_SECONDS = 120


def admit(key: str, limit: int) -> bool:
    """Count one hit against the key's current clock minute; False once over `limit`.

    Each minute has a counter of its own, so a counter that lost its expiry (Django's
    Redis incr is two commands: a key that expires between them comes back without
    one) can never hold a sender back past its minute.
    """
    window = f"{key}.{int(time.time() // 60)}"
    cache.add(window, 0, timeout=_KEEP_SECONDS)
    try:
        count = cache.incr(window)
    except ValueError:  # expired between add and incr
        cache.set(window, 1, timeout=_KEEP_SECONDS)
        count = 1
    if count == 1:
        # The first hit of the minute: make sure it expires, however it was created.
        cache.touch(window, _KEEP_SECONDS)
    return count <= limit

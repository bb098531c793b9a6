"""The per-minute counters behind the webhooks' and the widget's 429s."""

from datetime import UTC, datetime, timedelta

import time_machine
from django.core.cache import cache

from channels_in.limits import admit

MINUTE = datetime(2026, 11, 25, 9, 30, 5, tzinfo=UTC)


def test_a_sender_is_held_back_past_the_limit_and_admitted_again_the_next_minute():
    with time_machine.travel(MINUTE, tick=False) as clock:
        assert [admit("rate.test.a", 3) for _ in range(5)] == [True, True, True, False, False]
        clock.shift(timedelta(minutes=1))
        assert admit("rate.test.a", 3)


def test_a_counter_that_lost_its_expiry_holds_nobody_back_past_its_minute():
    with time_machine.travel(MINUTE, tick=False) as clock:
        admit("rate.test.b", 3)
        # What a Redis incr racing an expiry leaves behind: a count with no expiry at all.
        stale = f"rate.test.b.{int(MINUTE.timestamp() // 60)}"
        cache.set(stale, 999, timeout=None)
        assert not admit("rate.test.b", 3)

        clock.shift(timedelta(minutes=1))

        assert admit("rate.test.b", 3)

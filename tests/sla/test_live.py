"""A breach reaches the assignee's open pages at once, as a notice with ids only."""

from __future__ import annotations

from datetime import datetime

import pytest
import time_machine
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async

from tickets.changes import update_ticket
from tickets.sla import save_policy, sweep_sla

from ..agents.test_live import Socket
from .conftest import WARSAW

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_assignee_hears_of_a_breach_live(agent, manager, inbox, receive):
    save_policy(name="Fast", first_response_minutes=5)
    with time_machine.travel(datetime(2026, 11, 24, 10, 0, tzinfo=WARSAW), tick=False):
        ticket = receive(inbox).ticket
        update_ticket(ticket=ticket, actor=manager, assignee=agent)

    async def scenario():
        socket = Socket(agent)
        connected, _ = await socket.connect()
        assert connected
        with time_machine.travel(datetime(2026, 11, 24, 10, 6, tzinfo=WARSAW), tick=False):
            result = await database_sync_to_async(sweep_sla)()
        assert result.breached == 1
        notice = await socket.receive_json_from(timeout=3)
        assert notice == {
            "type": "notice",
            "ticket": ticket.pk,
            "customer": ticket.customer_id,
            "kind": "sla",
            "state": "breached",
            "clock": "first_response",
            "alert": True,
        }  # ids only
        await socket.disconnect()

    async_to_sync(scenario)()

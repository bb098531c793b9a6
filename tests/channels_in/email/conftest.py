from __future__ import annotations

import pytest
from django.core import mail as django_mail

from tickets.models import Ticket
from tickets.replies import record_reply


@pytest.fixture
def agent_reply(agent, django_capture_on_commit_callbacks):
    """agent_reply(ticket, text) -> the mail our reply went out as (Django's locmem outbox)."""

    def _reply(ticket: Ticket, text: str = "Dziękujemy, sprawdzamy to.", **fields):
        before = len(django_mail.outbox)
        with django_capture_on_commit_callbacks(execute=True):
            result = record_reply(ticket=ticket, author=agent, text=text, **fields)
        assert len(django_mail.outbox) == before + 1, result.message.delivery_error
        return django_mail.outbox[-1]

    return _reply

"""API fixtures: token clients for each role, inboxes on two real channels."""

from __future__ import annotations

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from agents.accounts import create_agent
from channels_in.inboxes import create_inbox
from tickets.merge import link_identity
from tickets.models import Channel, IdentityKind


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    """Agents are created with passwords in every test; the real hasher is slow on purpose."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _client_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get(user=user).key}")
    return client


@pytest.fixture
def admin(db):
    user, _ = create_agent(email="admin@example.com", password="correct-horse", role="admin")
    return user


@pytest.fixture
def api(agent):
    """The Support team's agent."""
    return _client_for(agent)


@pytest.fixture
def other_api(other_agent):
    """An agent of the Billing team."""
    return _client_for(other_agent)


@pytest.fixture
def manager_api(manager):
    return _client_for(manager)


@pytest.fixture
def admin_api(admin):
    return _client_for(admin)


@pytest.fixture
def anonymous():
    return APIClient()


@pytest.fixture
def email_inbox(db, team):
    return create_inbox(channel=Channel.EMAIL, name="Support mail", team=team)


@pytest.fixture
def sms_inbox(db, team):
    return create_inbox(channel=Channel.SMS, name="Support SMS", team=team)


@pytest.fixture
def jan(email_inbox, sms_inbox, receive):
    """A customer with two tickets on two channels: an email, then an SMS."""
    by_mail = receive(
        email_inbox,
        sender="jan@example.com",
        kind=IdentityKind.EMAIL,
        text="Order 1234 is late",
        subject="Order 1234",
    )
    customer = by_mail.ticket.customer
    link_identity(customer=customer, kind=IdentityKind.PHONE, value="+48600100200")
    by_sms = receive(sms_inbox, sender="+48600100200", kind=IdentityKind.PHONE, text="Any news?")
    assert by_sms.ticket.customer_id == customer.pk
    assert by_sms.ticket.pk != by_mail.ticket.pk
    return customer, by_mail.ticket, by_sms.ticket

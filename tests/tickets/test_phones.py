"""One customer across channels: phone numbers in one form (E.164), and identities
that join up when the phone proves itself or an agent links them."""

import pytest

from tickets.ingest import InboundMessage, SenderIdentity, ingest
from tickets.merge import MergeError, link_identity
from tickets.models import Channel, Identity, IdentityKind
from tickets.phones import display, to_e164

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize(
    "written, region, expected",
    [
        ("+48 601 234 567", None, "+48601234567"),
        ("601-234-567", "PL", "+48601234567"),
        ("0048601234567", "PL", "+48601234567"),
        ("601 234 567", "CZ", "+420601234567"),
        ("+420 601 234 567", "PL", "+420601234567"),
        ("12345", "PL", None),
        ("not a number", "PL", None),
        ("", "PL", None),
    ],
)
def test_numbers_are_read_in_the_default_region_and_stored_as_e164(written, region, expected):
    assert to_e164(written, region=region) == expected


def test_the_default_region_is_a_setting(settings):
    settings.PHONE_DEFAULT_REGION = "CZ"

    assert to_e164("601 234 567") == "+420601234567"
    assert display("+420601234567") == "+420 601 234 567"


def test_the_same_phone_written_two_ways_is_one_customer(team, receive):
    from channels_in.inboxes import create_inbox

    sms = create_inbox(channel=Channel.SMS, name="SMS", team=team)
    first = receive(sms, sender="+48601234567", kind=IdentityKind.PHONE)
    second = receive(sms, sender="601 234 567", kind=IdentityKind.PHONE)

    assert second.ticket.customer_id == first.ticket.customer_id
    assert Identity.objects.get(kind=IdentityKind.PHONE).value == "+48601234567"


def test_an_agent_links_a_number_in_any_format_and_the_texts_join_that_customer(team, receive):
    from channels_in.inboxes import create_inbox

    messenger = create_inbox(channel=Channel.MESSENGER, name="Facebook", team=team)
    sms = create_inbox(channel=Channel.SMS, name="SMS", team=team)
    on_messenger = receive(messenger, sender="7001002003", kind=IdentityKind.MESSENGER)
    customer = on_messenger.ticket.customer
    phone = link_identity(customer=customer, kind=IdentityKind.PHONE, value="601 234 567")
    assert (phone.value, phone.verified) == ("+48601234567", False)

    by_text = ingest(
        InboundMessage(
            inbox_id=sms.pk,
            channel=Channel.SMS,
            sender=SenderIdentity(kind=IdentityKind.PHONE, value="+48601234567", verified=True),
            external_id="SM" + "1" * 32,
            text="To ja, piszę z telefonu.",
        )
    )

    assert by_text.ticket.customer_id == customer.pk
    phone.refresh_from_db()
    assert phone.verified, "a text from the number proves the customer holds it"


def test_a_number_that_is_no_number_is_refused_with_the_reason(team, receive):
    from channels_in.inboxes import create_inbox

    customer = receive(create_inbox(channel=Channel.SMS, name="SMS", team=team)).ticket.customer

    with pytest.raises(MergeError, match="not a phone number"):
        link_identity(customer=customer, kind=IdentityKind.PHONE, value="12-34")
    assert not customer.identities.filter(kind=IdentityKind.PHONE).exists()


def test_a_number_of_another_customer_is_refused_and_merging_is_suggested(team, receive):
    from channels_in.inboxes import create_inbox

    sms = create_inbox(channel=Channel.SMS, name="SMS", team=team)
    owner = receive(sms, sender="+48601234567", kind=IdentityKind.PHONE).ticket.customer
    other = receive(sms, sender="+48500100200", kind=IdentityKind.PHONE).ticket.customer

    with pytest.raises(MergeError, match="merge the customers") as refused:
        link_identity(customer=other, kind=IdentityKind.PHONE, value="0048 601 234 567")
    assert f"#{owner.pk}" in str(refused.value)

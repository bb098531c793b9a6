"""Twilio's form bodies (payloads/*.form) beside what they parse to (*.json). No database."""

import json
from pathlib import Path

import pytest

from channels_in.adapters.sms import SmsAdapter
from channels_in.base import DeliveryReport
from channels_in.sms.keywords import keyword_of
from tickets.ingest import InboundMessage
from tickets.models import Channel, Inbox

PAYLOADS = Path(__file__).parent / "payloads"


def _as_dict(parsed) -> dict:
    if parsed is None:
        return {"kind": "nothing"}
    if isinstance(parsed, DeliveryReport):
        return {
            "kind": "report",
            "state": parsed.state,
            "external_id": parsed.external_id,
            "error": parsed.error,
        }
    assert isinstance(parsed, InboundMessage)
    return {
        "kind": "message",
        "sender": {
            "kind": parsed.sender.kind,
            "value": parsed.sender.value,
            "verified": parsed.sender.verified,
        },
        "external_id": parsed.external_id,
        "text": parsed.text,
        "is_automated": parsed.is_automated,
        "meta": parsed.meta,
    }


@pytest.mark.parametrize("name", sorted(p.stem for p in PAYLOADS.glob("*.form")))
def test_it_parses_each_payload_as_expected(name):
    body = (PAYLOADS / f"{name}.form").read_bytes().strip()
    expected = json.loads((PAYLOADS / f"{name}.json").read_text())

    parsed = SmsAdapter().parse(body, {}, Inbox(pk=7, channel=Channel.SMS))

    assert _as_dict(parsed) == expected
    if isinstance(parsed, InboundMessage):
        assert parsed.inbox_id == 7 and parsed.channel == Channel.SMS
        assert parsed.continues_conversation


@pytest.mark.parametrize(
    "body, keyword",
    [
        ("STOP", "stop"),
        ("stop", "stop"),
        ("  Stop\n", "stop"),
        *((word, "stop") for word in ("STOPALL", "unsubscribe", "Cancel", "END", "quit")),
        *((word, "stop") for word in ("REVOKE", "optout")),
        ("START", "start"),
        ("yes", "start"),
        ("Unstop", "start"),
        ("HELP", "help"),
        ("info", "help"),
        ("Stop it", None),
        ("STOP!", None),
        ("Please stop", None),
        ("", None),
        ("Dzień dobry", None),
    ],
)
def test_a_keyword_is_the_whole_message_in_any_case(body, keyword):
    assert keyword_of(body) == keyword

"""Meta's documented payloads (payloads/<name>.json), each beside what it parses
into (payloads/<name>.expected.json). No database: parsing is pure."""

from __future__ import annotations

import json

import pytest

from channels_in.adapters.messenger import MessengerAdapter
from channels_in.base import DeliveryReport
from channels_in.messenger import events
from tickets.ingest import InboundMessage
from tickets.models import Inbox

from .conftest import PAGE_ID, PAYLOADS, load

NAMES = sorted(
    p.name.removesuffix(".json") for p in PAYLOADS.glob("*.json") if ".expected" not in p.name
)


def describe(parsed) -> dict:
    if isinstance(parsed, InboundMessage):
        return {
            "ingest": {
                "channel": parsed.channel,
                "sender": [parsed.sender.kind, parsed.sender.value, parsed.sender.verified],
                "external_id": parsed.external_id,
                "text": parsed.text,
                "sent_at": parsed.sent_at.isoformat() if parsed.sent_at else None,
                "thread_hints": list(parsed.thread_hints),
                "continues_conversation": parsed.continues_conversation,
                "meta": parsed.meta,
            }
        }
    if isinstance(parsed, DeliveryReport):
        return {
            "report": {
                "state": parsed.state,
                "external_ids": list(parsed.external_ids),
                "recipient": list(parsed.recipient) if parsed.recipient else None,
                "until": parsed.until.isoformat() if parsed.until else None,
            }
        }
    assert parsed is None
    return {"ignored": True}


def parse_all(payload: dict) -> list[dict]:
    inbox = Inbox(pk=7, channel="messenger", config={"page_id": PAGE_ID})
    adapter = MessengerAdapter()
    found = []
    for event in events.read_webhook(json.dumps(payload).encode()):
        parsed = adapter.parse(event.stored_body(), {}, inbox)
        found.append({"key": event.key, **describe(parsed)})
    return found


@pytest.mark.parametrize("name", NAMES)
def test_it_parses_each_documented_payload_as_expected(name):
    expected = json.loads((PAYLOADS / f"{name}.expected.json").read_text())

    assert parse_all(load(name)) == expected


def test_it_ignores_an_event_of_another_page():
    payload = load("text_message")
    payload["entry"][0]["id"] = "999999999999999"

    assert parse_all(payload) == [
        {"key": payload["entry"][0]["messaging"][0]["message"]["mid"], "ignored": True}
    ]


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        json.dumps({"object": "instagram", "entry": []}).encode(),
        json.dumps({"object": "page"}).encode(),
        json.dumps({"object": "page", "entry": {"id": PAGE_ID}}).encode(),
        json.dumps({"object": "page", "entry": ["x"]}).encode(),
        json.dumps({"object": "page", "entry": [{"id": PAGE_ID, "messaging": {}}]}).encode(),
    ],
)
def test_it_refuses_what_is_not_a_page_webhook(body):
    from channels_in.base import MalformedError

    with pytest.raises(MalformedError):
        events.read_webhook(body)


def test_an_event_it_does_not_know_is_kept_apart_not_refused():
    payload = {
        "object": "page",
        "entry": [
            {
                "id": PAGE_ID,
                "time": 1,
                "messaging": [
                    {
                        "sender": {"user_ref": "guest"},
                        "recipient": {"id": PAGE_ID},
                        "timestamp": 5,
                        "message": {"mid": "m_guest", "text": "hi"},
                    },
                    {
                        "sender": {"id": "42"},
                        "recipient": {"id": PAGE_ID},
                        "timestamp": 6,
                        "optin": {"ref": "x"},
                    },
                ],
            }
        ],
    }

    found = events.read_webhook(json.dumps(payload).encode())

    assert [(e.kind, e.key) for e in found] == [("other", "other::5"), ("other", "other:42:6")]

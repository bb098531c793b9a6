"""Messenger fixtures: a page's inbox, webhooks signed the way Meta signs them
(HMAC-SHA256 of the raw body with the app secret, `X-Hub-Signature-256: sha256=<hex>`),
and the Graph API on the local stand-in (tests/providers.py)."""

from __future__ import annotations

import copy
import hashlib
import hmac
import itertools
import json
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from channels_in.inboxes import create_inbox
from channels_in.messenger.events import to_event
from channels_in.registry import get_adapter
from tickets.ingest import ingest
from tickets.models import Channel

PAYLOADS = Path(__file__).parent / "payloads"
PAGE_ID = "112233445566778"
PSID = "2468013579135791"
APP_SECRET = "a3f5e1c9d2b74e0f8a6c1d3e5f7a9b2c"
PAGE_TOKEN = "EAAGm0PX4ZCpsBAPageToken123"
_mids = itertools.count(1)


def load(name: str) -> dict:
    """A webhook body as Meta documents it (payloads/<name>.json)."""
    return json.loads((PAYLOADS / f"{name}.json").read_text())


def sign(body: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def new_mid() -> str:
    return f"m_test_{next(_mids)}_AG5Hz2Uq7tuwNEhXfYYK"


def now_ms(delta: timedelta = timedelta(0)) -> int:
    return int((timezone.now() + delta).timestamp() * 1000)


def webhook(*events: dict) -> dict:
    """Meta's envelope: one entry per event, as Meta batches them."""
    return {
        "object": "page",
        "entry": [{"id": PAGE_ID, "time": now_ms(), "messaging": [event]} for event in events],
    }


def message_event(
    text: str = "Dzień dobry, mam pytanie o zamówienie.",
    *,
    mid: str | None = None,
    psid: str = PSID,
    attachments: list[dict] | None = None,
) -> dict:
    message: dict = {"mid": mid or new_mid()}
    if text:
        message["text"] = text
    if attachments:
        message["attachments"] = attachments
    return {
        "sender": {"id": psid},
        "recipient": {"id": PAGE_ID},
        "timestamp": now_ms(),
        "message": message,
    }


def receipt_event(kind: str, *, watermark: int, mids: list[str] | None = None) -> dict:
    """A `delivery` (with its mids) or `read` event of the customer PSID."""
    report: dict = {"watermark": watermark}
    if mids is not None:
        report["mids"] = mids
    event = {"sender": {"id": PSID}, "recipient": {"id": PAGE_ID}, kind: report}
    if kind == "read":
        event["timestamp"] = watermark + 1
    return event


@pytest.fixture
def page_inbox(db, team):
    return create_inbox(
        channel=Channel.MESSENGER,
        name="Facebook page",
        team=team,
        config={"page_id": PAGE_ID},
        secrets={"app_secret": APP_SECRET, "page_access_token": PAGE_TOKEN},
    )


@pytest.fixture
def graph(provider_api, settings):
    """Meta's Graph API on the stand-in, answering the Send API and profile reads.

    .send_path and .profile_path match those requests; .version is the API version.
    """
    version = settings.META_GRAPH_API_VERSION
    provider_api.send_path = rf"^/{version}/me/messages$"
    provider_api.profile_path = rf"^/{version}/{PSID}$"
    provider_api.version = version
    provider_api.answer(
        "GET",
        provider_api.profile_path,
        json_body={
            "first_name": "Jiří",
            "last_name": "Svoboda",
            "name": "Jiří Svoboda",
            "id": PSID,
        },
    )
    provider_api.answer(
        "POST",
        provider_api.send_path,
        json_body={"recipient_id": PSID, "message_id": "m_sent_by_default"},
    )
    return provider_api


@pytest.fixture
def post_webhook(client):
    """post_webhook(inbox, payload, signature=<Meta's>) -> the response.

    A dict is sent as JSON; bytes as they are. Signed with the inbox's app secret
    unless a signature is given ("" sends no header).
    """

    def _post(inbox, payload, *, signature=None, **extra):
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        if signature is None:
            signature = sign(body, inbox.secrets["app_secret"])
        headers = {"HTTP_X_HUB_SIGNATURE_256": signature} if signature else {}
        return client.post(
            f"/inbound/messenger/{inbox.key}/",
            data=body,
            content_type="application/json",
            **headers,
            **extra,
        )

    return _post


@pytest.fixture
def customer_writes(page_inbox):
    """customer_writes(text, hours_ago=0, mid=None) -> IngestResult.

    A Messenger message parsed by the adapter and ingested as having reached us
    `hours_ago` hours ago (InboundMessage.received_at): how the reply window is
    tested without waiting a day.
    """
    adapter = get_adapter(Channel.MESSENGER)

    def _writes(text="Dzień dobry, mam pytanie.", *, hours_ago=0.0, mid=None):
        event = to_event(copy.deepcopy(message_event(text, mid=mid)), page_id=PAGE_ID)
        inbound = adapter.parse(event.stored_body(), {}, page_inbox)
        at = timezone.now() - timedelta(hours=hours_ago)
        return ingest(replace(inbound, received_at=at), inbox=page_inbox)

    return _writes

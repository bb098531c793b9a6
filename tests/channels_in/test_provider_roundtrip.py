"""SMS and Messenger end to end, through a real served helpdesk and its real worker.

A signed Twilio webhook and a signed Meta webhook reach the running server; the
agent answers through the REST API; the worker sends through the real `twilio`
client and our Send API code to a local stand-in for the providers' APIs (the
only part replaced: it lies beyond our network edge); the providers' status
callbacks come back signed and the agent sees the delivery state. In the suite's
production topology (PostgreSQL and Redis) the worker is a separate Celery process.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import urlencode

import pytest
from twilio.request_validator import RequestValidator

from tests.providers import ProviderStub
from tests.servers import (
    celery_worker,
    free_port,
    kill_serving,
    manage,
    production_env,
    production_topology,
    server_env,
    start_serving,
)

ACCOUNT = "AC" + "1" * 32
TWILIO_TOKEN = "twilio-auth-token-of-the-test-account"
APP_SECRET = "meta-app-secret-of-the-test-app"
PAGE = "105800001234567"
PSID = "6051234567890123"
CUSTOMER_PHONE = "+48601234567"


class Helpdesk:
    def __init__(self, env: dict, port: int, log: Path) -> None:
        self.env, self.port, self.log = env, port, log
        self.base = f"http://127.0.0.1:{port}"
        self.process = None

    def call(self, method: str, path: str, *, body: bytes = b"", headers=None):
        request = urllib.request.Request(
            self.base + path, data=body or None, method=method, headers=headers or {}
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.headers.get("Content-Type", ""), response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.headers.get("Content-Type", ""), error.read()

    def api(self, method: str, path: str, payload: dict | None = None):
        status, _type, body = self.call(
            method,
            "/api/v1/" + path,
            body=json.dumps(payload).encode() if payload is not None else b"",
            headers={
                "Authorization": f"Token {self.token}",
                "Content-Type": "application/json",
                "Accept-Language": "en",
            },
        )
        return status, json.loads(body or b"null")

    def sms(self, key: str, params: dict):
        path = f"/inbound/sms/{key}/"
        signature = RequestValidator(TWILIO_TOKEN).compute_signature(self.base + path, params)
        return self.call(
            "POST",
            path,
            body=urlencode(params).encode(),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Twilio-Signature": signature,
            },
        )

    def messenger(self, key: str, events: list[dict]):
        body = json.dumps(
            {"object": "page", "entry": [{"id": PAGE, "time": _ms(), "messaging": events}]}
        ).encode()
        digest = hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
        return self.call(
            "POST",
            f"/inbound/messenger/{key}/",
            body=body,
            headers={"Content-Type": "application/json", "X-Hub-Signature-256": f"sha256={digest}"},
        )


def _ms() -> int:
    return int(time.time() * 1000)


def _until(condition, what: str, timeout: float = 20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def stub() -> Iterator[ProviderStub]:
    provider = ProviderStub().start()
    yield provider
    provider.stop()


@pytest.fixture(scope="module")
def helpdesk(tmp_path_factory, stub) -> Iterator[Helpdesk]:
    tmp = tmp_path_factory.mktemp("roundtrip")
    port = free_port()
    extra = {
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "TWILIO_API_BASE_URL": stub.base_url,
        "META_GRAPH_API_BASE_URL": stub.base_url,
        "MESSENGER_MEDIA_HOSTS": "127.0.0.1",
    }
    with ExitStack() as stack:
        production = production_topology()
        env = (
            stack.enter_context(production_env(tmp, **extra))
            if production
            else server_env(tmp, **extra)
        )
        manage(env, "migrate", "--no-input", "-v0")
        desk = Helpdesk(env, port, tmp / "server.log")
        agent = json.loads(
            manage(env, "create_agent", "ola@shop.example", "--password", "pass-2026-x",
                   "--role", "agent", "--team", "Support")
        )  # fmt: skip
        desk.token = agent["api_token"]
        desk.sms_key = json.loads(
            manage(env, "create_inbox", "sms", "--name", "SMS PL", "--language", "pl",
                   "--team", "Support", "--account-sid", ACCOUNT, "--auth-token", TWILIO_TOKEN,
                   "--from-number", "+48500600700")
        )["key"]  # fmt: skip
        desk.messenger_key = json.loads(
            manage(env, "create_inbox", "messenger", "--name", "Messenger", "--team", "Support",
                   "--page-id", PAGE, "--page-access-token", "EAAG-page-token",
                   "--app-secret", APP_SECRET)
        )["key"]  # fmt: skip
        if production:
            stack.enter_context(celery_worker(env, tmp / "worker.log"))
        desk.process = start_serving(env, port, desk.log)
        try:
            yield desk
        finally:
            kill_serving(desk.process)
            print(f"--- server log ---\n{desk.log.read_text(errors='replace')[-4000:]}")


def _messages(desk: Helpdesk, ticket: int) -> list[dict]:
    status, body = desk.api("GET", f"tickets/{ticket}/messages/")
    assert status == 200, body
    return body["results"] if isinstance(body, dict) else body


def _out(desk: Helpdesk, ticket: int, message: int) -> dict:
    return next(m for m in _messages(desk, ticket) if m["id"] == message)


def test_a_text_reaches_the_timeline_once_and_the_reply_comes_back_delivered(helpdesk, stub):
    sid = "SM" + "a" * 32
    stub.answer(
        "POST",
        rf"/2010-04-01/Accounts/{ACCOUNT}/Messages\.json$",
        status=201,
        json_body={"sid": "SM" + "b" * 32, "status": "queued", "account_sid": ACCOUNT},
    )
    params = {
        "AccountSid": ACCOUNT, "ApiVersion": "2010-04-01", "MessageSid": sid, "SmsSid": sid,
        "SmsStatus": "received", "From": CUSTOMER_PHONE, "To": "+48500600700",
        "Body": "Dzień dobry, gdzie jest moja paczka?", "NumMedia": "0", "NumSegments": "1",
    }  # fmt: skip

    first = helpdesk.sms(helpdesk.sms_key, params)
    again = helpdesk.sms(helpdesk.sms_key, params)

    assert first[0] == 200 and first[1].startswith("text/xml"), first
    assert again[0] == 200
    status, tickets = helpdesk.api("GET", "tickets/?channel=sms")
    assert status == 200
    (ticket,) = tickets["results"]
    inbound = [m for m in _messages(helpdesk, ticket["id"]) if m["direction"] == "in"]
    assert [m["text"] for m in inbound] == ["Dzień dobry, gdzie jest moja paczka?"]

    status, reply = helpdesk.api(
        "POST", f"tickets/{ticket['id']}/replies/", {"text": "Paczka wyjechała dziś rano."}
    )
    assert status == 201, reply
    sent = _until(lambda: stub.received("POST", r"/Messages\.json$"), "the SMS to reach Twilio")
    form = sent[0].form
    assert form["To"] == [CUSTOMER_PHONE] and form["From"] == ["+48500600700"]
    assert form["Body"] == ["Paczka wyjechała dziś rano."]
    assert form["StatusCallback"] == [f"{helpdesk.base}/inbound/sms/{helpdesk.sms_key}/"]
    assert sent[0].headers["authorization"].startswith("Basic ")
    _until(
        lambda: _out(helpdesk, ticket["id"], reply["id"])["external_id"] == "SM" + "b" * 32,
        "the reply to carry Twilio's sid",
    )

    for state in ("sent", "delivered"):
        callback = {
            "AccountSid": ACCOUNT, "MessageSid": "SM" + "b" * 32, "SmsSid": "SM" + "b" * 32,
            "MessageStatus": state, "SmsStatus": state, "To": CUSTOMER_PHONE,
            "From": "+48500600700", "ApiVersion": "2010-04-01",
        }  # fmt: skip
        assert helpdesk.sms(helpdesk.sms_key, callback)[0] == 200
    assert _out(helpdesk, ticket["id"], reply["id"])["delivery_state"] == "delivered"


def test_after_stop_no_text_of_ours_goes_to_the_number(helpdesk, stub):
    phone = "+48601999888"
    stop = {
        "AccountSid": ACCOUNT, "ApiVersion": "2010-04-01", "MessageSid": "SM" + "c" * 32,
        "SmsStatus": "received", "From": phone, "To": "+48500600700", "Body": "STOP",
        "NumMedia": "0",
    }  # fmt: skip
    assert helpdesk.sms(helpdesk.sms_key, stop)[0] == 200
    ticket = next(
        t
        for t in helpdesk.api("GET", "tickets/?channel=sms")[1]["results"]
        if t["preview"] == "STOP"
    )
    before = len(stub.received("POST", r"/Messages\.json$"))

    status, refused = helpdesk.api("POST", f"tickets/{ticket['id']}/replies/", {"text": "Halo?"})

    assert status == 400, refused
    assert "STOP" in refused["detail"]
    time.sleep(1)
    assert len(stub.received("POST", r"/Messages\.json$")) == before


def test_a_messenger_message_reaches_the_timeline_once_and_the_reply_is_read(helpdesk, stub):
    stub.answer("GET", rf"/{PSID}$", json_body={"first_name": "Jana", "last_name": "Dvořáková",
                                               "name": "Jana Dvořáková", "id": PSID})  # fmt: skip
    stub.answer(
        "POST",
        r"/me/messages$",
        json_body={"recipient_id": PSID, "message_id": "m_reply-1"},
    )
    event = {
        "sender": {"id": PSID}, "recipient": {"id": PAGE}, "timestamp": _ms(),
        "message": {"mid": "m_customer-1", "text": "Dobrý den, kdy přijde moje objednávka?"},
    }  # fmt: skip

    assert helpdesk.messenger(helpdesk.messenger_key, [event])[0] == 200
    assert helpdesk.messenger(helpdesk.messenger_key, [event])[0] == 200
    status, tickets = helpdesk.api("GET", "tickets/?channel=messenger")
    (ticket,) = tickets["results"]
    assert [m["text"] for m in _messages(helpdesk, ticket["id"]) if m["direction"] == "in"] == [
        "Dobrý den, kdy přijde moje objednávka?"
    ]
    _until(
        lambda: (
            helpdesk.api("GET", f"customers/{ticket['customer']['id']}/")[1]["name"]
            == "Jana Dvořáková"
        ),
        "the sender's name from the Graph API",
    )

    status, reply = helpdesk.api(
        "POST", f"tickets/{ticket['id']}/replies/", {"text": "Zítra dopoledne."}
    )
    assert status == 201, reply
    sent = _until(lambda: stub.received("POST", r"/me/messages$"), "the Send API call")
    assert sent[0].json() == {
        "recipient": {"id": PSID},
        "messaging_type": "RESPONSE",
        "message": {"text": "Zítra dopoledne."},
    }
    assert sent[0].query["access_token"] == ["EAAG-page-token"]
    _until(
        lambda: _out(helpdesk, ticket["id"], reply["id"])["external_id"] == "m_reply-1",
        "the reply to carry Meta's mid",
    )
    receipts = [
        {"sender": {"id": PSID}, "recipient": {"id": PAGE}, "timestamp": _ms(),
         "delivery": {"mids": ["m_reply-1"], "watermark": _ms()}},
        {"sender": {"id": PSID}, "recipient": {"id": PAGE}, "timestamp": _ms(),
         "read": {"watermark": _ms() + 1000}},
    ]  # fmt: skip
    assert helpdesk.messenger(helpdesk.messenger_key, receipts)[0] == 200
    assert _out(helpdesk, ticket["id"], reply["id"])["delivery_state"] == "read"
    assert len(stub.received("GET", rf"/{PSID}$")) == 1, "the profile is asked for once"

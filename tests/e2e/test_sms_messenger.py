"""SMS and Messenger in the reply box, in a real browser against the real server.

A Polish text arrives as Twilio posts it (signed over the public URL); the agent
answers and watches the SMS counter: UCS-2 because of the Polish letters, then a
second segment. The script's count is checked against the Python reference
(channels_in/sms/segments.py) on the same texts. A Messenger conversation whose
customer last wrote 30 hours ago explains the 24-hour window, offers the Human
agent tag and, once the agent adds a phone number in the sidebar, the SMS way
out. Twilio and Meta are the local stand-in (tests/providers.py).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.request
from urllib.parse import urlencode

import pytest
from twilio.request_validator import RequestValidator

from channels_in.sms.segments import segments
from tests.providers import ProviderStub

from .test_agent_flow import (
    EMAIL,
    PASSWORD,
    SHOTS,
    _manage,
    _running_server,
    _sign_in,
    _wait_live,
)

pytestmark = pytest.mark.e2e

# The URL Twilio was given: it signs its webhooks over it, whatever host serves them.
PUBLIC = "https://helpdesk.e2e.example"
ACCOUNT = "AC" + "0" * 32
AUTH_TOKEN = "e2e-twilio-auth-token"
OUR_NUMBER = "+48500600700"
KASIA = "+48601234567"
PSID = "2468013579135791"
PAGE_ID = "112233445566778"
APP_SECRET = "e2e-app-secret"
GREETING = "Dzień dobry, paczka wyszła dziś."
MORE = " Kurier dostarczy ją jutro do 12:00, kod odbioru przyjdzie SMS-em."

# Texts the script and the Python reference must count alike.
SAME_COUNT = [
    "",
    GREETING,
    GREETING + MORE,
    "Hello, your parcel left today.",
    "a" * 160,
    "a" * 161,
    "€" * 80,
    "€" * 81,
    "a" * 152 + "€" + "a" * 10,  # the escape and its € stay in one part
    "Příliš žluťoučký kůň úpěl ďábelské ódy.",
    "😀" * 35,
    "😀" * 36,
    "x" * 66 + "😀" + "y" * 10,  # a surrogate pair is never split
    "line\nbreak [1] {a} ~b^ |c\\ ",
    "tab\tand\u00a0no-break space",
]


@pytest.fixture(scope="module")
def providers():
    stub = ProviderStub().start()
    yield stub
    stub.stop()


@pytest.fixture(scope="module")
def channel_server(tmp_path_factory, providers):
    env = {
        "PUBLIC_BASE_URL": PUBLIC,
        "TWILIO_API_BASE_URL": providers.base_url,
        "META_GRAPH_API_BASE_URL": providers.base_url,
    }
    with _running_server(tmp_path_factory.mktemp("e2e-sms"), env) as server:
        _manage(
            server.env, "create_agent", EMAIL, "--password", PASSWORD, "--role", "agent",
            "--team", "Support", "--name", "Eva Nováková",
        )  # fmt: skip
        sms = json.loads(
            _manage(
                server.env,
                "create_inbox",
                "sms",
                "--name",
                "SMS +48",
                "--language",
                "pl",
                "--team",
                "Support",
                "--account-sid",
                ACCOUNT,
                "--from-number",
                OUR_NUMBER,
                "--auth-token",
                AUTH_TOKEN,
            )  # fmt: skip
        )
        page = json.loads(
            _manage(
                server.env,
                "create_inbox",
                "messenger",
                "--name",
                "Facebook page",
                "--team",
                "Support",
                "--page-id",
                PAGE_ID,
                "--page-access-token",
                "EAAe2eToken",
                "--app-secret",
                APP_SECRET,
            )  # fmt: skip
        )
        server.inbox_key, server.page_key = sms["key"], page["key"]
        yield server


def _text_us(server, body: str, sender: str = KASIA) -> None:
    """A text to our number, posted and signed the way Twilio does."""
    sid = f"SM{time.time_ns():032x}"[:34]
    params = {
        "MessageSid": sid,
        "SmsSid": sid,
        "AccountSid": ACCOUNT,
        "From": sender,
        "To": OUR_NUMBER,
        "Body": body,
        "NumMedia": "0",
        "SmsStatus": "received",
        "ApiVersion": "2010-04-01",
    }
    path = f"/inbound/sms/{server.inbox_key}/"
    request = urllib.request.Request(
        server.base + path,
        data=urlencode(params).encode(),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": RequestValidator(AUTH_TOKEN).compute_signature(
                PUBLIC + path, params
            ),
        },
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=20) as response:
        assert response.status == 200, response.status


def _messenger_wrote(server, text: str, *, hours_ago: int) -> int:
    """A Messenger message that reached us `hours_ago` hours ago, through ingest()
    (a webhook is always now); the ticket's id."""
    code = f"""
from datetime import timedelta
from django.utils import timezone
from tickets.ingest import InboundMessage, SenderIdentity, ingest
from tickets.models import Inbox
inbox = Inbox.objects.get(channel="messenger")
result = ingest(InboundMessage(
    inbox_id=inbox.pk, channel="messenger",
    sender=SenderIdentity(kind="messenger", value={PSID!r}, name="Jiří Svoboda"),
    external_id="m_e2e_late", text={text!r},
    received_at=timezone.now() - timedelta(hours={hours_ago}),
    meta={{"messenger": {{"psid": {PSID!r}}}}},
))
print(result.ticket.pk)
"""
    return int(_manage(server.env, "shell", "-v0", "-c", code).strip())


def _messenger_webhook(server, text: str) -> None:
    """A message event as Meta posts it, signed with the app secret."""
    now = int(time.time() * 1000)
    body = json.dumps(
        {
            "object": "page",
            "entry": [
                {
                    "id": PAGE_ID,
                    "time": now,
                    "messaging": [
                        {
                            "sender": {"id": PSID},
                            "recipient": {"id": PAGE_ID},
                            "timestamp": now,
                            "message": {"mid": f"m_e2e_{now}", "text": text},
                        }
                    ],
                }
            ],
        }
    ).encode()
    signature = hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
    request = urllib.request.Request(
        f"{server.base}/inbound/messenger/{server.page_key}/",
        data=body,
        headers={"Content-Type": "application/json", "X-Hub-Signature-256": f"sha256={signature}"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=20) as response:
        assert response.status == 200, response.status


def _meter_line(text: str) -> str:
    """What the counter says for `text`, from the Python reference."""
    count = segments(text)
    used_in_last = count.units - count.per_segment * (count.count - 1)
    noun = "segment" if count.count == 1 else "segments"
    return f"{count.count} SMS {noun} · {count.per_segment - used_in_last} characters left"


def test_an_agent_answers_by_sms_and_meets_messengers_window(
    channel_server, providers, browser, tmp_path
):
    from playwright.sync_api import expect

    server = channel_server
    _text_us(server, "Dzień dobry, czy moja paczka PL-20931 już wyszła?")
    late = _messenger_wrote(server, "Dobrý den, kde je moje zásilka?", hours_ago=30)
    providers.answer(
        "POST",
        rf"^/2010-04-01/Accounts/{ACCOUNT}/Messages\.json$",
        status=201,
        json_body={"sid": "SM" + "e2e0" * 8, "status": "queued", "account_sid": ACCOUNT},
    )
    providers.answer(
        "POST", r"/me/messages$", json_body={"recipient_id": PSID, "message_id": "m_e2e_sent"}
    )

    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        _sign_in(page, server.base)
        page.locator("#ticket-rows .row-link").filter(has_text="PL-20931").click()
        _wait_live(page)

        # The conversation is on SMS; "Send via" says which number the reply goes to.
        expect(page.locator("#ticket-header")).to_contain_text("Now on SMS")
        channel = page.locator("#reply_channel")
        expect(channel).to_have_value("sms")
        expect(channel.locator("option:checked")).to_have_text("SMS · +48 601 234 567")
        expect(page.locator(".identities")).to_contain_text("+48 601 234 567")
        expect(page.locator(".identities")).to_contain_text("Verified")

        # Polish letters make it UCS-2: 70 characters, and the counter names them.
        meter = page.locator("#reply-meter")
        page.locator("#reply_text").click()
        page.keyboard.type(GREETING)
        expect(meter).to_be_visible()
        expect(meter).to_contain_text(_meter_line(GREETING))
        expect(meter).to_contain_text("1 SMS segment · 38 characters left in this segment")
        expect(meter).to_contain_text(
            "Unicode (UCS-2) because of ń, ł, ś — 70 characters per segment"
        )
        page.keyboard.type(MORE)
        expect(meter).to_contain_text(_meter_line(GREETING + MORE))
        expect(meter).to_contain_text("2 SMS segments")
        expect(meter).to_contain_text("67 characters per segment")
        # Said aloud once, when it became two segments (not on every key).
        expect(page.locator("[data-meter-live]")).to_contain_text("2 SMS segments")

        # The script counts as the Python reference does.
        for text in SAME_COUNT:
            js = page.evaluate("text => window.helpdeskSmsSegments(text)", text)
            py = segments(text)
            assert (js["encoding"], js["units"], js["count"], js["perSegment"]) == (
                py.encoding,
                py.units,
                py.count,
                py.per_segment,
            ), text
            assert tuple(js["nonGsm"]) == py.non_gsm_chars, text

        page.screenshot(path=str(SHOTS / "ticket-sms.png"))

        # Sent, it goes to Twilio as written.
        page.locator("#reply-form button[value='send']").click()
        sent = page.locator("#timeline .msg-out").filter(has_text="kod odbioru")
        expect(sent).to_have_count(1)
        expect(sent.locator(".delivery")).to_have_class("delivery delivery-sent", timeout=20_000)
        to_twilio = providers.received("POST", r"/Messages\.json$")
        assert to_twilio[-1].form["Body"] == [GREETING + MORE]
        assert to_twilio[-1].form["To"] == [KASIA]

        # Messenger, 30 hours after the customer's last message: the reason and the tag.
        page.goto(f"{server.base}/agent/tickets/{late}/")
        _wait_live(page)
        notice = page.locator('[data-reach-for="messenger"]')
        expect(notice).to_be_visible()
        expect(notice).to_contain_text("A reply by Messenger cannot go now.")
        expect(notice).to_contain_text("within 24 hours of the customer's last message")
        tag = page.get_by_label("Human agent tag — a person answering within 7 days")
        expect(tag).to_be_enabled()
        expect(tag).not_to_be_checked()
        expect(page.locator("#reply_channel option:checked")).to_have_text(
            "Messenger (needs a message tag)"
        )
        page.screenshot(path=str(tmp_path / "messenger-window.png"))

        # Sent without the tag: refused with the reason, the text kept, nothing stored.
        page.locator("#reply_text").fill("Dobrý den, zásilka je na cestě.")
        page.locator("#reply-form button[value='send']").click()
        errors = page.locator("#reply-form .form-errors")
        expect(errors).to_contain_text("Messenger only allows replies within 24 hours")
        expect(errors).to_be_focused()
        expect(page.locator("#reply_text")).to_have_value("Dobrý den, zásilka je na cestě.")
        expect(page.locator("#timeline .msg-out")).to_have_count(0)
        page.screenshot(path=str(tmp_path / "messenger-refused.png"))

        # A phone number added in the sidebar (written the Czech way) is a way out.
        page.locator("#add-contact summary").click()
        page.get_by_label("Number or address").fill("+420 601 234 567")
        page.get_by_role("button", name="Add contact").click()
        expect(page.locator("#flash")).to_contain_text("+420 601 234 567 was added")
        expect(page.locator(".identities")).to_contain_text("Unverified")
        switch = page.get_by_role("button", name="Reply by SMS instead")
        expect(switch).to_be_visible()
        page.screenshot(path=str(tmp_path / "messenger-way-out.png"))
        page.set_viewport_size({"width": 390, "height": 844})
        page.locator("#reply-reach").scroll_into_view_if_needed()
        page.screenshot(path=str(tmp_path / "messenger-phone.png"), full_page=True)
        page.set_viewport_size({"width": 1280, "height": 800})
        switch.click()
        expect(page.locator("#reply_channel")).to_have_value("sms")
        expect(page.locator("#reply_channel")).to_be_focused()
        expect(notice).to_be_hidden()
        page.locator("#reply_text").fill("Dobrý den")
        expect(page.locator("#reply-meter")).to_contain_text("1 SMS segment")

        # Back on Messenger, with the Human agent tag, the reply goes.
        page.locator("#reply_channel").select_option("messenger")
        expect(notice).to_be_visible()
        expect(page.locator("#reply-meter")).to_be_hidden()
        page.get_by_label("Human agent tag — a person answering within 7 days").check()
        page.locator("#reply_text").fill("Dobrý den, zásilka je na cestě.")
        page.locator("#reply-form button[value='send']").click()
        tagged = page.locator("#timeline .msg-out").filter(has_text="zásilka je na cestě")
        expect(tagged).to_have_count(1)
        expect(tagged.locator(".delivery")).to_have_class("delivery delivery-sent", timeout=20_000)
        to_meta = providers.received("POST", r"/me/messages$")[-1].json()
        assert to_meta["messaging_type"] == "MESSAGE_TAG" and to_meta["tag"] == "HUMAN_AGENT"
        assert to_meta["recipient"] == {"id": PSID}

        # The customer answers on Messenger: the window is open again, live.
        _messenger_webhook(server, "Děkuji, počkám.")
        expect(page.locator("#timeline")).to_contain_text("Děkuji, počkám.", timeout=15_000)
        expect(notice).to_contain_text("Messenger window closes in 23 h")
        expect(page.locator('#reply_channel option[value="messenger"]')).to_have_text("Messenger")
        expect(
            page.get_by_label("Human agent tag — a person answering within 7 days")
        ).to_have_count(0)
    finally:
        context.close()

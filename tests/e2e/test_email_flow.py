"""Email end to end in a real browser: a mail arrives over the webhook, an agent answers
it in the UI, and the reply that reaches a real SMTP server threads in the customer's
mail client; the customer's answer comes back into the same ticket, live."""

from __future__ import annotations

import json
import time
import urllib.request
from email import message_from_bytes, policy
from email.header import Header
from email.utils import format_datetime

import pytest
from django.utils import timezone

from channels_in.email import threads
from tests.mailservers import RecordingSMTPServer

from .test_agent_flow import (
    EMAIL,
    PASSWORD,
    _manage,
    _running_server,
    _sign_in,
    _wait_live,
)

pytestmark = pytest.mark.e2e

ADDRESS = "podpora@obchod.example"


def _outlook_mail(*, message_id: str, subject: str, text: str, in_reply_to: str = "") -> bytes:
    """Shaped like Outlook for Windows sends it (Thread-Index, quoted-printable, windows-1250)."""
    threading = (
        f"In-Reply-To: <{in_reply_to}>\r\nReferences: <{in_reply_to}>\r\n" if in_reply_to else ""
    )
    body = text.encode("windows-1250")
    quoted = "".join(f"={b:02X}" if b > 127 or b == 61 else chr(b) for b in body)
    return (
        "From: =?windows-1250?Q?Kate=F8ina_Dvo=F8=E1kov=E1?= <katerina@firma.example>\r\n"
        f"To: Podpora <{ADDRESS}>\r\n"
        f"Subject: {Header(subject, 'windows-1250').encode()}\r\n"
        f"Date: {format_datetime(timezone.now())}\r\n"
        f"Message-ID: <{message_id}>\r\n"
        f"{threading}"
        "Thread-Index: AdjP1e7C8w2x9Q3KRe2Vb0t+1nXf6Q==\r\n"
        "Content-Language: cs-CZ\r\n"
        "X-Mailer: Microsoft Outlook 16.0\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: text/plain; charset="windows-1250"\r\n'
        "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
        f"{quoted}\r\n"
    ).encode("ascii")


def _post_mail(base: str, key: str, token: str, raw: bytes) -> dict:
    request = urllib.request.Request(
        f"{base}/inbound/email/{key}/",
        data=raw,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "message/rfc822"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=20) as response:
        assert response.status == 202, response.status
        return json.loads(response.read())


@pytest.fixture(scope="module")
def smtp():
    server = RecordingSMTPServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def mail_server(tmp_path_factory, smtp):
    env = {"EMAIL_URL": f"smtp://127.0.0.1:{smtp.port}"}
    with _running_server(tmp_path_factory.mktemp("e2e-mail"), extra_env=env) as server:
        _manage(
            server.env, "create_agent", EMAIL, "--password", PASSWORD, "--role", "agent",
            "--team", "Support", "--name", "Eva Nováková",
        )  # fmt: skip
        inbox = json.loads(
            _manage(server.env, "create_inbox", "email", "--name", "Podpora", "--team", "Support")
        )
        _manage(
            server.env, "shell", "-c",
            "from tickets.models import Inbox; "
            f"Inbox.objects.filter(key={inbox['key']!r}).update("
            f"config={{'address': {ADDRESS!r}, 'from_name': 'Obchod podpora'}})",
        )  # fmt: skip
        server.inbox_key, server.token = inbox["key"], inbox["secrets"]["token"]
        yield server


def test_an_agents_reply_threads_in_the_customers_mail_client(mail_server, smtp, browser):
    from playwright.sync_api import expect

    first = _post_mail(
        mail_server.base,
        mail_server.inbox_key,
        mail_server.token,
        _outlook_mail(
            message_id="AM0PR03MB1.outlook@firma.example",
            subject="Reklamace objednávky 5521",
            text="Dobrý den, přišlo mi poškozené zboží. Co mám dělat?",
        ),
    )
    ticket_id = first["ticket"]

    context = browser.new_context(viewport={"width": 1360, "height": 860}, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        _sign_in(page, mail_server.base)
        page.goto(f"{mail_server.base}/agent/tickets/{ticket_id}/")
        _wait_live(page)
        expect(page.locator("#timeline")).to_contain_text("poškozené zboží")
        expect(page.locator("#timeline")).to_contain_text("Kateřina Dvořáková")

        page.locator("#reply_text").fill(
            "Dobrý den, paní Dvořáková, omlouváme se. Pošlete nám prosím fotografii obalu."
        )
        page.locator("#reply-form button[value='send']").click()
        reply = page.locator("#timeline .msg-out").filter(has_text="fotografii obalu")
        expect(reply.locator(".delivery")).to_have_class("delivery delivery-sent", timeout=20_000)

        deadline = time.monotonic() + 10
        while not smtp.messages and time.monotonic() < deadline:
            time.sleep(0.1)
        [received] = smtp.messages
        got = message_from_bytes(received.raw, policy=policy.default)
        assert received.rcpt_tos == ["katerina@firma.example"]
        assert str(got["To"]) == "katerina@firma.example"
        assert str(got["From"]) == f"Eva Nováková | Obchod podpora <{ADDRESS}>"
        assert str(got["Subject"]) == f"Re: Reklamace objednávky 5521 [#{ticket_id}]"
        assert str(got["In-Reply-To"]) == "<AM0PR03MB1.outlook@firma.example>"
        assert str(got["References"]) == "<AM0PR03MB1.outlook@firma.example>"
        ours = str(got["Message-ID"]).strip("<>")
        assert threads.read_our_message_id(ours).ticket_id == ticket_id
        assert "fotografii obalu" in got.get_body(preferencelist=("plain",)).get_content()

        # The customer's client answers our mail: the answer lands in the same ticket, live.
        answer = _post_mail(
            mail_server.base,
            mail_server.inbox_key,
            mail_server.token,
            _outlook_mail(
                message_id="AM0PR03MB2.outlook@firma.example",
                subject=f"RE: Reklamace objednávky 5521 [#{ticket_id}]",
                text="Fotografii posílám v příloze. Děkuji.",
                in_reply_to=ours,
            ),
        )
        assert answer["ticket"] == ticket_id
        expect(page.locator("#timeline")).to_contain_text("Fotografii posílám", timeout=15_000)
    finally:
        context.close()

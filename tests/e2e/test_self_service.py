"""The chat's way to an answer, in real browsers: a visitor on a phone finds a help article
while typing, asks for a person without retyping anything, and (nobody being online)
leaves an email address; the agent sees what the visitor read, answers by email, and the
customer's answer by email lands in the same ticket."""

from __future__ import annotations

import json
import time
from email import message_from_bytes, policy

import pytest

from .test_agent_flow import EMAIL, PASSWORD, SHOTS, _manage, _running_server, _sign_in, _wait_live
from .test_email_flow import _outlook_mail, _post_mail, smtp  # noqa: F401 (a fixture)
from .test_widget import PHONE, _configure, _shop_context, shop  # noqa: F401 (a fixture)

pytestmark = pytest.mark.e2e

SUPPORT_ADDRESS = "pomoc@ogrod.example"


@pytest.fixture(scope="module")
def server(tmp_path_factory, shop, smtp):  # noqa: F811 (the fixtures above)
    env = {"EMAIL_URL": f"smtp://127.0.0.1:{smtp.port}"}
    with _running_server(tmp_path_factory.mktemp("e2e-self-service"), extra_env=env) as server:
        shop.helpdesk = server.base
        server.shop = shop.origin
        _manage(
            server.env, "create_agent", EMAIL, "--password", PASSWORD, "--role", "agent",
            "--team", "Support", "--name", "Eva Nováková",
        )  # fmt: skip
        chat = json.loads(
            _manage(
                server.env,
                "create_inbox",
                "widget",
                "--name",
                "Ogród Kowalskich",
                "--team",
                "Support",
            )  # fmt: skip
        )
        _configure(
            server,
            chat["key"],
            {"allowed_origins": [shop.origin], "self_service": True, "color": "#0f766e"},
        )
        mail = json.loads(
            _manage(server.env, "create_inbox", "email", "--name", "Pomoc", "--team", "Support")
        )
        _configure(server, mail["key"], {"address": SUPPORT_ADDRESS, "from_name": "Ogród"})
        _manage(
            server.env, "shell", "-c", "from knowledge.demo import seed_articles; seed_articles()"
        )
        server.chat_key = chat["key"]
        server.mail_key, server.mail_token = mail["key"], mail["secrets"]["token"]
        yield server


def test_a_visitor_finds_an_article_then_is_answered_by_email(server, smtp, browser):  # noqa: F811
    from playwright.sync_api import expect

    phone = _shop_context(browser, locale="pl-PL", **PHONE)
    page = phone.new_page()
    page.set_default_timeout(15_000)
    agent = browser.new_context(viewport={"width": 1360, "height": 860}, locale="en-GB")
    desk = agent.new_page()
    desk.set_default_timeout(15_000)
    address = "ania.nowak@poczta.example"
    question = "Chcę zwrócić towar, bo rozmiar nie pasuje"
    try:
        page.goto(f"{server.shop}/{server.chat_key}/")
        page.get_by_role("button", name="Otwórz czat").tap()
        page.get_by_role("textbox", name="Wiadomość").fill(question)

        # Articles as the visitor types; one opens inside the chat.
        suggested = page.get_by_role("region", name="Artykuły, które mogą pomóc")
        article = suggested.get_by_role("button").filter(has_text="Zwrot towaru")
        expect(article).to_be_visible()
        article.tap()
        reader = page.get_by_role("article", name="Artykuł pomocy")
        expect(reader.get_by_role("heading", name="Zwrot towaru")).to_be_visible()
        expect(reader.locator("p").first).not_to_be_empty()
        expect(reader).to_contain_text("Czy to odpowiada na Twoje pytanie?")
        page.screenshot(path=str(SHOTS / "widget-article.png"))

        # A person, please: the question already typed goes with the request.
        reader.get_by_role("button", name="Porozmawiaj z konsultantem").tap()
        dialog = page.get_by_role("dialog")
        expect(dialog.locator(".row.visitor .bubble")).to_have_text(question)
        expect(dialog).to_contain_text("Konsultant z naszego zespołu odpowie tutaj")

        # Nobody is online: when to expect a reply, and where.
        away = dialog.locator(".away")
        expect(away).to_contain_text("Zwykle odpowiadamy w ciągu 4 godzin")
        away.get_by_role("textbox", name="E-mail").fill(address)
        page.screenshot(path=str(SHOTS / "widget-offline.png"))
        away.get_by_role("button", name="Wyślij").tap()
        expect(away).to_contain_text(f"Odpowiemy na adres {address}")

        # The agent sees the question, what the visitor read, and answers by email.
        _sign_in(desk, server.base)
        _wait_live(desk)
        row = desk.locator("#ticket-rows > li").filter(has_text="rozmiar nie pasuje")
        expect(row).to_have_count(1, timeout=20_000)
        row.locator(".row-link").click()
        _wait_live(desk)
        ticket_id = int(desk.url.rstrip("/").split("/")[-1])
        timeline = desk.locator("#timeline")
        expect(timeline).to_contain_text(question)
        expect(timeline).to_contain_text(
            "The visitor asked for a person after seeing “Zwrot towaru” (read)"
        )
        expect(timeline).to_contain_text(f"the visitor is answered by email at {address}")
        expect(desk.locator("#reply_channel")).to_have_value("email")
        desk.locator("#reply_text").fill(
            "Dzień dobry, wystarczy odesłać towar w ciągu 30 dni. Etykietę wysyłamy mailem."
        )
        desk.locator("#reply-form button[value='send']").click()
        reply = timeline.locator(".msg-out").filter(has_text="Etykietę wysyłamy")
        expect(reply.locator(".delivery")).to_have_class("delivery delivery-sent", timeout=20_000)

        deadline = time.monotonic() + 10
        while not smtp.messages and time.monotonic() < deadline:
            time.sleep(0.1)
        [sent] = [m for m in smtp.messages if address in m.rcpt_tos]
        mail = message_from_bytes(sent.raw, policy=policy.default)
        assert f"[#{ticket_id}]" in str(mail["Subject"])
        ours = str(mail["Message-ID"]).strip("<>")

        # The customer answers from their mailbox: the same ticket, the same customer.
        answer = _post_mail(
            server.base,
            server.mail_key,
            server.mail_token,
            _outlook_mail(
                message_id="reply-1@poczta.example",
                subject=f"RE: {mail['Subject']}",
                text="Dziękuję, czekam na etykietę.",
                in_reply_to=ours,
            ).replace(b"katerina@firma.example", address.encode()),
        )
        assert answer["ticket"] == ticket_id
        expect(timeline).to_contain_text("czekam na etykietę", timeout=15_000)
    finally:
        phone.close()
        agent.close()

"""The live conversations view (/agent/chats/) in a real browser against the real server.

An agent keeps the page open; visitors start chats with the widget on the shop's
site (another origin, tests/e2e/test_widget.py); the chats appear without a
reload, the agent opens one beside the list, takes it and answers, and the
visitor sees the answer.
"""

from __future__ import annotations

import re

import pytest

from .test_agent_flow import SHOTS, _manage, _sign_in, _wait_live
from .test_widget import PHONE, _shop_context, server, shop  # noqa: F401 (fixtures)

pytestmark = pytest.mark.e2e

DESKTOP = {"viewport": {"width": 1440, "height": 900}, "locale": "en-GB"}
TEAMMATE = "tomasz.wojcik@example.com"
TEAMMATE_PASSWORD = "e2e-teammate-horse"


@pytest.fixture(scope="module")
def teammate(server):  # noqa: F811 (the imported fixture)
    _manage(
        server.env, "create_agent", TEAMMATE, "--password", TEAMMATE_PASSWORD, "--role", "agent",
        "--team", "Support", "--name", "Tomasz Wójcik",
    )  # fmt: skip
    return TEAMMATE


def _open_chats(page, base: str, email: str | None = None, password: str | None = None) -> None:
    if email:
        _sign_in(page, base, email, password)
    else:
        _sign_in(page, base)
    page.goto(f"{base}/agent/chats/")
    _wait_live(page)


def _visitor_writes(browser, url: str, text: str, *, name: str = "", email: str = ""):
    """A visitor opens the widget on the shop's page and writes; their page, to answer."""
    from playwright.sync_api import expect

    context = _shop_context(browser, viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(url)
    page.get_by_role("button", name="Open chat").click()
    if name:  # the inbox asks who they are first
        page.get_by_label("Name").fill(name)
        page.get_by_label("Email").fill(email)
        page.keyboard.press("Enter")
    box = page.get_by_role("textbox", name="Message")
    box.fill(text)
    box.press("Enter")
    expect(box).to_have_value("")
    page.wait_for_selector(".row.visitor[data-id]", state="attached", timeout=30_000)
    return page


def _section(page, name: str):
    return page.locator(f"section[aria-labelledby='chats-{name}-title']")


def test_new_chats_appear_live_and_the_agent_answers_beside_the_list(
    server,  # noqa: F811
    browser,
    teammate,
):
    from playwright.sync_api import expect

    agent = browser.new_context(**DESKTOP)
    desk = agent.new_page()
    desk.set_default_timeout(15_000)
    colleague = browser.new_context(**DESKTOP)
    other_desk = colleague.new_page()
    other_desk.set_default_timeout(15_000)
    visitors = []
    try:
        _open_chats(desk, server.base)
        expect(desk.get_by_role("heading", level=1)).to_have_text("Live chats")
        expect(desk.get_by_role("link", name="Chats")).to_have_attribute("aria-current", "page")
        expect(desk.locator("#chat-empty")).to_contain_text("No live chats right now.")
        expect(desk.locator("#chat-empty")).to_contain_text("You are away")
        expect(desk.locator(".chat-load")).to_contain_text("0 of 3 chats")
        # The empty list's button is the header's toggle: both say the new state.
        empty = desk.locator("#chat-empty")
        empty.get_by_role("button", name="Go online").click()
        expect(empty).to_contain_text("You are online: new chats can be assigned to you.")
        expect(desk.locator("#availability-button")).to_contain_text("Online")
        expect(empty.get_by_role("button", name="Switch to Away")).to_be_focused()
        empty.get_by_role("button", name="Switch to Away").click()
        expect(empty).to_contain_text("You are away")
        expect(desk.locator("#availability-button")).to_contain_text("Away")
        desk.evaluate("window.__sameDocument = true")  # gone if the page reloads

        # A visitor starts a chat on the shop's site: it arrives in the open list.
        shop_page = _visitor_writes(
            browser,
            f"{server.shop}/{server.inbox_key}/",
            "Hi! Do you have the cordless hedge trimmer in stock?",
        )
        visitors.append(shop_page.context)
        row = _section(desk, "waiting").locator(".chat-row").filter(has_text="hedge trimmer")
        expect(row).to_have_count(1, timeout=20_000)
        expect(row.locator(".chat-link")).to_have_text("Visitor")
        expect(row).to_contain_text("Awaiting reply")
        expect(row).to_contain_text("Waiting less than a minute")
        expect(row.locator("time")).to_have_attribute("datetime", re.compile(r"^\d{4}-\d\d-\d\dT"))
        expect(desk.locator("#nav-chats-count")).to_have_text("1 waiting")
        expect(desk.locator("#live-status")).to_have_text("New chat waiting for an agent: Visitor")
        assert desk.evaluate("window.__sameDocument") is True
        first_id = row.get_attribute("data-ticket-id")

        # The agent opens it beside the list, and the visitor's message is there.
        row.locator(".chat-link").click()
        pane = desk.locator("#chat-pane")
        expect(pane.locator("#timeline")).to_contain_text("cordless hedge trimmer")
        expect(pane.get_by_role("heading", level=2).first).to_contain_text("hedge trimmer")
        expect(desk.locator("#reply_text")).to_be_focused()
        assert "?chat=" in desk.url
        expect(row).to_have_class(re.compile(r"\bis-selected\b"))
        expect(_section(desk, "waiting").locator(".chat-row")).to_have_count(1)

        # They take it: it moves to "Mine" and counts against their limit.
        pane.get_by_role("button", name="Take this chat").click()
        expect(pane).to_contain_text("The chat is yours.")
        mine = _section(desk, "mine").locator(f"#chat-{first_id}")
        expect(mine).to_have_count(1)
        expect(mine).to_contain_text("You")
        expect(_section(desk, "waiting")).to_contain_text("Nobody is waiting.")
        expect(desk.locator(".chat-load")).to_contain_text("1 of 3 chats")
        expect(desk.locator("#nav-chats-count")).to_be_hidden()
        expect(pane.locator("#ticket-header")).to_contain_text("Assigned to Eva Nováková")

        # The answer reaches the visitor live; the row shows it was answered.
        desk.locator("#reply_text").fill("Hello! Yes, we have 4 in stock. Want me to reserve one?")
        desk.locator("#reply-form button[value='send']").click()
        answer = shop_page.locator(".row.agent").filter(has_text="we have 4 in stock")
        expect(answer).to_have_count(1, timeout=20_000)
        expect(mine).not_to_contain_text("Awaiting reply")
        expect(mine.locator(".chat-preview")).to_contain_text("Agent: Hello! Yes, we have 4")

        # The visitor answers: the open chat shows it, the row says it is our turn.
        box = shop_page.get_by_role("textbox", name="Message")
        box.fill("Yes please, I'll pick it up this afternoon.")
        box.press("Enter")
        expect(pane.locator("#timeline")).to_contain_text("pick it up this afternoon")
        expect(mine).to_contain_text("Awaiting reply")

        # A second visitor, who said who they are, while the agent is busy in the first.
        marta = _visitor_writes(
            browser,
            f"{server.shop}/{server.prechat_key}/",
            "Can I return seeds I bought last week? The packet is unopened.",
            name="Marta Wiśniewska",
            email="marta@example.com",
        )
        visitors.append(marta.context)
        waiting = _section(desk, "waiting").locator(".chat-row")
        expect(waiting.filter(has_text="Marta Wiśniewska")).to_have_count(1, timeout=20_000)
        expect(desk.locator("#live-status")).to_have_text(
            "New chat waiting for an agent: Marta Wiśniewska"
        )
        expect(pane.locator("#timeline")).to_contain_text("cordless hedge trimmer")  # still open

        # A third one, taken by a teammate on their own screen: "Others" here, live.
        ben = _visitor_writes(
            browser,
            f"{server.shop}/{server.inbox_key}/",
            "My lawn mower order PL-7731 says delivered but nothing came.",
        )
        visitors.append(ben.context)
        _open_chats(other_desk, server.base, teammate, TEAMMATE_PASSWORD)
        their_row = (
            _section(other_desk, "waiting").locator(".chat-row").filter(has_text="lawn mower")
        )
        their_row.locator(".chat-link").click()
        other_desk.locator("#chat-pane").get_by_role("button", name="Take this chat").click()
        expect(other_desk.locator("#chat-pane")).to_contain_text("The chat is yours.")
        others = _section(desk, "others").locator(".chat-row").filter(has_text="lawn mower")
        expect(others).to_have_count(1, timeout=20_000)
        expect(others).to_contain_text("Tomasz Wójcik")
        expect(waiting).to_have_count(1)
        assert desk.evaluate("window.__sameDocument") is True

        # Keyboard: Escape leaves the reply box, then goes back to the chat's row; j/k move.
        desk.locator("#reply_text").focus()
        desk.keyboard.press("Escape")
        desk.keyboard.press("Escape")
        expect(mine.locator(".chat-link")).to_be_focused()
        desk.keyboard.press("j")
        expect(others.locator(".chat-link")).to_be_focused()
        desk.keyboard.press("k")
        expect(mine.locator(".chat-link")).to_be_focused()

        # Back on duty: new chats may now be given to them.
        desk.locator("#availability-button").click()
        expect(desk.locator("#availability-button")).to_contain_text("Online")

        SHOTS.mkdir(parents=True, exist_ok=True)
        desk.locator("#reply_text").fill("Reserved for you under your name — see you later!")
        desk.mouse.move(0, 0)
        desk.wait_for_function("!document.querySelector('.is-fresh')")
        desk.screenshot(path=str(SHOTS / "chats.png"))

        # Solved: the chat leaves the list, and nothing of it stays "mine".
        desk.locator("#reply_status").select_option("solved")
        desk.locator("#reply-form button[value='send_status']").click()
        expect(_section(desk, "mine")).to_contain_text("No chats assigned to you.")
        expect(desk.locator(".chat-load")).to_contain_text("0 of 3 chats")
        expect(shop_page.locator(".row.agent").filter(has_text="Reserved for you")).to_have_count(
            1, timeout=20_000
        )
    finally:
        for context in visitors:
            context.close()
        agent.close()
        colleague.close()


def test_on_a_phone_the_list_alone_opens_the_ticket_page(server, browser):  # noqa: F811
    from playwright.sync_api import expect

    shop_page = _visitor_writes(
        browser, f"{server.shop}/{server.inbox_key}/", "Do you deliver on Saturdays?"
    )
    phone = browser.new_context(**PHONE, locale="en-GB")
    page = phone.new_page()
    page.set_default_timeout(15_000)
    try:
        _open_chats(page, server.base)
        expect(page.locator("#chat-pane")).to_be_hidden()
        row = page.locator(".chat-row").filter(has_text="deliver on Saturdays")
        expect(row).to_have_count(1)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        row.locator(".chat-link").tap()
        page.wait_for_url(f"{server.base}/agent/tickets/*/")
        expect(page.locator("#timeline")).to_contain_text("deliver on Saturdays")
        page.go_back()
        expect(page.get_by_role("heading", level=1)).to_have_text("Live chats")
    finally:
        phone.close()
        shop_page.context.close()

"""Typing indicators between the real widget and the real agent UI, both in browsers.

The agent types in the reply box of the chat's ticket page and the visitor's widget on
the shop's page says "Eva is typing…"; the visitor types and the ticket page says
"<customer> is typing…". Nothing is played by the test: the frames go through the
server (agent socket -> channel layer -> widget socket, and back), in the suite's
topology (see test_widget_reconnect.running_helpdesk).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from .test_widget import _open_ticket_as_agent
from .test_widget_reconnect import Helpdesk, running_helpdesk, shop_site

pytestmark = pytest.mark.e2e

# app.js tells the visitor the agent stopped after 4 s without a keystroke; the widget
# hides the line by itself 10 s after the last "typing" frame. Waiting less than that
# for the line to go proves the "stopped" frame arrived.
WIDGET_FALLBACK_MS = 10_000
# The ticket page hides the visitor's line by itself 6 s after the last frame.
DESK_FALLBACK_MS = 6_000


@pytest.fixture(scope="module")
def helpdesk(tmp_path_factory) -> Iterator[Helpdesk]:
    with shop_site() as shop, running_helpdesk(tmp_path_factory.mktemp("typing"), shop) as hd:
        yield hd


def test_agent_and_visitor_see_each_other_typing(helpdesk: Helpdesk, browser):
    from playwright.sync_api import expect

    visitor = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-GB")
    agent = browser.new_context(viewport={"width": 1360, "height": 860}, locale="en-GB")
    page = visitor.new_page()
    page.set_default_timeout(15_000)
    desk = agent.new_page()
    desk.set_default_timeout(15_000)
    try:
        page.goto(f"{helpdesk.shop}/{helpdesk.inbox_key}/")
        page.get_by_role("button", name="Open chat").click()
        box = page.get_by_role("textbox", name="Message")
        box.fill("Do you have heirloom tomato seeds?")
        box.press("Enter")
        page.wait_for_selector(".row.visitor[data-id]", state="attached")

        _open_ticket_as_agent(desk, helpdesk, "heirloom tomato")
        ticket = desk.locator("body").get_attribute("data-ticket-id")
        desk.wait_for_selector(f"body[data-watching='{ticket}']")
        reply = desk.locator("#reply_text")
        agent_typing = page.get_by_text("Eva is typing…")  # the agent's first name only
        expect(agent_typing).to_be_hidden()

        # The agent types: the visitor sees it; the agent pauses: it goes away again.
        reply.press_sequentially("Yes! We have Brandywine")
        expect(agent_typing).to_be_visible()
        expect(agent_typing).to_be_hidden(timeout=WIDGET_FALLBACK_MS - 2_000)

        # The agent types on and sends: the line gives way to the answer.
        reply.press_sequentially(" and Cherokee Purple, 2.50 each.")
        expect(agent_typing).to_be_visible()
        desk.locator("#reply-form button[value='send']").click()
        answer = page.locator(".row.agent").filter(has_text="Cherokee Purple, 2.50 each.")
        expect(answer).to_have_count(1)
        expect(agent_typing).to_be_hidden(timeout=2_000)  # with the answer, not 10 s later

        # The visitor types: the ticket page says so, under the customer's name.
        customer = desk.locator("#customer-title").inner_text().strip()
        visitor_typing = desk.locator("#customer-typing")
        expect(visitor_typing).to_be_hidden()
        box.press_sequentially("Great, I'll take two packets of each")
        expect(visitor_typing).to_be_visible()
        expect(visitor_typing).to_have_text(f"{customer} is typing…")
        expect(visitor_typing).to_have_text(re.compile(r"^Customer #\d+ is typing…$"))
        # Sent: the line goes (before the page's own time-out) and the message comes.
        box.press("Enter")
        expect(visitor_typing).to_be_hidden(timeout=DESK_FALLBACK_MS - 2_000)
        expect(desk.locator("#timeline .msg-in .msg-body").last).to_have_text(
            "Great, I'll take two packets of each"
        )
        expect(agent_typing).to_be_hidden()
    finally:
        visitor.close()
        agent.close()

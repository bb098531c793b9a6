"""An agent's day in a real browser against the real server.

The server runs as a subprocess (`manage.py serve`: uvicorn with the embedded
Celery worker and beat) on its own SQLite file, whatever DATABASE_URL the rest
of the suite uses; messages arrive over HTTP at the test channel's webhook,
exactly as a provider would send them. Debian's chromium is driven by
Playwright. The README's screenshots (docs/screenshots/) are taken on a second
server loaded with `manage.py seed_demo`, as a customer sees the product.
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.servers import free_port as _free_port
from tests.servers import manage as _manage
from tests.servers import server_env, serving

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
SHOTS = ROOT / "docs" / "screenshots"
EMAIL = "eva.novakova@example.com"
PASSWORD = "e2e-correct-horse"
DEMO_PASSWORD = "demo-pass-2026"  # seed_demo's agents
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-gpu",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@dataclass
class Server:
    base: str
    env: dict
    log: Path
    inbox_key: str = ""
    token: str = ""
    _ids: int = 0

    def post_inbound(self, sender: str, name: str, text: str, subject: str = "") -> dict:
        """Deliver a customer's message the way a provider does: over HTTP, with the token."""
        self._ids += 1
        body = {"id": f"e2e-{time.time_ns()}-{self._ids}", "from": sender, "name": name}
        body |= {"text": text, "subject": subject}
        request = urllib.request.Request(
            f"{self.base}/inbound/test/{self.inbox_key}/",
            data=json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=20) as response:
            assert response.status == 202, response.status
            return json.loads(response.read())

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""


@contextmanager
def _running_server(tmp: Path, extra_env: dict | None = None) -> Iterator[Server]:
    """A migrated database of its own and `manage.py serve` on a free port, stopped afterwards."""
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is not installed: run `make test`, which installs it")
    env = server_env(tmp, **(extra_env or {}))
    # Catalogs are compiled at install; compile here too so a bare `pytest` sees pl/cs.
    _manage(env, "compilemessages", "-v0", "--ignore=.venv")
    _manage(env, "migrate", "--no-input", "-v0")
    port = _free_port()
    log = tmp / "server.log"
    try:
        with serving(env, port, log):
            yield Server(base=f"http://127.0.0.1:{port}", env=env, log=log)
    finally:
        print(f"--- server log ---\n{log.read_text(errors='replace')[-4000:]}")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """An empty helpdesk with one agent and a test-channel inbox, for the live flow."""
    with _running_server(tmp_path_factory.mktemp("e2e")) as server:
        _manage(
            server.env, "create_agent", EMAIL, "--password", PASSWORD, "--role", "agent",
            "--team", "Support", "--name", "Eva Nováková",
        )  # fmt: skip
        inbox = json.loads(
            _manage(server.env, "create_inbox", "test", "--name", "Website", "--team", "Support")
        )
        server.inbox_key, server.token = inbox["key"], inbox["secrets"]["token"]
        yield server


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory):
    """The helpdesk as `make run` shows it: `manage.py seed_demo` on the server's database."""
    with _running_server(tmp_path_factory.mktemp("e2e-demo")) as server:
        _manage(server.env, "seed_demo")
        yield server


def _sign_in(page, base: str, email: str = EMAIL, password: str = PASSWORD) -> None:
    page.goto(f"{base}/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/agent/")


def _wait_live(page) -> None:
    page.wait_for_selector("body[data-live='on']", timeout=15_000)


def test_an_agent_answers_a_customer_and_sees_new_messages_live(server, browser):
    from playwright.sync_api import expect

    first = server.post_inbound(
        "jan.kowalski@example.com",
        "Jan Kowalski",
        "Hello, my order #1042 has not arrived yet. It was supposed to come on Monday. "
        "Can you check where it is?",
        subject="Where is my order #1042?",
    )
    server.post_inbound(
        "marta@example.com", "Marta Wiśniewska",
        "Can I still change the delivery address for my last order?",
        subject="Change of delivery address",
    )  # fmt: skip
    server.post_inbound(
        "petr.novak@example.com", "Petr Novák",
        "Dobrý den, v mém účtu chybí faktura za březen.",
        subject="Faktura za březen",
    )  # fmt: skip
    server.post_inbound(
        "lucy@example.com", "Lucy Brown",
        "The app closes every time I try to upload a photo to my profile.",
        subject="App crashes on photo upload",
    )  # fmt: skip

    context = browser.new_context(viewport={"width": 1360, "height": 860}, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        _sign_in(page, server.base)
        _wait_live(page)
        rows = page.locator("#ticket-rows > li")
        expect(rows).to_have_count(4)
        expect(page.locator(f"#ticket-{first['ticket']}")).to_contain_text("Jan Kowalski")

        # Open the ticket from the list with the keyboard: j moves, Enter opens.
        page.locator("body").press("j")
        for _ in range(10):
            focused = page.evaluate("document.activeElement.closest('li')?.id")
            if focused == f"ticket-{first['ticket']}":
                break
            page.keyboard.press("j")
        page.keyboard.press("Enter")
        page.wait_for_url(f"{server.base}/agent/tickets/{first['ticket']}/")
        _wait_live(page)
        page.wait_for_selector(f"body[data-watching='{first['ticket']}']")
        expect(page.locator("#timeline")).to_contain_text("order #1042 has not arrived")

        # Reply: it appears in the timeline and its delivery state turns to sent.
        page.keyboard.press("r")
        expect(page.locator("#reply_text")).to_be_focused()
        page.keyboard.type("Hi Jan, sorry for the wait! The parcel is at the local depot ")
        page.keyboard.type("and will be delivered tomorrow before noon.")
        page.locator("#reply-form button[value='send']").click()
        reply = page.locator("#timeline .msg-out").filter(has_text="local depot")
        expect(reply).to_have_count(1)
        expect(reply.locator(".delivery")).to_have_class("delivery delivery-sent", timeout=20_000)
        expect(page.locator("#ticket-header")).to_contain_text("Open")

        # A new inbound message shows up on the open page without a reload.
        page.evaluate("window.__e2eMarker = 'no reload'")
        server.post_inbound(
            "jan.kowalski@example.com",
            "Jan Kowalski",
            "Great, thank you! Could you also add a gift note to the parcel?",
        )
        expect(page.locator("#timeline")).to_contain_text("add a gift note", timeout=15_000)
        assert page.evaluate("window.__e2eMarker") == "no reload"
        expect(page.locator("#live-status")).to_contain_text("gift note")

        # Internal note and ticket properties.
        page.keyboard.press("Escape")
        page.locator("body").press("n")
        expect(page.locator("#note_text")).to_be_focused()
        page.keyboard.type("Courier confirmed delivery for tomorrow morning.")
        page.keyboard.press("Control+Enter")
        expect(page.locator("#timeline .msg-note")).to_contain_text("Courier confirmed")
        page.get_by_label("Priority", exact=True).select_option("3")
        page.get_by_label("Tags").fill("shipping, vip")
        page.get_by_label("Assignee").select_option(label="Eva Nováková")
        page.get_by_role("button", name="Save changes").click()
        expect(page.locator("#properties-form")).to_contain_text("Saved.")
        expect(page.locator("#timeline")).to_contain_text("changed the tags to shipping, vip")
        expect(page.locator("#ticket-header")).to_contain_text("High")
        assert page.evaluate("window.__e2eMarker") == "no reload"
        # The "Saved." notices fade away.
        expect(page.locator(".form-success")).to_have_count(0, timeout=8_000)

        # The keyboard help.
        page.locator("body").press("?")
        expect(page.locator("#help-dialog")).to_be_visible()
        page.keyboard.press("Escape")

        # The inbox: a new conversation appears at the top, live.
        page.goto(f"{server.base}/agent/")
        _wait_live(page)
        page.evaluate("window.__e2eMarker = 'inbox, no reload'")
        new = server.post_inbound(
            "sofia.rossi@example.com",
            "Sofia Rossi",
            "Do you ship to Italy? I could not find it in the FAQ.",
            subject="Shipping to Italy",
        )
        expect(rows.first).to_have_id(f"ticket-{new['ticket']}", timeout=15_000)
        expect(rows.first).to_contain_text("Sofia Rossi")
        expect(rows).to_have_count(5)
        assert page.evaluate("window.__e2eMarker") == "inbox, no reload"

        # The phone layout of the ticket.
        phone = browser.new_context(
            viewport={"width": 390, "height": 844},
            device_scale_factor=2,
            is_mobile=True,
            has_touch=True,
            storage_state=context.storage_state(),
        )
        mobile = phone.new_page()
        mobile.goto(f"{server.base}/agent/tickets/{first['ticket']}/")
        expect(mobile.locator("#timeline")).to_contain_text("gift note")
        width = mobile.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the page scrolls sideways on a phone ({width}px)"
        phone.close()
    finally:
        context.close()


def test_the_ui_speaks_polish_and_czech(server, browser):
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1360, "height": 860})
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        _sign_in(page, server.base)
        page.locator("#lang-select").select_option("pl")
        page.locator(".lang-form button").click()
        expect(page.locator("html")).to_have_attribute("lang", "pl")
        expect(page.locator(".mainnav")).to_contain_text("Skrzynka")
        expect(page.locator("#filters")).to_contain_text("Priorytet")
        _wait_live(page)

        # The choice is saved in the profile: it survives signing out and in again.
        page.get_by_role("button", name="Wyloguj").click()
        _sign_in_localized(page, server.base, button="Zaloguj się")
        expect(page.locator("html")).to_have_attribute("lang", "pl")

        page.locator("#lang-select").select_option("cs")
        page.locator(".lang-form button").click()
        expect(page.locator("html")).to_have_attribute("lang", "cs")
        expect(page.locator(".mainnav")).to_contain_text("Schránka")
        expect(page.locator("#filters")).to_contain_text("Priorita")

        page.locator("#lang-select").select_option("en")
        page.locator(".lang-form button").click()
        expect(page.locator(".mainnav")).to_contain_text("Inbox")
    finally:
        context.close()


def _sign_in_localized(page, base: str, *, button: str) -> None:
    page.wait_for_url(f"{base}/login/")
    page.locator("#id_username").fill(EMAIL)
    page.locator("#id_password").fill(PASSWORD)
    page.get_by_role("button", name=button).click()
    page.wait_for_url(f"{base}/agent/")


def test_the_readme_screenshots_show_the_demo(demo_server, browser):
    """docs/screenshots/ as a customer sees the product after `make run`: the seeded demo."""
    from playwright.sync_api import expect

    SHOTS.mkdir(parents=True, exist_ok=True)
    base = demo_server.base
    context = browser.new_context(viewport={"width": 1360, "height": 860}, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        # The manager's profile says Polish; the README's main shots are in English.
        _sign_in(page, base, "manager@demo.example", DEMO_PASSWORD)
        page.locator("#lang-select").select_option("en")
        page.locator(".lang-form button").click()
        expect(page.locator("html")).to_have_attribute("lang", "en")
        _wait_live(page)
        rows = page.locator("#ticket-rows > li")
        expect(rows.filter(has_text="Katarzyna Wiśniewska")).to_have_count(1)
        expect(rows.filter(has_text="Jiří Svoboda")).to_have_count(1)
        page.screenshot(path=str(SHOTS / "inbox.png"))

        # Katarzyna wrote by email, then SMS, then chat: one timeline, older tickets folded.
        rows.filter(has_text="Katarzyna Wiśniewska").locator(".row-link").click()
        page.wait_for_url(re.compile(r".*/agent/tickets/\d+/$"))
        _wait_live(page)
        timeline = page.locator("#timeline")
        folded = timeline.locator(".tl-group")
        expect(folded.first.locator("summary")).to_contain_text("Opóźnione zamówienie PL-20931")
        for channel in ("email", "sms", "widget"):
            expect(timeline.locator(f".msg .channel-{channel}").first).to_be_attached()
        expect(timeline.locator(".msg-note")).to_contain_text("ładowarkę")
        page.screenshot(path=str(SHOTS / "ticket.png"))

        phone = browser.new_context(
            viewport={"width": 390, "height": 844},
            device_scale_factor=2,
            is_mobile=True,
            has_touch=True,
            storage_state=context.storage_state(),
        )
        mobile = phone.new_page()
        mobile.goto(page.url)
        expect(mobile.locator("#timeline")).to_contain_text("brakuje ładowarki")
        width = mobile.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the page scrolls sideways on a phone ({width}px)"
        mobile.screenshot(path=str(SHOTS / "ticket-mobile.png"))
        phone.close()

        # Lenka's mail came through the real email path: her photo shows inline, the
        # tracking pixel is held back until asked, signature and quote are folded.
        page.goto(f"{base}/agent/")
        page.locator("#ticket-rows > li").filter(has_text="Lenka Horáková").locator(
            ".row-link"
        ).click()
        page.wait_for_url(re.compile(r".*/agent/tickets/\d+/$"))
        mail = page.locator("#timeline .msg-in").filter(has_text="CZ-7781")
        expect(mail.locator("img[alt='rozbitý hrnek']")).to_be_visible()
        assert mail.locator("img[src^='http']").count() == 0
        expect(mail.get_by_role("button", name="Show images")).to_be_visible()
        expect(mail.locator("details summary")).to_have_text("Show quoted text")
        expect(mail.locator("details")).not_to_have_attribute("open", "")
        page.set_viewport_size({"width": 1360, "height": 1180})  # the whole mail in view
        page.screenshot(path=str(SHOTS / "email.png"))
    finally:
        context.close()

    # Anna's profile language is Polish: the UI follows it from the first page.
    context = browser.new_context(viewport={"width": 1360, "height": 860}, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        _sign_in(page, base, "anna@demo.example", DEMO_PASSWORD)
        expect(page.locator("html")).to_have_attribute("lang", "pl")
        expect(page.locator(".mainnav")).to_contain_text("Skrzynka")
        _wait_live(page)
        expect(page.locator("#ticket-rows > li").first).to_be_visible()
        page.screenshot(path=str(SHOTS / "inbox-pl.png"))

        # A filter changes the list and, with it, the heading and the Clear link; no reload.
        page.evaluate("window.__e2eMarker = 'filters, no reload'")
        page.locator("#filter_channel").select_option("sms")
        expect(page.locator("#inbox-head .active-filters")).to_have_text("SMS")
        expect(page.locator("#inbox-head .clear-filters")).to_be_visible()
        expect(page).to_have_url(re.compile(r"[?&]channel=sms"))
        expect(page.locator("#ticket-rows > li")).to_have_count(1)
        expect(page.locator("#ticket-rows")).to_contain_text("Marek Zieliński")
        assert page.evaluate("window.__e2eMarker") == "filters, no reload"
        page.locator("#inbox-head .clear-filters").click()
        expect(page.locator("#inbox-head .active-filters")).to_have_count(0)
        expect(page.locator("#inbox-head .clear-filters")).to_have_count(0)
    finally:
        context.close()

"""A chat that survives the helpdesk's crash and restart, in real browsers.

The visitor is on a shop page of another origin (as in test_widget.py); the agent
answers in the agent UI in a second browser context. Mid-conversation the server's
whole process group is SIGKILLed (a crash: nothing graceful) and started again on the
same port and database. Nothing a visitor wrote may be lost or stored twice.

The server runs in the suite's own topology: in embedded mode (no DATABASE_URL and
REDIS_URL) on a SQLite file of its own, which survives the restart; with DATABASE_URL
(PostgreSQL) and REDIS_URL set, on a new PostgreSQL database and Redis with a separate
Celery worker, which keep running while the web process restarts (a deploy or a crash
in production). See tests/servers.py.
"""

from __future__ import annotations

import json
import re
import subprocess
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest

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

from .test_agent_flow import CHROMIUM, EMAIL, PASSWORD, _sign_in, _wait_live
from .test_widget import _configure, _open_ticket_as_agent, _reply, _ShopPage

pytestmark = pytest.mark.e2e

GREETING = "Hi! Ask us anything about seeds, tools or your order."


@dataclass
class Helpdesk:
    """The helpdesk's server, which a test may kill and start again (same port, same data)."""

    env: dict
    port: int
    log: Path
    shop: str  # the shop's origin, where the widget is embedded
    inbox_key: str = ""
    production: bool = False
    process: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.process = start_serving(self.env, self.port, self.log)

    def kill(self) -> None:
        assert self.process is not None
        kill_serving(self.process)

    def stored(self, *bodies: str) -> dict[str, list[int]]:
        """The ids of the stored messages with each text, read from the database."""
        code = (
            "import json; from tickets.models import Message; "
            f"bodies = json.loads({json.dumps(list(bodies))!r}); "
            "print(json.dumps({b: list(Message.objects.filter(body_text=b)"
            ".order_by('id').values_list('id', flat=True)) for b in bodies}))"
        )
        return json.loads(manage(self.env, "shell", "-v", "0", "-c", code).splitlines()[-1])

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""


@contextmanager
def shop_site() -> Iterator[ThreadingHTTPServer]:
    """The shop's web server (test_widget._ShopPage): its origin is not the helpdesk's."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _ShopPage)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    httpd.origin = f"http://shop.localhost:{httpd.server_address[1]}"
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()


@contextmanager
def running_helpdesk(tmp: Path, shop: ThreadingHTTPServer) -> Iterator[Helpdesk]:
    """A migrated helpdesk in the suite's topology with the agent Eva Nováková (team
    Support) and a chat inbox that allows the shop's origin; served until the block ends."""
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is not installed: run `make test`, which installs it")
    with ExitStack() as stack:
        production = production_topology()
        env = stack.enter_context(production_env(tmp)) if production else server_env(tmp)
        manage(env, "migrate", "--no-input", "-v0")
        helpdesk = Helpdesk(
            env=env, port=free_port(), log=tmp / "server.log", shop=shop.origin,
            production=production,
        )  # fmt: skip
        shop.helpdesk = helpdesk.base
        manage(
            env, "create_agent", EMAIL, "--password", PASSWORD, "--role", "agent",
            "--team", "Support", "--name", "Eva Nováková",
        )  # fmt: skip
        chat = json.loads(
            manage(env, "create_inbox", "widget", "--name", "Kowalski Garden Shop",
                   "--team", "Support")
        )  # fmt: skip
        _configure(helpdesk, chat["key"], {"allowed_origins": [shop.origin], "greeting": GREETING})
        helpdesk.inbox_key = chat["key"]
        if production:  # agents' replies reach the visitor through the queue
            stack.enter_context(celery_worker(env, tmp / "worker.log"))
        try:
            helpdesk.start()
            yield helpdesk
        finally:
            if helpdesk.process is not None:
                kill_serving(helpdesk.process)
            print(f"--- server log ---\n{helpdesk.log_tail()}")


@pytest.fixture(scope="module")
def helpdesk(tmp_path_factory) -> Iterator[Helpdesk]:
    with shop_site() as shop, running_helpdesk(tmp_path_factory.mktemp("reconnect"), shop) as hd:
        yield hd


def _contexts(browser):
    visitor = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-GB")
    agent = browser.new_context(viewport={"width": 1360, "height": 860}, locale="en-GB")
    return visitor, agent


def _open_chat(page, helpdesk: Helpdesk):
    page.goto(f"{helpdesk.shop}/{helpdesk.inbox_key}/")
    page.get_by_role("button", name="Open chat").click()
    return page.get_by_role("textbox", name="Message")


def _write(box, text: str) -> None:
    box.fill(text)
    box.press("Enter")


def _mine(page, text: str):
    """The visitor's own message with this text, in the widget's conversation."""
    return page.locator(".row.visitor").filter(has=page.get_by_text(text, exact=True))


def _go_online(desk, helpdesk: Helpdesk) -> None:
    """Eva signs in and sets herself Online: visitors are told someone is there."""
    from playwright.sync_api import expect

    _sign_in(desk, helpdesk.base)
    _wait_live(desk)
    desk.locator("#availability-button").click()
    expect(desk.locator("#availability-button")).to_have_class(re.compile(r"\bis-online\b"))


def _open_ticket(desk, text: str) -> None:
    """From the agent's inbox (open and live), the ticket whose row shows this text."""
    from playwright.sync_api import expect

    row = desk.locator("#ticket-rows > li").filter(has_text=text)
    expect(row).to_have_count(1, timeout=20_000)
    row.locator(".row-link").click()
    _wait_live(desk)


def _wait_until(page, condition, what: str, timeout: float = 15) -> None:
    """Until condition() holds, letting Playwright deliver events (and routed frames)."""
    for _ in range(int(timeout / 0.05)):
        if condition():
            return
        page.wait_for_timeout(50)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_chat_survives_a_server_crash_and_restart(helpdesk: Helpdesk, browser):
    """Down for longer than the widget's quick retries (so its HTTP fallback is tried too):
    what the visitor wrote meanwhile waits, marked as sending, and arrives once, in order;
    both pages reconnect by themselves; the widget never claims someone is there while
    nothing reaches the server."""
    from playwright.sync_api import expect

    first = "Hello! Can I still add a trowel to my order 7301?"
    second = "Also, the tulip bulbs: are they the Queen of Night variety?"
    third = "And please send everything together."
    answer = "Hi! Yes, I can add the trowel to order 7301."
    after = "Yes, they are Queen of Night. Everything ships together tomorrow."

    visitor, agent = _contexts(browser)
    page = visitor.new_page()
    page.set_default_timeout(15_000)
    unreachable: list[str] = []  # the widget's HTTP requests that found no server
    page.on(
        "requestfailed",
        lambda r: unreachable.append(r.url) if r.url.startswith(helpdesk.base) else None,
    )
    desk = agent.new_page()
    desk.set_default_timeout(15_000)
    try:
        _go_online(desk, helpdesk)
        box = _open_chat(page, helpdesk)
        expect(page.locator(".status")).to_have_text("We’re online")
        _write(box, first)
        expect(_mine(page, first)).to_have_attribute("data-id", re.compile(r"^\d+$"))
        _open_ticket(desk, "add a trowel")
        _reply(desk, answer)
        expect(page.locator(".row.agent").filter(has_text=answer)).to_have_count(1)

        # The server crashes mid-conversation: both sides notice.
        helpdesk.kill()
        unreachable.clear()
        expect(page.locator(".status")).to_have_text("Connecting…")
        expect(desk.locator("body")).to_have_attribute("data-live", "off")

        # The visitor goes on writing: shown at once, marked as still on their way.
        _write(box, second)
        _write(box, third)
        for text in (second, third):
            expect(_mine(page, text)).to_have_class(re.compile(r"\bpending\b"))
            expect(_mine(page, text).locator(".state")).to_have_text("Sending…")
        expect(page.locator(".row.visitor .bubble")).to_have_text([first, second, third])

        # It stays down past the widget's quick retries: after three failed connects the
        # widget also tries plain HTTP (its fallback for networks that block websockets),
        # which cannot reach the server either. What does the visitor read meanwhile?
        page.wait_for_function("window.__helpdeskWidget.transport === 'http'", timeout=20_000)
        _wait_until(page, lambda: unreachable, "the HTTP fallback to fail")
        status_while_down = page.locator(".status").inner_text()
        dot_while_down = page.locator(".status .dot").get_attribute("class")
        for text in (second, third):
            expect(_mine(page, text).locator(".state")).to_have_text("Sending…")

        # The same server comes back: the widget reconnects by itself and delivers.
        helpdesk.start()
        page.wait_for_function("window.__helpdeskWidget.transport === 'socket'", timeout=30_000)
        expect(page.locator(".row.visitor.pending")).to_have_count(0, timeout=20_000)
        expect(page.get_by_text("Sending…")).to_have_count(0)
        expect(page.locator(".row.visitor[data-id]")).to_have_count(3)
        # Only the newest of the visitor's messages carries a state.
        expect(page.locator(".row.visitor .state")).to_have_text(re.compile(r"^(Sent|Seen)$"))

        # The agent's page reconnects by itself too and shows each message once, in order.
        _wait_live(desk)
        expect(desk.locator("#timeline .msg-in .msg-body")).to_have_text(
            [first, second, third], timeout=20_000
        )

        # An answer after the restart reaches the visitor, once.
        _reply(desk, after)
        expect(page.locator(".row.agent").filter(has_text=after)).to_have_count(1, timeout=20_000)
        expect(page.locator(".log .bubble")).to_have_text(
            [GREETING, first, answer, second, third, after]
        )
        expect(desk.locator("#timeline .msg .msg-body")).to_have_text(
            [first, answer, second, third, after]
        )
        expect(page.get_by_text("Sending…")).to_have_count(0)

        # The database holds each of them once, in the order they were written.
        stored = helpdesk.stored(first, second, third, answer, after)
        assert all(len(ids) == 1 for ids in stored.values()), stored
        ids = [stored[text][0] for text in (first, answer, second, third, after)]
        assert ids == sorted(ids), stored
        rows = page.locator(".row.visitor")
        assert [rows.nth(n).get_attribute("data-id") for n in range(3)] == [
            str(stored[text][0]) for text in (first, second, third)
        ]

        # While nothing reached the server, the widget must not have told the visitor that
        # someone was there (a green dot, "We’re online"): it was connecting.
        assert (status_while_down, dot_while_down) == ("Connecting…", "dot"), unreachable
    finally:
        visitor.close()
        agent.close()


class _Wire:
    """The network between the widget and the real server (Playwright's routed socket):
    passes every frame both ways, except that it can lose the server's next `ack`."""

    def __init__(self) -> None:
        self.connections = 0
        self.sent: list[tuple[int, dict]] = []  # (connection number, frame from the widget)
        self.lose_next_ack = False
        self.lost: list[dict] = []

    def __call__(self, ws) -> None:
        number = self.connections
        self.connections += 1
        server = ws.connect_to_server()

        def upstream(message) -> None:
            self.sent.append((number, json.loads(message)))
            server.send(message)

        def downstream(message) -> None:
            frame = json.loads(message)
            if frame.get("type") == "ack" and self.lose_next_ack:
                self.lose_next_ack = False
                self.lost.append(frame)
                return
            ws.send(message)

        ws.on_message(upstream)
        server.on_message(downstream)

    def wait_for_lost_ack(self, page) -> dict:
        # Playwright delivers the routed frames while it runs: wait inside it.
        _wait_until(page, lambda: self.lost, f"a lost ack; frames from the widget: {self.sent}")
        return self.lost[0]


def test_a_message_whose_ack_was_lost_in_the_crash_is_stored_once(helpdesk: Helpdesk, browser):
    """Stored, but the crash ate the acknowledgement: the widget sends it again with the
    same client id after the restart, and it is still one message, the one stored."""
    from playwright.sync_api import expect

    first = "Good morning, do you deliver to Gdańsk?"
    second = "It is for a balcony garden, about 4 square metres."

    visitor, agent = _contexts(browser)
    wire = _Wire()
    visitor.route_web_socket(re.compile(r".*/ws/widget/.*"), wire)
    page = visitor.new_page()
    page.set_default_timeout(15_000)
    posted: list[dict] = []  # messages the widget sent over the HTTP fallback, if it did
    page.on(
        "request",
        lambda r: (
            posted.append(json.loads(r.post_data or "{}"))
            if r.method == "POST" and r.url.endswith("/messages")
            else None
        ),
    )
    desk = agent.new_page()
    desk.set_default_timeout(15_000)
    try:
        box = _open_chat(page, helpdesk)
        _write(box, first)
        expect(_mine(page, first)).to_have_attribute("data-id", re.compile(r"^\d+$"))

        # The server stores the next message and acknowledges it, but the answer is lost
        # on the way: the visitor still sees it on its way when the server dies.
        wire.lose_next_ack = True
        _write(box, second)
        ack = wire.wait_for_lost_ack(page)
        assert ack["duplicate"] is False, ack
        expect(_mine(page, second).locator(".state")).to_have_text("Sending…")
        helpdesk.kill()
        expect(page.locator(".status")).to_have_text("Connecting…")
        expect(_mine(page, second).locator(".state")).to_have_text("Sending…")
        restarted_at = wire.connections

        helpdesk.start()
        # The widget sends it again with the same client id; it is the stored message.
        expect(_mine(page, second)).to_have_attribute("data-id", str(ack["id"]), timeout=30_000)
        expect(page.locator(".row.visitor.pending")).to_have_count(0)
        expect(page.locator(".row.visitor .bubble")).to_have_text([first, second])
        expect(_mine(page, second).locator(".state")).to_have_text(re.compile(r"^(Sent|Seen)$"))
        resent = [
            frame
            for number, frame in wire.sent
            if number >= restarted_at and frame.get("type") == "message"
        ] + posted
        assert resent and {frame["client_id"] for frame in resent} == {ack["client_id"]}, resent

        stored = helpdesk.stored(first, second)
        assert stored[second] == [ack["id"]], stored
        assert len(stored[first]) == 1, stored

        # The agent sees it once, too.
        _open_ticket_as_agent(desk, helpdesk, "deliver to Gdańsk")
        expect(desk.locator("#timeline .msg-in .msg-body")).to_have_text([first, second])
    finally:
        visitor.close()
        agent.close()

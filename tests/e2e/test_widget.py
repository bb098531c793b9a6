"""The chat widget on a customer's web site, in a real browser against the real server.

The shop is another origin: a tiny http.server on its own loopback port,
reached as `http://shop.localhost:<port>` (Chromium resolves *.localhost to
loopback), whose pages embed the snippet from the helpdesk's server exactly as
a customer's site does. Its CSS is hostile on purpose.
"""

from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

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

PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}
SHOP_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover">
<title>Kowalski Garden Shop</title>
<style>
  /* A site whose CSS would wreck any widget living in the page's own DOM. */
  * { color: red !important; font-size: 40px !important; font-family: serif !important; }
  button, input, textarea { background: hotpink !important; border: 6px dashed lime !important; }
  div, section, form, ol, li, p { display: block !important; margin: 30px !important; }
  div:empty { display: none; }
  body { background: #fdf6e3; }
</style>
</head>
<body>
<h1>Kowalski Garden Shop</h1>
<p>Seeds, tools and advice since 1998.</p>
<script src="{src}" async></script>
</body>
</html>
"""


def _configure(server, key: str, config: dict) -> None:
    code = (
        "import json; from tickets.models import Inbox; "
        f"inbox = Inbox.objects.get(key={key!r}); "
        f"inbox.config.update(json.loads({json.dumps(config)!r})); inbox.save()"
    )
    _manage(server.env, "shell", "-c", code)


class _ShopPage(BaseHTTPRequestHandler):
    """GET /<inbox key>/<anything>: a shop page embedding that inbox's widget."""

    def do_GET(self):  # noqa: N802 (http.server's name)
        key = self.path.strip("/").split("/")[0]
        src = f"{self.server.helpdesk}/widget/{key}.js"
        body = SHOP_PAGE.replace("{src}", src).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def shop():
    """The shop's web server: its origin is not the helpdesk's."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _ShopPage)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    httpd.origin = f"http://shop.localhost:{httpd.server_address[1]}"
    yield httpd
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def server(tmp_path_factory, shop):
    """A helpdesk with one agent and two widget inboxes that allow the shop's origin."""
    with _running_server(tmp_path_factory.mktemp("e2e-widget")) as server:
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
                "Kowalski Garden Shop",
                "--team",
                "Support",
            )
        )
        _configure(
            server,
            chat["key"],
            {
                "allowed_origins": [shop.origin],
                "color": "#0f766e",
                "greeting": {"en": "Hi! Ask us anything about seeds, tools or your order."},
            },
        )
        prechat = json.loads(
            _manage(server.env, "create_inbox", "widget", "--name", "Sales", "--team", "Support")
        )
        _configure(
            server,
            prechat["key"],
            {
                "allowed_origins": [shop.origin],
                "prechat": True,
                "privacy_url": "https://shop.example/privacy",
            },
        )
        server.inbox_key = chat["key"]
        server.prechat_key = prechat["key"]
        server.identity_secret = chat["secrets"]["identity_secret"]
        yield server


def _shop_context(browser, **options):
    return browser.new_context(locale=options.pop("locale", "en-GB"), **options)


def _shadow(page, script: str):
    """Evaluate `script` with `root` bound to the widget's shadow root."""
    return page.evaluate(
        "(script) => { const root = document.querySelector('[data-helpdesk-widget]')"
        ".shadowRoot; return new Function('root', script)(root); }",
        script,
    )


def _open_ticket_as_agent(desk, server, text: str) -> None:
    from playwright.sync_api import expect

    _sign_in(desk, server.base)
    _wait_live(desk)
    row = desk.locator("#ticket-rows > li").filter(has_text=text)
    expect(row).to_have_count(1, timeout=20_000)
    row.locator(".row-link").click()
    _wait_live(desk)


def _reply(desk, text: str) -> None:
    desk.locator("#reply_text").fill(text)
    desk.locator("#reply-form button[value='send']").click()


def test_a_visitor_on_a_phone_chats_with_an_agent(server, browser):
    from playwright.sync_api import expect

    phone = _shop_context(browser, **PHONE)
    page = phone.new_page()
    page.set_default_timeout(15_000)
    agent = browser.new_context(viewport={"width": 1360, "height": 860}, locale="en-GB")
    desk = agent.new_page()
    desk.set_default_timeout(15_000)
    try:
        page.goto(f"{server.shop}/{server.inbox_key}/")
        launcher = page.get_by_role("button", name="Open chat")
        expect(launcher).to_be_visible()
        assert page.evaluate("window.__helpdeskWidget.key") == server.inbox_key
        assert page.evaluate("document.querySelector('[data-helpdesk-widget]').shadowRoot.mode")
        launcher.tap()

        # A full-screen sheet on a phone, untouched by the shop's CSS.
        dialog = page.get_by_role("dialog", name="Chat with Kowalski Garden Shop")
        expect(dialog).to_be_visible()
        box = dialog.bounding_box()
        assert box == {"x": 0, "y": 0, "width": 390, "height": 844}, box
        expect(dialog).to_contain_text("Ask us anything about seeds")
        looks = _shadow(
            page,
            "const css = (sel) => getComputedStyle(root.querySelector(sel));"
            "return {title: [css('.title').color, css('.title').fontSize],"
            " bubble: [css('.bubble').color, css('.bubble').fontSize],"
            " text: [css('textarea').fontSize, css('textarea').backgroundColor,"
            "        css('textarea').borderTopStyle],"
            " head: css('.head').backgroundColor};",
        )
        assert looks["title"] == ["rgb(255, 255, 255)", "16px"], looks
        assert looks["bubble"] == ["rgb(27, 34, 48)", "15px"], looks
        assert looks["text"] == ["16px", "rgb(255, 255, 255)", "solid"], looks
        assert looks["head"] == "rgb(15, 118, 110)", looks  # the inbox's colour
        assert page.evaluate("document.documentElement.scrollWidth") <= 390

        # The visitor writes; Shift+Enter is a new line, Enter sends.
        box = page.get_by_role("textbox", name="Message")
        box.fill("Hello! My order PL-5521 arrived without the rake.")
        box.press("Shift+Enter")
        box.type("Can you send it separately?")
        box.press("Enter")
        expect(box).to_have_value("")
        mine = page.locator(".row.visitor").filter(has_text="arrived without the rake")
        expect(mine).to_have_count(1)
        expect(mine.locator(".bubble")).to_have_text(
            "Hello! My order PL-5521 arrived without the rake.\nCan you send it separately?"
        )
        # Stored: it has the server's id (over the socket or the HTTP fallback).
        page.wait_for_selector(".row.visitor[data-id]", state="attached", timeout=30_000)
        expect(page.locator(".row.visitor .state")).to_have_text("Sent")

        # The agent sees it in the inbox, opens the ticket and replies.
        _open_ticket_as_agent(desk, server, "arrived without the rake")
        expect(desk.locator("#timeline")).to_contain_text("Can you send it separately?")
        _reply(
            desk,
            "Hi! Sorry about that. The rake ships today, tracking: https://track.example/PL-5521.",
        )

        # The visitor sees the reply without reloading, with a safe link.
        reply = page.locator(".row.agent").filter(has_text="The rake ships today")
        expect(reply).to_have_count(1, timeout=20_000)
        # Visitors see an agent's first name only (channels_in.adapters.widget.agent_name).
        expect(reply.locator(".who")).to_have_text("Eva")
        expect(reply.locator(".avatar")).to_have_text("E")
        link = reply.locator("a")
        expect(link).to_have_attribute("href", "https://track.example/PL-5521")
        expect(link).to_have_attribute("rel", "noopener noreferrer nofollow")
        expect(link).to_have_attribute("target", "_blank")
        expect(page.locator("[role=status][aria-live=polite]")).to_contain_text(
            "Eva: Hi! Sorry about that."
        )
        SHOTS.mkdir(parents=True, exist_ok=True)
        _shadow(page, "root.activeElement && root.activeElement.blur()")  # no keyboard in the shot
        page.screenshot(path=str(SHOTS / "widget-mobile.png"))

        # Closed: the next reply shows as an unread count on the launcher.
        page.get_by_role("button", name="Close chat").first.tap()
        expect(dialog).to_be_hidden()
        _reply(desk, "Anything else I can help you with?")
        expect(page.get_by_role("button", name="Open chat, 1 unread message")).to_be_visible(
            timeout=20_000
        )
        expect(page.locator(".badge")).to_have_text("1")

        # A page navigation shows the conversation at once, from the browser's storage.
        page.goto(f"{server.shop}/{server.inbox_key}/another-page")
        page.get_by_role("button", name="Open chat, 1 unread message").tap()
        expect(page.locator(".row.agent")).to_have_count(3, timeout=3_000)  # greeting + 2
        expect(page.locator(".badge")).to_be_hidden()
    finally:
        phone.close()
        agent.close()


def test_the_desktop_panel_is_keyboard_operable_and_asks_who_you_are(server, browser):
    from playwright.sync_api import expect

    context = _shop_context(browser, viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        page.goto(f"{server.shop}/{server.prechat_key}/")
        launcher = page.locator(".launcher")  # its name says what it does: open or close
        expect(launcher).to_have_accessible_name("Open chat")
        launcher.focus()
        page.keyboard.press("Enter")
        dialog = page.get_by_role("dialog", name="Chat with Sales")
        expect(dialog).to_be_visible()
        expect(launcher).to_have_attribute("aria-expanded", "true")
        expect(launcher).to_have_accessible_name("Close chat")
        box = dialog.bounding_box()
        assert (box["width"], box["height"]) == (370, 560), box
        assert box["x"] + box["width"] == 1280 - 20, box  # bottom-right

        # Pre-chat: name and email first, with the privacy notice and its link.
        name = page.get_by_label("Name")
        expect(name).to_be_focused()
        privacy = page.get_by_role("link", name="Privacy policy")
        expect(privacy).to_have_attribute("href", "https://shop.example/privacy")
        expect(page.get_by_role("textbox", name="Message")).to_be_hidden()
        expect(page.get_by_role("button", name="Attach a photo or file")).to_have_count(0)
        page.screenshot(path="/tmp/widget-prechat.png")
        name.fill("Marta Wiśniewska")
        page.get_by_label("Email").fill("marta@example.com")
        page.keyboard.press("Enter")
        message = page.get_by_role("textbox", name="Message")
        expect(message).to_be_focused()

        # Message text is text: markup stays literal, only http(s) URLs become links.
        message.fill("<b>bold?</b> <img src=x onerror=alert(1)> see https://shop.example/a?b=1.")
        page.keyboard.press("Enter")
        bubble = page.locator(".row.visitor .bubble").last
        expect(bubble).to_contain_text("<b>bold?</b> <img src=x onerror=alert(1)>")
        expect(bubble.locator("b, img")).to_have_count(0)
        expect(bubble.locator("a")).to_have_attribute("href", "https://shop.example/a?b=1")

        # Over the limit: counted in code points, the send button is disabled.
        message.fill("🌱" * 5001)
        expect(page.locator(".count")).to_have_text("Too long: 5001 / 5000")
        expect(page.get_by_role("button", name="Send")).to_be_disabled()
        message.fill("🌱" * 5000)
        expect(page.locator(".count")).to_have_text("5000 / 5000")
        expect(page.get_by_role("button", name="Send")).to_be_enabled()
        message.fill("")
        page.wait_for_selector(".row.visitor[data-id]", state="attached", timeout=30_000)
        page.screenshot(path="/tmp/widget-desktop.png")

        # Escape closes and gives the focus back to the launcher.
        page.keyboard.press("Escape")
        expect(dialog).to_be_hidden()
        expect(launcher).to_be_focused()
        expect(launcher).to_have_attribute("aria-expanded", "false")
    finally:
        context.close()


@pytest.mark.parametrize(
    "locale, label, placeholder",
    [("pl-PL", "Otwórz czat", "Napisz wiadomość…"), ("cs-CZ", "Otevřít chat", "Napište zprávu…")],
)
def test_the_widget_speaks_the_visitors_language(server, browser, locale, label, placeholder):
    from playwright.sync_api import expect

    context = _shop_context(browser, locale=locale)
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        page.goto(f"{server.shop}/{server.inbox_key}/")
        page.get_by_role("button", name=label).click()
        expect(page.get_by_role("textbox")).to_have_attribute("placeholder", placeholder)
    finally:
        context.close()


def test_the_widget_talks_over_the_websocket_when_it_can(server, browser):
    from playwright.sync_api import expect

    context = _shop_context(browser, **PHONE)
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        page.goto(f"{server.shop}/{server.inbox_key}/")
        page.get_by_role("button", name="Open chat").tap()
        page.wait_for_function("window.__helpdeskWidget.transport === 'socket'", timeout=10_000)
        box = page.get_by_role("textbox", name="Message")
        box.fill("Over the socket, please.")
        box.press("Enter")
        page.wait_for_selector(".row.visitor[data-id]", state="attached", timeout=10_000)
        expect(page.locator(".row.visitor .state")).to_have_text("Sent")
        assert page.evaluate("window.__helpdeskWidget.transport") == "socket"
    finally:
        context.close()


def test_the_widget_falls_back_to_http_when_websockets_are_blocked(server, browser):
    from playwright.sync_api import expect

    context = _shop_context(browser, **PHONE)
    attempts = []

    def refuse(ws):  # a proxy that lets no websocket through
        attempts.append(ws.url)
        ws.close()

    context.route_web_socket(re.compile(r".*/ws/widget/.*"), refuse)
    page = context.new_page()
    page.set_default_timeout(15_000)
    agent = browser.new_context(viewport={"width": 1360, "height": 860}, locale="en-GB")
    desk = agent.new_page()
    desk.set_default_timeout(15_000)
    try:
        page.goto(f"{server.shop}/{server.inbox_key}/")
        page.get_by_role("button", name="Open chat").tap()
        box = page.get_by_role("textbox", name="Message")
        box.fill("Is the greenhouse kit in stock? Our office network blocks websockets.")
        box.press("Enter")

        # Three failed connects, then plain HTTP: the message is stored all the same.
        page.wait_for_function("window.__helpdeskWidget.transport === 'http'", timeout=20_000)
        assert len(attempts) >= 3
        page.wait_for_selector(".row.visitor[data-id]", state="attached", timeout=15_000)
        assert page.evaluate(f"localStorage.getItem('helpdesk.{server.inbox_key}.token')")

        _open_ticket_as_agent(desk, server, "greenhouse kit")
        _reply(desk, "Yes, 12 kits in stock, they ship within two days.")

        # Polled every 3 s.
        reply = page.locator(".row.agent").filter(has_text="12 kits in stock")
        expect(reply).to_have_count(1, timeout=20_000)
        assert page.evaluate("window.__helpdeskWidget.transport") == "http"
    finally:
        context.close()
        agent.close()


class _FakeChatServer:
    """Plays the server's side of docs/widget-protocol.md on Playwright's routed sockets."""

    def __init__(self) -> None:
        self.sockets: list = []
        self.frames: list[tuple[int, dict]] = []  # (socket number, frame from the widget)

    def __call__(self, ws) -> None:
        number = len(self.sockets)
        self.sockets.append(ws)
        ws.on_message(lambda text: self.frames.append((number, json.loads(text))))
        ws.send(
            json.dumps(
                {
                    "type": "session",
                    "visitor_token": f"visitor-token-{number}",
                    "inbox": {"name": "Kowalski Garden Shop"},
                    "agents_online": True,
                }
            )
        )

    def send(self, frame: dict, socket: int = -1) -> None:
        self.sockets[socket].send(json.dumps(frame))

    def wait_for(self, page, socket: int, frame_type: str, timeout: float = 10) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for number, frame in self.frames:
                if number == socket and frame.get("type") == frame_type:
                    return frame
            page.wait_for_timeout(50)  # lets Playwright deliver the routed frames
        raise AssertionError(f"no {frame_type!r} frame on socket {socket}: {self.frames}")


def test_the_widget_resumes_resends_and_shows_what_the_server_says(server, browser):
    """Reconnect and resume, the outbox, read receipts, typing and error frames."""
    from playwright.sync_api import expect

    context = _shop_context(browser, viewport={"width": 1280, "height": 800})
    fake = _FakeChatServer()
    context.route_web_socket(re.compile(r".*/ws/widget/.*"), fake)
    page = context.new_page()
    page.set_default_timeout(10_000)
    key = server.inbox_key
    try:
        page.goto(f"{server.shop}/{key}/")
        page.get_by_role("button", name="Open chat").click()
        first = fake.wait_for(page, 0, "history")
        assert "after" not in first  # nothing cached yet: all of it
        fake.send(
            {
                "type": "history",
                "has_more": False,
                "messages": [
                    {
                        "id": 5,
                        "body": "Welcome back! Your seeds are on their way.",
                        "author": "agent",
                        "name": "Anna",
                        "created_at": "2026-11-20T09:15:00+00:00",
                        "attachments": [],
                    }
                ],
            }
        )
        expect(page.locator(".row.agent").filter(has_text="Welcome back")).to_have_count(1)
        assert page.evaluate(f"localStorage.getItem('helpdesk.{key}.token')") == (
            '"visitor-token-0"'
        )

        # Sent but never acknowledged: it waits in the outbox...
        box = page.get_by_role("textbox", name="Message")
        box.fill("When will they arrive?")
        box.press("Enter")
        sent = fake.wait_for(page, 0, "message")
        assert sent["body"] == "When will they arrive?" and sent["client_id"]
        expect(page.locator(".row.visitor .state")).to_have_text("Sending…")
        outbox = json.loads(page.evaluate(f"localStorage.getItem('helpdesk.{key}.outbox')"))
        assert [item["client_id"] for item in outbox] == [sent["client_id"]]

        # ...the connection drops; the widget reconnects with its token, asks for what it
        # missed since message 5 and sends the message again with the same client id.
        fake.sockets[0].close(code=1011)
        resumed = fake.wait_for(page, 1, "history")
        assert resumed == {"type": "history", "after": 5}
        assert fake.sockets[1].url.endswith("?token=visitor-token-0")
        again = fake.wait_for(page, 1, "message")
        assert again["client_id"] == sent["client_id"]
        fake.send({"type": "ack", "client_id": sent["client_id"], "id": 6, "duplicate": False})
        expect(page.locator(".row.visitor[data-id='6'] .state")).to_have_text("Sent")
        assert page.evaluate(f"localStorage.getItem('helpdesk.{key}.outbox')") == "[]"

        # The agent has read it, is typing, and answers.
        fake.send({"type": "read", "up_to": 6})
        expect(page.locator(".row.visitor .state")).to_have_text("Seen")
        fake.send({"type": "typing", "state": True, "name": "Anna"})
        expect(page.get_by_text("Anna is typing…")).to_be_visible()
        fake.send(
            {
                "type": "message",
                "message": {
                    "id": 7,
                    "body": "Tomorrow before noon.",
                    "author": "agent",
                    "name": "Anna",
                    "created_at": "2026-11-20T09:16:00+00:00",
                    "attachments": [],
                },
            }
        )
        expect(page.locator(".row.agent").filter(has_text="Tomorrow before noon")).to_be_visible()
        expect(page.get_by_text("Anna is typing…")).to_be_hidden()
        expect(page.locator("[role=status][aria-live=polite]")).to_have_text(
            "New message from Anna: Tomorrow before noon."
        )
        read = fake.wait_for(page, 1, "read")
        assert read == {"type": "read", "up_to": 7}  # the panel is open: seen

        # A refused message comes back into the composer, with a note saying why.
        box.fill("Thanks! And the rake?")
        box.press("Enter")
        refused = fake.wait_for(page, 1, "message")
        while refused["client_id"] == sent["client_id"]:
            fake.frames.remove((1, refused))
            refused = fake.wait_for(page, 1, "message")
        fake.send(
            {
                "type": "error",
                "code": "rate_limited",
                "detail": "Too many messages.",
                "client_id": refused["client_id"],
            }
        )
        expect(page.get_by_role("alert")).to_contain_text("sending messages too fast")
        expect(box).to_have_value("Thanks! And the rake?")
        expect(page.locator(".row.visitor")).to_have_count(1)
    finally:
        context.close()


def test_a_visitor_sends_a_photo_and_the_agent_sees_it(server, browser):
    from playwright.sync_api import expect

    from tests.channels_in.widget.test_uploads import png

    chat = json.loads(
        _manage(server.env, "create_inbox", "widget", "--name", "Photos", "--team", "Support")
    )
    _configure(server, chat["key"], {"allowed_origins": [server.shop], "uploads": True})
    context = _shop_context(browser, viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(15_000)
    agent = browser.new_context(viewport={"width": 1360, "height": 860}, locale="en-GB")
    desk = agent.new_page()
    desk.set_default_timeout(15_000)
    try:
        page.goto(f"{server.shop}/{chat['key']}/")
        page.get_by_role("button", name="Open chat").click()
        box = page.get_by_role("textbox", name="Message")
        box.fill("The rake arrived broken, photo below.")
        box.press("Enter")
        page.wait_for_selector(".row.visitor[data-id]", state="attached", timeout=20_000)
        expect(page.get_by_role("button", name="Attach a photo or file")).to_be_visible()

        # Refused in the browser already: not a picture nor a PDF.
        page.locator(".composer input[type=file]:not([capture])").set_input_files(
            files=[{"name": "notes.svg", "mimeType": "image/svg+xml", "buffer": b"<svg/>"}]
        )
        expect(page.locator(".notice")).to_contain_text("Only photos")

        page.locator(".composer input[type=file]:not([capture])").set_input_files(
            files=[{"name": "rake.png", "mimeType": "image/png", "buffer": png(40, 30)}]
        )
        # Shown as a thumbnail from its signed link once stored.
        thumb = page.locator(
            f".row.visitor[data-id] .files img[src*='/widget/{chat['key']}/files/']"
        )
        expect(thumb).to_have_count(1, timeout=20_000)
        # The link is signed and needs no session. (It is built on PUBLIC_BASE_URL, which
        # this test server leaves at its default: fetch its path from the real address.)
        src = thumb.get_attribute("src")
        path = "/" + src.split("://", 1)[1].split("/", 1)[1]
        image = page.request.get(server.base + path)
        assert image.status == 200 and image.headers["content-type"] == "image/png"
        assert image.body() == png(40, 30)

        _open_ticket_as_agent(desk, server, "arrived broken")
        timeline = desk.locator("#timeline")
        expect(timeline.locator(".attachments a")).to_contain_text("rake.png", timeout=20_000)
        href = timeline.locator(".attachments a").get_attribute("href")
        served = desk.request.get(server.base + href)
        assert served.status == 200 and served.headers["content-type"] == "image/png"
        assert served.body() == png(40, 30)
    finally:
        context.close()
        agent.close()

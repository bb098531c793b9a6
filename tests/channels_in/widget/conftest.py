"""A real server for the widget's tests, and a visitor's socket to talk to it.

`manage.py serve` (uvicorn, embedded worker) runs as a subprocess on a SQLite
file of its own, whatever DATABASE_URL the rest of the suite uses; data is
made through its API and commands, the socket is the `websockets` client.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
from websockets.asyncio.client import ClientConnection, connect

from tests.servers import free_port as _free_port
from tests.servers import manage as _manage
from tests.servers import server_env, serving

ROOT = Path(__file__).resolve().parents[3]
SITE = "https://shop.example"
_addresses = itertools.count(1)


def new_ip() -> str:
    """A client address of its own per test (uvicorn trusts X-Forwarded-For from loopback),
    so each test starts with a fresh per-address rate limit."""
    n = next(_addresses)
    return f"10.9.{n // 250}.{n % 250 + 1}"


@dataclass
class Answer:
    status: int
    headers: dict  # lower-case names
    body: dict | None


@dataclass
class WidgetServer:
    base: str
    env: dict
    log: Path
    key: str = ""
    identity_secret: str = ""
    token: str = ""  # an admin's API token (also the agent who replies)
    test_inbox: int = 0

    @property
    def ws_url(self) -> str:
        return self.base.replace("http://", "ws://") + f"/ws/widget/{self.key}/"

    def request(
        self, method: str, path: str, body: dict | bytes | None = None, headers: dict | None = None
    ) -> Answer:
        data = json.dumps(body).encode() if isinstance(body, dict) else body
        all_headers = {"Content-Type": "application/json"} if data is not None else {}
        request = urllib.request.Request(
            self.base + path, data=data, headers=all_headers | (headers or {}), method=method
        )
        try:
            with urllib.request.urlopen(request, timeout=20) as response:
                status, answer_headers, raw = response.status, response.headers, response.read()
        except urllib.error.HTTPError as exc:
            status, answer_headers, raw = exc.code, exc.headers, exc.read()
        lowered = {k.lower(): v for k, v in answer_headers.items()}
        return Answer(status, lowered, json.loads(raw) if raw else None)

    def api(self, method: str, path: str, body: dict | None = None) -> dict:
        answer = self.request(
            method, f"/api/v1/{path}", body, {"Authorization": f"Token {self.token}"}
        )
        assert answer.status < 300, (answer.status, answer.body)
        return answer.body or {}

    def wait_for_state(self, ticket: int, message: int, state: str, timeout: float = 20) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            rows = self.api("GET", f"tickets/{ticket}/messages/?page_size=100")["results"]
            row = next(r for r in rows if r["id"] == message)
            if row["delivery_state"] == state or time.monotonic() > deadline:
                assert row["delivery_state"] == state, row
                return row
            time.sleep(0.2)

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""


class Visitor:
    """One widget socket: JSON frames in and out."""

    def __init__(self, connection: ClientConnection):
        self.connection = connection
        # Notices the server sends on its own ("nobody is online": the test server's
        # agents never are); a test about them empties this.
        self.skip = {"away"}

    async def send(self, frame: dict | str) -> None:
        await self.connection.send(frame if isinstance(frame, str) else json.dumps(frame))

    async def receive(self, timeout: float = 10) -> dict:
        while True:
            frame = json.loads(await asyncio.wait_for(self.connection.recv(), timeout))
            if frame.get("type") not in self.skip:
                return frame

    async def exchange(self, frame: dict, timeout: float = 10) -> dict:
        await self.send(frame)
        return await self.receive(timeout)

    async def nothing_within(self, seconds: float) -> bool:
        try:
            frame = await self.receive(seconds)
        except TimeoutError:
            return True
        raise AssertionError(f"unexpected frame {frame}")


@asynccontextmanager
async def open_visitor(
    server: WidgetServer,
    token: str | None = None,
    origin: str | None = SITE,
    ip: str | None = None,
    key: str | None = None,
) -> AsyncIterator[Visitor]:
    url = server.ws_url if key is None else server.ws_url.replace(server.key, key)
    if token:
        url += f"?token={quote(token)}"
    headers = {"X-Forwarded-For": ip} if ip else None
    async with connect(url, origin=origin, additional_headers=headers, open_timeout=10) as ws:
        yield Visitor(ws)


@pytest.fixture(scope="package")
def widget_server(tmp_path_factory) -> Iterator[WidgetServer]:
    """A migrated helpdesk with an admin (who also replies), a widget inbox that allows
    https://shop.example, and a test inbox; served on a free port, stopped afterwards."""
    tmp = tmp_path_factory.mktemp("widget")
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = server_env(tmp, PUBLIC_BASE_URL=base)
    _manage(env, "migrate", "--no-input", "-v0")
    admin = json.loads(
        _manage(
            env,
            "create_agent",
            "eva@example.com",
            "--password",
            "widget-horse-2026",
            "--role",
            "admin",
            "--name",
            "Eva Nováková",
        )  # fmt: skip
    )
    log = tmp / "server.log"
    server = WidgetServer(base=base, env=env, log=log, token=admin["api_token"])
    try:
        with serving(env, port, log):
            inbox = server.api(
                "POST",
                "inboxes/",
                {
                    "channel": "widget",
                    "name": "Web chat",
                    "config": {
                        "allowed_origins": [SITE, "https://www.shop.example"],
                        "greeting": "Hi! How can we help?",
                        "color": "#0a7d5a",
                    },
                },
            )
            server.key, server.identity_secret = inbox["key"], inbox["secrets"]["identity_secret"]
            server.test_inbox = server.api(
                "POST", "inboxes/", {"channel": "test", "name": "Phone"}
            )["id"]
            yield server
    finally:
        print(f"--- server log ---\n{server.log_tail()}")

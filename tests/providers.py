"""A stand-in for the provider APIs beyond our network edge (Twilio's REST API,
Meta's Graph API): a real HTTP server on 127.0.0.1 that records every request it
receives and answers what the test told it to.

Our code and the real `twilio` client talk to it over HTTP exactly as they would
to the provider; only the base URL (a setting) differs.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    @property
    def form(self) -> dict[str, list[str]]:
        return parse_qs(self.body.decode())

    def json(self):
        return json.loads(self.body)


@dataclass
class _Route:
    method: str
    pattern: re.Pattern
    status: int
    body: bytes
    content_type: str
    headers: dict[str, str] = field(default_factory=dict)
    times: int | None = None


class ProviderStub:
    """Start with .start(); program answers with .answer(); read .requests."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self._routes: list[_Route] = []
        self._lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                recorded = Recorded(
                    method=self.command,
                    path=parts.path,
                    query=parse_qs(parts.query),
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                )
                route = stub._route_for(recorded)
                with stub._lock:
                    stub.requests.append(recorded)
                self.send_response(route.status if route else 404)
                payload = route.body if route else b'{"error": "no route"}'
                self.send_header(
                    "Content-Type", route.content_type if route else "application/json"
                )
                for name, value in (route.headers if route else {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_DELETE = _handle  # noqa: N815

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> ProviderStub:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def answer(
        self,
        method: str,
        path_pattern: str,
        *,
        status: int = 200,
        json_body=None,
        body: bytes = b"",
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
        times: int | None = None,
    ) -> None:
        """Answer requests whose path matches the regex. The latest matching rule wins;
        `times` limits how often a rule applies (then earlier rules answer again)."""
        payload = json.dumps(json_body).encode() if json_body is not None else body
        with self._lock:
            self._routes.append(
                _Route(
                    method.upper(),
                    re.compile(path_pattern),
                    status,
                    payload,
                    content_type,
                    headers or {},
                    times,
                )
            )

    def _route_for(self, request: Recorded) -> _Route | None:
        with self._lock:
            for route in reversed(self._routes):
                if route.method == request.method and route.pattern.search(request.path):
                    if route.times is not None:
                        if route.times <= 0:
                            continue
                        route.times -= 1
                    return route
        return None

    def received(self, method: str, path_pattern: str) -> list[Recorded]:
        pattern = re.compile(path_pattern)
        with self._lock:
            return [r for r in self.requests if r.method == method and pattern.search(r.path)]

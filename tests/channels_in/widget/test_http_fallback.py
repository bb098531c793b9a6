"""The HTTP fallback against the real server: origins, CORS, preflight, limits."""

from __future__ import annotations

import uuid

import pytest

from .conftest import SITE, WidgetServer, new_ip

EVIL = "https://evil.example"
PREFLIGHT = {"Access-Control-Request-Method": "POST"}


def _path(server: WidgetServer, key: str | None = None) -> str:
    return f"/widget/{key or server.key}/messages"


def _message(**fields) -> dict:
    return {"body": "Hello over plain HTTP", "client_id": uuid.uuid4().hex} | fields


@pytest.mark.parametrize(
    ("method", "headers", "body", "status", "code", "cors"),
    [
        ("OPTIONS", {"Origin": SITE} | PREFLIGHT, None, 204, None, True),
        ("OPTIONS", {"Origin": EVIL} | PREFLIGHT, None, 403, "forbidden_origin", False),
        ("POST", {"Origin": SITE}, _message(), 202, None, True),
        ("POST", {"Origin": "https://www.shop.example"}, _message(), 202, None, True),
        ("POST", {"Origin": EVIL}, _message(), 403, "forbidden_origin", False),
        ("POST", {}, _message(), 403, "forbidden_origin", False),
        ("POST", {"Origin": SITE}, b"not json", 400, "malformed", True),
        ("POST", {"Origin": SITE}, _message(client_id=""), 400, "malformed", True),
        ("POST", {"Origin": SITE}, _message(body="  "), 400, "empty", True),
        ("POST", {"Origin": SITE}, _message(body="x" * 5001), 413, "too_large", True),
        ("POST", {"Origin": SITE}, _message(pad="y" * 70_000), 413, "too_large", True),
        ("GET", {"Origin": SITE}, None, 200, None, True),
        ("GET", {"Origin": EVIL}, None, 403, "forbidden_origin", False),
        ("GET", {"Sec-Fetch-Site": "same-origin"}, None, 200, None, False),
        ("GET", {"Sec-Fetch-Site": "cross-site"}, None, 403, "forbidden_origin", False),
    ],
)  # fmt: skip
def test_it_answers_the_fallback_endpoint(
    widget_server: WidgetServer, method, headers, body, status, code, cors
):
    answer = widget_server.request(
        method, _path(widget_server), body, headers | {"X-Forwarded-For": new_ip()}
    )
    assert answer.status == status, answer.body
    if code:
        assert answer.body["error"] == code
        assert answer.body["detail"]
    if cors:
        assert answer.headers["access-control-allow-origin"] == headers["Origin"]
        assert "Origin" in answer.headers["vary"]
    else:
        assert "access-control-allow-origin" not in answer.headers
    if method == "OPTIONS" and status == 204:
        allowed = answer.headers["access-control-allow-headers"].lower()
        assert "x-visitor-token" in allowed and "content-type" in allowed
        assert "POST" in answer.headers["access-control-allow-methods"]


def test_it_refuses_unknown_keys_with_404(widget_server: WidgetServer):
    answer = widget_server.request("POST", _path(widget_server, "no-such-key"), _message())
    assert (answer.status, answer.body["error"]) == (404, "unknown_inbox")


def test_it_stores_a_repeated_post_once(widget_server: WidgetServer):
    ip = new_ip()
    message = _message()
    first = widget_server.request(
        "POST", _path(widget_server), message, {"Origin": SITE, "X-Forwarded-For": ip}
    )
    assert first.status == 202
    assert first.body["duplicate"] is False
    token = first.body["visitor_token"]
    headers = {"Origin": SITE, "X-Forwarded-For": ip, "X-Visitor-Token": token}
    again = widget_server.request("POST", _path(widget_server), message, headers)
    assert again.status == 200
    assert (again.body["duplicate"], again.body["message"]) == (True, first.body["message"])
    listed = widget_server.request("GET", _path(widget_server), headers=headers)
    assert [m["id"] for m in listed.body["messages"]] == [first.body["message"]]
    after = widget_server.request(
        "GET", _path(widget_server) + f"?after={first.body['message']}", headers=headers
    )
    assert after.body == {"messages": []}
    bad = widget_server.request("GET", _path(widget_server) + "?after=x", headers=headers)
    assert (bad.status, bad.body["error"]) == (400, "bad_after")


def test_it_rate_limits_posts_with_429(widget_server: WidgetServer):
    ip = new_ip()
    headers = {"Origin": SITE, "X-Forwarded-For": ip}
    first = widget_server.request("POST", _path(widget_server), _message(), headers)
    headers["X-Visitor-Token"] = first.body["visitor_token"]
    for _ in range(19):
        assert (
            widget_server.request("POST", _path(widget_server), _message(), headers).status == 202
        )
    limited = widget_server.request("POST", _path(widget_server), _message(), headers)
    assert (limited.status, limited.body["error"]) == (429, "rate_limited")
    assert limited.headers["access-control-allow-origin"] == SITE
    listed = widget_server.request("GET", _path(widget_server), headers=headers)
    assert len(listed.body["messages"]) == 20

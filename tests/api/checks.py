"""Assertions shared by the API tests."""

from __future__ import annotations


def assert_error(response, status: int, code: str | None = None) -> dict:
    """The API's error shape: JSON {"error": code, "detail": sentence}."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert isinstance(body["error"], str) and body["error"]
    assert isinstance(body["detail"], str) and body["detail"].endswith((".", "?", ")"))
    if code is not None:
        assert body["error"] == code, body
    return body

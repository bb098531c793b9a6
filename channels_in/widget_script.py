"""GET /widget/<key>.js: the chat widget's script, with the inbox's public settings.

The script (static/widget/widget.js) is plain JavaScript with one placeholder
that this view replaces by a JSON object. Only what a visitor's browser may
know goes in: never `inbox.secrets` (the identity secret signs visitors).
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

from tickets.models import Channel, Inbox

from .adapters.widget import UPLOAD_TYPES, upload_max_bytes

SCRIPT_PATH = Path(settings.BASE_DIR) / "static" / "widget" / "widget.js"
PLACEHOLDER = "/*@settings*/null"
CONTENT_TYPE = "application/javascript; charset=utf-8"
DEFAULT_COLOR = "#2f54d6"  # the product's primary colour (static/css/app.css)
COLOR_RE = re.compile(r"#[0-9a-fA-F]{6}")
LANGUAGES = ("en", "pl", "cs")
# JSON inside a <script>: these characters must not end or open a tag when
# a site inlines the script, so they are written as \u escapes (as Django's json_script).
JS_ESCAPES = {ord("<"): "\\u003C", ord(">"): "\\u003E", ord("&"): "\\u0026"}


@require_safe
def script(request: HttpRequest, key: str) -> HttpResponse:
    inbox = Inbox.objects.filter(key=key, channel=Channel.WIDGET, is_active=True).first()
    if inbox is None:
        response = HttpResponse(
            "/* No active chat widget has this key. */\n", content_type=CONTENT_TYPE, status=404
        )
        response["Cache-Control"] = "no-cache"
        return response
    blob = json.dumps(public_settings(request, inbox), separators=(",", ":")).translate(JS_ESCAPES)
    response = HttpResponse(read_script().replace(PLACEHOLDER, blob, 1), content_type=CONTENT_TYPE)
    response["Cache-Control"] = "public, max-age=300"
    return response


def public_settings(request: HttpRequest, inbox: Inbox) -> dict[str, Any]:
    """What the widget needs to draw itself and connect; nothing secret."""
    config = inbox.config if isinstance(inbox.config, dict) else {}
    host = request.get_host()
    secure = request.is_secure()
    data: dict[str, Any] = {
        "key": inbox.key,
        "name": inbox.name,
        "greeting": read_greeting(config.get("greeting")),
        "color": read_color(config.get("color")),
        "language": inbox.language if inbox.language in LANGUAGES else "en",
        "prechat": config.get("prechat") is True,
        "self_service": config.get("self_service") is True,
        "privacy_url": read_http_url(config.get("privacy_url")),
        "uploads": config.get("uploads") is True,
        "socket_url": f"{'wss' if secure else 'ws'}://{host}/ws/widget/{inbox.key}/",
        "messages_url": f"{'https' if secure else 'http'}://{host}/widget/{inbox.key}/messages",
    }
    if data["self_service"]:
        data["articles_url"] = (
            f"{'https' if secure else 'http'}://{host}/widget/{inbox.key}/articles"
        )
    if data["uploads"]:
        # The widget checks size and type first, for a friendly notice; the server decides.
        data["upload_url"] = f"{'https' if secure else 'http'}://{host}/widget/{inbox.key}/files"
        data["upload_max_bytes"] = upload_max_bytes(inbox)
        data["upload_types"] = list(UPLOAD_TYPES)
    return data


def read_greeting(value: object) -> dict[str, str]:
    """Per language; one string greets in every language. Missing ones: the script's default."""
    if isinstance(value, str) and value.strip():
        return dict.fromkeys(LANGUAGES, value.strip()[:500])
    if isinstance(value, dict):
        return {
            lang: text.strip()[:500]
            for lang, text in value.items()
            if lang in LANGUAGES and isinstance(text, str) and text.strip()
        }
    return {}


def read_color(value: object) -> str:
    if isinstance(value, str) and COLOR_RE.fullmatch(value.strip()):
        return value.strip().lower()
    return DEFAULT_COLOR


def read_http_url(value: object) -> str | None:
    if isinstance(value, str) and re.match(r"https?://[^\s\"'<>]+$", value.strip()):
        return value.strip()
    return None


@cache
def _cached_script() -> str:
    return SCRIPT_PATH.read_text(encoding="utf-8")


def read_script() -> str:
    # Re-read while developing so an edit shows at once; cached otherwise.
    return SCRIPT_PATH.read_text(encoding="utf-8") if settings.DEBUG else _cached_script()

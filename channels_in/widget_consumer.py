"""The chat widget's socket: `ws/widget/<key>/?token=<visitor token>`.

docs/widget-protocol.md fixes the frames. A visitor's message takes the
same path as the HTTP fallback (widgets.receive_visitor_message: raw payload
committed, then ingested), so a resend with the same client id is stored once.
Every socket of a visitor joins the visitor's group; agent replies, agent
typing and agent read marks arrive there as widget.* events.
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import DatabaseError

from tickets.models import Inbox

from .adapters.widget import MAX_CLIENT_ID, read_visitor, visitor_group
from .base import WebhookError
from .self_service import (
    read_article,
    reply_by_email,
    session,
    suggest,
    visitor_answered,
    visitor_hand_over,
)
from .widgets import (
    FRAME_MAX_BYTES,
    admit_identify,
    error_detail,
    find_conversation,
    find_widget_inbox,
    identify_visitor,
    list_history,
    mark_read,
    new_visitor,
    origin_allowed,
    publish_visitor_typing,
    receive_visitor_message,
)

# Frames of any kind one socket may send a minute (messages have their own, lower, limit).
FRAMES_PER_MINUTE = 120
# What the message path's errors are called on the socket.
_MESSAGE_ERRORS = {"too_large", "empty", "rate_limited"}


class WidgetConsumer(AsyncWebsocketConsumer):
    inbox: Inbox | None = None
    visitor = ""
    group = ""

    async def connect(self) -> None:
        key = self.scope["url_route"]["kwargs"]["key"]
        inbox = await database_sync_to_async(find_widget_inbox)(key)
        if inbox is None:
            await self._refuse(4404)
            return
        origin, host = _header(self.scope, b"origin"), _header(self.scope, b"host")
        if not origin_allowed(inbox, origin, host):
            await self._refuse(4403)
            return
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        token = (query.get("token") or [""])[0]
        self.inbox = inbox
        self.ip = str((self.scope.get("client") or ["unknown"])[0])
        self.conversation: tuple[int, int] | None = None
        self.window = (time.monotonic(), 0)
        await self._join(read_visitor(inbox, token) or new_visitor())
        await self.accept()
        await self._send_session()

    async def _refuse(self, code: int) -> None:
        # Decided before accept, and nothing is sent but the code. The handshake
        # completes only so the widget can read the code: a browser reports a
        # refused handshake as 1006, like a network failure, and would retry forever.
        await self.accept()
        await self.close(code=code)

    async def _join(self, visitor: str) -> None:
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)
        self.visitor = visitor
        self.group = visitor_group(self.inbox.key, visitor)  # type: ignore[union-attr]
        await self.channel_layer.group_add(self.group, self.channel_name)

    async def disconnect(self, code: int) -> None:
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.inbox is None:
            return  # refused; the close is on its way
        if text_data is None:
            await self._error("bad_frame")
            return
        if len(text_data) > FRAME_MAX_BYTES or len(text_data.encode()) > FRAME_MAX_BYTES:
            await self._error("too_large", _client_id_of(text_data))
            return
        if not self._within_frame_budget():
            await self._error("rate_limited")
            return
        try:
            content = json.loads(text_data)
        except ValueError:
            content = None
        handler = {
            "message": self._message,
            "history": self._history,
            "typing": self._typing,
            "read": self._read,
            "identify": self._identify,
            "suggest": self._suggest,
            "article": self._article,
            "handoff": self._handoff,
            "answered": self._answered,
        }.get(content.get("type") if isinstance(content, dict) else None)
        if handler is None:
            await self._error("bad_frame")
            return
        await handler(content, text_data)

    def _within_frame_budget(self) -> bool:
        started, count = self.window
        now = time.monotonic()
        if now - started >= 60:
            started, count = now, 0
        self.window = (started, count + 1)
        return count < FRAMES_PER_MINUTE

    # --- widget -> server ---------------------------------------------------------

    async def _message(self, content: dict, text: str) -> None:
        client_id = _client_id(content)
        try:
            received = await database_sync_to_async(receive_visitor_message)(
                inbox=self.inbox,
                visitor=self.visitor,
                ip=self.ip,
                raw=text.encode(),
                exclude_channel=self.channel_name,
            )
        except WebhookError as exc:
            code = exc.code if exc.code in _MESSAGE_ERRORS else "bad_frame"
            await self._error(code, client_id)
            return
        except DatabaseError:
            await self._error("unavailable", client_id)
            return
        if received.message is None:
            # Stored raw but not yet ingested: the same client id again retries it.
            await self._error("unavailable", client_id)
            return
        if received.ticket_id is not None and received.customer_id is not None:
            self.conversation = (received.ticket_id, received.customer_id)
        await self._send(
            {
                "type": "ack",
                "client_id": client_id,
                "id": received.message.pk,
                "duplicate": received.duplicate,
            }
        )

    async def _history(self, content: dict, text: str) -> None:
        after = content.get("after", 0)
        if after is None:
            after = 0
        if not isinstance(after, int) or isinstance(after, bool) or after < 0:
            await self._error("bad_frame")
            return
        rows, has_more = await database_sync_to_async(list_history)(
            inbox=self.inbox, visitor=self.visitor, after=after
        )
        await self._send({"type": "history", "messages": rows, "has_more": has_more})

    async def _typing(self, content: dict, text: str) -> None:
        state = content.get("state")
        if not isinstance(state, bool):
            await self._error("bad_frame")
            return
        if self.conversation is None:
            self.conversation = await database_sync_to_async(find_conversation)(
                inbox=self.inbox, visitor=self.visitor
            )
        if self.conversation is not None:
            ticket_id, customer_id = self.conversation
            publish_visitor_typing(ticket_id=ticket_id, customer_id=customer_id, state=state)

    async def _read(self, content: dict, text: str) -> None:
        up_to = content.get("up_to")
        if not isinstance(up_to, int) or isinstance(up_to, bool) or up_to < 1:
            await self._error("bad_frame")
            return
        await database_sync_to_async(mark_read)(inbox=self.inbox, visitor=self.visitor, up_to=up_to)

    async def _identify(self, content: dict, text: str) -> None:
        email, name, signature = (content.get(k, "") for k in ("email", "name", "hmac"))
        if not all(isinstance(v, str) for v in (email, name or "", signature or "")):
            await self._error("bad_frame")
            return
        try:
            validate_email(email.strip())
        except ValidationError:
            await self._error("bad_frame")
            return
        if not await database_sync_to_async(admit_identify)(visitor=self.visitor):
            await self._error("rate_limited")
            return
        try:
            visitor = await database_sync_to_async(identify_visitor)(
                inbox=self.inbox,
                visitor=self.visitor,
                email=email,
                name=name or "",
                signature=signature or "",
            )
        except DatabaseError:
            await self._error("unavailable")
            return
        if visitor != self.visitor:
            await self._join(visitor)
        self.conversation = None  # the visitor may belong to another customer now
        await self._send_session()
        if content.get("reply_by_email") is True:
            reachable = await database_sync_to_async(reply_by_email)(
                inbox=self.inbox, visitor=self.visitor, address=email.strip().lower()
            )
            await self._send({"type": "reply_by_email", "email": email.strip(), "ok": reachable})

    async def _suggest(self, content: dict, text: str) -> None:
        query = content.get("q")
        if not isinstance(query, str):
            await self._error("bad_frame")
            return
        found = await database_sync_to_async(suggest)(self.inbox, query, content.get("language"))
        await self._send({"type": "articles", "q": query[:300], "articles": found})

    async def _article(self, content: dict, text: str) -> None:
        article_id = content.get("id")
        if not isinstance(article_id, int) or isinstance(article_id, bool):
            await self._error("bad_frame")
            return
        article = await database_sync_to_async(read_article)(self.inbox, article_id)
        await self._send({"type": "article", "id": article_id, "article": article})

    async def _handoff(self, content: dict, text: str) -> None:
        state = await database_sync_to_async(visitor_hand_over)(
            inbox=self.inbox,
            visitor=self.visitor,
            shown=content.get("articles"),
            opened=content.get("opened"),
        )
        # A routed chat hears it from its group (as the visitor's other tabs do).
        if state != "routed":
            await self._send({"type": "handoff", "state": state})

    async def _answered(self, content: dict, text: str) -> None:
        solved = await database_sync_to_async(visitor_answered)(
            inbox=self.inbox,
            visitor=self.visitor,
            shown=content.get("articles"),
            opened=content.get("opened"),
        )
        await self._send({"type": "answered", "solved": solved})

    # --- server -> widget ---------------------------------------------------------

    async def widget_message(self, event: dict) -> None:
        if event.get("exclude") and event["exclude"] == self.channel_name:
            return  # the sender has its ack
        await self._send({"type": "message", "message": event["message"]})

    async def widget_typing(self, event: dict) -> None:
        await self._send(
            {"type": "typing", "state": bool(event.get("state")), "name": event.get("name", "")}
        )

    async def widget_read(self, event: dict) -> None:
        await self._send({"type": "read", "up_to": event.get("up_to")})

    async def widget_suggestions(self, event: dict) -> None:
        await self._send(
            {"type": "suggestions", "message": event["message"], "articles": event["articles"]}
        )

    async def widget_handoff(self, event: dict) -> None:
        await self._send({"type": "handoff", "state": event.get("state", "routed")})

    async def widget_away(self, event: dict) -> None:
        await self._send({k: v for k, v in event.items() if k != "type"} | {"type": "away"})

    async def _send_session(self) -> None:
        frame = await database_sync_to_async(session)(self.inbox, self.visitor)
        await self._send(frame)

    async def _error(self, code: str, client_id: str | None = None) -> None:
        language = self.inbox.language if self.inbox else "en"
        frame: dict[str, Any] = {
            "type": "error",
            "code": code,
            "detail": error_detail(code, language),
        }
        if client_id:
            frame["client_id"] = client_id
        await self._send(frame)

    async def _send(self, frame: dict) -> None:
        await self.send(text_data=json.dumps(frame))


def _header(scope: dict, name: bytes) -> str | None:
    for key, value in scope.get("headers") or []:
        if key == name:
            return value.decode("latin-1")
    return None


def _client_id(content: dict) -> str | None:
    value = content.get("client_id")
    return value if isinstance(value, str) and 0 < len(value) <= MAX_CLIENT_ID else None


def _client_id_of(text: str) -> str | None:
    """The client id of a frame over the limit, if it is small enough to read at all."""
    if len(text) > 1024 * 1024:
        return None
    try:
        content = json.loads(text)
    except ValueError:
        return None
    return _client_id(content) if isinstance(content, dict) else None

"""The widget's plain-HTTP conversation (when websockets are blocked).

POST /widget/<key>/messages  {"body": ..., "client_id": ..., "name"?: ...}
GET  /widget/<key>/messages?after=<id>
The visitor token travels in the `X-Visitor-Token` header; a request
without a valid one is given a new visitor and token in the answer.
"""

from __future__ import annotations

import secrets

from django.db import DatabaseError
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from tickets.models import Channel, Identity, IdentityKind, Inbox, Message

from .adapters.widget import parse_payload, read_visitor, sign_visitor
from .base import Accepted, WebhookError
from .pipeline import process_raw, store_raw
from .views import json_error

HISTORY_LIMIT = 100


@csrf_exempt
@require_http_methods(["GET", "POST"])
def messages(request: HttpRequest, key: str) -> JsonResponse:
    inbox = Inbox.objects.filter(key=key, channel=Channel.WIDGET, is_active=True).first()
    if inbox is None:
        return json_error(404, "unknown_inbox", "No active chat has this key.")
    visitor = read_visitor(inbox, request.headers.get("X-Visitor-Token", ""))
    if request.method == "GET":
        return _history(request, inbox, visitor)
    if len(request.body) > 64 * 1024:
        return json_error(413, "too_large", "The message is too large.")
    try:
        payload = parse_payload(request.body)
    except WebhookError as exc:
        return json_error(exc.status, exc.code, exc.detail)
    visitor = visitor or secrets.token_hex(12)
    accepted = Accepted(
        provider_key=f"{visitor}:{payload['client_id']}",
        body=request.body,
        content_type="application/json",
        meta={"visitor": visitor},
    )
    try:
        stored = store_raw(inbox=inbox, accepted=accepted)
    except DatabaseError:
        return json_error(503, "unavailable", "The message could not be stored; retry later.")
    result = process_raw(stored.raw.pk)
    return JsonResponse(
        {
            "message": result.message.pk if result else None,
            "ticket": result.ticket.pk if result else None,
            "duplicate": stored.duplicate,
            "visitor_token": sign_visitor(inbox, visitor),
        },
        status=200 if stored.duplicate else 202,
    )


def _history(request: HttpRequest, inbox: Inbox, visitor: str | None) -> JsonResponse:
    if visitor is None:
        return JsonResponse({"messages": []})
    try:
        after = int(request.GET.get("after") or 0)
    except ValueError:
        return json_error(400, "bad_after", "'after' must be a message id.")
    identity = Identity.objects.filter(kind=IdentityKind.WIDGET, value=visitor).first()
    if identity is None:
        return JsonResponse({"messages": []})
    rows = (
        Message.objects.filter(
            ticket__customer_id=identity.customer_id, inbox=inbox, is_note=False, id__gt=after
        )
        .select_related("author")
        .order_by("id")[:HISTORY_LIMIT]
    )
    return JsonResponse(
        {
            "messages": [
                {
                    "id": m.pk,
                    "body": m.body_text,
                    "author": "visitor" if m.is_inbound else "agent",
                    "name": m.author.get_full_name() if m.author else "",
                    "created_at": m.created_at.isoformat(),
                }
                for m in rows
            ]
        }
    )

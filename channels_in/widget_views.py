"""The widget's plain-HTTP conversation (when websockets are blocked).

POST /widget/<key>/messages  {"body": ..., "client_id": ..., "name"?: ...}
GET  /widget/<key>/messages?after=<id>
The visitor token travels in the `X-Visitor-Token` header; a request
without a valid one is given a new visitor and token in the answer.
Customers' sites call these cross-origin: only the inbox's allowed origins
(and the helpdesk's own) get an answer, with CORS headers naming that origin.
"""

from __future__ import annotations

import re

from django.db import DatabaseError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from tickets.models import Attachment, IdentityKind, Inbox

from .adapters.widget import read_attachment_token, read_visitor, sign_visitor
from .base import WebhookError
from .views import json_error
from .widgets import (
    FRAME_MAX_BYTES,
    error_detail,
    find_widget_inbox,
    list_history,
    new_visitor,
    origin_allowed,
    receive_visitor_message,
)

PREFLIGHT_SECONDS = 600


@csrf_exempt
@require_http_methods(["GET", "POST", "OPTIONS"])
def messages(request: HttpRequest, key: str) -> HttpResponse:
    inbox = find_widget_inbox(key)
    if inbox is None:
        return json_error(404, "unknown_inbox", "No active chat has this key.")
    origin = request.headers.get("Origin")
    # A browser leaves Origin out of a same-origin GET only (the helpdesk's own pages).
    same_site = origin is None and request.headers.get("Sec-Fetch-Site") == "same-origin"
    if not (same_site or origin_allowed(inbox, origin)):
        return _error(inbox, 403, "forbidden_origin")
    if request.method == "OPTIONS":
        response = HttpResponse(status=204)
        response["Access-Control-Allow-Methods"] = "GET, POST"
        response["Access-Control-Allow-Headers"] = "Content-Type, X-Visitor-Token"
        response["Access-Control-Max-Age"] = str(PREFLIGHT_SECONDS)
    elif request.method == "GET":
        response = _history(request, inbox)
    else:
        response = _post(request, inbox)
    if origin is not None:
        response["Access-Control-Allow-Origin"] = origin
    response["Vary"] = "Origin"
    return response


def _error(inbox: Inbox, status: int, code: str) -> JsonResponse:
    return json_error(status, code, error_detail(code, inbox.language))


def _post(request: HttpRequest, inbox: Inbox) -> JsonResponse:
    if len(request.body) > FRAME_MAX_BYTES:
        return _error(inbox, 413, "too_large")
    visitor = read_visitor(inbox, request.headers.get("X-Visitor-Token", "")) or new_visitor()
    try:
        received = receive_visitor_message(
            inbox=inbox,
            visitor=visitor,
            ip=request.META.get("REMOTE_ADDR") or "unknown",
            raw=request.body,
        )
    except WebhookError as exc:
        return _error(inbox, exc.status, exc.code)
    except DatabaseError:
        return _error(inbox, 503, "unavailable")
    return JsonResponse(
        {
            "message": received.message.pk if received.message else None,
            "ticket": received.ticket_id,
            "duplicate": received.duplicate,
            "visitor_token": sign_visitor(inbox, visitor),
        },
        status=200 if received.duplicate else 202,
    )


def _history(request: HttpRequest, inbox: Inbox) -> JsonResponse:
    visitor = read_visitor(inbox, request.headers.get("X-Visitor-Token", ""))
    if visitor is None:
        return JsonResponse({"messages": []})
    try:
        after = int(request.GET.get("after") or 0)
    except ValueError:
        return _error(inbox, 400, "bad_after")
    rows, _ = list_history(inbox=inbox, visitor=visitor, after=after)
    return JsonResponse({"messages": rows})


_CONTENT_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$")


@require_GET
def attachment(request: HttpRequest, key: str, token: str) -> HttpResponse:
    """A file of the visitor's conversation, by the signed link its message carries."""
    inbox = find_widget_inbox(key)
    attachment_id = read_attachment_token(inbox, token) if inbox else None
    if inbox is None or attachment_id is None:
        raise Http404
    item = get_object_or_404(
        Attachment.objects.filter(
            message__inbox=inbox,
            message__is_note=False,
            message__ticket__customer__identities__kind=IdentityKind.WIDGET,
        ).distinct(),
        pk=attachment_id,
    )
    content_type = item.content_type.lower()
    if not _CONTENT_TYPE.match(content_type):
        content_type = "application/octet-stream"
    # Pictures may show in the chat; anything else, SVG included, is only downloaded.
    inline = content_type.startswith("image/") and "svg" not in content_type
    response = FileResponse(
        item.file.open("rb"),
        as_attachment=not inline,
        filename=item.filename,
        content_type=content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response

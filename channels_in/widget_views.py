"""The widget's plain-HTTP conversation (when websockets are blocked), and its uploads.

POST /widget/<key>/messages  {"body": ..., "client_id": ..., "name"?: ...}
GET  /widget/<key>/messages?after=<id>
POST /widget/<key>/files     multipart: file, client_id, body?, name?
GET  /widget/<key>/articles?q=…&language=…   GET /widget/<key>/articles/<id>
The visitor token travels in the `X-Visitor-Token` header; a request
without a valid one is given a new visitor and token in the answer.
Customers' sites call these cross-origin: only the inbox's allowed origins
(and the helpdesk's own) get an answer, with CORS headers naming that origin.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import get_object_or_404
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from tickets.files import attachment_response
from tickets.models import Attachment, IdentityKind, Inbox

from .adapters.widget import (
    FileTooLargeError,
    read_attachment_token,
    read_visitor,
    serialize_message,
    sign_visitor,
    upload_max_bytes,
    uploads_enabled,
)
from .base import WebhookError
from .self_service import read_article, suggest
from .views import json_error
from .widgets import (
    FRAME_MAX_BYTES,
    Received,
    error_detail,
    find_widget_inbox,
    list_history,
    new_visitor,
    origin_allowed,
    receive_visitor_message,
    receive_visitor_upload,
)

PREFLIGHT_SECONDS = 600
# Room for the multipart boundaries and the small fields beside the file.
MULTIPART_SLACK = 64 * 1024

# Visitor-facing sentences of the upload's own refusals (the others: widgets.error_detail).
_UPLOAD_ERRORS = {
    "uploads_disabled": _("This chat does not take files."),
    "no_file": _("Choose a file to send."),
    "too_large": _("A file can be at most %(mb)s MB."),
    "unsupported_type": _("Only pictures (JPEG, PNG, GIF, WebP, HEIC) and PDF files can be sent."),
}


@csrf_exempt
@require_http_methods(["GET", "POST", "OPTIONS"])
def messages(request: HttpRequest, key: str) -> HttpResponse:
    return _cross_origin(request, key, "GET, POST", _history if request.method == "GET" else _post)


@csrf_exempt
@require_http_methods(["POST", "OPTIONS"])
def files(request: HttpRequest, key: str) -> HttpResponse:
    return _cross_origin(request, key, "POST", _upload)


@csrf_exempt
@require_http_methods(["GET", "OPTIONS"])
def articles(request: HttpRequest, key: str) -> HttpResponse:
    """GET ?q=…&language=…: the `suggest` frame over HTTP."""
    return _cross_origin(request, key, "GET", _suggest)


@csrf_exempt
@require_http_methods(["GET", "OPTIONS"])
def article(request: HttpRequest, key: str, article_id: int) -> HttpResponse:
    """The `article` frame over HTTP; 404 for one that is not published."""

    def answer(request: HttpRequest, inbox: Inbox) -> JsonResponse:
        found = read_article(inbox, article_id)
        if found is None:
            return json_error(404, "unknown_article", "No published article has this id.")
        return JsonResponse({"article": found})

    return _cross_origin(request, key, "GET", answer)


def _suggest(request: HttpRequest, inbox: Inbox) -> JsonResponse:
    query = request.GET.get("q", "")
    found = suggest(inbox, query, request.GET.get("language"))
    return JsonResponse({"q": query[:300], "articles": found})


def _cross_origin(
    request: HttpRequest,
    key: str,
    methods: str,
    answer: Callable[[HttpRequest, Inbox], HttpResponse],
) -> HttpResponse:
    """The inbox's allowed origins only, with CORS headers naming the origin; OPTIONS preflights."""
    inbox = find_widget_inbox(key)
    if inbox is None:
        return json_error(404, "unknown_inbox", "No active chat has this key.")
    origin = request.headers.get("Origin")
    # A browser leaves Origin out of a same-origin GET only (the helpdesk's own pages).
    same_site = origin is None and request.headers.get("Sec-Fetch-Site") == "same-origin"
    if not (same_site or origin_allowed(inbox, origin, request.get_host())):
        return _error(inbox, 403, "forbidden_origin")
    if request.method == "OPTIONS":
        response = HttpResponse(status=204)
        response["Access-Control-Allow-Methods"] = methods
        response["Access-Control-Allow-Headers"] = "Content-Type, X-Visitor-Token"
        response["Access-Control-Max-Age"] = str(PREFLIGHT_SECONDS)
    else:
        response = answer(request, inbox)
    if origin is not None:
        response["Access-Control-Allow-Origin"] = origin
    response["Vary"] = "Origin"
    return response


def _error(inbox: Inbox, status: int, code: str) -> JsonResponse:
    return json_error(status, code, error_detail(code, inbox.language))


def _upload_error(inbox: Inbox, status: int, code: str) -> JsonResponse:
    if code not in _UPLOAD_ERRORS:
        return _error(inbox, status, code)
    mb = f"{upload_max_bytes(inbox) / (1024 * 1024):g}"
    with translation.override(inbox.language):
        return json_error(status, code, str(_UPLOAD_ERRORS[code]) % {"mb": mb})


def _upload(request: HttpRequest, inbox: Inbox) -> JsonResponse:
    if not uploads_enabled(inbox):
        return _upload_error(inbox, 403, "uploads_disabled")
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    # Refused before a byte of an oversized body is read.
    if length > upload_max_bytes(inbox) + MULTIPART_SLACK:
        return _upload_error(inbox, 413, "too_large")
    try:
        upload = request.FILES.get("file")
        fields = request.POST
    except RequestDataTooBig:
        return _upload_error(inbox, 413, "too_large")
    except MultiPartParserError:
        return _upload_error(inbox, 400, "malformed")
    visitor = read_visitor(inbox, request.headers.get("X-Visitor-Token", "")) or new_visitor()
    try:
        received = receive_visitor_upload(
            inbox=inbox,
            visitor=visitor,
            ip=request.META.get("REMOTE_ADDR") or "unknown",
            client_id=fields.get("client_id", ""),
            upload=upload,
            filename=(upload.name or "") if upload is not None else "",
            body=fields.get("body", ""),
            name=fields.get("name", ""),
        )
    except WebhookError as exc:
        if exc.code == "too_large" and not isinstance(exc, FileTooLargeError):
            return _error(inbox, exc.status, exc.code)  # the body is too long, not the file
        return _upload_error(inbox, exc.status, exc.code)
    except DatabaseError:
        return _error(inbox, 503, "unavailable")
    # The file's signed link too, so the widget shows it without another fetch.
    files = serialize_message(received.message)["attachments"] if received.message else []
    return _accepted(inbox, visitor, received, attachments=files)


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
    return _accepted(inbox, visitor, received)


def _accepted(inbox: Inbox, visitor: str, received: Received, **extra: Any) -> JsonResponse:
    return JsonResponse(
        {
            "message": received.message.pk if received.message else None,
            "ticket": received.ticket_id,
            "duplicate": received.duplicate,
            "visitor_token": sign_visitor(inbox, visitor),
            **extra,
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
    # Pictures may show in the chat; the rest, SVG included, is only downloaded.
    return attachment_response(item)

"""Inbound webhooks: verify, store raw (committed), process, answer.

No session, no CSRF: each provider authenticates as its adapter says.
Errors are JSON `{"error": code, "detail": sentence}` with a 4xx status.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import DatabaseError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from tickets.models import Inbox

from .base import TooLargeError, WebhookError
from .limits import admit
from .pipeline import process_raw, store_raw
from .registry import get_adapter

log = logging.getLogger(__name__)


def json_error(status: int, code: str, detail: str) -> JsonResponse:
    return JsonResponse({"error": code, "detail": detail}, status=status)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def inbound_webhook(request: HttpRequest, channel: str, key: str) -> HttpResponse:
    try:
        inbox = Inbox.objects.filter(key=key, channel=channel, is_active=True).first()
    except DatabaseError:
        # No connection to be had (a burst past the database's limit): nothing is stored.
        log.exception("inbound %s/%s: the database is unavailable", channel, key[:8])
        return json_error(503, "unavailable", "The message could not be stored; retry later.")
    if inbox is None:
        return json_error(404, "unknown_inbox", "No active inbox has this key.")
    try:
        adapter = get_adapter(channel)
    except LookupError:
        return json_error(404, "unknown_channel", f"No channel called {channel}.")
    if request.method == "GET":
        try:
            return adapter.verify_subscription(request, inbox)
        except WebhookError as exc:
            return json_error(exc.status, exc.code, exc.detail)
    try:
        length = int(request.headers.get("Content-Length") or 0)
        if length > settings.INBOUND_MAX_BYTES:
            raise TooLargeError(f"The body is larger than {settings.INBOUND_MAX_BYTES} bytes.")
        if not request.body:
            raise WebhookError("The body is empty.")
        if len(request.body) > settings.INBOUND_MAX_BYTES:
            raise TooLargeError(f"The body is larger than {settings.INBOUND_MAX_BYTES} bytes.")
        accepted = adapter.accept(request, inbox)
    except WebhookError as exc:
        log.warning("inbound %s/%s refused: %s", channel, inbox.pk, exc.detail)
        return json_error(exc.status, exc.code, exc.detail)
    batch = accepted if isinstance(accepted, list) else [accepted]
    for sender in {item.sender for item in batch if item.sender}:
        if not admit(f"inbound.rate.{inbox.pk}.{sender}", settings.INBOUND_PER_SENDER_PER_MINUTE):
            log.warning("inbound %s/%s refused: %s is over its rate", channel, inbox.pk, sender)
            return json_error(
                429, "rate_limited", "Too many messages from this sender; retry in a minute."
            )
    result, duplicate = None, True
    try:
        # The raw payload and what it became commit together, once: one durable
        # commit per request. A payload that fails to process is still committed
        # (with its error); only a database failure rolls it all back, and then
        # the provider hears 503 and sends it again.
        with transaction.atomic():
            for item in batch:
                stored = store_raw(inbox=inbox, accepted=item)
                processed = process_raw(stored.raw.pk, raw=stored.raw)
                result = processed or result
                again = stored.duplicate or bool(processed and processed.duplicate)
                duplicate = duplicate and again
    except DatabaseError:
        log.exception("inbound %s/%s could not be stored", channel, inbox.pk)
        # The provider retries on 5xx; 503 says "not stored, try again".
        return json_error(503, "unavailable", "The message could not be stored; retry later.")
    return adapter.respond(result, duplicate=duplicate and bool(batch))

"""Facebook Messenger: Meta's page webhooks in, the Send API out.

`GET /inbound/messenger/<key>/` answers Meta's subscription handshake with the
inbox's verify_token; `POST` takes Meta's signed JSON (X-Hub-Signature-256,
HMAC-SHA256 of the raw body with the app secret). One POST may carry many
events; each is stored once under its own key (a message's mid). Replies go
out through the Send API within Messenger's reply window (messenger/window.py).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from tickets.ingest import InboundMessage, IngestResult
from tickets.models import Channel, Delivery, Identity, IdentityKind, Inbox, Message, Ticket

from ..base import (
    Accepted,
    Adapter,
    BadSignatureError,
    DeliveryError,
    DeliveryReport,
    MalformedError,
    Reach,
    SendResult,
)
from ..media import Fetched, MediaError, download, host_allowed
from ..messenger import events, graph, window

# Imported here so every process that knows the adapter knows its task (the worker too).
from ..messenger.profile import request_profile

log = logging.getLogger(__name__)

# The longest text Messenger takes in one message; the reply box warns above it.
MAX_TEXT_CHARS = 2000
SIGNATURE_HEADER = "X-Hub-Signature-256"


class MessengerAdapter(Adapter):
    channel = Channel.MESSENGER

    def verify_subscription(self, request: HttpRequest, inbox: Inbox) -> HttpResponse:
        mode = request.GET.get("hub.mode", "")
        token = request.GET.get("hub.verify_token", "")
        challenge = request.GET.get("hub.challenge", "")
        if not (mode and token and challenge):
            raise MalformedError("hub.mode, hub.verify_token and hub.challenge are required")
        if mode != "subscribe":
            raise MalformedError("hub.mode must be subscribe")
        expected = inbox.secrets.get("verify_token", "")
        if not expected or not hmac.compare_digest(token.encode(), expected.encode()):
            raise BadSignatureError("wrong hub.verify_token")
        return HttpResponse(challenge, content_type="text/plain")

    def accept(self, request: HttpRequest, inbox: Inbox) -> list[Accepted]:
        check_signature(
            request.body,
            request.headers.get(SIGNATURE_HEADER, ""),
            inbox.secrets.get("app_secret", ""),
        )
        return [
            Accepted(
                provider_key=event.key,
                body=event.stored_body(),
                content_type="application/json",
                # What a person wrote counts against their rate; receipts and echoes don't.
                sender=event.sender if event.kind in (events.MESSAGE, events.POSTBACK) else "",
            )
            for event in events.read_webhook(request.body)
        ]

    def parse(
        self, body: bytes, meta: dict, inbox: Inbox
    ) -> InboundMessage | DeliveryReport | None:
        event = events.read_stored(body)
        page_id = str((inbox.config or {}).get("page_id") or "")
        if page_id and event.page_id and event.page_id != page_id:
            # Meta sends every page of the app to the app's one webhook URL:
            # another page's people are not this inbox's customers.
            log.warning("Messenger inbox %s: ignoring an event of page %s", inbox.pk, event.page_id)
            return None
        if event.kind in (events.MESSAGE, events.POSTBACK):
            return events.to_inbound(event, inbox_id=inbox.pk)
        if event.kind in (events.DELIVERY, events.READ):
            return events.to_report(event)
        # An echo of our own send (or of a reply written in Meta's inbox), or an
        # event we have no use for.
        return None

    def after_ingest(self, result: IngestResult, inbound: InboundMessage) -> None:
        from ..tasks import fetch_media  # channels_in.tasks imports the registry, which imports us

        if result.message.meta.get("media"):
            message_id = result.message.pk
            # robust: the message is stored either way; a queue that is down must not
            # turn the answer to Meta into an error after the commit.
            transaction.on_commit(lambda: fetch_media.delay(message_id), robust=True)
        request_profile(result)

    def respond(self, result: IngestResult | None, *, duplicate: bool) -> HttpResponse:
        # Meta wants a 200 for every delivered batch, whatever it held.
        return JsonResponse(
            {
                "message": result.message.pk if result else None,
                "ticket": result.ticket.pk if result else None,
                "duplicate": duplicate,
            },
            status=200,
        )

    def reach(self, *, ticket: Ticket, inbox: Inbox) -> Reach:
        last = window.find_last_inbound(customer_id=ticket.customer_id, inbox_id=inbox.pk)
        return window.reach_after(last.at if last else None, now=timezone.now())

    def send(self, message: Message) -> SendResult:
        text = message.body_text
        if len(text) > MAX_TEXT_CHARS:
            raise DeliveryError(
                _(
                    "Messenger takes at most %(max)s characters in one message and this reply "
                    "has %(count)s: send it shorter, in parts, or on another channel."
                )
                % {"max": MAX_TEXT_CHARS, "count": len(text)},
                permanent=True,
            )
        if message.attachments.exists():
            raise DeliveryError(
                _("Files cannot be sent on Messenger from here: send them on another channel."),
                permanent=True,
            )
        token = message.inbox.secrets.get("page_access_token", "")
        if not token:
            raise DeliveryError(
                _("The Messenger inbox has no page access token: add the page's token to it."),
                permanent=True,
            )
        psid = self.recipient_of(message)
        if not psid:
            raise DeliveryError(
                _("The customer has no Messenger contact on this page."), permanent=True
            )
        tag = (message.meta.get("send") or {}).get("tag") or ""
        try:
            sent = graph.send_text(
                token=token,
                psid=psid,
                text=text,
                tag=tag if tag in window.TAGS else "",
                # A survey's scores as buttons (feedback/surveys.py).
                quick_replies=message.meta.get("quick_replies"),
            )
        except graph.GraphError as exc:
            raise DeliveryError(exc.reason, permanent=exc.permanent) from exc
        return SendResult(external_id=sent.message_id or None, state=Delivery.SENT)

    def recipient_of(self, message: Message) -> str:
        """The customer's PSID for this page: the sender of their latest message on the inbox.

        PSIDs are page-scoped, so the one to use is the one this page gave them.
        """
        last = window.find_last_inbound(
            customer_id=message.ticket.customer_id, inbox_id=message.inbox_id
        )
        if last is not None and last.psid:
            return last.psid
        # Messages recorded without the webhook's meta (imports, demo data).
        return (
            Identity.objects.filter(
                customer_id=message.ticket.customer_id, kind=IdentityKind.MESSENGER
            )
            .order_by("-id")
            .values_list("value", flat=True)
            .first()
            or ""
        )

    def fetch_media(self, inbox: Inbox, item: dict) -> Fetched:
        url = str(item.get("url") or "")
        if urlsplit(url).scheme not in ("https", "http") or not host_allowed(
            url, settings.MESSENGER_MEDIA_HOSTS
        ):
            raise MediaError(
                _("it is not on Messenger’s file servers"),
                permanent=True,
            )
        # Meta's CDN addresses are signed themselves: no token goes with them.
        return download(url)


def check_signature(body: bytes, header: str, app_secret: str) -> None:
    """X-Hub-Signature-256: "sha256=" + hex HMAC-SHA256 of the raw body with the app secret."""
    scheme, _sep, given = header.strip().partition("=")
    if not app_secret or scheme.lower() != "sha256" or not given:
        raise BadSignatureError(f"missing or malformed {SIGNATURE_HEADER}")
    expected = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(given.strip().lower().encode(), expected.encode()):
        raise BadSignatureError(f"{SIGNATURE_HEADER} does not match the body")

"""The one interface every channel adapter implements.

An adapter only translates: provider payload -> InboundMessage, and an
outbound Message -> the provider's API. It never writes tickets. The guards
that apply to every send live once, here in Adapter.deliver().
"""

from __future__ import annotations

import hmac
import json
import logging
from dataclasses import dataclass
from datetime import datetime

from django.http import HttpRequest, HttpResponse, JsonResponse

from tickets.ingest import InboundMessage, IngestResult
from tickets.models import Delivery, Inbox, Message, Ticket

from .media import Fetched, MediaError

log = logging.getLogger(__name__)


class WebhookError(Exception):
    """A webhook request we refuse. Each code maps to one HTTP status."""

    status = 400
    code = "bad_request"

    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail


class BadSignatureError(WebhookError):
    status = 403
    code = "forbidden"


class MalformedError(WebhookError):
    status = 400
    code = "malformed"


class TooLargeError(WebhookError):
    status = 413
    code = "too_large"


class RateLimitedError(WebhookError):
    status = 429
    code = "rate_limited"


class MethodNotAllowedError(WebhookError):
    status = 405
    code = "method_not_allowed"


class DeliveryError(Exception):
    """A send that failed. permanent=True: retrying cannot help (invalid number, blocked)."""

    def __init__(self, reason: str, *, permanent: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


def check_bearer_token(request: HttpRequest, inbox: Inbox) -> None:
    """`Authorization: Bearer <the inbox's token>`, compared in constant time; 403 otherwise."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    expected = inbox.secrets.get("token", "")
    given = token.strip() if scheme.lower() == "bearer" else ""
    if not expected or not hmac.compare_digest(given, expected):
        raise BadSignatureError("missing or wrong bearer token")


def load_json_object(body: bytes) -> dict:
    """A webhook body that must be one JSON object; MalformedError otherwise."""
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedError("the body is not JSON") from exc
    if not isinstance(payload, dict):
        raise MalformedError("the body must be a JSON object")
    return payload


@dataclass(frozen=True)
class Accepted:
    """A webhook payload that passed verification, ready to be stored raw."""

    provider_key: str
    body: bytes
    content_type: str = ""
    meta: dict | None = None
    # Who sent it (a phone number, a PSID), for the per-sender rate limit; "" for none.
    sender: str = ""


@dataclass(frozen=True)
class DeliveryReport:
    """What a provider tells us about a message we sent (a bounce, a read receipt).

    parse() returns one instead of an InboundMessage; nothing is ingested,
    the outbound message's delivery state moves on.
    """

    state: str
    # Ours when we know it (a signed Message-ID), else the provider's id for it.
    message_id: int | None = None
    external_id: str = ""
    error: str = ""
    # Several of the provider's ids at once (Messenger's delivery event lists its mids).
    external_ids: tuple[str, ...] = ()
    # "Everything sent to this recipient up to `until`" (Messenger's read and delivery
    # watermarks): the recipient's identity (kind, value) and the time.
    recipient: tuple[str, str] | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class Reach:
    """Whether a reply on a channel can reach the customer now, and if not, why.

    reason is a sentence for the agent in the active language: why it is not
    possible (an SMS opt-out, Messenger's 24-hour window) or, when available,
    a caveat worth showing. options are the send options that make it possible
    anyway (Messenger's message tags), as (value, label).
    """

    available: bool = True
    reason: str = ""
    options: tuple[tuple[str, str], ...] = ()
    # When the standard window closes, for channels that have one.
    closes_at: datetime | None = None

    def permits(self, send_options: dict) -> bool:
        """Whether the reply may go: the channel is open, or one of its options was chosen."""
        return self.available or send_options.get("tag") in {value for value, _ in self.options}


class SuppressedError(Exception):
    """Automatic mail held back on purpose (loop guard, bounced address, cap). Never retried."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class SendResult:
    external_id: str | None = None
    state: str = Delivery.SENT


class Adapter:
    """Base class: one subclass per channel, registered in channels_in.registry."""

    channel: str = ""

    def accept(self, request: HttpRequest, inbox: Inbox) -> Accepted | list[Accepted]:
        """Verify a webhook request (signature, token) and return what to store.

        A provider that batches several events in one request (Meta) returns one
        Accepted per event, each with its own provider key; all commit together.
        Raises a WebhookError subclass to refuse it; nothing is stored then.
        """
        raise MalformedError(f"{self.channel} takes no webhooks")

    def verify_subscription(self, request: HttpRequest, inbox: Inbox) -> HttpResponse:
        """Answer a provider's GET handshake (Meta's hub.challenge). Most channels have none."""
        raise MethodNotAllowedError("Use POST.")

    def parse(
        self, body: bytes, meta: dict, inbox: Inbox
    ) -> InboundMessage | DeliveryReport | None:
        """Turn a stored raw payload into an InboundMessage, a DeliveryReport, or None.

        None means there is nothing to ingest (an echo of our own send).
        """
        raise NotImplementedError

    def after_ingest(self, result: IngestResult, inbound: InboundMessage) -> None:
        """Channel work on a message just stored, in its transaction (an opt-out keyword).

        Slow work (fetching media, a profile) is queued here with on_commit, never done inline.
        """

    def fetch_media(self, inbox: Inbox, item: dict) -> Fetched:
        """Download one item of a message's meta["media"] (channels_in.media)."""
        raise MediaError(f"{self.channel} has no media to fetch", permanent=True)

    def reach(self, *, ticket: Ticket, inbox: Inbox) -> Reach:
        """Whether a reply from `inbox` can reach the ticket's customer now (Reach)."""
        return Reach()

    def respond(self, result: IngestResult | None, *, duplicate: bool) -> HttpResponse:
        """The provider's success answer."""
        return JsonResponse(
            {
                "message": result.message.pk if result else None,
                "ticket": result.ticket.pk if result else None,
                "duplicate": duplicate,
            },
            status=200 if duplicate else 202,
        )

    def send(self, message: Message) -> SendResult:
        """Hand one outbound message to the provider. Raise DeliveryError on failure."""
        raise NotImplementedError

    def deliver(self, message: Message) -> SendResult:
        """send() behind the guards every channel shares."""
        if message.is_note:
            raise DeliveryError("internal notes are never sent", permanent=True)
        if message.direction != "out":
            raise DeliveryError("inbound messages are not sent back", permanent=True)
        if message.channel != self.channel:
            raise DeliveryError(
                f"message for {message.channel} given to the {self.channel} adapter", permanent=True
            )
        if not message.inbox.is_active:
            raise DeliveryError("the inbox is disabled", permanent=True)
        # Checked when the reply was written and again now: a window may have closed,
        # a number may have opted out while the message waited.
        reach = self.reach(ticket=message.ticket, inbox=message.inbox)
        if not reach.permits(message.meta.get("send") or {}):
            if message.is_automated:
                # An acknowledgement or survey held back on purpose, not a failure.
                raise SuppressedError(reach.reason)
            raise DeliveryError(reach.reason, permanent=True)
        return self.send(message)

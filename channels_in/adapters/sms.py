"""SMS and MMS through Twilio.

`POST /inbound/sms/<key>/` takes Twilio's form-encoded webhooks: a text or MMS
someone sent to the inbox's number, and the status callbacks of the texts we
sent (the same URL is our StatusCallback). Each is signed with the account's
auth token in X-Twilio-Signature over the URL Twilio was given and the form
fields. We answer TwiML: empty, or the help text for HELP.

Twilio's Advanced Opt-Out answers STOP and START itself and stops delivering
to an opted-out number; we keep our own record (SmsOptOut) so an agent learns
why a reply cannot go before writing it, and a queued one is held back.
"""

from __future__ import annotations

import re
from urllib.parse import SplitResult, parse_qs, urlsplit

from django.conf import settings
from django.core.exceptions import DisallowedHost, RequestDataTooBig, TooManyFieldsSent
from django.db import transaction
from django.http import HttpRequest, HttpResponse, QueryDict
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, override
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from tickets.ingest import InboundMessage, IngestResult, SenderIdentity
from tickets.models import (
    Channel,
    Delivery,
    Direction,
    Identity,
    IdentityKind,
    Inbox,
    Message,
    Ticket,
)
from tickets.phones import display, to_e164

from .. import media
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
from ..models import SmsOptOut
from ..sms import keywords
from ..sms.client import Account, explain_error, send_sms

FORM = "application/x-www-form-urlencoded"
# Twilio's resource ids: two letters and 32 hex digits (SM..., MM...); a little leeway.
_SID = re.compile(r"[A-Za-z]{2}[0-9A-Za-z]{8,62}")
MAX_MEDIA = 10  # Twilio's own limit per MMS
# Twilio takes at most 1,600 characters in one message body.
MAX_TEXT_CHARS = 1600

# The status callback's MessageStatus, as our delivery states. queued, accepted,
# scheduled (and the inbound receiving/received) say nothing we do not know.
_STATES = {
    "sending": Delivery.SENT,
    "sent": Delivery.SENT,
    "delivered": Delivery.DELIVERED,
    "read": Delivery.READ,
    "undelivered": Delivery.FAILED,
    "failed": Delivery.FAILED,
    "canceled": Delivery.FAILED,
}

# The answer to HELP, in the inbox's language. Kept under 160 GSM-7 characters in
# English (one segment); "STOP" stays as written, it is the word that works.
HELP_TEXT = gettext_noop(
    "%(inbox)s: you are texting our support team. Reply to reach us. Text STOP to stop messages."
)


class SmsAdapter(Adapter):
    channel = Channel.SMS

    def accept(self, request: HttpRequest, inbox: Inbox) -> Accepted:
        form = _form(request)
        _check_signature(request, inbox, form or {})
        if form is None:
            raise MalformedError("Twilio webhooks are form-encoded")
        sid = form.get("MessageSid", "").strip()
        if not _SID.fullmatch(sid):
            raise MalformedError("MessageSid is missing or not a Twilio sid")
        status = form.get("MessageStatus", "").strip().lower()
        if status and status != "received":
            # Each status of a message is stored once; a replayed callback stores nothing.
            # Twilio's own callbacks about our sends count against no sender's rate.
            return Accepted(
                provider_key=f"status:{sid}:{status[:30]}", body=request.body, content_type=FORM
            )
        sender = form.get("From", "").strip()
        if not sender:
            raise MalformedError("From is missing")
        return Accepted(
            provider_key=sid,
            body=request.body,
            content_type=FORM,
            sender=to_e164(sender) or sender,
        )

    def parse(
        self, body: bytes, meta: dict, inbox: Inbox
    ) -> InboundMessage | DeliveryReport | None:
        fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
        form = {name: values[0] for name, values in fields.items()}
        sid = form["MessageSid"].strip()
        status = form.get("MessageStatus", "").strip().lower()
        if status and status != "received":
            return _status_report(sid, status, form.get("ErrorCode", ""))
        sender = form["From"].strip()
        phone = to_e164(sender) or sender
        text = form.get("Body", "")
        meta_out: dict = {"from": phone, "to": to_e164(form.get("To", "")) or form.get("To", "")}
        items = _media_items(form)
        if items:
            meta_out["media"] = items
        keyword = keywords.keyword_of(text)
        if keyword:
            meta_out["sms_keyword"] = keyword
        return InboundMessage(
            inbox_id=inbox.pk,
            channel=self.channel,
            # A text from the number proves the sender holds it.
            sender=SenderIdentity(kind=IdentityKind.PHONE, value=phone, verified=True),
            external_id=sid,
            text=text,
            # STOP and START speak to the system, not to us: they thread into the
            # conversation but reopen nothing and leave nobody waiting for an answer.
            is_automated=keyword in (keywords.STOP, keywords.START),
            meta=meta_out,
        )

    def after_ingest(self, result: IngestResult, inbound: InboundMessage) -> None:
        keyword = inbound.meta.get("sms_keyword")
        phone = inbound.meta.get("from", "")
        inbox_id = result.message.inbox_id
        if keyword == keywords.STOP:
            SmsOptOut.objects.get_or_create(
                inbox_id=inbox_id,
                phone=phone,
                defaults={"keyword": inbound.text.strip().upper()[:20]},
            )
        elif keyword == keywords.START:
            SmsOptOut.objects.filter(inbox_id=inbox_id, phone=phone).delete()
        if inbound.meta.get("media"):
            from ..tasks import fetch_media

            message_id = result.message.pk
            transaction.on_commit(lambda: fetch_media.delay(message_id))

    def respond(self, result: IngestResult | None, *, duplicate: bool) -> HttpResponse:
        # A replayed HELP is answered again: Twilio only retries when it did not hear us.
        twiml = MessagingResponse()
        message = result.message if result is not None else None
        if message is not None and message.meta.get("sms_keyword") == keywords.HELP:
            inbox = message.inbox
            phone = message.meta.get("from", "")
            if not SmsOptOut.objects.filter(inbox=inbox, phone=phone).exists():
                with override(inbox.language):
                    twiml.message(_(HELP_TEXT) % {"inbox": inbox.name})
        return HttpResponse(str(twiml), content_type="text/xml; charset=utf-8")

    def reach(self, *, ticket: Ticket, inbox: Inbox) -> Reach:
        # One query: the customer's numbers that opted out of this inbox.
        opt_out = (
            SmsOptOut.objects.filter(
                inbox=inbox,
                phone__in=Identity.objects.filter(
                    customer_id=ticket.customer_id, kind=IdentityKind.PHONE
                ).values("value"),
            )
            .order_by("-created_at")
            .first()
        )
        if opt_out is None:
            return Reach()
        when = formats.date_format(timezone.localtime(opt_out.created_at), "DATE_FORMAT")
        return Reach(
            available=False,
            reason=_(
                "The customer texted “%(keyword)s” on %(date)s, so SMS to %(number)s is "
                "paused until they text START. Reply by another channel."
            )
            % {"keyword": opt_out.keyword, "date": when, "number": display(opt_out.phone)},
        )

    def send(self, message: Message) -> SendResult:
        if len(message.body_text) > MAX_TEXT_CHARS:
            raise DeliveryError(
                _(
                    "An SMS can have at most %(max)s characters and this reply has %(count)s: "
                    "shorten it or send it on another channel."
                )
                % {"max": MAX_TEXT_CHARS, "count": len(message.body_text)},
                permanent=True,
            )
        inbox = message.inbox
        account = _account(inbox)
        to = _recipient(message.ticket, inbox)
        sid = send_sms(
            account,
            to=to,
            body=message.body_text,
            status_callback=f"{settings.PUBLIC_BASE_URL}/inbound/sms/{inbox.key}/",
        )
        return SendResult(external_id=sid or None, state=Delivery.SENT)

    def fetch_media(self, inbox: Inbox, item: dict) -> media.Fetched:
        url = str(item.get("url", ""))
        api, asked = urlsplit(settings.TWILIO_API_BASE_URL), urlsplit(url)
        # Only Twilio's API gets the account's credentials (it redirects to its
        # storage; download() does not send them along to another host).
        if not (
            media.host_allowed(url, [api.hostname or ""])
            and asked.scheme == api.scheme
            and _port(asked) == _port(api)
        ):
            raise media.MediaError(
                _("%(host)s is not Twilio’s media server") % {"host": asked.hostname or url[:100]},
                permanent=True,
            )
        account = _account(inbox, for_media=True)
        return media.download(url, auth=(account.account_sid, account.auth_token))


def _form(request: HttpRequest) -> QueryDict | None:
    """The form fields, or None when the body is not a form."""
    if request.content_type != FORM:
        return None
    try:
        return request.POST
    except (TooManyFieldsSent, RequestDataTooBig) as exc:
        raise MalformedError(f"the form cannot be read: {exc}") from exc


def _check_signature(request: HttpRequest, inbox: Inbox, params: QueryDict | dict) -> None:
    signature = request.headers.get("X-Twilio-Signature", "").strip()
    token = (inbox.secrets or {}).get("auth_token", "")
    if not signature:
        raise BadSignatureError("X-Twilio-Signature is missing")
    if not token:
        raise BadSignatureError("the inbox has no auth_token to check signatures with")
    # Twilio signs the URL as it was configured there: our public base URL and the
    # inbox's webhook path (inboxes.webhook_url), query string included. The
    # validator also tries it with and without the default port.
    urls = [settings.PUBLIC_BASE_URL + request.get_full_path_info()]
    if settings.TRUST_FORWARDED_HEADERS:
        try:
            urls.append(request.build_absolute_uri())
        except DisallowedHost:
            pass  # a forwarded host we do not serve: only the public URL counts
    validator = RequestValidator(token)
    if not any(validator.validate(url, params, signature) for url in urls):
        raise BadSignatureError("X-Twilio-Signature does not match")


def _port(url: SplitResult) -> int | None:
    try:
        return url.port or {"https": 443, "http": 80}.get(url.scheme)
    except ValueError:
        return None


def _media_items(form: dict[str, str]) -> list[dict]:
    try:
        count = min(int(form.get("NumMedia") or 0), MAX_MEDIA)
    except ValueError:
        count = 0
    items = []
    for index in range(count):
        url = form.get(f"MediaUrl{index}", "").strip()
        if not url:
            continue
        items.append(
            {
                # The media sid (ME...), the last segment of its URL.
                "key": urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1][:100] or f"media{index}",
                "url": url,
                "content_type": form.get(f"MediaContentType{index}", ""),
                "filename": "",
            }
        )
    return items


def _status_report(sid: str, status: str, error_code: str) -> DeliveryReport | None:
    state = _STATES.get(status)
    if state is None:
        return None
    error = ""
    if state == Delivery.FAILED:
        code = error_code.strip()
        explanation = explain_error(code)
        if code and explanation:
            error = _("Twilio %(code)s: %(explanation)s") % {
                "code": code,
                "explanation": explanation,
            }
        elif code:
            error = _("Twilio error %(code)s (message %(status)s)") % {
                "code": code,
                "status": status,
            }
        else:
            error = _("Twilio reported the message %(status)s") % {"status": status}
    return DeliveryReport(state=state, external_id=sid, error=error)


def _account(inbox: Inbox, *, for_media: bool = False) -> Account:
    config = inbox.config or {}
    account = Account(
        account_sid=str(config.get("account_sid", "")).strip(),
        auth_token=str((inbox.secrets or {}).get("auth_token", "")),
        phone_number=str(config.get("phone_number", "")).strip(),
        messaging_service_sid=str(config.get("messaging_service_sid", "")).strip(),
    )
    if not account.account_sid or not account.auth_token:
        reason = _(
            "The SMS inbox %(inbox)s has no Twilio account: set its account_sid (AC…) "
            "and auth_token."
        ) % {"inbox": inbox.name}
        if for_media:
            raise media.MediaError(reason, permanent=True)
        raise DeliveryError(reason, permanent=True)
    if not for_media and not (account.phone_number or account.messaging_service_sid):
        raise DeliveryError(
            _(
                "The SMS inbox %(inbox)s has no sender: set its phone_number (E.164) "
                "or messaging_service_sid."
            )
            % {"inbox": inbox.name},
            permanent=True,
        )
    return account


def reply_number(*, ticket: Ticket, inbox: Inbox, numbers: list[str] | None = None) -> str | None:
    """The customer's number an SMS reply from `inbox` goes to: the one they last texted
    it from, else the phone identity added last; None when they have no number.

    `numbers` are the customer's phone identities, newest first, when the caller has them.
    """
    if numbers is None:
        numbers = list(
            Identity.objects.filter(customer_id=ticket.customer_id, kind=IdentityKind.PHONE)
            .order_by("-id")
            .values_list("value", flat=True)
        )
    if not numbers:
        return None
    if len(numbers) > 1:
        texted_from = (
            Message.objects.filter(
                inbox=inbox,
                channel=Channel.SMS,
                direction=Direction.IN,
                ticket__customer_id=ticket.customer_id,
            )
            .order_by("-id")
            .values_list("meta__from", flat=True)
            .first()
        )
        if texted_from in numbers:
            return texted_from
    return numbers[0]


def _recipient(ticket: Ticket, inbox: Inbox) -> str:
    number = reply_number(ticket=ticket, inbox=inbox)
    if number is None:
        raise DeliveryError(_("The customer has no phone number."), permanent=True)
    e164 = to_e164(number)
    if e164 is None:
        raise DeliveryError(
            _("%(number)s is not a phone number a text can go to.") % {"number": number},
            permanent=True,
        )
    return e164

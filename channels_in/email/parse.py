"""Raw RFC 5322 bytes -> ParsedEmail. Pure: no database, no settings, no network.

The standard library's email package (policy=default) does the MIME work.
What it lacks, done here: bodies in legacy or mislabelled charsets (Polish
and Czech mail still arrives as iso-8859-2 and windows-1250, sometimes
declared as neither), raw 8-bit headers, nested messages kept whole as .eml
attachments instead of being walked into, attachment limits, delivery status
notifications, and Outlook's Thread-Index.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import mimetypes
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.header import decode_header, make_header
from email.headerregistry import Address
from email.message import Message
from email.utils import getaddresses, parsedate_to_datetime

from .loops import automated_reason

# Guessed between when a part's charset is missing, unknown or wrong and it is not UTF-8.
LEGACY_CHARSETS = ("windows-1250", "iso-8859-2")
_CE_LETTERS = set("ąćęłńóśźżĄĆĘŁŃÓŚŹŻáčďéěíňřšťúůýžÁČĎÉĚÍŇŘŠŤÚŮÝŽ")
# Where the two legacy charsets differ, the wrong reading gives these.
_UNLIKELY = set("¶±¦Ľ¬µ©®¤§ˇ˘˛´¸˝¨°")
_C1 = re.compile("[\x80-\x9f]")

# Charset names seen in the wild that Python's codecs do not know.
CHARSET_ALIASES = {
    "x-unknown": "utf-8",
    "unknown-8bit": "utf-8",
    "x-user-defined": "windows-1250",
    "cp-1250": "windows-1250",
    "win-1250": "windows-1250",
    "iso-8859-8-i": "iso-8859-8",
    "ks_c_5601-1987": "euc-kr",
    "utf8": "utf-8",
}

_MESSAGE_ID = re.compile(r"<([^<>\s]+)>")


class UnparseableEmailError(Exception):
    """The bytes are not an email at all (no headers we can read)."""


@dataclass(frozen=True)
class ParsedAttachment:
    filename: str
    content_type: str
    content: bytes
    # Set when the body shows the part inline (<img src="cid:...">).
    content_id: str = ""


@dataclass(frozen=True)
class SkippedAttachment:
    """A part we did not keep, and why; shown to the agent on the message."""

    filename: str
    content_type: str
    size: int
    reason: str  # "empty" or "too_large"


@dataclass(frozen=True)
class DeliveryStatus:
    """What a bounce (RFC 3464 delivery status notification) says about a message we sent."""

    original_message_id: str
    recipient: str
    action: str  # failed, delayed, delivered, relayed, expanded
    status: str  # e.g. 5.1.1
    diagnostic: str

    @property
    def is_permanent_failure(self) -> bool:
        return self.action == "failed" and self.status.startswith("5")


@dataclass(frozen=True)
class ParsedEmail:
    message_id: str  # without angle brackets; "" when the mail has none
    from_address: str
    from_name: str
    to: tuple[tuple[str, str], ...]  # (name, address)
    cc: tuple[tuple[str, str], ...]
    reply_to: tuple[tuple[str, str], ...]
    subject: str
    date: datetime | None
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    # Outlook's conversation: the first 22 bytes of Thread-Index, base64.
    thread_index: str
    text: str
    html: str  # as sent: sanitize before showing
    attachments: tuple[ParsedAttachment, ...]
    skipped: tuple[SkippedAttachment, ...]
    # Why the mail is automatic (RFC 3834 and friends), or "" for a person's mail.
    automated: str
    delivery_status: DeliveryStatus | None
    language: str
    defects: tuple[str, ...] = field(default=())

    @property
    def thread_hints(self) -> tuple[str, ...]:
        """Message-IDs this mail answers, most relevant first (In-Reply-To, newest References)."""
        seen: dict[str, None] = {}
        for ref in (*self.in_reply_to, *reversed(self.references)):
            seen.setdefault(ref, None)
        return tuple(seen)


def parse_email(raw: bytes, *, max_attachment_bytes: int) -> ParsedEmail:
    """Parse one raw mail. Raises UnparseableEmailError only when nothing can be read."""
    if not raw or not raw.strip():
        raise UnparseableEmailError("the message is empty")
    msg = message_from_bytes(raw, policy=policy.default)
    if not msg.keys():
        raise UnparseableEmailError("the message has no headers")
    defects = [type(d).__name__ for d in msg.defects]

    from_name, from_address = _first_address(msg, "From")
    if not from_address:
        # Some bounces carry only the envelope sender.
        from_name, from_address = _first_address(msg, "Sender")
    collector = _BodyCollector(max_attachment_bytes=max_attachment_bytes)
    try:
        collector.collect(msg)
    except Exception as exc:  # a part so broken the library gives up on it
        defects.append(f"{type(exc).__name__}: {exc}")
    return ParsedEmail(
        message_id=read_message_id(header_text(msg, "Message-ID")),
        from_address=from_address,
        from_name=from_name,
        to=_addresses(msg, "To"),
        cc=_addresses(msg, "Cc"),
        reply_to=_addresses(msg, "Reply-To"),
        subject=" ".join(header_text(msg, "Subject").split()),
        date=_date(msg),
        in_reply_to=tuple(_MESSAGE_ID.findall(header_text(msg, "In-Reply-To")))[:5],
        references=tuple(_MESSAGE_ID.findall(header_text(msg, "References")))[-50:],
        thread_index=_thread_index(header_text(msg, "Thread-Index")),
        text="\n\n".join(collector.texts).strip(),
        html="\n".join(collector.htmls).strip(),
        attachments=tuple(collector.attachments),
        skipped=tuple(collector.skipped),
        automated=automated_reason(msg, from_address),
        delivery_status=collector.delivery_status,
        language=header_text(msg, "Content-Language").split(",")[0].strip()[:8],
        defects=tuple(defects),
    )


def raw_fingerprint(raw: bytes) -> str:
    """A stable id for a mail without a Message-ID: the same bytes twice are one mail."""
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def header_text(msg: Message, name: str) -> str:
    """A header as text, decoded, whatever state it is in ("" when absent).

    RFC 2047 encoded words are decoded by the policy. Raw 8-bit headers (not
    allowed, still common) are read from the raw bytes and decoded as UTF-8
    or, failing that, as the Central European legacy charset they fit best.
    """
    raw = _raw_8bit_header(msg, name)
    if raw is not None:
        return _one_line(_decode_encoded_words(_decode_bytes(raw, None)))
    try:
        value = msg.get(name)
    except Exception:  # a header the policy cannot parse: use its raw form
        value = next((v for k, v in msg.raw_items() if k.lower() == name.lower()), None)
    return "" if value is None else _one_line(str(value))


def _raw_8bit_header(msg: Message, name: str) -> bytes | None:
    """The bytes of a header that holds raw 8-bit characters; None for a proper one."""
    for key, value in msg.raw_items():
        if key.lower() == name.lower():
            if not isinstance(value, str) or value.isascii():
                return None
            try:  # parsed from bytes: 8-bit bytes are surrogate escapes
                return value.encode("ascii", "surrogateescape")
            except UnicodeEncodeError:  # parsed from text: already characters
                return value.encode("utf-8", "surrogatepass")
    return None


def _decode_encoded_words(text: str) -> str:
    if "=?" not in text:
        return text
    try:
        return str(make_header(decode_header(text)))
    except Exception:
        return text


def _one_line(text: str) -> str:
    return text.replace("\r", "").replace("\n", " ").strip()


def _first_address(msg: Message, name: str) -> tuple[str, str]:
    found = _addresses(msg, name)
    return found[0] if found else ("", "")


def _addresses(msg: Message, name: str) -> tuple[tuple[str, str], ...]:
    result = []
    groups = None
    if _raw_8bit_header(msg, name) is None:
        try:
            groups = getattr(msg.get(name), "addresses", None)
        except Exception:
            groups = None
    if groups is not None:
        for address in groups:
            if isinstance(address, Address) and address.addr_spec and "@" in address.addr_spec:
                result.append((_clean_name(address.display_name), address.addr_spec.strip()))
    else:
        # Raw 8-bit names or addresses (SMTPUTF8, old clients), or a header the
        # policy could not parse: decoded text, split the classic way.
        for display, addr in getaddresses([header_text(msg, name)]):
            if "@" in addr:
                result.append((_clean_name(display), addr.strip()))
    return tuple((n, a) for n, a in result if len(a) <= 320)[:50]


def _clean_name(name: str) -> str:
    return " ".join(name.replace('"', "").split())[:200]


def read_message_id(value: str) -> str:
    """The first <id> of a header value, without brackets ("" when there is none)."""
    found = _MESSAGE_ID.findall(value)
    if found:
        return found[0][:250]
    # Some clients omit the angle brackets.
    return value.strip().strip("<>")[:250] if value.strip() and " " not in value.strip() else ""


def _date(msg: Message) -> datetime | None:
    value = header_text(msg, "Date")
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    # "-0000" (qmail writes it) means UTC with no local zone known: naive here.
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _thread_index(value: str) -> str:
    """The conversation part of Outlook's Thread-Index (its first 22 bytes), or ""."""
    if not value:
        return ""
    try:
        decoded = base64.b64decode(value.strip() + "==", validate=False)
    except (binascii.Error, ValueError):
        return ""
    if len(decoded) < 22:
        return ""
    return base64.b64encode(decoded[:22]).decode("ascii")


def _decode_bytes(payload: bytes, charset: str | None) -> str:
    """Bytes in a declared charset; a missing, unknown or wrong one is guessed.

    Mail from older Polish and Czech clients is windows-1250 or iso-8859-2,
    declared or not, and sometimes declared as the other one. Both decode
    almost any byte, so the guess keeps the reading with the most Polish and
    Czech letters and no C1 control codes (which real text never contains).
    """
    if charset:
        name = CHARSET_ALIASES.get(charset.lower().strip(), charset.lower().strip())
        try:
            text = payload.decode(name)
        except (LookupError, UnicodeDecodeError):
            pass
        else:
            if not (_C1.search(text) and name.startswith(("iso-8859", "latin", "us-ascii"))):
                return text
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError:
        pass
    readings = []
    for name in LEGACY_CHARSETS:
        try:
            readings.append(payload.decode(name))
        except UnicodeDecodeError:
            continue
    if not readings:
        return payload.decode("utf-8", errors="replace")
    return max(readings, key=_plausibility)


def _plausibility(text: str) -> int:
    return (
        sum(ch in _CE_LETTERS for ch in text)
        - 5 * len(_C1.findall(text))
        - 3 * sum(ch in _UNLIKELY for ch in text)
    )


class _BodyCollector:
    """Walks a message once: body parts into text and HTML, the rest into attachments."""

    def __init__(self, *, max_attachment_bytes: int):
        self.max_attachment_bytes = max_attachment_bytes
        self.texts: list[str] = []
        self.htmls: list[str] = []
        self.attachments: list[ParsedAttachment] = []
        self.skipped: list[SkippedAttachment] = []
        self.delivery_status: DeliveryStatus | None = None
        self._report_original_id = ""
        self._parts_seen = 0

    def collect(self, msg: Message) -> None:
        self._walk(msg)
        if self.delivery_status is not None and not self.delivery_status.original_message_id:
            status = self.delivery_status
            self.delivery_status = DeliveryStatus(
                original_message_id=self._report_original_id,
                recipient=status.recipient,
                action=status.action,
                status=status.status,
                diagnostic=status.diagnostic,
            )

    def _walk(self, part: Message) -> None:
        self._parts_seen += 1
        if self._parts_seen > 500:
            return  # a pathological tree: what we have is what we keep
        ctype = part.get_content_type()
        if ctype == "message/delivery-status":
            # Its payload is a list of header blocks: not children to walk.
            self._read_delivery_status(part)
            return
        if ctype.startswith("multipart/") and not part.is_multipart():
            # No boundary to split on: what it holds is the text.
            self.texts.append(self._text_of(part))
            return
        if part.is_multipart() and ctype != "message/rfc822":
            payload = part.get_payload()
            children = payload if isinstance(payload, list) else []
            if ctype == "multipart/alternative":
                self._walk_alternative(children)
                return
            for child in children:
                if isinstance(child, Message):
                    self._walk(child)
            return
        if ctype in ("message/rfc822", "text/rfc822-headers", "message/rfc822-headers"):
            self._remember_original_id(part, ctype)
        disposition = (part.get_content_disposition() or "").lower()
        is_body = ctype in ("text/plain", "text/html") and disposition != "attachment"
        if is_body and not _filename(part):
            text = self._text_of(part)
            (self.htmls if ctype == "text/html" else self.texts).append(text)
            return
        self._keep_attachment(part, ctype)

    def _walk_alternative(self, children: list) -> None:
        """Of alternatives take one text and one HTML rendering (the richest last)."""
        texts_before, htmls_before = len(self.texts), len(self.htmls)
        for child in children:
            if not isinstance(child, Message):
                continue
            ctype = child.get_content_type()
            if ctype == "text/plain" and len(self.texts) > texts_before:
                continue
            if ctype == "text/html" and len(self.htmls) > htmls_before:
                self.htmls[htmls_before:] = []
            self._walk(child)

    def _text_of(self, part: Message) -> str:
        payload = part.get_payload(decode=True)
        if _mislabelled_base64(part):
            # Declared base64 but plainly text: decoding it would only make noise.
            payload = None
        if payload is None:
            payload = str(part.get_payload()).encode("utf-8", "surrogateescape")
        text = _decode_bytes(payload, part.get_content_charset())
        return text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")

    def _keep_attachment(self, part: Message, ctype: str) -> None:
        if ctype == "message/rfc822":
            inner = part.get_payload()
            inner_msg = inner[0] if isinstance(inner, list) and inner else inner
            content = (
                inner_msg.as_bytes(policy=policy.default.clone(linesep="\r\n"))
                if isinstance(inner_msg, Message)
                else b""
            )
            subject = header_text(inner_msg, "Subject") if isinstance(inner_msg, Message) else ""
            filename = _filename(part) or f"{subject or 'message'}.eml"
        else:
            content = part.get_payload(decode=True) or b""
            filename = _filename(part) or _default_name(part, ctype, len(self.attachments) + 1)
        if ctype == "application/ms-tnef" and not filename:
            filename = "winmail.dat"
        size = len(content)
        if size == 0:
            self.skipped.append(SkippedAttachment(filename, ctype, 0, "empty"))
            return
        if size > self.max_attachment_bytes:
            self.skipped.append(SkippedAttachment(filename, ctype, size, "too_large"))
            return
        content_id = (
            read_message_id(header_text(part, "Content-ID")) if part.get("Content-ID") else ""
        )
        self.attachments.append(
            ParsedAttachment(
                filename=filename, content_type=ctype, content=content, content_id=content_id
            )
        )

    def _read_delivery_status(self, part: Message) -> None:
        """RFC 3464: per-message fields, then one block per recipient; we take the first."""
        blocks = part.get_payload()
        fields: dict[str, str] = {}
        if isinstance(blocks, list):
            for block in blocks:
                if isinstance(block, Message):
                    for key in (
                        "Final-Recipient",
                        "Original-Recipient",
                        "Action",
                        "Status",
                        "Diagnostic-Code",
                    ):
                        value = header_text(block, key)
                        if value and key not in fields:
                            fields[key] = value
        else:
            for line in str(blocks).splitlines():
                key, _, value = line.partition(":")
                if value.strip():
                    fields.setdefault(key.strip().title(), value.strip())
        recipient = fields.get("Final-Recipient") or fields.get("Original-Recipient") or ""
        self.delivery_status = DeliveryStatus(
            original_message_id="",
            recipient=recipient.split(";", 1)[-1].strip().lower(),
            action=fields.get("Action", "").lower(),
            status=fields.get("Status", "").split()[0] if fields.get("Status") else "",
            diagnostic=fields.get("Diagnostic-Code", "").split(";", 1)[-1].strip()[:400],
        )

    def _remember_original_id(self, part: Message, ctype: str) -> None:
        if self._report_original_id:
            return
        if ctype == "message/rfc822":
            inner = part.get_payload()
            inner_msg = inner[0] if isinstance(inner, list) and inner else inner
            if isinstance(inner_msg, Message):
                self._report_original_id = read_message_id(header_text(inner_msg, "Message-ID"))
            return
        headers = self._text_of(part)
        match = re.search(r"^Message-ID:\s*(<[^>]+>)", headers, re.IGNORECASE | re.MULTILINE)
        if match:
            self._report_original_id = read_message_id(match.group(1))


_BASE64_LINE = re.compile(r"^[A-Za-z0-9+/]+={0,2}$")


def _mislabelled_base64(part: Message) -> bool:
    """A part declared base64 whose lines are mostly not base64 at all."""
    if str(part.get("Content-Transfer-Encoding", "")).strip().lower() != "base64":
        return False
    raw = part.get_payload(decode=False)
    if not isinstance(raw, str):
        return False
    lines = [line.strip() for line in raw.splitlines() if line.strip()]
    if not lines:
        return False
    encoded = sum(1 for line in lines if _BASE64_LINE.match(line))
    return encoded * 2 < len(lines)


def _filename(part: Message) -> str:
    try:
        name = part.get_filename()
    except Exception:
        name = None
    if not name:
        return ""
    name = str(name)
    if any("\udc80" <= ch <= "\udcff" for ch in name):
        name = _decode_bytes(name.encode("utf-8", "surrogateescape"), None)
    return name.strip()


def _default_name(part: Message, ctype: str, number: int) -> str:
    extension = mimetypes.guess_extension(ctype) or (
        ".txt" if ctype.startswith("text/") else ".bin"
    )
    stem = "image" if ctype.startswith("image/") else "attachment"
    return f"{stem}-{number}{extension}"


__all__ = [
    "DeliveryStatus",
    "ParsedAttachment",
    "ParsedEmail",
    "SkippedAttachment",
    "UnparseableEmailError",
    "header_text",
    "read_message_id",
    "parse_email",
    "raw_fingerprint",
]

"""Build raw mails for tests, shaped like what clients send."""

from __future__ import annotations

import itertools
from email.message import EmailMessage
from email.utils import format_datetime

from django.utils import timezone

_ids = itertools.count(1)


def mail(
    *,
    sender: str = "Jan Kowalski <jan@example.pl>",
    to: str = "Support <support@helpdesk.example>",
    subject: str = "Problem z zamówieniem",
    text: str = "Dzień dobry, moje zamówienie nie dotarło.",
    html: str | None = None,
    message_id: str | None = None,
    in_reply_to: str | None = None,
    references: list[str] | None = None,
    headers: dict[str, str] | None = None,
    cc: str | None = None,
) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    if cc:
        msg["Cc"] = cc
    msg["Subject"] = subject
    msg["Date"] = format_datetime(timezone.now())
    msg["Message-ID"] = f"<{message_id or f'm{next(_ids)}.test@example.pl'}>"
    if in_reply_to:
        msg["In-Reply-To"] = f"<{in_reply_to}>"
    if references:
        msg["References"] = " ".join(f"<{r}>" for r in references)
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(text)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    return msg.as_bytes()


def message_id_of(raw: bytes) -> str:
    for line in raw.split(b"\n"):
        if line.lower().startswith(b"message-id:"):
            return line.split(b":", 1)[1].strip().strip(b"<>").decode()
    raise ValueError("no Message-ID")

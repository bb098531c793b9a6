"""Idempotent demo data: agents, teams, an inbox of every channel, and customers
whose history spans email, chat, SMS and Messenger, in English, Polish and Czech.

Everything goes through the product's own functions (create_agent,
create_inbox, ingest, record_reply, link_identity), with fixed provider ids
and idempotency keys, so running it again adds nothing.
"""

from __future__ import annotations

import base64
import struct
import textwrap
import zlib
from datetime import timedelta
from email.utils import format_datetime

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from agents.accounts import create_agent
from channels_in.email.receive import store_email
from channels_in.inboxes import create_inbox
from channels_in.pipeline import process_raw
from knowledge.demo import seed_articles
from knowledge.models import Article
from tickets.changes import update_ticket
from tickets.ingest import InboundMessage, SenderIdentity, ingest
from tickets.merge import link_identity
from tickets.models import (
    Channel,
    Customer,
    IdentityKind,
    Inbox,
    Priority,
    SlaPolicy,
    Status,
    Team,
    Ticket,
)
from tickets.replies import add_note, record_reply
from tickets.sla import save_policy

PASSWORD = "demo-pass-2026"

AGENTS = [
    # email, name, role, team, language
    ("admin@demo.example", "Ada Admin", "admin", None, "en"),
    ("manager@demo.example", "Magdalena Lewandowska", "manager", None, "pl"),
    ("anna@demo.example", "Anna Kowalska", "agent", "Wsparcie PL", "pl"),
    ("petr@demo.example", "Petr Novák", "agent", "Podpora CZ", "cs"),
    ("emma@demo.example", "Emma Clarke", "agent", "Wsparcie PL", "en"),
]

INBOXES = [
    # key in this file, channel, name, language, team
    ("email", Channel.EMAIL, "Obsługa klienta (e-mail)", "pl", "Wsparcie PL"),
    ("widget", Channel.WIDGET, "Chat na stronie", "pl", "Wsparcie PL"),
    ("sms", Channel.SMS, "SMS +48", "pl", "Wsparcie PL"),
    ("messenger", Channel.MESSENGER, "Messenger CZ", "cs", "Podpora CZ"),
    ("email_cz", Channel.EMAIL, "Zákaznická podpora (e-mail)", "cs", "Podpora CZ"),
    ("test", Channel.TEST, "Test channel", "en", "Wsparcie PL"),
]

EMAIL_CONFIG = {
    "email": {"address": "obsluga@demo.example", "from_name": "Obsługa klienta Demo"},
    "email_cz": {"address": "podpora@demo.example", "from_name": "Zákaznická podpora Demo"},
}
# The chat: articles first, and Polish office hours (the away notice says when we are back).
WIDGET_CONFIG = {
    "self_service": True,
    "reply_within_hours": 2,
    "business_hours": {
        "timezone": "Europe/Warsaw",
        "week": {day: [["08:00", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri")},
        "holidays": "PL",
    },
}

# Each story: a customer, their identities, and a history of steps.
# Step: ("in", inbox, days_ago, text, subject?)
#       | ("out", agent, days_ago, text, status?, channel?)
#       | ("note", agent, days_ago, text) | ("set", agent, {changes})
STORIES = [
    {
        "name": "Katarzyna Wiśniewska",
        "locale": "pl",
        "attributes": {"order": "PL-20931", "plan": "Premium"},
        "identities": [
            (IdentityKind.EMAIL, "k.wisniewska@example.pl"),
            (IdentityKind.PHONE, "+48601234567"),
            (IdentityKind.WIDGET, "demo-visitor-kasia"),
        ],
        "steps": [
            (
                "in",
                "email",
                9,
                "Dzień dobry, zamówienie PL-20931 miało dotrzeć wczoraj, "
                "a kurier nadal go nie odebrał z magazynu. "
                "Czy mogą Państwo sprawdzić, co się dzieje?",
                "Opóźnione zamówienie PL-20931",
            ),
            (
                "out",
                "anna@demo.example",
                9,
                "Dzień dobry Pani Katarzyno, sprawdziłam: paczka "
                "czekała na odbiór przez kuriera. Dziś rano wyjechała z magazynu, numer przesyłki "
                "prześlę SMS-em.",
                "pending",
            ),
            (
                "out",
                "anna@demo.example",
                9,
                "Numer przesyłki: 6200 1234 5678. Pozdrawiam, Anna",
                "pending",
                Channel.SMS,
            ),
            ("in", "sms", 8, "Dziękuję! A czy mogę zmienić adres doręczenia na paczkomat?"),
            (
                "out",
                "anna@demo.example",
                8,
                "Tak, zmieniłam punkt doręczenia na paczkomat "
                "WAW123M. Kod odbioru przyjdzie od przewoźnika.",
                "solved",
            ),
            ("in", "widget", 1, "Hej, paczka doszła, ale w środku brakuje ładowarki z zestawu."),
            (
                "note",
                "anna@demo.example",
                1,
                "Klientka Premium — wyślijmy ładowarkę kurierem ekspresowym bez czekania na zwrot.",
            ),
        ],
        "tags": ["delivery", "premium"],
    },
    {
        "name": "Jiří Svoboda",
        "locale": "cs",
        "attributes": {"order": "CZ-7781"},
        "identities": [
            (IdentityKind.MESSENGER, "psid-4711-demo"),
            (IdentityKind.EMAIL, "jiri.svoboda@example.cz"),
        ],
        "steps": [
            (
                "in",
                "messenger",
                6,
                "Dobrý den, chtěl bych reklamovat sluchátka z objednávky "
                "CZ-7781, levé sluchátko nehraje.",
            ),
            (
                "out",
                "petr@demo.example",
                6,
                "Dobrý den, je nám líto. Pošlete nám prosím fotku "
                "štítku se sériovým číslem na e-mail, reklamaci hned založím.",
                "pending",
            ),
            (
                "in",
                "email_cz",
                5,
                "Posílám fotku štítku. Sériové číslo je HX-22-0091.",
                "Reklamace CZ-7781",
            ),
            (
                "out",
                "petr@demo.example",
                5,
                "Děkuji, reklamace je založená. Nová sluchátka odešleme do 3 pracovních dnů.",
                "solved",
            ),
        ],
        "tags": ["complaint"],
    },
    {
        "name": "Oliver Bennett",
        "locale": "en",
        "attributes": {"account": "ob-1093", "plan": "Business"},
        "identities": [
            (IdentityKind.WIDGET, "demo-visitor-oliver"),
            (IdentityKind.EMAIL, "oliver.bennett@example.co.uk"),
        ],
        "steps": [
            (
                "in",
                "widget",
                3,
                "Hi, I can't sign in to my account since this morning — the "
                "reset link says it has expired.",
            ),
            (
                "out",
                "emma@demo.example",
                3,
                "Sorry about that, Oliver. I've sent a fresh reset "
                "link to your email; it's valid for an hour.",
            ),
            (
                "in",
                "email",
                0,
                "Thanks, that worked. One more thing: can I add a second user to "
                "our Business plan?",
                "Second user on our plan",
            ),
        ],
        "tags": ["account"],
        "priority": Priority.HIGH,
    },
    {
        "name": "Marek Zieliński",
        "locale": "pl",
        "attributes": {"invoice": "FV/2026/11/042"},
        "identities": [(IdentityKind.PHONE, "+48512987654")],
        "steps": [
            (
                "in",
                "sms",
                2,
                "Dzień dobry, na fakturze FV/2026/11/042 jest zły NIP firmy. Proszę o korektę.",
            ),
            (
                "out",
                "anna@demo.example",
                2,
                "Dzień dobry, proszę podać poprawny NIP, a wystawimy fakturę korygującą.",
                "pending",
            ),
        ],
        "tags": ["invoice"],
    },
    {
        "name": "Lucie Horáková",
        "locale": "cs",
        "attributes": {},
        "identities": [(IdentityKind.EMAIL, "lucie.horakova@example.cz")],
        "steps": [
            (
                "in",
                "email_cz",
                0,
                "Dobrý den, můžu vrátit boty, které jsem koupila před 20 dny? Nesedí mi velikost.",
                "Vrácení zboží",
            ),
        ],
        "tags": ["returns"],
        "priority": Priority.NORMAL,
    },
    {
        "name": "Sarah Miller",
        "locale": "en",
        "attributes": {},
        "identities": [(IdentityKind.MESSENGER, "psid-9001-demo")],
        "steps": [
            ("in", "messenger", 0, "Hello! Do you ship to Slovakia, and how long does it take?"),
        ],
        "tags": [],
    },
]


# Office hours of the Polish and Czech teams; the clocks stop outside them and on holidays.
SLA_POLICIES = [
    {
        "name": "Urgent",
        "position": 1,
        "priorities": [Priority.URGENT],
        "first_response_minutes": 30,
        "next_response_minutes": 60,
        "resolution_minutes": 8 * 60,
        "calendar": {},  # round the clock
    },
    {
        "name": "Standard",
        "position": 2,
        "first_response_minutes": 4 * 60,
        "next_response_minutes": 8 * 60,
        "resolution_minutes": 3 * 10 * 60,
        "calendar": {
            "timezone": "Europe/Warsaw",
            "week": {day: [["08:00", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri")},
            "holidays": "PL",
        },
    },
]


class Command(BaseCommand):
    help = "Load the demo data (idempotent: a second run adds nothing)."

    def handle(self, *args, **options):
        agents = {}
        for email, name, role, team, language in AGENTS:
            user, _ = create_agent(
                email=email, password=PASSWORD, role=role, team=team, name=name, language=language
            )
            agents[email] = user
        inboxes = {}
        for key, channel, name, language, team in INBOXES:
            inbox = Inbox.objects.filter(channel=channel, name=name).first()
            if inbox is None:
                inbox = create_inbox(
                    channel=channel,
                    name=name,
                    language=language,
                    team=Team.objects.get_or_create(name=team)[0],
                )
            if channel == Channel.EMAIL and not inbox.config.get("address"):
                # Replies leave from here (under `make run`: files in var/mail).
                inbox.config = {**inbox.config, **EMAIL_CONFIG[key]}
                inbox.save(update_fields=["config"])
            if channel == Channel.WIDGET and any(k not in inbox.config for k in WIDGET_CONFIG):
                inbox.config = {**WIDGET_CONFIG, **inbox.config}
                inbox.save(update_fields=["config"])
            if channel in (Channel.EMAIL, Channel.SMS) and "acknowledgement" not in inbox.config:
                # New requests by mail and text are acknowledged at once, with the expected reply.
                inbox.config = {**inbox.config, "acknowledgement": {"enabled": True}}
                inbox.save(update_fields=["config"])
            inboxes[key] = inbox
        if not SlaPolicy.objects.exists():
            for policy in SLA_POLICIES:
                save_policy(**policy)
        now = timezone.now()
        for number, story in enumerate(STORIES):
            with transaction.atomic():
                self._tell(number, story, agents, inboxes, now)
        self._receive_mail(inboxes["email_cz"], now)
        seed_articles()
        self.stdout.write(
            f"Demo ready: {Customer.objects.count()} customers, {Ticket.objects.count()} tickets, "
            f"{Article.objects.count()} help articles. "
            f"Sign in at /login/ as anna@demo.example, petr@demo.example, emma@demo.example, "
            f"manager@demo.example or admin@demo.example, password {PASSWORD}"
        )

    def _tell(self, number, story, agents, inboxes, now):
        ticket = None
        for step_no, step in enumerate(story["steps"]):
            key = f"demo-{number}-{step_no}"
            if step[0] == "in":
                _, inbox_key, days, text, *subject = step
                inbox = inboxes[inbox_key]
                sender_kind = {
                    Channel.EMAIL: IdentityKind.EMAIL,
                    Channel.SMS: IdentityKind.PHONE,
                    Channel.MESSENGER: IdentityKind.MESSENGER,
                    Channel.WIDGET: IdentityKind.WIDGET,
                }[inbox.channel]
                sender_value = next(v for k, v in story["identities"] if k == sender_kind)
                result = ingest(
                    InboundMessage(
                        inbox_id=inbox.pk,
                        channel=inbox.channel,
                        sender=SenderIdentity(
                            kind=sender_kind, value=sender_value, name=story["name"]
                        ),
                        external_id=key,
                        text=text,
                        subject=subject[0] if subject else "",
                        locale=story["locale"],
                        received_at=now - timedelta(days=days, hours=number),
                    )
                )
                ticket = result.ticket
                if step_no == 0 and not result.duplicate:
                    self._enrich(result.ticket.customer, story)
            elif step[0] == "out":
                _, agent, days, text, *rest = step
                record_reply(
                    ticket=ticket,
                    author=agents[agent],
                    text=text,
                    status=rest[0] if rest else None,
                    idempotency_key=key,
                    channel=rest[1] if len(rest) > 1 else None,
                    imported_at=now - timedelta(days=days, hours=number) + timedelta(minutes=25),
                )
            elif step[0] == "note":
                _, agent, days, text = step
                if not ticket.messages.filter(is_note=True, body_text=text).exists():
                    add_note(ticket=ticket, author=agents[agent], text=text)
        if ticket is not None and ticket.status != Status.SOLVED:
            assignee = next((agents[s[1]] for s in story["steps"] if s[0] in ("out", "note")), None)
            update_ticket(
                ticket=ticket,
                actor=None,
                assignee=assignee,
                tags=story["tags"],
                priority=story.get("priority"),
            )

    def _receive_mail(self, inbox, now):
        """A mail through the real email path (raw MIME, parse, thread): quote and signature
        folded, a remote image held back, a photo inline."""
        stored = store_email(inbox=inbox, raw=_demo_mail(now), source="demo")
        if not stored.duplicate:
            process_raw(stored.raw.pk, raw=stored.raw)

    def _enrich(self, customer, story):
        for kind, value in story["identities"][1:]:
            link_identity(customer=customer, kind=kind, value=value, verified=True)
        customer.attributes = story["attributes"]
        customer.locale = story["locale"]
        customer.save(update_fields=["attributes", "locale"])


def _photo_png(width: int = 160, height: int = 120) -> str:
    """A warm gradient standing in for the customer's photo (base64 PNG, no imaging library)."""
    rows = b"".join(
        b"\x00" + bytes(c for x in range(width) for c in (200 + x // 4, 120 + y, 90 + x // 3))
        for y in range(height)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))
    png += chunk(b"IEND", b"")
    return "\n".join(textwrap.wrap(base64.b64encode(png).decode(), 76))


def _demo_mail(now) -> bytes:
    date = format_datetime(now - timedelta(hours=3))
    return f"""From: =?utf-8?q?Lenka_Hor=C3=A1kov=C3=A1?= <lenka.horakova@example.cz>
To: =?utf-8?q?Z=C3=A1kaznick=C3=A1_podpora?= <podpora@demo.example>
Subject: =?utf-8?q?Rozbit=C3=BD_hrnek_v_z=C3=A1silce_CZ-7781?=
Date: {date}
Message-ID: <demo-mail-cz-7781@example.cz>
Content-Language: cs-CZ
MIME-Version: 1.0
Content-Type: multipart/related; boundary="REL"

--REL
Content-Type: multipart/alternative; boundary="ALT"

--ALT
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Dobrý den,
v zásilce CZ-7781 přišel hrnek rozbitý. Fotku přikládám.
Prosím o výměnu.

Lenka Horáková

Dne pá 20. 11. 2026 v 9:12 Zákaznická podpora napsal(a):
> Vaše objednávka CZ-7781 byla odeslána.

--ALT
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: 8bit

<div dir="ltr"><p>Dobrý den,</p>
<p>v zásilce <b>CZ-7781</b> přišel hrnek rozbitý. Fotku přikládám:</p>
<p><img src="cid:foto1@example.cz" alt="rozbitý hrnek" width="160" height="120"></p>
<p>Prosím o výměnu.</p><img src="https://tracker.example/open.gif?u=lenka" width="1" height="1">
<div class="gmail_signature">Lenka Horáková<br>+420 601 234 567</div>
<div class="gmail_quote"><div>Dne pá 20. 11. 2026 v 9:12 Zákaznická podpora napsal(a):</div>
<blockquote class="gmail_quote">Vaše objednávka CZ-7781 byla odeslána.</blockquote></div></div>

--ALT--

--REL
Content-Type: image/png; name="foto.png"
Content-Disposition: inline; filename="foto.png"
Content-ID: <foto1@example.cz>
Content-Transfer-Encoding: base64

{_photo_png()}

--REL--
""".replace("\n", "\r\n").encode()

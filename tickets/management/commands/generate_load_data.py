"""Bulk synthetic data for benchmarks: customers, tickets, messages, timeline.

    manage.py generate_load_data --tickets 1000000 --messages-per-ticket 3

The rows look like what ingest() and record_reply() write (TICKET_CREATED,
MESSAGE, NOTE and STATUS events; previews, first-response and activity
times; delivery states), but they are written in bulk: COPY on PostgreSQL,
bulk_create elsewhere (SQLite, for small N). Ids are assigned here and the
sequences are moved past them, so run it on a database nobody else writes to
at the same time.

Generated rows are marked by their inboxes (config {"load_data": true}).
A second run refuses unless told to --append N more tickets or to --top-up
to N in total; appended history is placed before the existing one, so the
recent tickets (and the open backlog) stay what they were.

tickets/ may not import channels_in or agents (import-linter), so teams,
agents and inboxes are created here with plain model code.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import random
import time
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, models, transaction
from django.db.models import Max, Min, OuterRef, Subquery

from tickets.models import (
    AuthorKind,
    Channel,
    Customer,
    Delivery,
    Direction,
    EventKind,
    Identity,
    IdentityKind,
    Inbox,
    Message,
    Status,
    Tag,
    Team,
    Ticket,
    TimelineEvent,
)

TICKETS_PER_DAY = 1400  # a busy shop: 1M tickets is about two years of history
DAY = 86400.0
LOAD_DOMAIN = "load.example"
AGENT_PASSWORD = "load-data-password"

# --- static vocabulary ------------------------------------------------------------

NAMES: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    # (male first, male last, female first, female last)
    "en": (
        ("James", "Oliver", "Harry", "George", "Jack", "Thomas", "William", "Daniel"),
        ("Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies"),
        ("Emma", "Olivia", "Sophie", "Amelia", "Isla", "Grace", "Charlotte", "Emily"),
        ("Smith", "Evans", "Thomas", "Roberts", "Walker", "Wright", "Robinson", "Clarke"),
    ),
    "pl": (
        ("Piotr", "Krzysztof", "Tomasz", "Paweł", "Michał", "Łukasz", "Grzegorz", "Wojciech"),
        (
            "Kowalski",
            "Wiśniewski",
            "Wójcik",
            "Kamiński",
            "Lewandowski",
            "Zieliński",
            "Szymański",
            "Dąbrowski",
        ),
        ("Anna", "Katarzyna", "Małgorzata", "Agnieszka", "Joanna", "Magdalena", "Zofia", "Ewa"),
        (
            "Kowalska",
            "Wiśniewska",
            "Nowak",
            "Kamińska",
            "Lewandowska",
            "Zielińska",
            "Woźniak",
            "Dąbrowska",
        ),
    ),
    "cs": (
        ("Jan", "Petr", "Tomáš", "Jiří", "Martin", "Pavel", "Lukáš", "Jakub"),
        ("Novák", "Svoboda", "Dvořák", "Černý", "Procházka", "Kučera", "Veselý", "Horák"),
        ("Jana", "Eva", "Hana", "Lucie", "Kateřina", "Tereza", "Veronika", "Markéta"),
        (
            "Nováková",
            "Svobodová",
            "Dvořáková",
            "Černá",
            "Procházková",
            "Kučerová",
            "Veselá",
            "Horáková",
        ),
    ),
}
COMPANIES = (
    "",
    "",
    "",
    "",
    "Acme s.r.o.",
    "Nordwind Sp. z o.o.",
    "Brightside Ltd",
    "Kwiatkowski i Syn",
    "Pivovar U Lípy",
    "Tatra Foods a.s.",
    "Greenleaf Ltd",
)
TIMEZONES = {"en": "Europe/London", "pl": "Europe/Warsaw", "cs": "Europe/Prague"}
PHONE_PREFIX = {"en": "+447", "pl": "+486", "cs": "+4206"}

# topic -> language -> (subject, first message, agent answer, customer follow-up)
TOPICS: dict[str, dict[str, tuple[str, str, str, str]]] = {
    "delivery": {
        "en": (
            "Where is my order {order}?",
            "Hi, my order {order} still hasn't arrived. Can you check where it is?",
            "Hello {name}, thank you for writing. Order {order} is with the courier and "
            "should arrive within two days.",
            "It still hasn't come and the tracking page has not changed since Monday.",
        ),
        "pl": (
            "Gdzie jest moje zamówienie {order}?",
            "Dzień dobry, moje zamówienie {order} jeszcze nie dotarło. Czy mogą Państwo "
            "sprawdzić, gdzie jest?",
            "Dzień dobry, dziękujemy za wiadomość. Zamówienie {order} jest u kuriera i "
            "powinno dotrzeć w ciągu dwóch dni.",
            "Paczka nadal nie przyszła, a śledzenie przesyłki nie zmieniło się od poniedziałku.",
        ),
        "cs": (
            "Kde je moje objednávka {order}?",
            "Dobrý den, moje objednávka {order} ještě nedorazila. Můžete prosím zjistit, kde je?",
            "Dobrý den, děkujeme za zprávu. Objednávka {order} je u dopravce a měla by "
            "dorazit do dvou dnů.",
            "Zásilka pořád nepřišla a sledování se od pondělí nezměnilo.",
        ),
    },
    "billing": {
        "en": (
            "Charged twice for invoice {invoice}",
            "I was charged twice for invoice {invoice}. Please refund the duplicate payment.",
            "I'm sorry for the trouble. I've refunded the duplicate payment; it will appear "
            "on your account in 3–5 business days.",
            "Could you send me a corrected invoice as well, please?",
        ),
        "pl": (
            "Podwójne obciążenie za fakturę {invoice}",
            "Zostałem obciążony dwa razy za fakturę {invoice}. Proszę o zwrot podwójnej płatności.",
            "Przepraszamy za kłopot. Zleciłam zwrot podwójnej płatności; pojawi się na "
            "koncie w ciągu 3–5 dni roboczych.",
            "Czy mogą Państwo przesłać również fakturę korygującą?",
        ),
        "cs": (
            "Dvojí platba za fakturu {invoice}",
            "Za fakturu {invoice} mi byla stržena platba dvakrát. Prosím o vrácení "
            "duplicitní platby.",
            "Omlouváme se za potíže. Duplicitní platbu jsem vrátil; na účtu se objeví do "
            "3–5 pracovních dnů.",
            "Můžete mi prosím poslat i opravný daňový doklad?",
        ),
    },
    "login": {
        "en": (
            "Can't log in",
            "I can't log in to my account since yesterday, the password reset email never comes.",
            "I've sent you a new password reset link. Please check your spam folder too.",
            "Found it in spam, but the link says it has expired.",
        ),
        "pl": (
            "Nie mogę się zalogować",
            "Od wczoraj nie mogę zalogować się na konto, e-mail z resetem hasła nie przychodzi.",
            "Wysłałam nowy link do resetu hasła. Proszę sprawdzić także folder spam.",
            "Znalazłem go w spamie, ale link jest już nieaktywny.",
        ),
        "cs": (
            "Nemohu se přihlásit",
            "Od včerejška se nemohu přihlásit k účtu, e-mail pro obnovení hesla nepřichází.",
            "Poslala jsem vám nový odkaz pro obnovení hesla. Zkontrolujte prosím i složku "
            "se spamem.",
            "Našel jsem ho ve spamu, ale odkaz už prý vypršel.",
        ),
    },
    "address": {
        "en": (
            "Change delivery address for {order}",
            "Could you change the delivery address for order {order}? I moved last week.",
            "Done: order {order} will go to the new address. You'll get a new tracking "
            "number by email.",
            "Great, and can I also pick it up at a parcel locker instead?",
        ),
        "pl": (
            "Zmiana adresu dostawy {order}",
            "Czy można zmienić adres dostawy dla zamówienia {order}? W zeszłym tygodniu "
            "się przeprowadziłam.",
            "Gotowe: zamówienie {order} pojedzie na nowy adres. Nowy numer przesyłki "
            "przyjdzie e-mailem.",
            "Świetnie, a czy mogę zamiast tego odebrać paczkę w paczkomacie?",
        ),
        "cs": (
            "Změna doručovací adresy {order}",
            "Můžete změnit doručovací adresu u objednávky {order}? Minulý týden jsem se stěhovala.",
            "Hotovo: objednávka {order} pojede na novou adresu. Nové číslo zásilky vám "
            "přijde e-mailem.",
            "Skvělé, a mohu si ji místo toho vyzvednout na výdejním místě?",
        ),
    },
    "damaged": {
        "en": (
            "Damaged item in order {order}",
            "The product I received in order {order} is damaged. I'd like to return it "
            "and get a replacement.",
            "I'm sorry about that. Could you please send us a photo of the damaged item "
            "and the packaging?",
            "Photos attached. The box was already torn when the courier brought it.",
        ),
        "pl": (
            "Uszkodzony produkt w zamówieniu {order}",
            "Produkt z zamówienia {order} jest uszkodzony. Chciałbym go zwrócić i otrzymać nowy.",
            "Bardzo przepraszamy. Czy może Pan/Pani przesłać zdjęcie uszkodzonego produktu "
            "i opakowania?",
            "Zdjęcia w załączniku. Karton był rozdarty już przy odbiorze od kuriera.",
        ),
        "cs": (
            "Poškozené zboží v objednávce {order}",
            "Zboží z objednávky {order} je poškozené. Chtěl bych ho vrátit a dostat nové.",
            "Moc se omlouváme. Můžete nám prosím poslat fotografii poškozeného zboží a obalu?",
            "Fotky posílám v příloze. Krabice byla roztržená už při převzetí od kurýra.",
        ),
    },
}
TOPIC_WEIGHTS = (("delivery", 35), ("billing", 20), ("login", 20), ("address", 10), ("damaged", 15))
TOPIC_TAGS = {
    "delivery": ("shipping", "courier", "late-delivery"),
    "billing": ("refund", "invoice", "payment"),
    "login": ("account", "password", "bug"),
    "address": ("shipping", "address-change"),
    "damaged": ("return", "complaint", "reklamace"),
}
GENERAL_TAGS = ("vip", "urgent-followup", "feedback", "b2b", "faktura", "zwrot", "eshop")
THANKS = {
    "en": "Thank you, that solved it!",
    "pl": "Dziękuję, wszystko działa!",
    "cs": "Děkuji, vyřešeno!",
}
NUDGE = {
    "en": "Is there any update on this? I'm still waiting.",
    "pl": "Czy jest coś nowego w tej sprawie? Nadal czekam.",
    "cs": "Je v této věci něco nového? Pořád čekám.",
}
CLOSING = {
    "en": "Is there anything else I can help you with?",
    "pl": "Czy mogę jeszcze w czymś pomóc?",
    "cs": "Mohu vám ještě s něčím pomoci?",
}
NOTES = (
    "Checked with the warehouse: the parcel left yesterday.",
    "Customer called as well, same issue. Waiting for the courier's answer.",
    "Refund approved by billing, ref. {invoice}.",
    "Escalated to the e-shop team (bug in the password reset mail).",
)

TEAMS = ("Support", "Billing", "Technical", "Sales")
# (name, channel, language, team)
INBOXES = (
    ("Support (email)", Channel.EMAIL, "en", "Support"),
    ("Wsparcie (e-mail)", Channel.EMAIL, "pl", "Support"),
    ("Podpora (e-mail)", Channel.EMAIL, "cs", "Support"),
    ("Billing (email)", Channel.EMAIL, "en", "Billing"),
    ("SMS +48", Channel.SMS, "pl", "Support"),
    ("Messenger", Channel.MESSENGER, "en", "Support"),
    ("Web chat", Channel.WIDGET, "en", "Sales"),
)
CHANNEL_WEIGHTS = (
    (Channel.EMAIL, 50),
    (Channel.WIDGET, 25),
    (Channel.SMS, 12),
    (Channel.MESSENGER, 13),
)
IDENTITY_ODDS = (
    (IdentityKind.EMAIL, 0.85),
    (IdentityKind.PHONE, 0.45),
    (IdentityKind.MESSENGER, 0.25),
    (IdentityKind.WIDGET, 0.30),
)
KIND_FOR_CHANNEL = {
    Channel.EMAIL: IdentityKind.EMAIL,
    Channel.SMS: IdentityKind.PHONE,
    Channel.MESSENGER: IdentityKind.MESSENGER,
    Channel.WIDGET: IdentityKind.WIDGET,
}
KIND_BIT = {
    IdentityKind.EMAIL: 1,
    IdentityKind.PHONE: 2,
    IdentityKind.MESSENGER: 4,
    IdentityKind.WIDGET: 8,
}
LOCALES = ("en", "pl", "cs")
LOCALE_WEIGHTS = (40, 35, 25)
PRIORITIES = (1, 2, 3, 4)
PRIORITY_WEIGHTS = (20, 60, 15, 5)


def _ascii(text: str) -> str:
    text = text.replace("ł", "l").replace("Ł", "L")
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def _preview(text: str, length: int = 200) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= length else flat[: length - 1] + "…"


# --- writing rows ---------------------------------------------------------------------

_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_str(value: str) -> str:
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return value.translate(_COPY_ESCAPES)
    return str(value)  # str(): the plain value of a TextChoices member


def _copy_json(value: Any) -> str:
    if not value:
        return "{}" if isinstance(value, dict) else "[]"
    return _copy_str(json.dumps(value, ensure_ascii=False))


_COPY_FORMATS: dict[type, Any] = {
    type(None): lambda value: "\\N",
    bool: lambda value: "t" if value else "f",
    int: str,
    str: _copy_str,
    datetime: datetime.isoformat,
    dict: _copy_json,
    list: _copy_json,
}


def _copy_value(value: Any) -> str:
    """One value in COPY's text format."""
    kind = type(value)
    format_ = _COPY_FORMATS.get(kind)
    if format_ is None:
        # Subclasses (TextChoices members are str, IntegerChoices are int).
        base = next((b for b in kind.__mro__ if b in _COPY_FORMATS), None)
        if base is None:
            raise TypeError(f"cannot COPY {kind.__name__}")
        format_ = _COPY_FORMATS[kind] = _COPY_FORMATS[base]
    return format_(value)


class Table:
    """One model's rows as tuples in a fixed column order, written in bulk.

    Columns not listed get the field's default, so a field another engineer adds
    (with a default) does not break the generator.
    """

    def __init__(self, model: type[models.Model], columns: Sequence[str]) -> None:
        self.model = model
        self.columns = tuple(columns)
        fields = {f.attname: f for f in model._meta.concrete_fields}
        unknown = set(self.columns) - set(fields)
        if unknown:
            raise CommandError(f"{model.__name__} has no column(s) {sorted(unknown)}")
        self.extra = tuple(f for name, f in fields.items() if name not in self.columns)
        self.extra_values = tuple(f.get_default() for f in self.extra)
        self.all_attnames = self.columns + tuple(f.attname for f in self.extra)
        self.db_columns = tuple(fields[name].column for name in self.all_attnames)
        self.copy_suffix = "".join("\t" + _copy_value(v) for v in self.extra_values) + "\n"
        self.rows: list[tuple] = []
        self.sequence: str | None = None

    @property
    def db_table(self) -> str:
        return self.model._meta.db_table

    def next_id(self, cursor) -> int:
        """The first id of this batch (the table is locked by the caller on PostgreSQL)."""
        table = connection.ops.quote_name(self.db_table)
        cursor.execute(f"SELECT MAX(id) FROM {table}")  # noqa: S608 - our own table name
        top = cursor.fetchone()[0] or 0
        if connection.vendor == "postgresql":
            cursor.execute(
                f"SELECT last_value, is_called FROM {self._sequence(cursor)}"  # noqa: S608
            )
            last_value, is_called = cursor.fetchone()
            top = max(top, last_value if is_called else last_value - 1)
        return top + 1

    def _sequence(self, cursor) -> str:
        if self.sequence is None:
            cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [self.db_table])
            self.sequence = cursor.fetchone()[0]
        return self.sequence

    def flush(self, cursor) -> int:
        """Write the buffered rows; returns how many."""
        rows, self.rows = self.rows, []
        if not rows:
            return 0
        if connection.vendor == "postgresql":
            suffix = self.copy_suffix
            buffer = io.StringIO()
            write = buffer.write
            formats = _COPY_FORMATS
            for row in rows:
                try:
                    line = "\t".join([formats[type(v)](v) for v in row])
                except KeyError:
                    line = "\t".join([_copy_value(v) for v in row])
                write(line + suffix)
            buffer.seek(0)
            columns = ", ".join(connection.ops.quote_name(c) for c in self.db_columns)
            cursor.cursor.copy_expert(
                f"COPY {connection.ops.quote_name(self.db_table)} ({columns}) FROM STDIN",
                buffer,
                size=1 << 20,
            )
            # The caller holds the table lock: move the sequence past the ids used.
            cursor.execute("SELECT setval(%s, %s)", [self._sequence(cursor), rows[-1][0]])
        else:
            objects = [
                self.model(**dict(zip(self.all_attnames, row + self.extra_values, strict=True)))
                for row in rows
            ]
            self.model.objects.bulk_create(objects, batch_size=500)
        return len(rows)


def _drop_indexes(cursor, models_: Iterable[type[models.Model]]) -> list[str]:
    """Drop secondary indexes, unique and foreign-key constraints; return the SQL to rebuild.

    Loading into bare tables and building each index once afterwards is several
    times faster than maintaining a dozen indexes and checking every foreign key
    row by row (what pg_restore does too). The caller holds one transaction, so a
    failure rolls the drops back with the data.
    """
    indexes: list[str] = []
    constraints: list[str] = []
    foreign_keys: list[str] = []
    for model in models_:
        table = model._meta.db_table
        quoted = connection.ops.quote_name(table)
        cursor.execute(
            "SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND contype IN ('f', 'u') ORDER BY conname",
            [quoted],
        )
        for name, kind, definition in cursor.fetchall():
            add = f"ALTER TABLE {quoted} ADD CONSTRAINT {connection.ops.quote_name(name)} " + (
                definition
            )
            (foreign_keys if kind == "f" else constraints).append(add)
            cursor.execute(
                f"ALTER TABLE {quoted} DROP CONSTRAINT {connection.ops.quote_name(name)}"
            )
        cursor.execute(
            "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
            "WHERE i.indrelid = %s::regclass AND NOT i.indisprimary AND NOT EXISTS "
            "(SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid) ORDER BY 1",
            [quoted],
        )
        for name, definition in cursor.fetchall():
            indexes.append(definition)
            cursor.execute(f"DROP INDEX {name}")
    return indexes + constraints + foreign_keys


def _lock(cursor, tables: Iterable[Table]) -> None:
    if connection.vendor == "postgresql":
        names = ", ".join(connection.ops.quote_name(t.db_table) for t in tables)
        # Readers go on; other writers wait until this batch commits.
        cursor.execute(f"LOCK TABLE {names} IN EXCLUSIVE MODE")


# --- the command --------------------------------------------------------------------


@dataclass
class Setup:
    inboxes: dict[tuple[str, str], list[Inbox]]  # (channel, language) -> inboxes
    inbox_team: dict[int, int | None]
    team_ids: dict[str, int]
    team_agents: dict[int, list[int]]
    tag_ids: dict[str, int]


class Command(BaseCommand):
    help = "Bulk synthetic but realistic data for benchmarks (COPY on PostgreSQL)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--tickets", type=int, required=True, help="tickets to create")
        parser.add_argument(
            "--messages-per-ticket",
            type=int,
            default=3,
            help="average messages per ticket (default 3)",
        )
        parser.add_argument(
            "--customers", type=int, default=None, help="customers to create (default: tickets / 3)"
        )
        parser.add_argument(
            "--batch", type=int, default=20000, help="tickets per transaction (default 20000)"
        )
        parser.add_argument(
            "--days",
            type=float,
            default=None,
            help=f"history span (default: tickets / {TICKETS_PER_DAY} per day)",
        )
        parser.add_argument(
            "--heavy-customer-events",
            type=int,
            default=1000,
            help="give one customer about this many timeline events (0: none)",
        )
        parser.add_argument("--agents", type=int, default=24, help="agents (default 24)")
        parser.add_argument("--seed", type=int, default=42)
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument(
            "--append",
            action="store_true",
            help="add N tickets to existing load data (as older history)",
        )
        mode.add_argument(
            "--top-up",
            action="store_true",
            help="add only what is missing for N load tickets in total",
        )
        parser.add_argument(
            "--no-analyze", action="store_true", help="skip VACUUM ANALYZE at the end"
        )
        parser.add_argument(
            "--keep-indexes",
            action="store_true",
            help="PostgreSQL: never drop and rebuild indexes (by default they are rebuilt "
            "once when loading 50,000 tickets or more, all in one transaction)",
        )

    def handle(self, *args, **options) -> None:
        started = time.monotonic()
        tickets = options["tickets"]
        per_ticket = options["messages_per_ticket"]
        if tickets < 1 or per_ticket < 1:
            raise CommandError("--tickets and --messages-per-ticket must be at least 1.")
        existing_inboxes = list(
            Inbox.objects.filter(config__load_data=True).values_list("pk", flat=True)
        )
        existing = (
            Ticket.objects.filter(inbox_id__in=existing_inboxes).count() if existing_inboxes else 0
        )
        if existing and options["top_up"]:
            tickets -= existing
            if tickets <= 0:
                self.stdout.write(f"Load data already has {existing:,} tickets; nothing to add.")
                return
        elif existing and not options["append"]:
            raise CommandError(
                f"This database already holds {existing:,} generated tickets. Pass --append to "
                "add more, --top-up to reach a total, or use a fresh database."
            )
        customers = options["customers"] or max(1, tickets // 3)
        self.rnd = random.Random(options["seed"] + existing)

        setup = self._set_up(options["agents"])
        end = datetime.now(UTC)
        if existing:
            first = Ticket.objects.filter(inbox_id__in=existing_inboxes).aggregate(
                Min("created_at")
            )["created_at__min"]
            end = min(end, first - timedelta(minutes=1))
        days = options["days"] or max(30.0, tickets / TICKETS_PER_DAY)
        self.stdout.write(
            f"Generating {tickets:,} tickets × ~{per_ticket} messages for {customers:,} customers "
            f"over {days:.0f} days ending {end:%Y-%m-%d} on {connection.vendor}"
            + (f" (appending to {existing:,})" if existing else "")
        )
        gen = Generator(
            rnd=self.rnd,
            setup=setup,
            now=datetime.now(UTC),
            end=end.timestamp(),
            span=days * DAY,
            per_ticket=per_ticket,
        )
        bulk = (
            connection.vendor == "postgresql" and not options["keep_indexes"] and tickets >= 50000
        )
        # In bulk mode everything is one transaction (the index drops roll back with a
        # failure); otherwise each batch commits on its own.
        with transaction.atomic() if bulk else contextlib.nullcontext():
            rebuild: list[str] = []
            if bulk:
                with connection.cursor() as cursor:
                    rebuild = _drop_indexes(cursor, BULK_MODELS)
                self.stdout.write(f"  dropped {len(rebuild)} indexes and constraints for the load")
            first_customer, customer_info = self._write_customers(gen, customers, started)
            heavy = self._write_tickets(
                gen, tickets, first_customer, customer_info, options, started
            )
            if rebuild:
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
                    for statement in rebuild:
                        cursor.execute(statement)
                self._progress(
                    "rebuilt indexes and constraints", len(rebuild), len(rebuild), started
                )
        self._finish(first_customer, customers, analyze=not options["no_analyze"])
        elapsed = time.monotonic() - started
        self.stdout.write(
            self.style.SUCCESS(
                f"Done in {elapsed:.1f} s: {tickets:,} tickets, {gen.messages:,} messages, "
                f"{gen.events:,} timeline events, {customers:,} customers "
                f"({tickets / elapsed:,.0f} tickets/s). Heavy customer: #{heavy[0]} with "
                f"{heavy[1]:,} events."
            )
        )

    # --- fixed data: teams, agents, inboxes, tags ---------------------------------------

    def _set_up(self, agent_count: int) -> Setup:
        with transaction.atomic():
            teams = {name: Team.objects.get_or_create(name=name)[0] for name in TEAMS}
            groups = {
                name: Group.objects.get_or_create(name=name)[0] for name in ("agent", "manager")
            }
            password = make_password(AGENT_PASSWORD)
            user_model = get_user_model()
            team_agents: dict[int, list[int]] = {t.pk: [] for t in teams.values()}
            # Support is the big team; some agents also help a second team.
            layout = ("Support",) * 12 + ("Billing",) * 4 + ("Technical",) * 5 + ("Sales",) * 3
            for i in range(agent_count):
                email = f"agent{i + 1:02d}@{LOAD_DOMAIN}"
                locale = LOCALES[i % 3]
                first, last = (
                    NAMES[locale][2 if i % 2 else 0][i % 8],
                    NAMES[locale][3 if i % 2 else 1][(i // 3) % 8],
                )
                user, created = user_model.objects.get_or_create(
                    username=email,
                    defaults={
                        "email": email,
                        "first_name": first,
                        "last_name": last,
                        "password": password,
                    },
                )
                if created:
                    user.groups.add(groups["agent"])
                own = [layout[i % len(layout)]]
                if i % 5 == 4:
                    own.append(TEAMS[(TEAMS.index(own[0]) + 1) % len(TEAMS)])
                for name in own:
                    teams[name].members.add(user)
                    team_agents[teams[name].pk].append(user.pk)
            for i, led in enumerate((("Support", "Technical"), ("Billing", "Sales"))):
                email = f"manager{i + 1}@{LOAD_DOMAIN}"
                user, created = user_model.objects.get_or_create(
                    username=email,
                    defaults={
                        "email": email,
                        "first_name": ("Marta", "Miroslav")[i],
                        "last_name": ("Manager", "Vedoucí")[i],
                        "password": password,
                    },
                )
                if created:
                    user.groups.add(groups["manager"])
                for name in led:
                    teams[name].members.add(user)
                    if teams[name].lead_id is None:
                        teams[name].lead = user
                        teams[name].save(update_fields=["lead"])
            inboxes: dict[tuple[str, str], list[Inbox]] = {}
            for name, channel, language, team in INBOXES:
                inbox = Inbox.objects.filter(name=name, config__load_data=True).first()
                if inbox is None:
                    # Secrets as create_inbox would make them (channels_in.inboxes).
                    inbox = Inbox.objects.create(
                        name=name,
                        channel=channel,
                        language=language,
                        team=teams[team],
                        config={"load_data": True},
                        secrets=_secrets_for(channel),
                    )
                inboxes.setdefault((channel, language), []).append(inbox)
            tag_names = sorted(
                {t for names in TOPIC_TAGS.values() for t in names} | set(GENERAL_TAGS)
            )
            tag_ids = {name: Tag.objects.get_or_create(name=name)[0].pk for name in tag_names}
        # Agents assigned to a team's tickets are its members (managers lead, not assigned).
        return Setup(
            inboxes=inboxes,
            inbox_team={i.pk: i.team_id for group in inboxes.values() for i in group},
            team_ids={name: t.pk for name, t in teams.items()},
            team_agents={k: v or [] for k, v in team_agents.items()},
            tag_ids=tag_ids,
        )

    # --- customers and identities ------------------------------------------------------------

    def _write_customers(self, gen: Generator, count: int, started: float):
        customers = Table(
            Customer,
            (
                "id",
                "name",
                "company",
                "locale",
                "timezone",
                "attributes",
                "created_at",
                "last_seen_at",
                "merged_into_id",
            ),
        )
        identities = Table(
            Identity, ("id", "customer_id", "kind", "value", "verified", "created_at")
        )
        links = Table(Customer.tags.through, ("id", "customer_id", "tag_id"))
        # Per customer, what the ticket loop needs: locale index and identity bitmask.
        info = bytearray(count)
        first_id = None
        done = 0
        batch = 50000
        while done < count:
            size = min(batch, count - done)
            with transaction.atomic(), connection.cursor() as cursor:
                _lock(cursor, (customers, identities, links))
                cid = customers.next_id(cursor)
                iid = identities.next_id(cursor)
                lid = links.next_id(cursor)
                if first_id is None:
                    first_id = cid
                elif cid != first_id + done:
                    raise CommandError("customer ids are not contiguous: another writer is active")
                for n in range(size):
                    index = done + n
                    locale, mask, rows, tagged = gen.customer(cid, heavy=index == 0)
                    info[index] = LOCALES.index(locale) | (mask << 2)
                    customers.rows.append(rows[0])
                    for row in rows[1:]:
                        identities.rows.append((iid, *row))
                        iid += 1
                    if tagged:
                        links.rows.append((lid, cid, gen.setup.tag_ids["vip"]))
                        lid += 1
                    cid += 1
                for table in (customers, identities, links):
                    table.flush(cursor)
            done += size
            self._progress("customers", done, count, started)
        return first_id, info

    # --- tickets, messages, events, tags -------------------------------------------------------

    def _write_tickets(self, gen, count, first_customer, info, options, started):
        tickets = Table(Ticket, TICKET_COLUMNS)
        messages = Table(Message, MESSAGE_COLUMNS)
        events = Table(TimelineEvent, EVENT_COLUMNS)
        links = Table(Ticket.tags.through, ("id", "ticket_id", "tag_id"))
        customers = len(info)
        heavy_target = options["heavy_customer_events"]
        per_ticket_events = options["messages_per_ticket"] + 2.5
        heavy_tickets = (
            min(count, math.ceil(heavy_target / per_ticket_events)) if (heavy_target) else 0
        )
        heavy_every = count / heavy_tickets if heavy_tickets else 0
        next_heavy = 0.0 if heavy_tickets else float("inf")
        heavy_events = 0
        regulars = max(1, customers // 20)
        rnd = gen.rnd.random
        done = 0
        while done < count:
            size = min(options["batch"], count - done)
            with transaction.atomic(), connection.cursor() as cursor:
                _lock(cursor, (tickets, messages, events, links))
                ids = [t.next_id(cursor) for t in (tickets, messages, events, links)]
                gen.start_batch(*ids)
                for n in range(size):
                    index = done + n
                    if index >= next_heavy:
                        customer = 0
                        next_heavy += heavy_every
                    elif rnd() < 0.2:
                        customer = 1 + int(rnd() * regulars) % max(1, customers - 1)
                    else:
                        customer = int(rnd() * customers)
                    before = gen.events
                    gen.ticket(
                        position=index / count,
                        customer_id=first_customer + customer,
                        customer_info=info[customer],
                        out=(tickets.rows, messages.rows, events.rows, links.rows),
                    )
                    if customer == 0:
                        heavy_events += gen.events - before
                for table in (tickets, messages, events, links):
                    table.flush(cursor)
            done += size
            self._progress(
                "tickets", done, count, started, f"{gen.messages:,} messages, {gen.events:,} events"
            )
        return first_customer, heavy_events

    def _finish(self, first_customer: int, count: int, *, analyze: bool) -> None:
        # ingest() keeps last_seen_at at the customer's latest message.
        latest = (
            Ticket.objects.filter(customer_id=OuterRef("pk"))
            .values("customer_id")
            .annotate(at=Max("last_customer_message_at"))
            .values("at")
        )
        Customer.objects.filter(pk__gte=first_customer, pk__lt=first_customer + count).update(
            last_seen_at=Subquery(latest[:1])
        )
        if not analyze:
            return
        with connection.cursor() as cursor:
            for model in (Customer, Identity, Ticket, Ticket.tags.through, Message, TimelineEvent):
                table = connection.ops.quote_name(model._meta.db_table)
                # Fresh statistics and visibility map, so plans and index-only scans are
                # what a long-running database would get.
                # (VACUUM cannot run inside a transaction, e.g. under a test.)
                vacuum = connection.vendor == "postgresql" and not connection.in_atomic_block
                cursor.execute(f"VACUUM ANALYZE {table}" if vacuum else f"ANALYZE {table}")

    def _progress(self, what: str, done: int, total: int, started: float, extra: str = "") -> None:
        elapsed = time.monotonic() - started
        self.stdout.write(
            f"  {what} {done:,}/{total:,} ({100 * done / total:.0f} %)"
            + (f", {extra}" if extra else "")
            + f" — {elapsed:.1f} s"
        )
        self.stdout.flush()


def _secrets_for(channel: str) -> dict[str, str]:
    import secrets as secrets_lib

    names = {
        Channel.EMAIL: ("token",),
        Channel.SMS: ("auth_token",),
        Channel.MESSENGER: ("app_secret", "verify_token"),
        Channel.WIDGET: ("identity_secret",),
    }[channel]
    return {name: secrets_lib.token_urlsafe(24) for name in names}


BULK_MODELS = (
    Customer,
    Customer.tags.through,
    Identity,
    Ticket,
    Ticket.tags.through,
    Message,
    TimelineEvent,
)
TICKET_COLUMNS = (
    "id",
    "customer_id",
    "inbox_id",
    "subject",
    "status",
    "priority",
    "assignee_id",
    "team_id",
    "last_channel",
    "preview",
    "created_at",
    "updated_at",
    "last_activity_at",
    "first_response_at",
    "solved_at",
    "last_customer_message_at",
    "last_agent_message_at",
    "merged_into_id",
    "follows_id",
)
MESSAGE_COLUMNS = (
    "id",
    "ticket_id",
    "inbox_id",
    "direction",
    "author_kind",
    "author_id",
    "channel",
    "is_note",
    "subject",
    "body_text",
    "body_html",
    "external_id",
    "idempotency_key",
    "delivery_state",
    "delivery_error",
    "send_attempts",
    "is_automated",
    "sent_at",
    "created_at",
    "meta",
)
EVENT_COLUMNS = (
    "id",
    "customer_id",
    "ticket_id",
    "kind",
    "message_id",
    "actor_id",
    "data",
    "created_at",
)


def _weighted(pairs: Sequence[tuple[Any, int]]) -> tuple[list[Any], list[int]]:
    values = [p[0] for p in pairs]
    cumulative, total = [], 0
    for _, weight in pairs:
        total += weight
        cumulative.append(total)
    return values, cumulative


class Generator:
    """Builds the rows; holds the id counters of the current batch."""

    def __init__(
        self,
        *,
        rnd: random.Random,
        setup: Setup,
        now: datetime,
        end: float,
        span: float,
        per_ticket: int,
    ) -> None:
        self.rnd = rnd
        self.setup = setup
        self.now = now.timestamp()
        self.end = end
        self.span = span
        self.per_ticket = per_ticket
        self.messages = 0
        self.events = 0
        self._topics = _weighted(TOPIC_WEIGHTS)
        self._channels = _weighted(CHANNEL_WEIGHTS)
        self._emails: dict[str, str] = {}
        self._last_on_inbox: dict[tuple[int, int], tuple[int, str]] = {}
        self.billing_inbox = next(
            i for i in setup.inboxes[(Channel.EMAIL, "en")] if i.name.startswith("Billing")
        )
        self.technical_team = setup.team_ids["Technical"]
        self.channel_inbox = {
            channel: group[0] for (channel, _), group in reversed(list(setup.inboxes.items()))
        }

    def _at(self, ts: float) -> datetime:
        return datetime.fromtimestamp(int(ts), UTC)

    def _choice(self, weighted: tuple[list[Any], list[int]]) -> Any:
        values, cumulative = weighted
        pick = self.rnd.random() * cumulative[-1]
        for value, bound in zip(values, cumulative, strict=True):
            if pick < bound:
                return value
        return values[-1]

    # customers

    def customer(self, cid: int, *, heavy: bool) -> tuple[str, int, list[tuple], bool]:
        rnd = self.rnd
        locale = rnd.choices(LOCALES, LOCALE_WEIGHTS)[0]
        male_first, male_last, female_first, female_last = NAMES[locale]
        if rnd.random() < 0.5:
            first, last = rnd.choice(male_first), rnd.choice(male_last)
        else:
            first, last = rnd.choice(female_first), rnd.choice(female_last)
        name = f"{first} {last}"
        created = self._at(self.end - self.span - rnd.random() * 60 * DAY)
        attributes = {"plan": rnd.choice(("free", "basic", "pro"))} if rnd.random() < 0.3 else {}
        if heavy:
            # The benchmarks find their long-timeline customer by this.
            attributes = {"plan": "pro", "load_data": "heavy"}
        rows: list[tuple] = [
            (
                cid,
                name,
                rnd.choice(COMPANIES),
                locale,
                TIMEZONES[locale],
                attributes,
                created,
                None,
                None,
            )
        ]
        mask = 0
        for kind, odds in IDENTITY_ODDS:
            if heavy or rnd.random() < odds:
                mask |= KIND_BIT[kind]
        if not mask:
            mask = KIND_BIT[IdentityKind.EMAIL]
        key = name
        if key not in self._emails:
            self._emails[key] = _ascii(name).replace(" ", ".")
        for kind, bit in KIND_BIT.items():
            if not mask & bit:
                continue
            if kind == IdentityKind.EMAIL:
                value, verified = f"{self._emails[key]}.{cid}@{LOAD_DOMAIN}", False
            elif kind == IdentityKind.PHONE:
                value, verified = f"{PHONE_PREFIX[locale]}{cid:09d}", rnd.random() < 0.7
            elif kind == IdentityKind.MESSENGER:
                value, verified = str(7_000_000_000_000_000 + cid), True
            else:
                value, verified = f"visitor-{cid}-{rnd.getrandbits(32):08x}", rnd.random() < 0.5
            rows.append((cid, kind, value, verified, created))
        return locale, mask, rows, rnd.random() < 0.02

    # tickets

    def start_batch(self, ticket_id: int, message_id: int, event_id: int, link_id: int) -> None:
        self.ticket_id, self.message_id, self.event_id, self.link_id = (
            ticket_id,
            message_id,
            event_id,
            link_id,
        )

    def _status(self, age_days: float) -> str:
        r = self.rnd.random()
        if age_days > 14:
            # Old tickets are done, except a few forgotten ones.
            if r < 0.004:
                return self.rnd.choice((Status.OPEN, Status.PENDING, Status.ON_HOLD))
            return Status.CLOSED if r < 0.93 else Status.SOLVED
        if age_days > 3:
            for status, bound in (
                (Status.SOLVED, 0.55),
                (Status.CLOSED, 0.75),
                (Status.PENDING, 0.87),
                (Status.ON_HOLD, 0.93),
            ):
                if r < bound:
                    return status
            return Status.OPEN
        for status, bound in (
            (Status.NEW, 0.25),
            (Status.OPEN, 0.60),
            (Status.PENDING, 0.80),
            (Status.ON_HOLD, 0.85),
        ):
            if r < bound:
                return status
        return Status.SOLVED

    def ticket(self, *, position: float, customer_id: int, customer_info: int, out) -> None:
        ticket_rows, message_rows, event_rows, link_rows = out
        rnd = self.rnd
        random_ = rnd.random
        setup = self.setup
        locale = LOCALES[customer_info & 3]
        mask = customer_info >> 2
        # channel: one the customer can be reached on
        while True:
            channel = self._choice(self._channels)
            if mask & KIND_BIT[KIND_FOR_CHANNEL[channel]]:
                break
        topic = self._choice(self._topics)
        if channel == Channel.EMAIL:
            if topic == "billing" and random_() < 0.5:
                inbox = self.billing_inbox
            else:
                inbox = setup.inboxes[(channel, locale)][0]
        else:
            inbox = self.channel_inbox[channel]
        team_id = setup.inbox_team[inbox.pk]
        if random_() < 0.1:
            team_id = self.technical_team
        t0 = self.end - self.span * (1 - position) - random_() * 600
        t0 = min(t0, self.now - 60)
        status = self._status((self.now - t0) / DAY)
        agents = setup.team_agents.get(team_id) or []
        assigned = (random_() < 0.3) if status == Status.NEW else (random_() < 0.95)
        assignee = rnd.choice(agents) if agents and assigned else None
        author = assignee or (rnd.choice(agents) if agents else None)

        # message directions, ending the way the status says
        m = max(1, self.per_ticket + rnd.choice((-1, 0, 0, 1)) if self.per_ticket > 1 else 1)
        if status == Status.NEW:
            last_out = False
            m = min(m, 2)
        elif status == Status.OPEN:
            last_out = False
        else:
            last_out = True
            m = max(m, 2)
        directions = [(last_out if (m - 1 - i) % 2 == 0 else not last_out) for i in range(m)]
        directions[0] = False  # the customer writes first
        if author is None:
            directions = [False] * m
        # gaps: agents answer in minutes to hours, customers in hours to days
        times = [t0]
        for i in range(1, m):
            gap = (300 + random_() * 28000) if directions[i] else (600 + random_() * 150000)
            times.append(times[-1] + gap)
        if times[-1] > self.now - 30:
            # A recent ticket: squeeze its conversation into the time there was.
            room = (self.now - 30 - t0) * (0.2 + 0.8 * random_())
            scale = max(0.0, room / (times[-1] - t0 or 1))
            times = [t0 + (t - t0) * scale for t in times]
        tid = self.ticket_id
        self.ticket_id += 1
        order = f"{rnd.randint(100000, 999999)}"
        invoice = f"FV/{2024 + int(position * 2) % 3}/{rnd.randint(1000, 99999)}"
        subject_t, first_t, answer_t, follow_t = TOPICS[topic][locale]
        fmt = {"order": order, "invoice": invoice, "name": ""}
        subject = subject_t.format(**fmt)
        texts_in = [first_t.format(**fmt), follow_t, NUDGE[locale], THANKS[locale]]
        texts_out = [answer_t.format(**fmt).replace(" ,", ","), CLOSING[locale]]
        if channel != Channel.EMAIL:
            subject = _preview(texts_in[0], 80)
        customer_created = self._at(t0)
        follows_key = (customer_id, inbox.pk)
        previous = self._last_on_inbox.get(follows_key)
        follows = previous[0] if previous and previous[1] == Status.SOLVED else None
        self._last_on_inbox[follows_key] = (tid, status)

        cid = customer_id
        ev = self.event_id
        event_rows.append(
            (
                ev,
                cid,
                tid,
                EventKind.TICKET_CREATED,
                None,
                None,
                {"channel": channel, "follows": follows},
                customer_created,
            )
        )
        ev += 1
        first_response = last_customer = last_agent = None
        current: str = Status.NEW
        preview = ""
        n_in = n_out = 0
        mid = self.message_id
        for i in range(m):
            at = self._at(times[i])
            outbound = directions[i]
            if outbound:
                text = texts_out[min(n_out, 1)]
                n_out += 1
                ext = (
                    f"<reply-{mid}@{LOAD_DOMAIN}>"
                    if channel == Channel.EMAIL
                    else f"out-{channel}-{mid}"
                )
                message_rows.append(
                    (
                        mid,
                        tid,
                        inbox.pk,
                        Direction.OUT,
                        AuthorKind.AGENT,
                        author,
                        channel,
                        False,
                        subject if channel == Channel.EMAIL else "",
                        text,
                        "",
                        ext,
                        None,
                        Delivery.DELIVERED if channel != Channel.EMAIL else Delivery.SENT,
                        "",
                        1,
                        False,
                        at,
                        at,
                        {},
                    )
                )
                event_rows.append((ev, cid, tid, EventKind.MESSAGE, mid, author, {}, at))
                ev += 1
                first_response = first_response or at
                last_agent = at
                # record_reply(status=...): an answer waits for the customer, the last one
                # sets the status the ticket ends in.
                target = Status.PENDING
                if i == m - 1 and status != Status.OPEN:
                    target = Status.SOLVED if status in (Status.SOLVED, Status.CLOSED) else status
                if target != current:
                    event_rows.append(
                        (
                            ev,
                            cid,
                            tid,
                            EventKind.STATUS,
                            None,
                            author,
                            {"from": current, "to": target},
                            at,
                        )
                    )
                    ev += 1
                    current = target
            else:
                text = (
                    texts_in[min(n_in, 2)]
                    if not (i == m - 1 and n_in >= 2 and status in (Status.SOLVED, Status.CLOSED))
                    else THANKS[locale]
                )
                n_in += 1
                if channel == Channel.EMAIL:
                    ext = f"<m{mid}.{tid}@mail.{LOAD_DOMAIN}>"
                    html = f"<p>{text}</p>"
                    msg_subject = subject if i == 0 else f"Re: {subject}"
                else:
                    ext = f"{channel}-{mid}"
                    html = ""
                    msg_subject = ""
                message_rows.append(
                    (
                        mid,
                        tid,
                        inbox.pk,
                        Direction.IN,
                        AuthorKind.CUSTOMER,
                        None,
                        channel,
                        False,
                        msg_subject,
                        text,
                        html,
                        ext,
                        None,
                        Delivery.RECEIVED,
                        "",
                        0,
                        False,
                        self._at(times[i] - 2),
                        at,
                        {},
                    )
                )
                event_rows.append((ev, cid, tid, EventKind.MESSAGE, mid, None, {}, at))
                ev += 1
                last_customer = at
                if current in (Status.PENDING, Status.SOLVED):
                    current = Status.OPEN  # ingest() reopens silently
            preview = text
            mid += 1
            if i == 0 and author is not None and random_() < 0.05:
                note = rnd.choice(NOTES).format(**fmt)
                note_at = self._at(times[0] + 60)
                message_rows.append(
                    (
                        mid,
                        tid,
                        inbox.pk,
                        Direction.OUT,
                        AuthorKind.AGENT,
                        author,
                        channel,
                        True,
                        "",
                        note,
                        "",
                        None,
                        None,
                        Delivery.SENT,
                        "",
                        0,
                        False,
                        None,
                        note_at,
                        {},
                    )
                )
                event_rows.append((ev, cid, tid, EventKind.NOTE, mid, author, {}, note_at))
                ev += 1
                mid += 1
        last_activity = times[-1]
        solved_at = None
        updated = last_activity
        final = Status.SOLVED if status in (Status.SOLVED, Status.CLOSED) else status
        if current != final:
            # An agent changed the status by hand (tickets.changes.change_ticket).
            event_rows.append(
                (
                    ev,
                    cid,
                    tid,
                    EventKind.STATUS,
                    None,
                    author,
                    {"from": current, "to": final},
                    self._at(last_activity),
                )
            )
            ev += 1
        if final == Status.SOLVED:
            solved_at = self._at(last_activity)
        if status == Status.CLOSED:
            # closed automatically a few days after solving
            updated = min(self.now - 1, last_activity + 4 * DAY)
            event_rows.append(
                (
                    ev,
                    cid,
                    tid,
                    EventKind.STATUS,
                    None,
                    None,
                    {"from": Status.SOLVED, "to": Status.CLOSED},
                    self._at(updated),
                )
            )
            ev += 1
        ticket_rows.append(
            (
                tid,
                cid,
                inbox.pk,
                subject[:300],
                status,
                rnd.choices(PRIORITIES, PRIORITY_WEIGHTS)[0],
                assignee,
                team_id,
                channel,
                _preview(preview),
                customer_created,
                self._at(updated),
                self._at(last_activity),
                first_response,
                solved_at,
                last_customer,
                last_agent,
                None,
                follows,
            )
        )
        if random_() < 0.4:
            names = {rnd.choice(TOPIC_TAGS[topic])}
            if random_() < 0.3:
                names.add(rnd.choice(GENERAL_TAGS))
            for name in names:
                link_rows.append((self.link_id, tid, setup.tag_ids[name]))
                self.link_id += 1
        self.messages += mid - self.message_id
        self.events += ev - self.event_id
        self.message_id = mid
        self.event_id = ev

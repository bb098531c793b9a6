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
import math
import random
import secrets as secrets_lib
import time
from datetime import UTC, datetime, timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.db.models import Max, Min, OuterRef, Subquery

from tickets.models import (
    Channel,
    Customer,
    Identity,
    Inbox,
    Message,
    Tag,
    Team,
    Ticket,
    TimelineEvent,
)

from ..load_data.bulk import Table, drop_indexes, lock_tables
from ..load_data.generator import (
    EVENT_COLUMNS,
    MESSAGE_COLUMNS,
    TICKET_COLUMNS,
    Generator,
    Setup,
)
from ..load_data.vocabulary import (
    AGENT_PASSWORD,
    DAY,
    GENERAL_TAGS,
    INBOXES,
    LOAD_DOMAIN,
    LOCALES,
    NAMES,
    TEAMS,
    TICKETS_PER_DAY,
    TOPIC_TAGS,
)

BULK_MODELS = (
    Customer,
    Customer.tags.through,
    Identity,
    Ticket,
    Ticket.tags.through,
    Message,
    TimelineEvent,
)


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
                    rebuild = drop_indexes(cursor, BULK_MODELS)
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
                lock_tables(cursor, (customers, identities, links))
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
                lock_tables(cursor, (tickets, messages, events, links))
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
    names = {
        Channel.EMAIL: ("token",),
        Channel.SMS: ("auth_token",),
        Channel.MESSENGER: ("app_secret", "verify_token"),
        Channel.WIDGET: ("identity_secret",),
    }[channel]
    return {name: secrets_lib.token_urlsafe(24) for name in names}

"""Rows that look like what ingest() and record_reply() write, built in memory."""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tickets.models import (
    AuthorKind,
    Channel,
    Delivery,
    Direction,
    EventKind,
    IdentityKind,
    Inbox,
    Status,
)

from .vocabulary import (
    CHANNEL_WEIGHTS,
    CLOSING,
    COMPANIES,
    DAY,
    GENERAL_TAGS,
    IDENTITY_ODDS,
    KIND_BIT,
    KIND_FOR_CHANNEL,
    LOAD_DOMAIN,
    LOCALE_WEIGHTS,
    LOCALES,
    NAMES,
    NOTES,
    NUDGE,
    PHONE_PREFIX,
    PRIORITIES,
    PRIORITY_WEIGHTS,
    THANKS,
    TIMEZONES,
    TOPIC_TAGS,
    TOPIC_WEIGHTS,
    TOPICS,
)


@dataclass
class Setup:
    inboxes: dict[tuple[str, str], list[Inbox]]  # (channel, language) -> inboxes
    inbox_team: dict[int, int | None]
    team_ids: dict[str, int]
    team_agents: dict[int, list[int]]
    tag_ids: dict[str, int]


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


def _ascii(text: str) -> str:
    text = text.replace("ł", "l").replace("Ł", "L")
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def _preview(text: str, length: int = 200) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= length else flat[: length - 1] + "…"


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

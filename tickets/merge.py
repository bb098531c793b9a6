"""Merging customers and tickets, splitting tickets, linking identities.

Nothing is deleted: merged rows stay as tombstones pointing at the survivor,
and every merge is a timeline event that can be read later.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .events import CustomersMerged, TicketChanged, emit
from .models import (
    Customer,
    EventKind,
    Identity,
    IdentityKind,
    Message,
    Status,
    Ticket,
    TimelineEvent,
)
from .phones import to_e164


class MergeError(Exception):
    """The merge or split cannot be done; the message says why, in the request's language."""


def merge_customers(
    *, source: Customer, target: Customer, actor: AbstractBaseUser | None = None
) -> Customer:
    """Move everything of `source` to `target`: identities, tickets, timeline, tags, attributes.

    Attributes the target already has keep the target's value; the source's
    differing values are kept in the merge event.
    """
    if source.pk == target.pk:
        raise MergeError(_("A customer cannot be merged into itself."))
    now = timezone.now()
    with transaction.atomic():
        locked = {
            c.pk: c
            for c in Customer.objects.select_for_update().filter(pk__in=[source.pk, target.pk])
        }
        source, target = locked[source.pk], locked[target.pk]
        if source.merged_into_id or target.merged_into_id:
            raise MergeError(_("One of these customers was already merged into another."))
        conflicts = {
            key: value
            for key, value in source.attributes.items()
            if key in target.attributes and target.attributes[key] != value
        }
        target.attributes = {**source.attributes, **target.attributes}
        target.name = target.name or source.name
        target.company = target.company or source.company
        target.timezone = target.timezone or source.timezone
        if source.last_seen_at and (
            not target.last_seen_at or source.last_seen_at > target.last_seen_at
        ):
            target.last_seen_at = source.last_seen_at
        target.save()
        target.tags.add(*source.tags.all())
        moved_identities = list(source.identities.values_list("kind", "value"))
        source.identities.update(customer=target)
        ticket_count = source.tickets.update(customer=target)
        TimelineEvent.objects.filter(customer=source).update(customer=target)
        source.merged_into = target
        source.save(update_fields=["merged_into"])
        TimelineEvent.objects.create(
            customer=target,
            kind=EventKind.CUSTOMER_MERGED,
            actor=actor,
            created_at=now,
            data={
                "source_id": source.pk,
                "source_name": source.name,
                "identities": [f"{k}:{v}" for k, v in moved_identities],
                "tickets": ticket_count,
                "attribute_conflicts": conflicts,
            },
        )
        emit(CustomersMerged(source_id=source.pk, target_id=target.pk))
    return target


def _kind_label(kind: str) -> str:
    """An identity kind as agents know it ("Phone"), in the active language."""
    try:
        return str(IdentityKind(kind).label)
    except ValueError:
        return kind


def link_identity(
    *,
    customer: Customer,
    kind: str,
    value: str,
    verified: bool = False,
    actor: AbstractBaseUser | None = None,
) -> Identity:
    """Add a way to reach the customer. An identity another customer owns is refused:
    merge the customers instead, so nobody's history changes hands silently."""
    if kind == IdentityKind.PHONE and value.strip() and to_e164(value) is None:
        raise MergeError(
            _("%(value)s is not a phone number. Write it with its country code: +48 601 234 567.")
            % {"value": value.strip()}
        )
    value = Identity.normalize(kind, value)
    if not value:
        raise MergeError(_("The identity needs a value."))
    existing = Identity.objects.filter(kind=kind, value=value).first()
    if existing is not None:
        if existing.customer_id == customer.pk:
            return existing
        raise MergeError(
            _("%(kind)s %(value)s belongs to customer #%(customer)s; merge the customers instead.")
            % {"kind": _kind_label(kind), "value": value, "customer": existing.customer_id}
        )
    try:
        with transaction.atomic():
            identity = Identity.objects.create(
                customer=customer, kind=kind, value=value, verified=verified
            )
            TimelineEvent.objects.create(
                customer=customer,
                kind=EventKind.IDENTITY_LINKED,
                actor=actor,
                data={"identity": f"{kind}:{value}", "verified": verified},
            )
    except IntegrityError as exc:
        raise MergeError(
            _("%(kind)s %(value)s was just linked to another customer.")
            % {"kind": _kind_label(kind), "value": value}
        ) from exc
    return identity


def merge_tickets(
    *, source: Ticket, target: Ticket, actor: AbstractBaseUser | None = None
) -> Ticket:
    """Move the messages and history of `source` into `target` and close `source`."""
    if source.pk == target.pk:
        raise MergeError(_("A ticket cannot be merged into itself."))
    if source.customer_id != target.customer_id:
        raise MergeError(
            _("Only tickets of the same customer can be merged; merge the customers first.")
        )
    now = timezone.now()
    with transaction.atomic():
        locked = {
            t.pk: t
            for t in Ticket.objects.select_for_update().filter(pk__in=[source.pk, target.pk])
        }
        source, target = locked[source.pk], locked[target.pk]
        if source.merged_into_id or target.merged_into_id:
            raise MergeError(_("One of these tickets was already merged."))
        moved = source.messages.update(ticket=target)
        # A "ticket created" line names its own ticket by the event's ticket, which is
        # about to become the target: keep the id in its data, or a split-off ticket
        # merged back would read "Ticket #1 split off from #1".
        for event in TimelineEvent.objects.filter(ticket=source, kind=EventKind.TICKET_CREATED):
            if "ticket_id" not in event.data:
                event.data = {**event.data, "ticket_id": source.pk}
                event.save(update_fields=["data"])
        TimelineEvent.objects.filter(ticket=source).update(ticket=target)
        target.tags.add(*source.tags.all())
        for field in ("last_customer_message_at", "last_agent_message_at", "last_activity_at"):
            a, b = getattr(source, field), getattr(target, field)
            if a and (not b or a > b):
                setattr(target, field, a)
        if source.first_response_at and (
            not target.first_response_at or source.first_response_at < target.first_response_at
        ):
            target.first_response_at = source.first_response_at
        if source.created_at < target.created_at:
            target.created_at = source.created_at
        target.updated_at = now
        target.save()
        source.merged_into = target
        source.status = Status.CLOSED
        source.updated_at = now
        source.preview = ""
        source.save(update_fields=["merged_into", "status", "updated_at", "preview"])
        TimelineEvent.objects.create(
            customer_id=target.customer_id,
            ticket=target,
            kind=EventKind.TICKET_MERGED,
            actor=actor,
            created_at=now,
            data={"source_id": source.pk, "source_subject": source.subject, "messages": moved},
        )
        emit(
            TicketChanged(
                ticket_id=target.pk,
                customer_id=target.customer_id,
                changes={"merged_from": source.pk},
            )
        )
        emit(
            TicketChanged(
                ticket_id=source.pk,
                customer_id=target.customer_id,
                changes={"merged_into": target.pk},
            )
        )
    return target


def split_ticket(
    *,
    ticket: Ticket,
    message_ids: list[int],
    actor: AbstractBaseUser | None = None,
    subject: str = "",
) -> Ticket:
    """Move the given messages (and their timeline entries) out into a new ticket."""
    message_ids = sorted(set(message_ids))
    if not message_ids:
        raise MergeError(_("Choose at least one message to split out."))
    now = timezone.now()
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
        messages = list(Message.objects.filter(ticket=ticket, pk__in=message_ids).order_by("id"))
        if len(messages) != len(message_ids):
            raise MergeError(_("Some of these messages are not on this ticket."))
        if len(messages) == Message.objects.filter(ticket=ticket).count():
            raise MergeError(_("A split must leave at least one message on the ticket."))
        first = messages[0]
        new = Ticket.objects.create(
            customer_id=ticket.customer_id,
            inbox_id=first.inbox_id,
            team_id=ticket.team_id,
            subject=(subject or first.subject or ticket.subject)[:300],
            status=Status.OPEN,
            priority=ticket.priority,
            last_channel=messages[-1].channel,
            preview=messages[-1].body_text[:200],
            created_at=first.created_at,
            last_activity_at=messages[-1].created_at,
            updated_at=now,
            follows=ticket,
            last_customer_message_at=max(
                (m.created_at for m in messages if m.is_inbound), default=None
            ),
        )
        Message.objects.filter(pk__in=message_ids).update(ticket=new)
        TimelineEvent.objects.filter(message_id__in=message_ids).update(ticket=new)
        TimelineEvent.objects.bulk_create(
            [
                TimelineEvent(
                    customer_id=ticket.customer_id,
                    ticket=ticket,
                    kind=EventKind.TICKET_SPLIT,
                    actor=actor,
                    created_at=now,
                    data={"new_ticket_id": new.pk, "messages": message_ids},
                ),
                TimelineEvent(
                    customer_id=ticket.customer_id,
                    ticket=new,
                    kind=EventKind.TICKET_CREATED,
                    actor=actor,
                    created_at=now,
                    data={
                        "ticket_id": new.pk,
                        "split_from": ticket.pk,
                        "channel": new.last_channel,
                    },
                ),
            ]
        )
        emit(
            TicketChanged(
                ticket_id=ticket.pk, customer_id=ticket.customer_id, changes={"split_into": new.pk}
            )
        )
    return new

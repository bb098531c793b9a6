"""REST API v1: customers and their timeline, tickets, replies, notes, inboxes.

Function-based views. Each checks who may see the row it names (anything
else answers 404, as if it did not exist), validates input with a serializer
and calls one workflow of tickets/; the workflow's own errors become JSON
400s in api.errors. Lists select_related/prefetch what they render, so a
page's query count does not grow with its size.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import Prefetch, Q, QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import api_view, permission_classes, renderer_classes
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from channels_in.inboxes import create_inbox
from tickets.access import sees_everything, team_ids, visible_customers, visible_tickets
from tickets.changes import normalize_tag, update_ticket
from tickets.ingest import SenderIdentity
from tickets.listing import SORTS, TicketFilters, decode_cursor, list_tickets
from tickets.merge import MergeError, link_identity, merge_customers, merge_tickets, split_ticket
from tickets.models import (
    OPEN_STATUSES,
    Attachment,
    Customer,
    Direction,
    Identity,
    Inbox,
    Message,
    Tag,
    Ticket,
)
from tickets.opening import open_ticket
from tickets.replies import ReplyError, add_note, record_reply
from tickets.timeline import PAGE_SIZE as TIMELINE_PAGE_SIZE
from tickets.timeline import timeline_page

from .errors import ConflictError
from .pagination import (
    MAX_PAGE_SIZE,
    PAGE_SIZE_PARAM,
    DefaultCursorPagination,
    OldestFirstPagination,
    link_with,
    page_size_from,
)
from .permissions import IsAgent, is_admin
from .serializers import (
    CustomerListQuerySerializer,
    CustomerMergeSerializer,
    CustomerPageSerializer,
    CustomerSerializer,
    ErrorSerializer,
    IdentityInputSerializer,
    IdentitySerializer,
    InboxCreatedSerializer,
    InboxCreateSerializer,
    InboxPageSerializer,
    InboxSerializer,
    MessagePageSerializer,
    MessageSerializer,
    NoteSerializer,
    ReplySerializer,
    TicketCreateSerializer,
    TicketListQuerySerializer,
    TicketMergeSerializer,
    TicketPageSerializer,
    TicketSerializer,
    TicketSplitSerializer,
    TicketUpdateSerializer,
    TimelineEventSerializer,
    TimelinePageSerializer,
    TimelineQuerySerializer,
)

IDEMPOTENCY_HEADER = "Idempotency-Key"
MAX_IDEMPOTENCY_KEY = 100  # Message.idempotency_key's length

_ERROR_DESCRIPTIONS = {
    400: "Invalid input, or the workflow refused it; `detail` says why.",
    401: "No or a wrong `Authorization: Token …` header.",
    403: "The account may not do this.",
    404: "No such object among those this account may see.",
    409: "The Idempotency-Key was already used for a different request.",
}


def _errors(*codes: int) -> dict[int, OpenApiResponse]:
    return {
        code: OpenApiResponse(ErrorSerializer, description=_ERROR_DESCRIPTIONS[code])
        for code in (401, 403, *codes)
    }


PAGE_SIZE_PARAMETER = OpenApiParameter(
    PAGE_SIZE_PARAM,
    OpenApiTypes.INT,
    description=f"Items per page, 1 to {MAX_PAGE_SIZE}.",
)
CURSOR_PARAMETER = OpenApiParameter(
    "cursor", OpenApiTypes.STR, description="From the `next` or `previous` link."
)
IDEMPOTENCY_PARAMETER = OpenApiParameter(
    IDEMPOTENCY_HEADER,
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description=(
        f"Up to {MAX_IDEMPOTENCY_KEY} characters, unique per request (a UUID). Repeating a "
        "request with the same key returns the first result with 200 and stores nothing new."
    ),
)


# --- helpers ---------------------------------------------------------------------


def endpoint(methods: list[str]) -> Callable[[Callable[..., Response]], Callable[..., Response]]:
    """An API view for agents, managers and admins that always answers JSON.

    JSON only, also for a browser: the contract promises JSON errors, never an
    HTML page (the browsable docs live at /api/docs/).
    """

    def wrap(view: Callable[..., Response]) -> Callable[..., Response]:
        view = permission_classes([IsAgent])(renderer_classes([JSONRenderer])(view))
        return api_view(methods)(view)

    return wrap


def _input(serializer_class: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    if not isinstance(request.data, dict):
        raise ValidationError("The request body must be a JSON object.")
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _query(serializer_class: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    serializer = serializer_class(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _idempotency_key(request: Request) -> str | None:
    key = request.headers.get(IDEMPOTENCY_HEADER, "").strip()
    if not key:
        return None
    if len(key) > MAX_IDEMPOTENCY_KEY or not key.isprintable():
        raise ValidationError(
            {
                IDEMPOTENCY_HEADER: [
                    f"Use at most {MAX_IDEMPOTENCY_KEY} printable characters, e.g. a UUID."
                ]
            }
        )
    return key


def _customers_for(user) -> QuerySet[Customer]:
    return visible_customers(user).prefetch_related(
        Prefetch("identities", queryset=Identity.objects.order_by("id")),
        Prefetch("tags", queryset=Tag.objects.only("id", "name")),
    )


def _customer_for(user, pk: int, *, with_relations: bool = True) -> Customer:
    customers = _customers_for(user) if with_relations else visible_customers(user)
    customer = customers.filter(pk=pk).first()
    if customer is None:
        raise NotFound(f"There is no customer #{pk} that you can see.")
    return customer


def _tickets_with_relations(tickets: QuerySet[Ticket]) -> QuerySet[Ticket]:
    return tickets.select_related("customer", "assignee", "team").prefetch_related(
        Prefetch("tags", queryset=Tag.objects.only("id", "name"))
    )


def _ticket_for(user, pk: int, *, with_relations: bool = True) -> Ticket:
    tickets = visible_tickets(user)
    if with_relations:
        tickets = _tickets_with_relations(tickets)
    ticket = tickets.filter(pk=pk).first()
    if ticket is None:
        raise NotFound(f"There is no ticket #{pk} that you can see.")
    return ticket


def _ticket_response(pk: int, status_code: int = status.HTTP_200_OK, **kwargs: Any) -> Response:
    # Not filtered by visibility: the caller just acted on it, and may have
    # moved it out of their own view (to another team, say).
    ticket = _tickets_with_relations(Ticket.objects.all()).get(pk=pk)
    return Response(TicketSerializer(ticket).data, status=status_code, **kwargs)


def _message_response(message_id: int, *, duplicate: bool = False) -> Response:
    message = (
        Message.objects.select_related("author")
        .prefetch_related(Prefetch("attachments", queryset=Attachment.objects.order_by("id")))
        .get(pk=message_id)
    )
    return Response(
        MessageSerializer(message).data,
        status=status.HTTP_200_OK if duplicate else status.HTTP_201_CREATED,
        headers={"Idempotent-Replayed": "true"} if duplicate else None,
    )


def _refuse_if_merged(ticket: Ticket, what: str) -> None:
    if ticket.merged_into_id:
        raise ReplyError(
            f"Ticket #{ticket.pk} was merged into #{ticket.merged_into_id}; {what} there."
        )


# --- customers -------------------------------------------------------------------


@extend_schema(
    operation_id="customers_list",
    tags=["customers"],
    summary="List and search customers",
    description="Newest first. Merged customers are left out (they live on in the survivor).",
    parameters=[CustomerListQuerySerializer, CURSOR_PARAMETER, PAGE_SIZE_PARAMETER],
    responses={200: CustomerPageSerializer, **_errors(400)},
)
@endpoint(["GET"])
def customers(request: Request) -> Response:
    query = _query(CustomerListQuerySerializer, request)
    rows = _customers_for(request.user).filter(merged_into__isnull=True)
    q = query.get("q", "").strip()
    if q:
        by_identity = Identity.objects.filter(value__icontains=q).values("customer_id")
        rows = rows.filter(Q(name__icontains=q) | Q(company__icontains=q) | Q(pk__in=by_identity))
    paginator = DefaultCursorPagination()
    page = paginator.paginate_queryset(rows, request)
    return paginator.get_paginated_response(CustomerSerializer(page, many=True).data)


@extend_schema(
    operation_id="customers_retrieve",
    tags=["customers"],
    summary="A customer, with identities, attributes, tags and locale",
    responses={200: CustomerSerializer, **_errors(404)},
)
@endpoint(["GET"])
def customer_detail(request: Request, pk: int) -> Response:
    return Response(CustomerSerializer(_customer_for(request.user, pk)).data)


@extend_schema(
    operation_id="customers_timeline",
    tags=["customers"],
    summary="The customer's whole timeline across channels and tickets",
    description=(
        "Newest first: messages, notes and changes on every channel and ticket. "
        "Page back with `?before=<the last event id>` (or follow `next`)."
    ),
    parameters=[TimelineQuerySerializer, PAGE_SIZE_PARAMETER],
    responses={200: TimelinePageSerializer, **_errors(400, 404)},
)
@endpoint(["GET"])
def customer_timeline(request: Request, pk: int) -> Response:
    customer = _customer_for(request.user, pk, with_relations=False)
    query = _query(TimelineQuerySerializer, request)
    page = timeline_page(
        customer_id=customer.pk,
        user=request.user,
        before=query.get("before"),
        limit=page_size_from(request, TIMELINE_PAGE_SIZE),
    )
    return Response(
        {
            "next": link_with(request, "before", page.next_before),
            "next_before": page.next_before,
            "results": TimelineEventSerializer(page.events, many=True).data,
        }
    )


@extend_schema(
    operation_id="customers_merge",
    tags=["customers"],
    summary="Merge another customer into this one",
    description=(
        "Identities, tickets, timeline, tags and attributes of `source` move here; "
        "`source` stays as a pointer (`merged_into`)."
    ),
    request=CustomerMergeSerializer,
    responses={200: CustomerSerializer, **_errors(400, 404)},
)
@endpoint(["POST"])
def customer_merge(request: Request, pk: int) -> Response:
    target = _customer_for(request.user, pk, with_relations=False)
    data = _input(CustomerMergeSerializer, request)
    source = visible_customers(request.user).filter(pk=data["source"]).first()
    if source is None:
        raise ValidationError(
            {"source": [f"There is no customer #{data['source']} that you can see."]}
        )
    merge_customers(source=source, target=target, actor=request.user)
    return Response(CustomerSerializer(_customer_for(request.user, target.pk)).data)


@extend_schema(
    operation_id="customers_identities_create",
    tags=["customers"],
    summary="Link an identity (email, phone, ...) to the customer",
    description=(
        "An identity that belongs to another customer is refused: merge the customers instead. "
        "Linking one the customer already has answers 200."
    ),
    request=IdentityInputSerializer,
    responses={
        201: IdentitySerializer,
        200: OpenApiResponse(IdentitySerializer, description="Already linked."),
        **_errors(400, 404),
    },
)
@endpoint(["POST"])
def customer_identities(request: Request, pk: int) -> Response:
    customer = _customer_for(request.user, pk, with_relations=False)
    if customer.merged_into_id:
        raise MergeError(
            f"Customer #{pk} was merged into #{customer.merged_into_id}; link the identity there."
        )
    data = _input(IdentityInputSerializer, request)
    existed = customer.identities.filter(kind=data["kind"], value=data["value"]).exists()
    identity = link_identity(
        customer=customer, kind=data["kind"], value=data["value"], actor=request.user
    )
    return Response(
        IdentitySerializer(identity).data,
        status=status.HTTP_200_OK if existed else status.HTTP_201_CREATED,
    )


# --- tickets ---------------------------------------------------------------------


@extend_schema(
    methods=["GET"],
    operation_id="tickets_list",
    tags=["tickets"],
    summary="List tickets",
    description=(
        "The agent inbox as a list: `view` (mine, unassigned, teams, all), filters and `sort` "
        "(" + ", ".join(SORTS) + "). Follow `next` for the next page."
    ),
    parameters=[TicketListQuerySerializer, PAGE_SIZE_PARAMETER],
    responses={200: TicketPageSerializer, **_errors(400)},
)
@extend_schema(
    methods=["POST"],
    operation_id="tickets_create",
    tags=["tickets"],
    summary="Open a ticket on a customer's behalf",
    description=(
        "For a request that reached you outside a channel (a call, a visit). `text` is the "
        "customer's request, stored as their first message in `inbox`. Name the customer by "
        "`customer` id, or by `identity` (found, or created with `name`). Always a new ticket."
    ),
    parameters=[IDEMPOTENCY_PARAMETER],
    request=TicketCreateSerializer,
    responses={
        201: TicketSerializer,
        200: OpenApiResponse(TicketSerializer, description="Repeated Idempotency-Key."),
        **_errors(400, 409),
    },
)
@endpoint(["GET", "POST"])
def tickets(request: Request) -> Response:
    if request.method == "POST":
        return _open_ticket(request)
    query = _query(TicketListQuerySerializer, request)
    sort = query["sort"]
    cursor = query.get("cursor")
    bad_cursor = ValidationError(
        {"cursor": ["This cursor is not valid for this sort; follow the `next` link."]}
    )
    if cursor and decode_cursor(cursor, len(SORTS[sort])) is None:
        raise bad_cursor
    filters = TicketFilters(
        view=query["view"],
        statuses=query.get("status", tuple(OPEN_STATUSES)),
        channel=query.get("channel", ""),
        priority=query.get("priority"),
        tag=normalize_tag(query.get("tag", "")),
        inbox_id=query.get("inbox"),
        q=query.get("q", "").strip(),
        sort=sort,
    )
    limit = page_size_from(request)
    try:
        page = list_tickets(request.user, filters, cursor=cursor, limit=limit)
    except ValueError as exc:
        # A hand-made cursor with an impossible date (month 13) fails while parsing.
        if not cursor:
            raise
        raise bad_cursor from exc
    return Response(
        {
            "next": link_with(request, "cursor", page.next_cursor),
            "results": TicketSerializer(page.tickets, many=True).data,
        }
    )


def _open_ticket(request: Request) -> Response:
    user = request.user
    data = _input(TicketCreateSerializer, request)
    key = _idempotency_key(request)
    inbox = Inbox.objects.filter(pk=data["inbox"]).first()
    if inbox is None or not (sees_everything(user) or inbox.team_id in team_ids(user)):
        raise ValidationError({"inbox": [f"There is no inbox #{data['inbox']} of your teams."]})
    customer, identity = None, None
    if "customer" in data:
        customer = visible_customers(user).filter(pk=data["customer"]).first()
        if customer is None:
            raise ValidationError(
                {"customer": [f"There is no customer #{data['customer']} that you can see."]}
            )
    else:
        given = data["identity"]
        identity = SenderIdentity(kind=given["kind"], value=given["value"], name=given["name"])
    opened = open_ticket(
        inbox=inbox,
        actor=user,
        text=data["text"],
        html=data["html"],
        subject=data["subject"],
        customer=customer,
        identity=identity,
        priority=data.get("priority"),
        idempotency_key=key,
    )
    if opened.duplicate:
        first = opened.message
        if first.direction != Direction.IN or first.meta.get("opened_by") != user.pk:
            raise ConflictError(f"This {IDEMPOTENCY_HEADER} was already used for another request.")
        return _ticket_response(opened.ticket.pk, headers={"Idempotent-Replayed": "true"})
    return _ticket_response(opened.ticket.pk, status.HTTP_201_CREATED)


@extend_schema(
    methods=["GET"],
    operation_id="tickets_retrieve",
    tags=["tickets"],
    summary="A ticket",
    responses={200: TicketSerializer, **_errors(404)},
)
@extend_schema(
    methods=["PATCH"],
    operation_id="tickets_partial_update",
    tags=["tickets"],
    summary="Change status, priority, assignee, team or tags",
    description="Each change is recorded on the customer's timeline. `tags` replaces the set.",
    request=TicketUpdateSerializer,
    responses={200: TicketSerializer, **_errors(400, 404)},
)
@endpoint(["GET", "PATCH"])
def ticket_detail(request: Request, pk: int) -> Response:
    ticket = _ticket_for(request.user, pk)
    if request.method == "GET":
        return Response(TicketSerializer(ticket).data)
    data = _input(TicketUpdateSerializer, request)
    update_ticket(ticket=ticket, actor=request.user, **data)
    return _ticket_response(ticket.pk)


@extend_schema(
    operation_id="tickets_replies_create",
    tags=["tickets"],
    summary="Reply to the customer",
    description=(
        "Queued for sending on the ticket's last channel, or on `channel` (the customer must "
        "have an identity there). With an `Idempotency-Key`, a repeat returns the first reply "
        "with 200 and sends nothing new."
    ),
    parameters=[IDEMPOTENCY_PARAMETER],
    request=ReplySerializer,
    responses={
        201: MessageSerializer,
        200: OpenApiResponse(MessageSerializer, description="Repeated Idempotency-Key."),
        **_errors(400, 404, 409),
    },
)
@endpoint(["POST"])
def ticket_replies(request: Request, pk: int) -> Response:
    ticket = _ticket_for(request.user, pk, with_relations=False)
    data = _input(ReplySerializer, request)
    key = _idempotency_key(request)
    if not (key and Message.objects.filter(idempotency_key=key).exists()):
        _refuse_if_merged(ticket, "reply")
    result = record_reply(
        ticket=ticket,
        author=request.user,
        text=data["text"],
        html=data["html"],
        channel=data.get("channel"),
        status=data.get("status"),
        idempotency_key=key,
        send_options={"tag": data["tag"]} if data.get("tag") else None,
    )
    first = result.message
    if result.duplicate and not (
        first.direction == Direction.OUT
        and not first.is_note
        and first.author_id == request.user.pk
        and first.ticket_id in (ticket.pk, ticket.merged_into_id)
    ):
        raise ConflictError(f"This {IDEMPOTENCY_HEADER} was already used for another request.")
    return _message_response(first.pk, duplicate=result.duplicate)


@extend_schema(
    operation_id="tickets_notes_create",
    tags=["tickets"],
    summary="Add an internal note",
    description="Seen by agents only; never sent to the customer.",
    request=NoteSerializer,
    responses={201: MessageSerializer, **_errors(400, 404)},
)
@endpoint(["POST"])
def ticket_notes(request: Request, pk: int) -> Response:
    ticket = _ticket_for(request.user, pk, with_relations=False)
    data = _input(NoteSerializer, request)
    _refuse_if_merged(ticket, "add the note")
    note = add_note(ticket=ticket, author=request.user, text=data["text"])
    return _message_response(note.pk)


@extend_schema(
    operation_id="tickets_merge",
    tags=["tickets"],
    summary="Merge this ticket into another of the same customer",
    description="Messages and history move to `into`; this ticket is closed and points there.",
    request=TicketMergeSerializer,
    responses={200: TicketSerializer, **_errors(400, 404)},
)
@endpoint(["POST"])
def ticket_merge(request: Request, pk: int) -> Response:
    source = _ticket_for(request.user, pk, with_relations=False)
    data = _input(TicketMergeSerializer, request)
    target = visible_tickets(request.user).filter(pk=data["into"]).first()
    if target is None:
        raise ValidationError({"into": [f"There is no ticket #{data['into']} that you can see."]})
    merged = merge_tickets(source=source, target=target, actor=request.user)
    return _ticket_response(merged.pk)


@extend_schema(
    operation_id="tickets_split",
    tags=["tickets"],
    summary="Split messages out into a new ticket",
    request=TicketSplitSerializer,
    responses={201: TicketSerializer, **_errors(400, 404)},
)
@endpoint(["POST"])
def ticket_split(request: Request, pk: int) -> Response:
    ticket = _ticket_for(request.user, pk, with_relations=False)
    data = _input(TicketSplitSerializer, request)
    new = split_ticket(
        ticket=ticket, message_ids=data["messages"], actor=request.user, subject=data["subject"]
    )
    return _ticket_response(new.pk, status.HTTP_201_CREATED)


@extend_schema(
    operation_id="tickets_messages_list",
    tags=["tickets"],
    summary="The ticket's messages and notes, oldest first",
    parameters=[CURSOR_PARAMETER, PAGE_SIZE_PARAMETER],
    responses={200: MessagePageSerializer, **_errors(400, 404)},
)
@endpoint(["GET"])
def ticket_messages(request: Request, pk: int) -> Response:
    ticket = _ticket_for(request.user, pk, with_relations=False)
    messages = (
        Message.objects.filter(ticket=ticket)
        .select_related("author")
        .prefetch_related(Prefetch("attachments", queryset=Attachment.objects.order_by("id")))
    )
    paginator = OldestFirstPagination()
    page = paginator.paginate_queryset(messages, request)
    return paginator.get_paginated_response(MessageSerializer(page, many=True).data)


# --- inboxes ---------------------------------------------------------------------


@extend_schema(
    methods=["GET"],
    operation_id="inboxes_list",
    tags=["inboxes"],
    summary="List inboxes",
    description="Never includes secrets.",
    parameters=[CURSOR_PARAMETER, PAGE_SIZE_PARAMETER],
    responses={200: InboxPageSerializer, **_errors(400)},
)
@extend_schema(
    methods=["POST"],
    operation_id="inboxes_create",
    tags=["inboxes"],
    summary="Create an inbox (admins)",
    description=(
        "Like `manage.py create_inbox`: the answer holds the inbox's `secrets` (what the "
        "provider side needs). They are shown this once and never again."
    ),
    request=InboxCreateSerializer,
    responses={201: InboxCreatedSerializer, **_errors(400)},
)
@endpoint(["GET", "POST"])
def inboxes(request: Request) -> Response:
    if request.method == "POST":
        if not is_admin(request.user):
            raise PermissionDenied("Only admins can create inboxes.")
        data = _input(InboxCreateSerializer, request)
        inbox = create_inbox(**data)
        return Response(InboxCreatedSerializer(inbox).data, status=status.HTTP_201_CREATED)
    paginator = DefaultCursorPagination()
    page = paginator.paginate_queryset(Inbox.objects.select_related("team"), request)
    return paginator.get_paginated_response(InboxSerializer(page, many=True).data)


@extend_schema(
    operation_id="inboxes_retrieve",
    tags=["inboxes"],
    summary="An inbox (without its secrets)",
    responses={200: InboxSerializer, **_errors(404)},
)
@endpoint(["GET"])
def inbox_detail(request: Request, pk: int) -> Response:
    inbox = Inbox.objects.select_related("team").filter(pk=pk).first()
    if inbox is None:
        raise NotFound(f"There is no inbox #{pk}.")
    return Response(InboxSerializer(inbox).data)

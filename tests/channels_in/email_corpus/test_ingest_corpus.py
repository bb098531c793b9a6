"""Every corpus mail through the real webhook: never a 500, the expected ticket outcome.

Sequences (a first mail, then its reply) post the mails named in "after" first;
"agent_reply_on" has an agent answer that ticket, sent through a real SMTP
server on loopback, so bounces and replies can name our signed Message-ID.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

import pytest

from channels_in.email import threads
from channels_in.models import RawInbound, SuppressedAddress
from tickets.models import Delivery, Direction, Identity, IdentityKind, Message, Ticket
from tickets.replies import record_reply

from .corpus import (
    DOMAIN,
    MAIL_NAMES,
    MANIFEST,
    MAX_ATTACHMENT_BYTES,
    check_attachment,
    iso,
    params,
    raw_mail,
    substitute,
    substitute_facts,
)

pytestmark = pytest.mark.django_db

INGESTED = params("ingest")
OUTCOMES = {
    "new_ticket",
    "same_ticket",
    "refused_thread",
    "duplicate",
    "bounce_marks_failed",
    "delivery_report",
    "unparseable",
    "ignored",
}
_IMG = re.compile(r"<img\b[^>]*>", re.I)
_SRC = re.compile(r"\ssrc\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s>]+)", re.I)
_EVENT_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)


@pytest.fixture(autouse=True)
def _small_attachment_limit(settings):
    settings.EMAIL_MAX_ATTACHMENT_BYTES = MAX_ATTACHMENT_BYTES


@dataclass
class Delivered:
    status: int
    body: dict
    message: Message | None
    ticket: Ticket | None


@dataclass
class Scene:
    """What a sequence left behind: each posted mail's message, and our reply if any."""

    inbox: Any
    post_email: Any
    capture: Any
    delivered: dict[str, Delivered] = field(default_factory=dict)
    outbound: Message | None = None
    values: dict[str, str] = field(default_factory=dict)

    def post(self, name: str, raw: bytes) -> Delivered:
        # Run the on-commit listeners too (live push): they are part of "no 500".
        with self.capture(execute=True):
            response = self.post_email(self.inbox, raw)
        assert response.status_code != 500, name
        assert response.status_code in (200, 202), (name, response.status_code)
        body = response.json()
        message = Message.objects.filter(pk=body["message"]).first() if body["message"] else None
        ticket = Ticket.objects.filter(pk=body["ticket"]).first() if body["ticket"] else None
        delivered = Delivered(response.status_code, body, message, ticket)
        self.delivered.setdefault(name, delivered)
        return delivered

    def ticket_of(self, name: str) -> Ticket:
        ticket = self.delivered[name].ticket
        assert ticket is not None, f"{name} made no ticket"
        return ticket


def prepare(name: str, request, email_inbox, post_email, capture) -> tuple[Scene, bytes]:
    """Post the mails the scenario follows, answer as an agent if asked, fill placeholders."""
    spec = MANIFEST[name]["ingest"]
    assert spec["outcome"] in OUTCOMES, spec["outcome"]
    scene = Scene(inbox=email_inbox, post_email=post_email, capture=capture)
    for earlier in spec.get("after", []):
        delivered = scene.post(earlier, raw_mail(earlier))
        assert delivered.status == 202 and delivered.message is not None, earlier
    context = spec.get("agent_reply_on") or (spec.get("after") or [None])[-1]
    if spec.get("agent_reply_on"):
        request.getfixturevalue("smtp_server")
        agent = request.getfixturevalue("agent")
        ticket = scene.ticket_of(spec["agent_reply_on"])
        with capture(execute=True):
            reply = record_reply(ticket=ticket, author=agent, text="Dziękujemy, sprawdzamy.")
        outbound = Message.objects.get(pk=reply.message.pk)
        assert outbound.delivery_state == Delivery.SENT, outbound.delivery_error
        assert outbound.external_id == threads.message_id_for(
            ticket_id=ticket.pk, message_id=outbound.pk, domain=DOMAIN
        )
        scene.outbound = outbound
        scene.values["OUR_MESSAGE_ID"] = outbound.external_id
    if context:
        ticket = scene.ticket_of(context)
        scene.values["TICKET_ID"] = str(ticket.pk)
        scene.values["MARKER"] = threads.marker_for(ticket.pk)
    raw = substitute(raw_mail(name), scene.values)
    assert b"{{" not in raw, f"{name} has a placeholder its scenario does not fill"
    return scene, raw


def ingest_and_check_outcome(name: str, scene: Scene, raw: bytes) -> Delivered:
    spec = MANIFEST[name]["ingest"]
    outcome = spec["outcome"]
    if outcome == "duplicate" and spec["as"] == name:
        first = scene.post(name, raw)
        assert first.status == 202 and first.message is not None
    tickets, messages = Ticket.objects.count(), Message.objects.count()
    raws = RawInbound.objects.count()
    got = scene.post(name, raw)
    if outcome in ("new_ticket", "same_ticket", "refused_thread"):
        assert got.status == 202 and got.body["duplicate"] is False
        assert got.message is not None and got.ticket is not None
        assert got.message.direction == Direction.IN
        assert Message.objects.count() == messages + 1
        refused = got.message.meta.get("refused_thread")
        if outcome == "new_ticket":
            assert Ticket.objects.count() == tickets + 1
            assert got.ticket.follows_id is None and refused is None
        elif outcome == "same_ticket":
            assert got.ticket == scene.ticket_of(spec["as"])
            assert Ticket.objects.count() == tickets
        else:
            claimed = scene.ticket_of(spec["as"])
            assert Ticket.objects.count() == tickets + 1
            assert got.ticket != claimed and got.ticket.follows_id == claimed.pk
            assert refused == claimed.pk
            assert not claimed.messages.filter(pk=got.message.pk).exists()
        automated = spec.get("automated", False)
        assert got.message.is_automated is automated
        assert bool(got.message.meta.get("automated")) is automated
    elif outcome == "duplicate":
        original = scene.delivered[spec["as"]].message
        assert got.status == 200 and got.body["duplicate"] is True
        assert got.message == original
        assert (Ticket.objects.count(), Message.objects.count()) == (tickets, messages)
    else:
        assert got.status == 202
        assert got.body == {"message": None, "ticket": None, "duplicate": False}
        assert (Ticket.objects.count(), Message.objects.count()) == (tickets, messages)
        assert RawInbound.objects.count() == raws + 1
        stored_raw = RawInbound.objects.order_by("-pk").first()
        assert bytes(stored_raw.body) == raw
        if outcome == "unparseable":
            assert stored_raw.state == RawInbound.State.FAILED and stored_raw.error
        else:
            assert stored_raw.state == RawInbound.State.IGNORED, stored_raw.error
        if outcome in ("bounce_marks_failed", "delivery_report"):
            outbound = Message.objects.get(pk=scene.outbound.pk)
            if outcome == "bounce_marks_failed":
                assert outbound.delivery_state == Delivery.FAILED
                assert outbound.delivery_error.startswith("Bounced")
            else:
                assert outbound.delivery_state == Delivery.SENT
    if got.message is not None:
        check_always_safe(got.message)
    return got


def check_always_safe(message: Message) -> None:
    """What holds for every stored inbound mail: nothing runs, nothing loads, safe names."""
    html = message.body_html
    for needle in ("<script", "javascript:", "<iframe", "<object", "<form"):
        assert needle not in html.lower(), needle
    assert not _EVENT_HANDLER.search(html)
    for tag in _IMG.findall(html):
        for src in _SRC.findall(tag):
            assert src.strip("\"'").lower().startswith("cid:"), f"an image loads {tag}"
    assert len(message.subject) <= 300
    assert "\x00" not in message.body_text + html
    for attachment in message.attachments.all():
        name = attachment.filename
        assert name and len(name) <= 150, name
        assert "/" not in name and "\\" not in name and not name.startswith("."), name
        assert not any(unicodedata.category(ch) == "Cc" for ch in name), name
        assert ".." not in attachment.file.name.split("/"), attachment.file.name
        assert attachment.file.name.startswith("attachments/"), attachment.file.name
        assert attachment.size == attachment.file.size > 0


def check_stored(got: Delivered, scene: Scene, stored: dict[str, Any]) -> None:
    """The "stored" facts of expected.json on the rows the mail produced."""
    message, ticket = got.message, got.ticket
    for key, want in stored.items():
        if key == "attachments":
            rows = list(message.attachments.order_by("pk"))
            assert len(rows) == len(want), [a.filename for a in rows]
            for row, expected in zip(rows, want, strict=True):
                check_attachment(row, expected)
        elif key == "skipped":
            assert message.meta.get("skipped_attachments") == want
        elif key == "folded":
            html = message.body_html
            assert "<details" in html, html[:600]
            at = html.index("<details")
            for part in want["visible"]:
                assert 0 <= html.find(part) < at, f"{part!r} should show: {html[:600]!r}"
            for part in want["quoted"]:
                assert html.find(part, at) > at, f"{part!r} should fold: {html[:600]!r}"
        elif key == "body_html_contains":
            for part in want:
                assert part in message.body_html, part
        elif key == "body_html_not_contains":
            for part in want:
                assert part not in message.body_html, part
        elif key == "body_text_contains":
            for part in want:
                assert part in message.body_text, part
        elif key == "body_text_not_contains":
            for part in want:
                assert part not in message.body_text, part
        elif key == "thread_key":
            assert message.thread_key == want
        elif key == "locale":
            assert ticket.customer.locale == want
        elif key == "customer_name":
            assert ticket.customer.name == want
        elif key == "ticket_subject":
            assert ticket.subject == want
        elif key == "ticket_subject_startswith":
            assert ticket.subject.startswith(want), ticket.subject
        elif key == "subject_max_length":
            assert 0 < len(ticket.subject) <= want and len(message.subject) <= want
        elif key == "sent_at":
            assert iso(message.sent_at) == want
        elif key == "external_id":
            assert message.external_id == want
        elif key == "external_id_startswith":
            assert message.external_id.startswith(want), message.external_id
        elif key == "participants":
            customers = ticket.participants.values("customer_id")
            addresses = Identity.objects.filter(
                customer_id__in=customers, kind=IdentityKind.EMAIL
            ).values_list("value", flat=True)
            assert sorted(addresses) == sorted(want)
        elif key == "participant_count":
            assert ticket.participants.count() == want
        elif key == "participant_message":
            assert bool(message.meta.get("participant")) is want
            assert message.meta["participant"] != ticket.customer_id
        elif key == "meta_defects_contain":
            for defect in want:
                assert defect in message.meta.get("defects", []), message.meta
        elif key == "outbound_state":
            assert Message.objects.get(pk=scene.outbound.pk).delivery_state == want
        elif key == "error_contains":
            assert want in Message.objects.get(pk=scene.outbound.pk).delivery_error
        elif key == "suppressed":
            assert SuppressedAddress.objects.filter(address=want).exists()
        elif key == "not_suppressed":
            assert not SuppressedAddress.objects.filter(address=want).exists()
        elif key != "reason":
            raise AssertionError(f"unknown stored fact {key!r} in expected.json")


@pytest.mark.parametrize("name", [pytest.param(n, id=n.removesuffix(".eml")) for n in MAIL_NAMES])
def test_it_answers_every_mail_without_a_server_error(
    name, request, email_inbox, post_email, django_capture_on_commit_callbacks
):
    # Holds even where a scenario is a known bug: the provider must never see a 5xx
    # for a mail we stored, or it retries forever.
    scene, raw = prepare(name, request, email_inbox, post_email, django_capture_on_commit_callbacks)
    assert scene.post(name, raw).status in (200, 202)
    stored = RawInbound.objects.count()
    # A provider's retry of the same mail: answered again, stored once.
    assert scene.post(name, raw).status in (200, 202)
    assert RawInbound.objects.count() == stored


@pytest.mark.parametrize("name", INGESTED)
def test_it_ingests_the_mail(
    name, request, email_inbox, post_email, django_capture_on_commit_callbacks
):
    scene, raw = prepare(name, request, email_inbox, post_email, django_capture_on_commit_callbacks)
    got = ingest_and_check_outcome(name, scene, raw)
    check_stored(
        got, scene, substitute_facts(MANIFEST[name]["ingest"].get("stored", {}), scene.values)
    )

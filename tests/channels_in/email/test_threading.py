"""Which ticket a mail lands in: the rules of docs/threading.md, in order, and the forgeries."""

from __future__ import annotations

import base64
from datetime import timedelta

from django.utils import timezone

from channels_in.email import threads
from tickets.changes import update_ticket
from tickets.merge import merge_tickets
from tickets.models import Message, Status, Ticket, TicketParticipant

from .mails import mail, message_id_of


def _post(post_email, inbox, raw):
    response = post_email(inbox, raw)
    assert response.status_code == 202, response.content
    return Ticket.objects.get(pk=response.json()["ticket"]), Message.objects.get(
        pk=response.json()["message"]
    )


def _our_id(sent) -> str:
    return sent.extra_headers["Message-ID"].strip("<>")


def test_a_reply_to_our_mail_threads_by_its_signed_message_id(email_inbox, post_email, agent_reply):
    ticket, _ = _post(post_email, email_inbox, mail())
    sent = agent_reply(ticket)
    reply, message = _post(
        post_email, email_inbox, mail(subject="Re: whatever", in_reply_to=_our_id(sent))
    )
    assert reply == ticket
    assert ticket.messages.filter(direction="in").count() == 2
    assert "refused_thread" not in message.meta


def test_a_reply_naming_a_stored_inbound_mail_threads_into_its_ticket(email_inbox, post_email):
    first = mail(message_id="first@example.pl")
    ticket, _ = _post(post_email, email_inbox, first)
    # The customer writes again in the same thread (e.g. "one more thing").
    again, _ = _post(
        post_email, email_inbox, mail(subject="Re: x", references=["first@example.pl"])
    )
    assert again == ticket


def test_a_mail_without_any_hint_opens_a_new_ticket_even_with_one_open(email_inbox, post_email):
    first, _ = _post(post_email, email_inbox, mail(subject="Faktura"))
    second, _ = _post(post_email, email_inbox, mail(subject="Inna sprawa: reklamacja"))
    assert second != first
    assert first.customer_id == second.customer_id
    assert Ticket.objects.count() == 2


def test_a_forged_message_id_that_only_looks_like_ours_is_not_trusted(
    email_inbox, post_email, agent_reply
):
    victim, _ = _post(post_email, email_inbox, mail(sender="ofiara@example.pl"))
    forged = f"t{victim.pk}.m1.0123456789abcdef@helpdesk.example"
    assert threads.read_our_message_id(forged) is None
    ticket, message = _post(
        post_email, email_inbox, mail(sender="ofiara@example.pl", in_reply_to=forged)
    )
    # Same customer, but the forged id is no hint: a new request.
    assert ticket != victim and ticket.follows_id is None


def test_a_stranger_replying_into_a_ticket_gets_a_new_flagged_ticket(
    email_inbox, post_email, agent_reply
):
    victim, _ = _post(post_email, email_inbox, mail(sender="anna@example.pl"))
    sent = agent_reply(victim, "Your order 4411 ships tomorrow to Kraków.")
    # Someone else got hold of our mail and answers it, real thread headers and all.
    ticket, message = _post(
        post_email,
        email_inbox,
        mail(
            sender="intruder@evil.example",
            subject=sent.subject,
            in_reply_to=_our_id(sent),
            references=[_our_id(sent)],
            text="Please send it to my address instead.",
        ),
    )
    assert ticket != victim
    assert ticket.follows_id == victim.pk
    assert message.meta["refused_thread"] == victim.pk
    assert victim.messages.filter(direction="in").count() == 1
    assert ticket.customer_id != victim.customer_id


def test_a_subject_token_threads_for_the_customer_but_not_for_a_stranger(email_inbox, post_email):
    ticket, _ = _post(post_email, email_inbox, mail(sender="ewa@example.pl"))
    same, _ = _post(
        post_email,
        email_inbox,
        mail(sender="ewa@example.pl", subject=f"Odp: Problem [#{ticket.pk}]"),
    )
    assert same == ticket
    other, message = _post(
        post_email, email_inbox, mail(sender="x@example.cz", subject=f"Re: [#{ticket.pk}]")
    )
    assert other != ticket and message.meta["refused_thread"] == ticket.pk


def test_the_hidden_marker_threads_when_a_mail_service_rewrote_our_message_id(
    email_inbox, post_email, agent_reply
):
    ticket, _ = _post(post_email, email_inbox, mail())
    sent = agent_reply(ticket)
    html_we_sent = sent.alternatives[0][0]
    assert threads.marker_for(ticket.pk) in html_we_sent
    # The reply names a Message-ID we never saw (rewritten on the way) and no
    # ticket token, but quotes our HTML.
    quoted = f'<p>Thanks!</p><blockquote type="cite">{html_we_sent}</blockquote>'
    again, _ = _post(
        post_email,
        email_inbox,
        mail(subject="Re: order", in_reply_to="rewritten-by-ses@amazonses.com", html=quoted),
    )
    assert again == ticket


def test_outlook_thread_index_threads_when_nothing_else_does(email_inbox, post_email):
    root = base64.b64decode("AdjP1e7C8w2x9Q3KRe2Vb0t+1nXf6Q==")[:22]
    first_index = base64.b64encode(root).decode()
    reply_index = base64.b64encode(root + b"\x00\x00\x01\x02\x03").decode()
    ticket, _ = _post(
        post_email, email_inbox, mail(headers={"Thread-Index": first_index}, subject="Dotaz")
    )
    again, _ = _post(
        post_email,
        email_inbox,
        mail(headers={"Thread-Index": reply_index, "Thread-Topic": "Dotaz"}, subject="RE: Dotaz"),
    )
    assert again == ticket


def test_people_on_cc_take_part_and_their_replies_stay_in_the_ticket(
    email_inbox, post_email, agent_reply
):
    ticket, _ = _post(
        post_email,
        email_inbox,
        mail(
            sender="Jan <jan@firma.pl>",
            cc="Ewa Nowak <ewa@firma.pl>, Support <support@helpdesk.example>",
        ),
    )
    participants = TicketParticipant.objects.filter(ticket=ticket)
    assert [p.customer.identities.get().value for p in participants] == ["ewa@firma.pl"]
    sent = agent_reply(ticket)
    assert sent.to == ["jan@firma.pl"] and sent.cc == ["ewa@firma.pl"]

    again, message = _post(
        post_email,
        email_inbox,
        mail(sender="Ewa Nowak <ewa@firma.pl>", in_reply_to=_our_id(sent), text="Potwierdzam."),
    )
    assert again == ticket
    assert message.meta["participant"] == participants[0].customer_id
    assert "refused_thread" not in message.meta
    # Her message is part of the customer's one timeline.
    assert ticket.events.filter(message=message, customer_id=ticket.customer_id).exists()


def test_a_reply_to_a_solved_ticket_reopens_it_within_the_window(
    email_inbox, post_email, agent_reply, agent
):
    ticket, _ = _post(post_email, email_inbox, mail())
    sent = agent_reply(ticket, status=Status.SOLVED)
    ticket.refresh_from_db()
    assert ticket.status == Status.SOLVED
    again, _ = _post(post_email, email_inbox, mail(in_reply_to=_our_id(sent)))
    again.refresh_from_db()
    assert again == ticket and again.status == Status.OPEN


def test_a_reply_after_the_window_starts_a_new_ticket_linked_to_the_old(
    email_inbox, post_email, agent_reply, settings
):
    ticket, _ = _post(post_email, email_inbox, mail())
    sent = agent_reply(ticket, status=Status.SOLVED)
    Ticket.objects.filter(pk=ticket.pk).update(
        solved_at=timezone.now() - timedelta(days=settings.REOPEN_WINDOW_DAYS + 1)
    )
    again, message = _post(post_email, email_inbox, mail(in_reply_to=_our_id(sent)))
    assert again != ticket and again.follows_id == ticket.pk
    assert "refused_thread" not in message.meta


def test_a_reply_to_a_merged_ticket_lands_in_the_ticket_it_was_merged_into(
    email_inbox, post_email, agent_reply, agent
):
    old, _ = _post(post_email, email_inbox, mail(subject="Pierwsze"))
    target, _ = _post(post_email, email_inbox, mail(subject="Drugie"))
    sent = agent_reply(old)
    merge_tickets(source=old, target=target, actor=agent)
    again, _ = _post(post_email, email_inbox, mail(in_reply_to=_our_id(sent)))
    assert again == target


def test_a_closed_ticket_is_never_reopened_by_mail(email_inbox, post_email, agent_reply, agent):
    ticket, _ = _post(post_email, email_inbox, mail())
    sent = agent_reply(ticket)
    update_ticket(ticket=ticket, actor=agent, status=Status.CLOSED)
    again, _ = _post(post_email, email_inbox, mail(in_reply_to=_our_id(sent)))
    assert again != ticket and again.follows_id == ticket.pk


def test_the_message_ids_we_send_carry_a_signature_that_checks(
    email_inbox, post_email, agent_reply
):
    ticket, _ = _post(post_email, email_inbox, mail())
    sent = agent_reply(ticket)
    ours = threads.read_our_message_id(_our_id(sent))
    assert ours is not None and ours.ticket_id == ticket.pk
    tampered = _our_id(sent).replace(f"t{ticket.pk}.", f"t{ticket.pk + 1}.", 1)
    assert threads.read_our_message_id(tampered) is None
    assert message_id_of(mail(message_id="x@y")) == "x@y"

"""Email in the agent's ticket view: what an agent sees of a real mail, and can do about it.

Mails arrive over the inbound webhook (POST /inbound/email/<key>/) as raw
RFC 5322 bytes, exactly as a provider sends them; replies leave through the
real Celery task to a real SMTP server on 127.0.0.1.
"""

from __future__ import annotations

import re
import struct
import zlib
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from channels_in.inboxes import create_inbox
from channels_in.models import RawInbound
from tickets.delivery import record_delivery
from tickets.models import Channel, Delivery, Message, Team, TicketParticipant
from tickets.replies import record_reply
from tickets.sanitize import sanitize_html

pytestmark = pytest.mark.django_db

SUPPORT = "support@helpdesk.example"


def png(width: int = 2, height: int = 2, rgb: tuple[int, int, int] = (47, 84, 214)) -> bytes:
    """A real PNG image, small enough to read in a test."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes(rgb) * width
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


def build_mail(
    *,
    sender: str = "Jan Kowalski <jan@example.com>",
    to: str = SUPPORT,
    cc: str = "",
    subject: str = "Order 1234",
    text: str = "Where is my order?",
    html: str = "",
    inline: tuple[tuple[str, bytes], ...] = (),
    attachments: tuple[tuple[str, str, bytes], ...] = (),
    in_reply_to: str = "",
    headers: dict[str, str] | None = None,
) -> tuple[bytes, str]:
    """Raw bytes of a mail as a mail client writes it, and its Message-ID (no brackets)."""
    mail = EmailMessage()
    message_id = make_msgid(domain="example.com")
    mail["From"] = sender
    mail["To"] = to
    if cc:
        mail["Cc"] = cc
    mail["Subject"] = subject
    mail["Date"] = format_datetime(datetime(2026, 3, 2, 9, 30, tzinfo=UTC))
    mail["Message-ID"] = message_id
    if in_reply_to:
        mail["In-Reply-To"] = f"<{in_reply_to}>"
        mail["References"] = f"<{in_reply_to}>"
    for name, value in (headers or {}).items():
        mail[name] = value
    mail.set_content(text)
    if html:
        mail.add_alternative(html, subtype="html")
        html_part = mail.get_payload()[1]
        for cid, data in inline:
            html_part.add_related(data, "image", "png", cid=f"<{cid}>", filename=f"{cid}.png")
    for filename, content_type, data in attachments:
        maintype, subtype = content_type.split("/")
        mail.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return mail.as_bytes(), message_id.strip("<>")


@pytest.fixture
def deliver(email_inbox, post_email):
    """deliver(raw, inbox=email_inbox) -> the Message the webhook made of the mail."""

    def _deliver(raw: bytes, inbox=None) -> Message:
        inbox = inbox or email_inbox
        response = post_email(inbox, raw)
        assert response.status_code in (200, 202), response.content
        raw_row = RawInbound.objects.filter(inbox=inbox).order_by("-id").first()
        assert raw_row.message_id, raw_row.error
        return Message.objects.select_related("ticket").get(pk=raw_row.message_id)

    return _deliver


def fetches_remote(html: str) -> bool:
    """Whether the HTML has an <img src> a browser would fetch from another server.

    (data-remote-src="https://…" fetches nothing: it only waits for "Show images".)
    """
    return re.search(r'\ssrc="\s*(https?:)?//', html, re.I) is not None


def ticket_page(client, ticket) -> str:
    response = client.get(reverse("agents:ticket", args=[ticket.pk]))
    assert response.status_code == 200
    return response.content.decode()


def message_html(page: str, message: Message) -> str:
    """The <article> of one message in a page."""
    start = page.index(f'id="message-{message.pk}"')
    return page[start : page.index("</article>", start)]


RICH_HTML = """
<div dir="ltr"><p>Hello, the parcel arrived broken, see the photo:</p>
<p><img src="cid:photo1@example.com" alt="Broken box"></p>
<p>Our logo: <img src="https://tracker.example/p.gif" width="1" height="1" alt=""></p>
<p>Jan</p>
<div class="gmail_quote"><div class="gmail_attr">On Mon, 2 Mar 2026 at 09:00 Support wrote:</div>
<blockquote class="gmail_quote">Thanks for your order.</blockquote></div></div>
"""


# --- 1. Remote images -------------------------------------------------------------------


def test_it_stores_remote_images_without_a_src_that_would_fetch_them():
    html = sanitize_html(
        '<img src="https://tracker.example/p.gif"><img src=" //cdn.example/a.png">'
        '<img src="cid:logo@x"><img src="/agent/">'
        '<img data-remote-src="javascript:alert(1)">'
    )
    assert not fetches_remote(html) and 'src="/agent' not in html
    assert 'data-remote-src="https://tracker.example/p.gif"' in html
    assert 'data-remote-src="//cdn.example/a.png"' in html
    assert 'src="cid:logo@x"' in html
    assert "javascript" not in html
    assert sanitize_html(html) == html  # cleaning twice changes nothing
    # Our own outbound HTML keeps its images for the customer's mail client.
    assert 'src="https://' in sanitize_html(
        '<img src="https://a.example/logo.png">', block_remote_images=False
    )


def test_it_blocks_remote_images_until_the_agent_asks(client, agent, deliver):
    raw, _id = build_mail(html=RICH_HTML, inline=(("photo1@example.com", png()),))
    message = deliver(raw)
    client.force_login(agent)

    page = ticket_page(client, message.ticket)

    assert not fetches_remote(page)
    article = message_html(page, message)
    assert 'data-remote-src="https://tracker.example/p.gif"' in article
    assert "Remote images are hidden to protect your privacy." in article
    assert "data-show-images" in article and "Show images" in article
    assert "<script" not in article and "onclick" not in article  # app.js does it (CSP-friendly)


def test_it_offers_show_images_only_where_images_are_blocked(client, agent, deliver):
    raw, _id = build_mail(html="<p>Just text, no pictures.</p>")
    message = deliver(raw)
    client.force_login(agent)
    assert "Show images" not in message_html(ticket_page(client, message.ticket), message)


# --- 2. Inline (cid:) images and attachment downloads --------------------------------------


def test_it_shows_inline_images_from_the_mail_itself(client, agent, deliver):
    raw, _id = build_mail(
        html=RICH_HTML,
        inline=(("photo1@example.com", png()),),
        attachments=(("report.pdf", "application/pdf", b"%PDF-1.4 report"),),
    )
    message = deliver(raw)
    photo = message.attachments.get(content_id="photo1@example.com")
    report = message.attachments.get(filename="report.pdf")
    client.force_login(agent)

    article = message_html(ticket_page(client, message.ticket), message)

    photo_url = reverse("agents:attachment", args=[message.ticket_id, photo.pk])
    assert f'src="{photo_url}"' in article
    assert "cid:" not in article
    # The photo is in the text; only the other file is listed under the message.
    assert "report.pdf" in article and "photo1@example.com.png" not in article

    shown = client.get(photo_url)
    assert shown.status_code == 200
    assert shown["Content-Type"] == "image/png"
    assert shown["Content-Disposition"].startswith("inline")
    assert shown["X-Content-Type-Options"] == "nosniff"
    assert b"".join(shown.streaming_content) == png()

    download = client.get(reverse("agents:attachment", args=[message.ticket_id, report.pk]))
    assert download["Content-Disposition"].startswith("attachment")
    assert download["X-Content-Type-Options"] == "nosniff"


def test_it_never_shows_svg_inline(client, agent, deliver):
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    raw, _id = build_mail(attachments=(("drawing.svg", "image/svg+xml", svg),))
    message = deliver(raw)
    item = message.attachments.get()
    client.force_login(agent)

    response = client.get(reverse("agents:attachment", args=[message.ticket_id, item.pk]))

    assert response["Content-Disposition"].startswith("attachment")
    assert response["X-Content-Type-Options"] == "nosniff"


def test_the_email_timeline_costs_the_same_queries_for_more_messages(
    client, agent, deliver, django_assert_max_num_queries
):
    def page_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            ticket_page(client, first.ticket)
        return len(queries)

    first_raw, first_id = build_mail(
        html=RICH_HTML, inline=(("photo1@example.com", png()),), cc="Eva <eva@example.com>"
    )
    first = deliver(first_raw)
    client.force_login(agent)
    one = page_queries()

    for i in range(6):
        raw, _id = build_mail(
            html=RICH_HTML,
            inline=(("photo1@example.com", png()),),
            attachments=((f"file{i}.txt", "text/plain", b"x" * 10),),
            in_reply_to=first_id,
            cc=f"Person {i} <p{i}@example.com>",
        )
        deliver(raw)
    assert TicketParticipant.objects.filter(ticket=first.ticket).count() == 7

    with django_assert_max_num_queries(one):
        html = ticket_page(client, first.ticket)
    assert html.count("Show images") == 7
    assert one <= 25


# --- 3. Folded quotes -----------------------------------------------------------------


def test_it_folds_quoted_history_behind_a_translated_toggle(client, agent, deliver):
    raw, _id = build_mail(html=RICH_HTML)
    message = deliver(raw)
    assert "<summary>…</summary>" in message.body_html  # stored language-neutral
    client.force_login(agent)

    article = message_html(ticket_page(client, message.ticket), message)

    assert "<summary>…</summary>" not in article
    assert re.search(r"<details><summary[^>]*>.*Show quoted text.*</summary>", article)
    assert "Thanks for your order." in article  # folded, not cut


def test_it_folds_quoted_history_of_a_plain_text_mail(client, agent, deliver):
    raw, _id = build_mail(text="Yes, please.\n\nOn Mon, 2 Mar 2026 Support wrote:\n> Shall we?\n")
    message = deliver(raw)
    client.force_login(agent)
    article = message_html(ticket_page(client, message.ticket), message)
    assert "Show quoted text" in article and "Shall we?" in article


# --- 4. The original mail -------------------------------------------------------------


def test_it_shows_the_original_mail_and_downloads_its_exact_bytes(client, agent, deliver):
    raw, message_id = build_mail(
        sender="Jan Kowalski <jan@example.com>",
        cc="Eva Svobodová <eva@example.com>",
        subject="Zamówienie 1234",
        html=RICH_HTML,
    )
    message = deliver(raw)
    client.force_login(agent)
    original_url = reverse("agents:message_original", args=[message.ticket_id, message.pk])
    raw_url = reverse("agents:message_raw", args=[message.ticket_id, message.pk])

    article = message_html(ticket_page(client, message.ticket), message)
    assert f'href="{original_url}"' in article and f'href="{raw_url}"' in article

    page = client.get(original_url)
    assert page.status_code == 200
    html = page.content.decode()
    for expected in (
        "Jan Kowalski &lt;jan@example.com&gt;",
        SUPPORT,
        "eva@example.com",
        "Zamówienie 1234",
        f"&lt;{message_id}&gt;",
        "2026",
    ):
        assert expected in html, expected
    assert "Thanks for your order." in html and "<details open>" in html  # all of it
    assert not fetches_remote(html) and "Show images" in html  # still blocked
    assert "Where is my order?" in html  # the text part

    download = client.get(raw_url)
    assert download.status_code == 200
    assert download["Content-Type"] == "message/rfc822"
    assert download["Content-Disposition"].startswith("attachment")
    assert download.content == raw


def test_only_agents_who_see_the_ticket_see_its_original(
    client, agent, other_agent, deliver, inbox, receive
):
    raw, _id = build_mail()
    message = deliver(raw)
    urls = [
        reverse(f"agents:{name}", args=[message.ticket_id, message.pk])
        for name in ("message_original", "message_raw")
    ]

    for url in urls:
        assert client.get(url).status_code == 302  # anonymous: sign in first
    client.force_login(other_agent)  # Billing team: not this ticket
    for url in urls:
        assert client.get(url).status_code == 404
    client.force_login(agent)
    for url in urls:
        assert client.get(url).status_code == 200
    # A message of another ticket under this ticket's address: 404 too.
    foreign = receive(inbox, text="chat")
    url = reverse("agents:message_original", args=[message.ticket_id, foreign.message.pk])
    assert client.get(url).status_code == 404


# --- 5. Who wrote, and who was on Cc -------------------------------------------------------


def test_it_names_the_sender_of_each_mail_and_lists_the_people_on_cc(client, agent, deliver):
    raw, first_id = build_mail(
        sender="Jan Kowalski <jan@example.com>", cc="Eva Svobodová <eva@example.com>"
    )
    first = deliver(raw)
    raw, _id = build_mail(
        sender="Eva Svobodová <eva@example.com>",
        to=SUPPORT,
        cc="Jan Kowalski <jan@example.com>",
        subject="Re: Order 1234",
        text="I am Jan's colleague: the order number is 1234.",
        in_reply_to=first_id,
    )
    reply = deliver(raw)
    assert reply.ticket_id == first.ticket_id and reply.meta.get("participant")
    client.force_login(agent)

    page = ticket_page(client, first.ticket)

    head = message_html(page, reply)
    assert "Eva Svobodová" in head and "eva@example.com" in head
    assert "Jan Kowalski" not in head.split("</header>")[0]
    assert "Cc participant" in head
    assert re.search(r"Cc:</span> jan@example.com", head)
    first_head = message_html(page, first)
    assert "Jan Kowalski" in first_head and "jan@example.com" in first_head
    assert re.search(r"Cc:</span> eva@example.com", first_head)

    assert "Eva Svobodová joined the ticket (on Cc)" in page
    panel = page[page.index("Also on this ticket (Cc)") :]
    assert "Eva Svobodová" in panel[:800] and "eva@example.com" in panel[:800]


# --- 6. Automatic mail ----------------------------------------------------------------


def test_it_marks_automatic_mail_and_says_why(client, agent, deliver):
    raw, _id = build_mail(
        subject="Out of office", text="I am away.", headers={"Auto-Submitted": "auto-replied"}
    )
    message = deliver(raw)
    client.force_login(agent)

    article = message_html(ticket_page(client, message.ticket), message)

    assert re.search(
        r'<span class="chip chip-auto" title="[^"]*auto-submitted: auto-replied', article
    )
    assert ">Automatic</span>" in article


# --- 7. Files not kept --------------------------------------------------------------------


def test_it_says_which_files_were_not_kept_and_why(client, agent, deliver, settings):
    settings.EMAIL_MAX_ATTACHMENT_BYTES = 2048
    raw, _id = build_mail(
        attachments=(
            ("report.zip", "application/zip", b"z" * 5000),
            ("empty.txt", "text/plain", b""),
            ("ok.txt", "text/plain", b"fine"),
        )
    )
    message = deliver(raw)
    client.force_login(agent)

    article = message_html(ticket_page(client, message.ticket), message)

    assert "Not kept: report.zip (4.9\xa0KB) — larger than the 2.0\xa0KB limit" in article
    assert "Not kept: empty.txt — the file was empty" in article
    assert "ok.txt" in article


# --- 8. A stranger claiming another customer's ticket ----------------------------------


def test_it_warns_when_a_stranger_claims_another_customers_ticket(
    client, agent, manager, deliver, email_inbox
):
    billing = create_inbox(
        channel=Channel.EMAIL,
        name="Billing",
        team=Team.objects.get_or_create(name="Billing")[0],
        config={"address": "billing@helpdesk.example"},
    )
    raw, _id = build_mail(to="billing@helpdesk.example", subject="Invoice 77")
    claimed = deliver(raw, inbox=billing).ticket
    raw, _id = build_mail(
        sender="Mallory <mallory@example.net>",
        subject=f"Re: Invoice 77 [#{claimed.pk}]",
        text="Please send me the invoice again.",
    )
    kept_apart = deliver(raw).ticket
    assert kept_apart.pk != claimed.pk
    sentence = "It was kept apart because its sender takes no part in that ticket."

    client.force_login(agent)  # Support: sees the new ticket, not the claimed one
    page = ticket_page(client, kept_apart)
    assert f"This message claimed to answer ticket #{claimed.pk} of another customer." in page
    assert sentence in page
    assert f'href="{reverse("agents:ticket", args=[claimed.pk])}"' not in page

    client.force_login(manager)  # sees both: the number is a link
    page = ticket_page(client, kept_apart)
    link = f'<a href="{reverse("agents:ticket", args=[claimed.pk])}">#{claimed.pk}</a>'
    assert link in page and sentence in page

    assert "claimed to answer" not in ticket_page(client, claimed)


# --- 10. Failed sends ---------------------------------------------------------------------


def test_a_failed_reply_can_be_retried_and_then_reaches_the_customer(
    client, agent, deliver, smtp_server, django_capture_on_commit_callbacks
):
    raw, _id = build_mail()
    ticket = deliver(raw).ticket
    smtp_server.refuse["jan@example.com"] = "550 5.1.1 No such user here"
    with django_capture_on_commit_callbacks(execute=True):
        reply = record_reply(ticket=ticket, author=agent, text="Your parcel left today.").message
    reply.refresh_from_db()
    assert reply.delivery_state == Delivery.FAILED
    assert smtp_server.messages == []
    client.force_login(agent)

    article = message_html(ticket_page(client, ticket), reply)
    assert "Not delivered." in article and "No such user here" in article
    retry_url = reverse("agents:message_retry", args=[ticket.pk, reply.pk])
    assert f'hx-post="{retry_url}"' in article and "csrfmiddlewaretoken" in article

    del smtp_server.refuse["jan@example.com"]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(retry_url, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert 'id="delivery-problem-' in response.content.decode()

    reply.refresh_from_db()
    assert reply.delivery_state == Delivery.SENT and reply.delivery_error == ""
    assert len(smtp_server.messages) == 1
    sent = smtp_server.messages[0]
    assert sent.rcpt_tos == ["jan@example.com"]
    assert "Your parcel left today." in sent.message.get_body(("plain",)).get_content()
    article = message_html(ticket_page(client, ticket), reply)
    assert "Not delivered." not in article and "Retry" not in article

    # Sent is sent: a second retry changes nothing and says so.
    response = client.post(retry_url, follow=True)
    assert "This message cannot be sent again." in response.content.decode()
    assert len(smtp_server.messages) == 1


def test_a_held_back_message_shows_why_and_offers_no_retry(client, agent, deliver):
    raw, _id = build_mail()
    ticket = deliver(raw).ticket
    reply = record_reply(ticket=ticket, author=agent, text="Thanks!").message
    record_delivery(
        message_id=reply.pk, state=Delivery.SUPPRESSED, error="the address bounced recently"
    )
    client.force_login(agent)

    article = message_html(ticket_page(client, ticket), reply)

    assert "Not sent" in article and "the address bounced recently" in article
    assert "message_retry" not in article and "/retry/" not in article
    retry_url = reverse("agents:message_retry", args=[ticket.pk, reply.pk])
    client.post(retry_url)
    reply.refresh_from_db()
    assert reply.delivery_state == Delivery.SUPPRESSED


def test_only_agents_who_see_the_ticket_can_retry(client, other_agent, agent, deliver):
    raw, _id = build_mail()
    ticket = deliver(raw).ticket
    reply = record_reply(ticket=ticket, author=agent, text="Thanks!").message
    record_delivery(message_id=reply.pk, state=Delivery.FAILED, error="refused")
    client.force_login(other_agent)
    response = client.post(reverse("agents:message_retry", args=[ticket.pk, reply.pk]))
    assert response.status_code == 404
    reply.refresh_from_db()
    assert reply.delivery_state == Delivery.FAILED


def test_a_message_still_being_sent_is_not_sent_again(client, agent, deliver):
    raw, _id = build_mail()
    ticket = deliver(raw).ticket
    reply = record_reply(ticket=ticket, author=agent, text="Thanks!").message
    Message.objects.filter(pk=reply.pk).update(delivery_state=Delivery.SENDING)
    client.force_login(agent)
    client.post(reverse("agents:message_retry", args=[ticket.pk, reply.pk]))
    reply.refresh_from_db()
    assert reply.delivery_state == Delivery.SENDING


# --- 11. Files on replies -------------------------------------------------------------


def test_a_reply_with_files_reaches_the_customer_with_them(
    client, agent, deliver, smtp_server, django_capture_on_commit_callbacks
):
    raw, _id = build_mail()
    ticket = deliver(raw).ticket
    client.force_login(agent)
    page = ticket_page(client, ticket)
    assert 'hx-encoding="multipart/form-data"' in page and 'enctype="multipart/form-data"' in page
    assert re.search(r'<input type="file" name="attachments" multiple', page)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("agents:ticket_reply", args=[ticket.pk]),
            {
                "text": "The invoice and a photo are attached.",
                "channel": "email",
                "idempotency_key": "files-1",
                "action": "send",
                "attachments": [
                    SimpleUploadedFile("../Faktura 7.pdf", b"%PDF-1.4 invoice", "application/pdf"),
                    SimpleUploadedFile("photo.png", png(), "image/png"),
                ],
            },
            HTTP_HX_REQUEST="true",
        )
    assert response.status_code == 200, response.content.decode()

    reply = Message.objects.get(idempotency_key="files-1")
    assert sorted(a.filename for a in reply.attachments.all()) == ["Faktura 7.pdf", "photo.png"]
    assert reply.delivery_state == Delivery.SENT
    mail = smtp_server.messages[0].message
    files = {part.get_filename(): part.get_content() for part in mail.iter_attachments()}
    assert files == {"Faktura 7.pdf": b"%PDF-1.4 invoice", "photo.png": png()}

    article = message_html(ticket_page(client, ticket), reply)
    assert "Faktura 7.pdf" in article and "photo.png" in article


def test_it_refuses_a_file_over_the_limit_in_words(client, agent, deliver, settings):
    settings.EMAIL_MAX_ATTACHMENT_BYTES = 1024
    raw, _id = build_mail()
    ticket = deliver(raw).ticket
    client.force_login(agent)

    response = client.post(
        reverse("agents:ticket_reply", args=[ticket.pk]),
        {
            "text": "See attached.",
            "channel": "email",
            "idempotency_key": "files-2",
            "attachments": [SimpleUploadedFile("big.zip", b"z" * 3000, "application/zip")],
        },
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 422
    assert "“big.zip” is 2.9\xa0KB; a file can be at most 1.0\xa0KB." in response.content.decode()
    assert not Message.objects.filter(idempotency_key="files-2").exists()

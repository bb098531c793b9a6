"""POST /widget/<key>/files: a visitor's picture or PDF, checked by its bytes, stored once."""

from __future__ import annotations

import base64
import itertools
import json
import re
import struct
import uuid
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from channels_in.adapters.widget import parse_payload, read_visitor
from channels_in.base import MalformedError
from channels_in.inboxes import create_inbox
from channels_in.models import RawInbound
from channels_in.pipeline import replay
from tickets.models import Attachment, Channel, Message

pytestmark = pytest.mark.django_db

SITE = "https://shop.example"
_addresses = itertools.count(1)


def png(width: int = 2, height: int = 2) -> bytes:
    """A real, tiny RGB PNG (no imaging library needed)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\xd0\x40\x40" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
HTML = b"<!doctype html><html><script>alert(1)</script></html>"


@pytest.fixture
def chat(team):
    return create_inbox(
        channel=Channel.WIDGET,
        name="Web chat",
        team=team,
        config={"allowed_origins": [SITE], "uploads": True, "upload_max_bytes": 50_000},
    )


def upload(client, inbox, content=None, name="photo.png", declared="image/png", **extra):
    data = {"client_id": extra.pop("client_id", uuid.uuid4().hex)}
    data |= extra.pop("fields", {})
    if content is not None:
        data["file"] = SimpleUploadedFile(name, content, content_type=declared)
    n = next(_addresses)
    headers = {"REMOTE_ADDR": f"10.7.{n // 250}.{n % 250 + 1}", "HTTP_ORIGIN": SITE} | extra
    return client.post(f"/widget/{inbox.key}/files", data, **headers)


def test_it_stores_a_picture_as_the_messages_attachment(client, chat):
    response = upload(client, chat, png(), name="../../etc/My photo<1>.png", fields={"body": "Hi"})

    assert response.status_code == 202, response.content
    answer = response.json()
    assert answer["duplicate"] is False and answer["ticket"]
    assert read_visitor(chat, answer["visitor_token"])
    assert [a["name"] for a in answer["attachments"]] == ["My photo_1_.png"]
    assert response["Access-Control-Allow-Origin"] == SITE
    message = Message.objects.get(pk=answer["message"])
    assert message.body_text == "Hi"
    item = message.attachments.get()
    assert item.filename == "My photo_1_.png"
    assert item.content_type == "image/png"
    assert item.size == len(png())
    with item.file.open("rb") as stored:
        assert stored.read() == png()


def test_it_takes_a_file_without_words(client, chat):
    response = upload(client, chat, PDF, name="invoice.pdf", declared="application/pdf")

    assert response.status_code == 202, response.content
    message = Message.objects.get(pk=response.json()["message"])
    assert message.body_text == ""
    assert message.attachments.get().content_type == "application/pdf"


def test_it_stores_a_resent_upload_once(client, chat):
    first = upload(client, chat, png(), client_id="same-upload")
    token = first.json()["visitor_token"]
    again = upload(client, chat, png(), client_id="same-upload", HTTP_X_VISITOR_TOKEN=token)

    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json()["duplicate"] is True
    assert again.json()["message"] == first.json()["message"]
    assert Attachment.objects.count() == 1


def test_it_believes_the_bytes_not_the_declared_type(client, chat):
    # A PNG that says it is a PDF is stored as what it is, its name corrected.
    response = upload(client, chat, png(), name="scan.pdf", declared="application/pdf")

    assert response.status_code == 202
    item = Attachment.objects.get(message_id=response.json()["message"])
    assert (item.content_type, item.filename) == ("image/png", "scan.png")


@pytest.mark.parametrize(
    ("content", "name", "declared", "status", "code"),
    [
        (SVG, "logo.svg", "image/svg+xml", 415, "unsupported_type"),
        (SVG, "logo.png", "image/png", 415, "unsupported_type"),
        (HTML, "page.html", "text/html", 415, "unsupported_type"),
        (HTML, "photo.jpg", "image/jpeg", 415, "unsupported_type"),
        (b"MZ\x90\x00", "setup.exe", "application/octet-stream", 415, "unsupported_type"),
        (png() + b"\x00" * 50_000, "big.png", "image/png", 413, "too_large"),
        (None, "", "", 400, "no_file"),
        (b"", "empty.png", "image/png", 400, "no_file"),
    ],
)  # fmt: skip
def test_it_refuses_what_it_does_not_take(client, chat, content, name, declared, status, code):
    response = upload(client, chat, content, name=name, declared=declared)

    assert response.status_code == status
    assert response.json()["error"] == code
    assert response.json()["detail"]
    assert response["Access-Control-Allow-Origin"] == SITE
    assert not RawInbound.objects.exists() and not Attachment.objects.exists()


def test_it_refuses_an_oversized_body_before_reading_it(client, chat):
    response = upload(client, chat, png(), CONTENT_LENGTH="900000")

    assert response.status_code == 413
    assert response.json()["error"] == "too_large"


def test_it_refuses_uploads_when_the_chat_takes_none(client, team):
    inbox = create_inbox(
        channel=Channel.WIDGET, name="Chat", team=team, config={"allowed_origins": [SITE]}
    )
    response = upload(client, inbox, png())

    assert response.status_code == 403
    assert response.json()["error"] == "uploads_disabled"
    assert not Attachment.objects.exists()


@pytest.mark.parametrize("origin", ["https://evil.example", None])
def test_it_refuses_another_origin(client, chat, origin):
    extra = {"HTTP_ORIGIN": origin} if origin else {}
    response = client.post(
        f"/widget/{chat.key}/files",
        {"client_id": "x", "file": SimpleUploadedFile("a.png", png())},
        **extra,
    )

    assert response.status_code == 403
    assert response.json()["error"] == "forbidden_origin"
    assert "Access-Control-Allow-Origin" not in response


def test_it_answers_the_preflight(client, chat):
    response = client.options(f"/widget/{chat.key}/files", HTTP_ORIGIN=SITE)

    assert response.status_code == 204
    assert response["Access-Control-Allow-Methods"] == "POST"
    assert "X-Visitor-Token" in response["Access-Control-Allow-Headers"]


def test_it_lists_the_file_with_a_signed_link_that_works(client, chat):
    answer = upload(client, chat, png()).json()
    history = client.get(
        f"/widget/{chat.key}/messages",
        HTTP_ORIGIN=SITE,
        HTTP_X_VISITOR_TOKEN=answer["visitor_token"],
    ).json()["messages"]

    [entry] = history[0]["attachments"]
    assert entry["content_type"] == "image/png" and entry["size"] == len(png())
    path = entry["url"].split("://", 1)[1].split("/", 1)[1]
    download = client.get("/" + path)
    assert download.status_code == 200
    assert download["Content-Type"] == "image/png"
    assert b"".join(download.streaming_content) == png()
    token = path.rsplit("/", 1)[1]
    tampered = path[: -len(token)] + token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    assert client.get("/" + tampered).status_code == 404


def test_it_refuses_a_socket_frame_carrying_an_unsigned_file(chat):
    # Only the upload endpoint, after its checks, signs a file into a payload.
    frame = {
        "body": "",
        "client_id": "c1",
        "file": {
            "name": "x.svg",
            "content_type": "image/svg+xml",
            "data": base64.b64encode(SVG).decode(),
            "sig": "forged",
        },
    }
    with pytest.raises(MalformedError, match="not checked by this server"):
        parse_payload(json.dumps(frame).encode())


def test_it_replays_a_stored_upload_from_its_raw_payload(client, chat):
    answer = upload(client, chat, png(), client_id="replayed").json()
    raw = RawInbound.objects.get(provider_key__endswith=":replayed")
    Message.objects.filter(pk=answer["message"]).delete()
    RawInbound.objects.filter(pk=raw.pk).update(state=RawInbound.State.FAILED, message_id=None)

    assert replay([raw.pk]) == 1
    item = Attachment.objects.get()
    assert item.content_type == "image/png" and item.size == len(png())


def test_it_shows_the_picture_on_the_agents_ticket_page(client, chat, agent):
    answer = upload(client, chat, png(), name="broken-box.png").json()
    item = Attachment.objects.get(message_id=answer["message"])

    client.force_login(agent)
    page = client.get(f"/agent/tickets/{answer['ticket']}/")
    assert page.status_code == 200
    assert "broken-box.png" in page.content.decode()
    link = f"/agent/tickets/{answer['ticket']}/attachments/{item.pk}/"
    assert link in page.content.decode()
    served = client.get(link)
    assert served.status_code == 200 and served["Content-Type"] == "image/png"
    assert b"".join(served.streaming_content) == png()


def test_it_tells_the_widget_where_and_what_it_may_upload(client, chat):
    body = client.get(f"/widget/{chat.key}.js").content.decode()

    settings = json.loads(re.search(r"var S = (\{.*?\});\n", body).group(1))
    assert settings["uploads"] is True
    assert settings["upload_url"] == f"http://testserver/widget/{chat.key}/files"
    assert settings["upload_max_bytes"] == 50_000
    assert (
        "image/png" in settings["upload_types"] and "image/svg+xml" not in settings["upload_types"]
    )

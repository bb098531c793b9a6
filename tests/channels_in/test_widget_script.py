"""GET /widget/<key>.js: the widget's script with the inbox's public settings."""

import gzip
import json
import re

import pytest
from django.urls import reverse

from channels_in.inboxes import create_inbox, webhook_path
from channels_in.widgets import origin_allowed
from tickets.models import Channel

pytestmark = pytest.mark.django_db

SETTINGS_RE = re.compile(r"var S = (\{.*?\});\n")


def settings_in(body: str) -> dict:
    match = SETTINGS_RE.search(body)
    assert match, "the settings blob is not in the script"
    return json.loads(match.group(1))


def fetch(client, inbox, **extra):
    response = client.get(f"/widget/{inbox.key}.js", **extra)
    return response, response.content.decode()


def test_it_serves_the_script_with_javascript_type_and_short_public_caching(client, widget_inbox):
    response, body = fetch(client, widget_inbox)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/javascript; charset=utf-8"
    assert response["Cache-Control"] == "public, max-age=300"
    assert "attachShadow" in body and "/*@settings*/" not in body
    # The embed snippet's URL is the inbox's public path.
    assert webhook_path(widget_inbox) == f"/widget/{widget_inbox.key}.js"


def test_it_puts_the_public_settings_in_and_never_a_secret(client, team):
    inbox = create_inbox(
        channel=Channel.WIDGET,
        name="Sklep Kowalski",
        language="pl",
        team=team,
        config={
            "greeting": {"pl": "Cześć! Jak możemy pomóc?", "xx": "ignored"},
            "color": "#0F766E",
            "prechat": True,
            "self_service": True,
            "privacy_url": "https://shop.example/privacy",
            "allowed_origins": ["https://shop.example"],
        },
    )
    response, body = fetch(client, inbox)

    settings = settings_in(body)
    assert settings == {
        "key": inbox.key,
        "name": "Sklep Kowalski",
        "greeting": {"pl": "Cześć! Jak możemy pomóc?"},
        "color": "#0f766e",
        "language": "pl",
        "prechat": True,
        "self_service": True,
        "privacy_url": "https://shop.example/privacy",
        "uploads": False,
        "socket_url": f"ws://testserver/ws/widget/{inbox.key}/",
        "messages_url": f"http://testserver/widget/{inbox.key}/messages",
        "articles_url": f"http://testserver/widget/{inbox.key}/articles",
    }
    secret = inbox.secrets["identity_secret"]
    assert secret and secret not in body
    assert "secret" not in json.dumps(settings)


def test_it_derives_secure_urls_from_an_https_request(client, widget_inbox):
    _, body = fetch(client, widget_inbox, secure=True)

    settings = settings_in(body)
    assert settings["socket_url"].startswith("wss://testserver/ws/widget/")
    assert settings["messages_url"].startswith("https://testserver/widget/")


@pytest.mark.parametrize(
    "config, color, privacy_url, greeting",
    [
        ({}, "#2f54d6", None, {}),
        ({"color": "red", "privacy_url": "javascript:alert(1)"}, "#2f54d6", None, {}),
        ({"color": "#12345", "privacy_url": "//evil.example"}, "#2f54d6", None, {}),
        ({"color": "#abcdef;x", "greeting": "Hello!"}, "#2f54d6", None, dict.fromkeys(
            ("en", "pl", "cs"), "Hello!"
        )),
        ({"color": ["#123456"], "greeting": 42, "privacy_url": 7}, "#2f54d6", None, {}),
    ],
)  # fmt: skip
def test_it_validates_what_the_config_says(client, team, config, color, privacy_url, greeting):
    inbox = create_inbox(channel=Channel.WIDGET, name="Chat", team=team, config=config)
    _, body = fetch(client, inbox)

    settings = settings_in(body)
    assert (settings["color"], settings["privacy_url"]) == (color, privacy_url)
    assert settings["greeting"] == greeting
    assert settings["prechat"] is False and settings["uploads"] is False
    assert settings["self_service"] is False and "articles_url" not in settings


def test_it_escapes_a_hostile_inbox_name(client, team):
    hostile = "</script><script>alert(1)</script>"
    inbox = create_inbox(
        channel=Channel.WIDGET,
        name=hostile,
        team=team,
        config={"greeting": "<img src=x onerror=alert(2)> & more"},
    )
    _, body = fetch(client, inbox)

    assert "</script" not in body.lower()
    assert "<script" not in body.lower()
    assert "<img" not in body
    assert "\\u003C/script\\u003E" in body
    assert settings_in(body)["name"] == hostile  # the same text once parsed


def test_it_answers_404_with_a_javascript_comment_for_an_unknown_or_inactive_key(
    client, widget_inbox, inbox
):
    unknown = client.get("/widget/no-such-key.js")
    assert unknown.status_code == 404
    assert unknown["Content-Type"] == "application/javascript; charset=utf-8"
    assert unknown.content.decode().startswith("/*")

    # A test-channel inbox's key is not a widget.
    assert client.get(f"/widget/{inbox.key}.js").status_code == 404

    widget_inbox.is_active = False
    widget_inbox.save(update_fields=["is_active"])
    assert client.get(f"/widget/{widget_inbox.key}.js").status_code == 404


def test_it_refuses_a_post(client, widget_inbox):
    assert client.post(f"/widget/{widget_inbox.key}.js").status_code == 405


def test_it_stays_under_30_kb_gzipped(client, widget_inbox):
    response, _ = fetch(client, widget_inbox)

    size = len(gzip.compress(response.content, compresslevel=9))
    assert size <= 30 * 1024, f"the widget is {size} bytes gzipped"


def test_the_texts_are_in_english_polish_and_czech(client, widget_inbox):
    _, body = fetch(client, widget_inbox)

    for text in ("Open chat", "Otwórz czat", "Otevřít chat", "Přečteno", "Wyślij"):
        assert text in body


def test_agents_can_try_a_chat_as_its_visitors_see_it(client, widget_inbox, inbox, agent, settings):
    page = reverse("channels_in:widget_preview", args=[widget_inbox.pk])
    assert client.get(page).status_code == 302  # signed-in agents only
    client.force_login(agent)
    listing = client.get(reverse("channels_in:inboxes")).content.decode()
    assert page in listing
    body = client.get(page).content.decode()
    assert f'<script src="/widget/{widget_inbox.key}.js" async></script>' in body
    # The helpdesk's own origin may always embed its chats: the preview's socket is let in.
    assert origin_allowed(widget_inbox, settings.PUBLIC_BASE_URL)
    assert client.get(reverse("channels_in:widget_preview", args=[inbox.pk])).status_code == 404


def test_the_helpdesks_own_pages_may_use_the_chat_whatever_its_public_url(
    client, widget_inbox, settings
):
    settings.PUBLIC_BASE_URL = "https://helpdesk.example"
    url = reverse("channels_in:widget_messages", args=[widget_inbox.key])
    own = client.get(url, HTTP_ORIGIN="http://testserver")
    assert own.status_code == 200
    assert own["Access-Control-Allow-Origin"] == "http://testserver"
    # Another site still needs to be listed in allowed_origins.
    other = client.get(url, HTTP_ORIGIN="http://elsewhere.example")
    assert other.status_code == 403

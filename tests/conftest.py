"""Shared fixtures. Data is built through the real functions (create_inbox,
create_agent, ingest), never half-valid raw rows."""

from __future__ import annotations

import itertools
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from agents.accounts import create_agent
from channels_in.inboxes import create_inbox
from tickets.ingest import InboundMessage, SenderIdentity, ingest
from tickets.models import Channel, IdentityKind, Team

_ids = itertools.count(1)


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch):
    """Tests reach nothing beyond this machine."""
    real_connect = socket.socket.connect

    def guarded(self, address):
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and not (
            host.startswith("127.") or host in ("localhost", "::1") or host.startswith("/")
        ):
            raise RuntimeError(f"tests must not reach the network ({host})")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture(autouse=True)
def _fast_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate-limit counters and cached lookups start empty in every test."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _fresh_address_cache():
    """Each test's inboxes are the only ones: no addresses cached from an earlier test."""
    from channels_in.email.loops import forget_own_addresses

    forget_own_addresses()


@pytest.fixture
def compiled_locale(settings, tmp_path):
    """The pl and cs catalogs compiled into a temporary folder, so no install step is needed."""
    if not shutil.which("msgfmt"):
        pytest.fail("gettext (msgfmt) is needed to compile the catalogs: apt-get install gettext")
    for language in ("pl", "cs"):
        target = tmp_path / "locale" / language / "LC_MESSAGES"
        target.mkdir(parents=True)
        source = Path(settings.BASE_DIR) / "locale" / language / "LC_MESSAGES" / "django.po"
        subprocess.run(["msgfmt", "-o", str(target / "django.mo"), str(source)], check=True)
    settings.LOCALE_PATHS = [tmp_path / "locale"]  # also resets Django's translation caches


@pytest.fixture
def team(db):
    return Team.objects.get_or_create(name="Support")[0]


@pytest.fixture
def other_team(db):
    return Team.objects.get_or_create(name="Billing")[0]


@pytest.fixture
def inbox(db, team):
    return create_inbox(channel=Channel.TEST, name="Test inbox", team=team)


@pytest.fixture
def other_inbox(db, other_team):
    return create_inbox(channel=Channel.TEST, name="Billing inbox", team=other_team)


@pytest.fixture
def widget_inbox(db, team):
    return create_inbox(channel=Channel.WIDGET, name="Web chat", team=team)


@pytest.fixture
def agent(db, team):
    user, _ = create_agent(
        email="agnieszka@example.com",
        password="correct-horse",
        role="agent",
        team=team.name,
        name="Agnieszka Nowak",
    )
    return user


@pytest.fixture
def other_agent(db, other_team):
    user, _ = create_agent(
        email="tomas@example.com",
        password="correct-horse",
        role="agent",
        team=other_team.name,
        name="Tomáš Dvořák",
    )
    return user


@pytest.fixture
def manager(db):
    user, _ = create_agent(
        email="manager@example.com", password="correct-horse", role="manager", name="Maria Manager"
    )
    return user


@pytest.fixture
def receive(db):
    """receive(inbox, sender="jan@example.com", text="...", **fields) -> IngestResult."""

    def _receive(inbox, sender="jan@example.com", text="Dzień dobry, mam pytanie.", **fields):
        fields.setdefault("external_id", f"ext-{next(_ids)}")
        kind = fields.pop(
            "kind", IdentityKind.TEST if inbox.channel == Channel.TEST else inbox.channel
        )
        name = fields.pop("name", "Jan Kowalski")
        return ingest(
            InboundMessage(
                inbox_id=inbox.pk,
                channel=inbox.channel,
                sender=SenderIdentity(kind=kind, value=sender, name=name),
                text=text,
                **fields,
            )
        )

    return _receive


@pytest.fixture(autouse=True)
def _tasks_run_inline():
    """Tasks run in the test's thread; a real worker is tested where it matters."""
    from helpdesk.celery import app

    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager = False


@pytest.fixture
def email_inbox(db, team):
    return create_inbox(
        channel=Channel.EMAIL,
        name="Support",
        team=team,
        config={"address": "support@helpdesk.example", "from_name": "Acme Support"},
    )


@pytest.fixture
def post_email(client):
    """post_email(inbox, raw_bytes, token=None) -> the response of POST /inbound/email/<key>/."""

    def _post(inbox, raw: bytes, token: str | None = None):
        return client.post(
            f"/inbound/email/{inbox.key}/",
            data=raw,
            content_type="message/rfc822",
            HTTP_AUTHORIZATION=f"Bearer {token or inbox.secrets['token']}",
        )

    return _post


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server (aiosmtpd) on 127.0.0.1; .messages holds what it received.

    Django's SMTP backend is pointed at it for the test.
    """
    from tests.mailservers import RecordingSMTPServer

    server = RecordingSMTPServer()
    server.start()
    settings.EMAIL_BACKEND = "channels_in.email.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = server.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    yield server
    server.stop()


@pytest.fixture
def provider_api(settings):
    """Twilio's and Meta's APIs, stood in for by a recording HTTP server on 127.0.0.1."""
    from tests.providers import ProviderStub

    stub = ProviderStub().start()
    settings.TWILIO_API_BASE_URL = stub.base_url
    settings.META_GRAPH_API_BASE_URL = stub.base_url
    settings.MESSENGER_MEDIA_HOSTS = ["127.0.0.1"]
    yield stub
    stub.stop()

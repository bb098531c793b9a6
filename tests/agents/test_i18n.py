"""The agent UI speaks Polish and Czech, model choice labels included."""

import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.urls import reverse

from agents.models import Profile

pytestmark = pytest.mark.skipif(not shutil.which("msgfmt"), reason="gettext is not installed")

LOCALE = Path(django_settings.BASE_DIR) / "locale"


@pytest.mark.parametrize("language", ["pl", "cs"])
def test_the_catalog_is_complete(language):
    po = LOCALE / language / "LC_MESSAGES" / "django.po"
    result = subprocess.run(
        ["msgfmt", "--check", "--statistics", "-o", "/dev/null", str(po)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "untranslated" not in result.stderr and "fuzzy" not in result.stderr, result.stderr


@pytest.mark.parametrize(
    "language,expected",
    [
        ("pl", ["Skrzynka", "Nierozwiązane", "Nowe", "Wyloguj"]),
        ("cs", ["Schránka", "Nevyřešené", "Nový", "Odhlásit se"]),
    ],
)
def test_the_inbox_speaks_the_agents_language(
    client, compiled_locale, agent, inbox, receive, language, expected
):
    receive(inbox)
    Profile.objects.filter(user=agent).update(language=language)
    client.force_login(agent)

    html = client.get(reverse("agents:inbox")).content.decode()
    for text in expected:
        assert text in html


def test_the_ticket_timeline_lines_are_translated(client, compiled_locale, agent, inbox, receive):
    from tickets.changes import update_ticket

    ticket = receive(inbox).ticket
    update_ticket(ticket=ticket, actor=agent, status="pending", priority=4)
    Profile.objects.filter(user=agent).update(language="pl")
    client.force_login(agent)

    html = client.get(reverse("agents:ticket", args=[ticket.pk])).content.decode()
    assert "zmiana statusu z Nowe na Oczekujące" in html
    assert "zmiana priorytetu z Normalny na Pilny" in html
    assert "Wyślij i ustaw" in html


def test_a_workflow_error_reaches_a_polish_agent_in_polish(
    client, compiled_locale, agent, inbox, receive
):
    """Errors raised in tickets/ are translated into the agent's language, not shown in English."""
    ticket = receive(inbox).ticket
    inbox.is_active = False
    inbox.save()
    Profile.objects.filter(user=agent).update(language="pl")
    client.force_login(agent)

    data = {"text": "Dzień dobry", "channel": "test", "idempotency_key": "k", "action": "send"}
    html = client.post(reverse("agents:ticket_reply", args=[ticket.pk]), data).content.decode()
    assert "Brak aktywnej skrzynki w kanale Test" in html
    assert "No active" not in html

    only = ticket.messages.get()
    response = client.post(
        reverse("agents:ticket_split", args=[ticket.pk]), {"messages": [str(only.pk)]}
    )
    html = client.get(response["Location"]).content.decode()
    assert "musi zostać co najmniej jedna wiadomość" in html
    assert "at least one message" not in html

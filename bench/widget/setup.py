"""Prepare the widget bench's database: one chat inbox and its agents, logged in.

    DATABASE_URL=... .venv/bin/python bench/widget/setup.py --origin https://shop.bench.example \
        --agents 10 --out var/bench-widget/setup.json

Creates the inbox with `manage.py create_inbox widget` (team "Chat"), allows the origin the
load client sends, creates the agents with `manage.py create_agent` (role agent, team Chat,
availability Online) and a logged-in session for each (what the login form would leave:
the `sessionid` cookie the agent socket authenticates with). Writes what the client needs.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth import (  # noqa: E402
    BACKEND_SESSION_KEY,
    HASH_SESSION_KEY,
    SESSION_KEY,
    get_user_model,
)
from django.contrib.sessions.backends.db import SessionStore  # noqa: E402
from django.core.management import call_command  # noqa: E402

from agents.models import Availability, Profile  # noqa: E402
from tickets.models import Inbox  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--origin", required=True)
    parser.add_argument("--agents", type=int, default=10)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    out = io.StringIO()
    call_command("create_inbox", "widget", name="Bench chat", team="Chat", stdout=out)
    created = json.loads(out.getvalue())
    inbox = Inbox.objects.get(pk=created["id"])
    inbox.config = {**(inbox.config or {}), "allowed_origins": [args.origin]}
    inbox.save(update_fields=["config"])

    agents = []
    User = get_user_model()
    for n in range(1, args.agents + 1):
        email = f"chat{n:02d}@bench.example"
        out = io.StringIO()
        call_command(
            "create_agent",
            email,
            password="bench-password-1",
            team="Chat",
            name=f"Agent {n:02d}",
            stdout=out,
        )
        user = User.objects.get(pk=json.loads(out.getvalue())["id"])
        Profile.objects.filter(user=user).update(availability=Availability.ONLINE)
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        agents.append({"id": user.pk, "email": email, "sessionid": session.session_key})

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {"inbox_key": inbox.key, "inbox_id": inbox.pk, "origin": args.origin, "agents": agents},
            indent=2,
        )
    )
    print(f"bench: widget: inbox {inbox.key}, {len(agents)} agents")


if __name__ == "__main__":
    main()

"""The webhook bench's inboxes and returning senders, on the migrated, loaded database.

    DATABASE_URL=... .venv/bin/python bench/webhooks/setup.py --out var/bench-webhooks

Creates, with `manage.py create_inbox` as an operator would:
- an SMS inbox (Twilio account AC…, number +48500600700, a given auth token),
- a Messenger inbox (page 1234; the app secret is generated and printed),
- a test inbox (bearer token; only for trying the harness),
and writes their keys, paths and secrets to OUT/inboxes.json. Then picks, from the load
data, customers who already have a phone number (a valid E.164 one, as Twilio sends it) or
a Messenger id, to write again: OUT/returning.json.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PY = ROOT / ".venv" / "bin" / "python"
FROM_NUMBER = "+48500600700"
PAGE_ID = "1234"


def create(*args: str) -> dict:
    done = subprocess.run(
        [str(PY), "manage.py", "create_inbox", *args],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def returning(count: int) -> dict:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")
    import django

    django.setup()
    from tickets.models import Identity, IdentityKind
    from tickets.phones import to_e164

    phones = []
    # Only numbers a carrier would send: valid E.164, stored as such.
    candidates = (
        Identity.objects.filter(kind=IdentityKind.PHONE)
        .order_by("?")
        .values_list("value", flat=True)[: count * 20]
    )
    for value in candidates:
        if to_e164(value) == value:
            phones.append(value)
            if len(phones) == count:
                break
    psids = list(
        Identity.objects.filter(kind=IdentityKind.MESSENGER)
        .order_by("?")
        .values_list("value", flat=True)[:count]
    )
    return {"sms": phones, "messenger": psids}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--returning", type=int, default=1000)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    account_sid = "AC" + secrets.token_hex(16)
    auth_token = secrets.token_hex(16)
    sms = create(
        "sms",
        "--name",
        "Bench SMS",
        "--language",
        "pl",
        "--account-sid",
        account_sid,
        "--from-number",
        FROM_NUMBER,
        "--auth-token",
        auth_token,
    )
    messenger = create("messenger", "--name", "Bench Messenger", "--page-id", PAGE_ID)
    test = create("test", "--name", "Bench test")
    inboxes = {
        "sms": {
            "id": sms["id"],
            "key": sms["key"],
            "webhook_url": sms["webhook_url"],
            "account_sid": account_sid,
            "auth_token": sms["secrets"].get("auth_token", auth_token),
            "from_number": FROM_NUMBER,
        },
        "messenger": {
            "id": messenger["id"],
            "key": messenger["key"],
            "webhook_url": messenger["webhook_url"],
            "page_id": PAGE_ID,
            "app_secret": messenger["secrets"]["app_secret"],
        },
        "test": {
            "id": test["id"],
            "key": test["key"],
            "webhook_url": test["webhook_url"],
            "token": test["secrets"]["token"],
        },
    }
    (args.out / "inboxes.json").write_text(json.dumps(inboxes, indent=2))
    chosen = returning(args.returning)
    (args.out / "returning.json").write_text(json.dumps(chosen))
    print(
        f"bench: webhooks: inboxes sms {sms['webhook_url']}, messenger {messenger['webhook_url']}, "
        f"test {test['webhook_url']}; returning senders: {len(chosen['sms'])} phones, "
        f"{len(chosen['messenger'])} Messenger ids"
    )


if __name__ == "__main__":
    main()

"""The SQL statements one visitor message runs (receive_visitor_message), as the socket calls it.

    DATABASE_URL=... .venv/bin/python bench/widget/statements.py --setup S.json --out x.json

A new visitor's first message (it creates the customer and the ticket) and three follow-ups,
each captured with django.test.utils.CaptureQueriesContext; the after-commit subscribers run
inside the call (the commit is real), so their queries count too.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from channels_in.widgets import new_visitor, receive_visitor_message  # noqa: E402
from tickets.models import Inbox  # noqa: E402


def label(sql: str) -> str:
    verb = sql.split(" ", 1)[0]
    table = re.search(r"(?:FROM|INTO|UPDATE) \"?(\w+)", sql)
    return f"{verb} {table.group(1)}" if table and verb != "SAVEPOINT" else verb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--setup", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    inbox = Inbox.objects.get(key=json.loads(args.setup.read_text())["inbox_key"])
    visitor = new_visitor()
    runs = []
    for n in range(4):
        raw = json.dumps({"type": "message", "body": f"statements {n}", "client_id": f"sql-{n}"})
        with CaptureQueriesContext(connection) as captured:
            receive_visitor_message(inbox=inbox, visitor=visitor, ip="10.9.9.9", raw=raw.encode())
        runs.append([label(q["sql"]) for q in captured.captured_queries])
    follow = runs[1:]
    args.out.write_text(
        json.dumps(
            {
                "first": {"count": len(runs[0]), "sequence": runs[0]},
                "follow_up": {"count": max(len(r) for r in follow), "sequence": follow[-1]},
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()

"""Time django-helpdesk's import of a directory of .eml files, as its docs describe it.

    var/bench-djhelpdesk/venv/bin/python bench/email/djhelpdesk_project/import_mails.py \
        --mails var/bench-email/mails --warmup-mails var/bench-email/warm \
        --inbox-dir var/bench-djhelpdesk/maildir --out bench/out/email_djhelpdesk.json

Runs in django-helpdesk's own virtualenv (never ours: both packages are called `helpdesk`),
against the migrated database of djhd_settings. One Queue with email_box_type "local"
reads `--inbox-dir`; the mails are copied there and `manage.py get_email`
(helpdesk.email.process_email) imports them, deleting each file it turned into a ticket or
follow-up. A small warm-up batch goes first, through the same command, so imports and
template loading are not timed. Statements are counted (and timed) with a
connection.execute_wrapper, which costs far less than recording them.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import shutil
import sys
import time
from importlib.metadata import version
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "djhd_settings")

import django  # noqa: E402

django.setup()

from django.contrib.sites.models import Site  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Count  # noqa: E402
from helpdesk.models import (  # noqa: E402
    FollowUp,
    FollowUpAttachment,
    Queue,
    Ticket,
    TicketCC,
)

_TABLE = re.compile(r'(?:FROM|INTO|UPDATE)\s+"?(\w+)"?', re.IGNORECASE)


class Statements:
    """Counts and times every statement by kind (verb and first table)."""

    def __init__(self) -> None:
        self.by_kind: dict[str, list[float]] = {}

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            elapsed = time.perf_counter() - started
            verb = sql.lstrip().split(None, 1)[0].upper() if sql.strip() else "?"
            table = _TABLE.search(sql)
            where = ""
            if verb == "SELECT" and "message_id" in sql and "helpdesk_followup" in sql:
                where = " WHERE message_id = … (In-Reply-To lookup)"
            kind = f"{verb} {table.group(1) if table else ''}{where}".strip()
            slot = self.by_kind.setdefault(kind, [0, 0.0])
            slot[0] += 1
            slot[1] += elapsed

    @property
    def count(self) -> int:
        return sum(v[0] for v in self.by_kind.values())

    @property
    def seconds(self) -> float:
        return sum(v[1] for v in self.by_kind.values())


class Problems(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(f"{record.levelname} {record.getMessage()}"[:200])


def fill(inbox: Path, source: Path) -> int:
    if inbox.exists():
        shutil.rmtree(inbox)
    inbox.mkdir(parents=True)
    files = sorted(source.glob("*.eml"))
    for f in files:
        shutil.copyfile(f, inbox / f.name)
    return len(files)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mails", type=Path, required=True)
    parser.add_argument("--warmup-mails", type=Path)
    parser.add_argument("--warmup-count", type=int, default=50)
    parser.add_argument("--inbox-dir", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    Site.objects.update_or_create(pk=1, defaults={"domain": "127.0.0.1", "name": "bench"})
    queue, _ = Queue.objects.update_or_create(
        slug="support",
        defaults={
            "title": "Support",
            "email_address": "support@shop.example",
            "allow_email_submission": True,
            "email_box_type": "local",
            "email_box_local_dir": str(args.inbox_dir.resolve()),
            "email_box_interval": 0,
            "logging_type": "warn",
        },
    )
    problems = Problems()
    logging.getLogger().addHandler(problems)

    warm = 0
    if args.warmup_mails:
        if args.inbox_dir.exists():
            shutil.rmtree(args.inbox_dir)
        args.inbox_dir.mkdir(parents=True)
        for f in sorted(args.warmup_mails.glob("*.eml"))[: args.warmup_count]:
            shutil.copyfile(f, args.inbox_dir / f.name)
            warm += 1
        call_command("get_email")
    before = {
        "tickets": Ticket.objects.count(),
        "followups": FollowUp.objects.count(),
    }
    problems.records.clear()

    count = fill(args.inbox_dir, args.mails)
    statements = Statements()
    started = time.perf_counter()
    with connection.execute_wrapper(statements):
        call_command("get_email")
    elapsed = time.perf_counter() - started

    left = len(list(args.inbox_dir.glob("*.eml")))
    tickets = Ticket.objects.count() - before["tickets"]
    followups = FollowUp.objects.count() - before["followups"]
    threaded = (
        Ticket.objects.annotate(n=Count("followup")).filter(n__gt=1).count()
    )  # tickets a later mail was added to
    kinds = sorted(statements.by_kind.items(), key=lambda kv: -kv[1][1])
    result = {
        "version": version("django-helpdesk"),
        "django": django.get_version(),
        "mails": count,
        "warmup_mails": warm,
        "seconds": round(elapsed, 2),
        "mails_per_s": round(count / elapsed, 1),
        "ms_per_mail": round(elapsed * 1000 / count, 2),
        "statements": statements.count,
        "statements_per_mail": round(statements.count / count, 1),
        "sql_seconds": round(statements.seconds, 2),
        "sql_share": round(statements.seconds / elapsed, 3),
        "statement_kinds": [
            {
                "kind": kind,
                "count": n,
                "per_mail": round(n / count, 2),
                "ms_total": round(seconds * 1000, 1),
                "share_of_sql": round(seconds / max(statements.seconds, 1e-9), 3),
            }
            for kind, (n, seconds) in kinds[:12]
        ],
        "tickets_created": tickets,
        "followups_created": followups,
        "tickets_with_several_followups": threaded,
        "attachments_stored": FollowUpAttachment.objects.count(),
        "ticket_ccs": TicketCC.objects.count(),
        "files_left_unprocessed": left,
        "problems_logged": len(problems.records),
        "problem_samples": problems.records[:5],
        "queue": {"email_box_type": queue.email_box_type, "slug": queue.slug},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(
        f"bench: django-helpdesk {result['version']}: {count} mails in {result['seconds']} s = "
        f"{result['mails_per_s']}/s, {result['statements_per_mail']} statements per mail, "
        f"{tickets} tickets, {followups} follow-ups, {left} files left"
    )


if __name__ == "__main__":
    main()

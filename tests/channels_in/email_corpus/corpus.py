"""The mail corpus: files, their expected facts, placeholders, and the parse checks.

expected.json describes each mails/*.eml (see its "_about" and README.md).
Both test modules read it through here so they agree on what a fact means.
"""

from __future__ import annotations

import json
import unicodedata
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).parent
MAILS = HERE / "mails"
MANIFEST: dict[str, dict[str, Any]] = {
    name: entry
    for name, entry in json.loads((HERE / "expected.json").read_text(encoding="utf-8")).items()
    if not name.startswith("_")
}
MAIL_NAMES = sorted(p.name for p in MAILS.glob("*.eml"))

# Parsing needs no database: placeholders get fixed stand-ins there.
PARSE_TICKET_ID = 41
PARSE_MESSAGE_ID = 97
DOMAIN = "helpdesk.example"
MAX_ATTACHMENT_BYTES = 20_000


def raw_mail(name: str) -> bytes:
    return (MAILS / name).read_bytes()


def substitute(raw: bytes, values: dict[str, str]) -> bytes:
    for key, value in values.items():
        raw = raw.replace(("{{" + key + "}}").encode(), value.encode())
    return raw


def substitute_facts(facts: Any, values: dict[str, str]) -> Any:
    """The same placeholders in expected values (strings inside lists and dicts)."""
    if isinstance(facts, str):
        for key, value in values.items():
            facts = facts.replace("{{" + key + "}}", value)
        return facts
    if isinstance(facts, list):
        return [substitute_facts(item, values) for item in facts]
    if isinstance(facts, dict):
        return {key: substitute_facts(item, values) for key, item in facts.items()}
    return facts


def placeholder_values(ticket_id: int, message_id: int) -> dict[str, str]:
    from channels_in.email import threads

    return {
        "OUR_MESSAGE_ID": threads.message_id_for(
            ticket_id=ticket_id, message_id=message_id, domain=DOMAIN
        ),
        "TICKET_ID": str(ticket_id),
        "MARKER": threads.marker_for(ticket_id),
    }


def params(section: str) -> list:
    """pytest params for every mail with `section`; an `xfail` there (a known bug): strict xfail."""
    plain = []
    for name in MAIL_NAMES:
        entry = MANIFEST.get(name, {})
        if section in entry:
            reason = entry[section].get("xfail")
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            plain.append(pytest.param(name, id=name.removesuffix(".eml"), marks=marks))
    return plain


def has_c1_controls(text: str) -> bool:
    return any(unicodedata.category(ch) == "Cc" and "\x80" <= ch <= "\x9f" for ch in text)


def check_parsed(mail: Any, facts: dict[str, Any]) -> None:
    """Assert each fact of expected.json's "parse" on a ParsedEmail."""
    for key, want in facts.items():
        if key in ("reason", "raises"):
            continue
        if key == "from":
            assert mail.from_address == want, key
        elif key == "from_name":
            assert mail.from_name == want, key
        elif key == "subject":
            assert mail.subject == want, key
        elif key == "subject_startswith":
            assert mail.subject.startswith(want), key
        elif key == "message_id":
            assert mail.message_id == want, key
        elif key == "message_id_length":
            assert len(mail.message_id) == want, key
        elif key == "date":
            assert (mail.date.isoformat() if mail.date else None) == want, key
        elif key == "language":
            assert mail.language == want, key
        elif key == "thread_index":
            assert mail.thread_index == want, key
        elif key == "in_reply_to":
            assert list(mail.in_reply_to) == want, key
        elif key == "references":
            assert list(mail.references) == want, key
        elif key == "references_count":
            assert len(mail.references) == want, key
        elif key == "thread_hints_first":
            assert mail.thread_hints and mail.thread_hints[0] == want, key
        elif key == "cc":
            assert [address for _name, address in mail.cc] == want, key
        elif key == "to_count":
            assert len(mail.to) == want, key
        elif key == "text":
            assert mail.text == want, key
        elif key == "html":
            assert mail.html == want, key
        elif key == "text_contains":
            for part in want:
                assert part in mail.text, f"text lacks {part!r}: {mail.text[:500]!r}"
        elif key == "text_not_contains":
            for part in want:
                assert part not in mail.text, f"text has {part!r}"
        elif key == "text_has_no_c1_controls":
            assert not has_c1_controls(mail.text), repr(mail.text)
        elif key == "html_contains":
            for part in want:
                assert part in mail.html, f"html lacks {part!r}"
        elif key == "html_not_contains":
            for part in want:
                assert part not in mail.html, f"html has {part!r}"
        elif key == "attachments":
            assert len(mail.attachments) == len(want), [a.filename for a in mail.attachments]
            for got, expected in zip(mail.attachments, want, strict=True):
                check_attachment(got, expected)
        elif key == "attachment_count":
            assert len(mail.attachments) == want, key
        elif key == "skipped":
            got = [
                {"filename": s.filename, "reason": s.reason, "size": s.size} for s in mail.skipped
            ]
            assert got == want, key
        elif key == "automated":
            assert mail.automated == want, key
        elif key == "delivery_status":
            if want is None:
                assert mail.delivery_status is None, key
            else:
                assert mail.delivery_status is not None, key
                for field, value in want.items():
                    assert getattr(mail.delivery_status, field) == value, field
        elif key == "defects_contain":
            for defect in want:
                assert defect in mail.defects, mail.defects
        else:
            raise AssertionError(f"unknown parse fact {key!r} in expected.json")


def check_attachment(got: Any, want: dict[str, Any]) -> None:
    """One attachment (ParsedAttachment or a stored Attachment) against its facts."""
    for field, value in want.items():
        if field == "filename_length":
            assert len(got.filename) == value, got.filename
        elif field == "content_contains":
            assert value.encode() in got.content, field
        elif field == "size" and hasattr(got, "content"):
            assert len(got.content) == value, (field, len(got.content))
        else:
            assert getattr(got, field) == value, (field, getattr(got, field))


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None

"""Every corpus mail through parse_email(): no database, facts from expected.json."""

from __future__ import annotations

import pytest

from channels_in.email.parse import UnparseableEmailError, parse_email

from .corpus import (
    MAIL_NAMES,
    MANIFEST,
    MAX_ATTACHMENT_BYTES,
    PARSE_MESSAGE_ID,
    PARSE_TICKET_ID,
    check_parsed,
    params,
    placeholder_values,
    raw_mail,
    substitute,
    substitute_facts,
)
from .generate import build_all

PARSED = params("parse")
VALUES = placeholder_values(PARSE_TICKET_ID, PARSE_MESSAGE_ID)


def parse(name: str):
    raw = substitute(raw_mail(name), VALUES)
    return parse_email(raw, max_attachment_bytes=MAX_ATTACHMENT_BYTES)


def test_it_has_a_corpus_of_at_least_60_mails_each_described():
    assert len(MAIL_NAMES) >= 60
    assert set(MANIFEST) == set(MAIL_NAMES), set(MANIFEST) ^ set(MAIL_NAMES)
    for name, entry in MANIFEST.items():
        assert entry.get("scenario"), name
        assert "parse" in entry and "ingest" in entry, name
        for earlier in entry["ingest"].get("after", []):
            assert earlier in MANIFEST, (name, earlier)


def test_it_keeps_the_generated_mails_as_the_script_writes_them():
    for name, raw in build_all().items():
        assert raw_mail(name) == raw, f"{name}: run tests/channels_in/email_corpus/generate.py"


def test_it_gives_each_mail_its_own_message_id():
    # Sequences post several mails into one inbox: only intended duplicates may share an id.
    seen: dict[str, str] = {}
    for name in MAIL_NAMES:
        if MANIFEST[name]["parse"].get("raises"):
            continue
        message_id = parse(name).message_id
        if not message_id:
            continue
        ingest = MANIFEST[name]["ingest"]
        if ingest["outcome"] == "duplicate":
            assert seen.get(message_id) == ingest["as"], name
            continue
        assert message_id not in seen, (name, seen.get(message_id))
        seen[message_id] = name


@pytest.mark.parametrize("name", PARSED)
def test_it_parses_the_mail(name):
    facts = substitute_facts(MANIFEST[name]["parse"], VALUES)
    if facts.get("raises"):
        with pytest.raises(UnparseableEmailError):
            parse(name)
        return
    check_parsed(parse(name), facts)

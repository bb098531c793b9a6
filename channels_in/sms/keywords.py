"""The words a texter uses to opt out of, back into, or ask about our messages.

Twilio's default opt-out keywords (Advanced Opt-Out): Twilio itself stops
delivering to a number that texts one of the STOP words and answers it; we
record the same, so an agent sees why a reply cannot go before writing it.
A keyword counts only as the whole message, trimmed, in any case: "Stop the
delivery!" is a customer's sentence, not an opt-out.
"""

from __future__ import annotations

STOP = "stop"
START = "start"
HELP = "help"

WORDS: dict[str, frozenset[str]] = {
    STOP: frozenset(
        {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"}
    ),
    START: frozenset({"START", "YES", "UNSTOP"}),
    HELP: frozenset({"HELP", "INFO"}),
}


def keyword_of(body: str) -> str | None:
    """STOP, START or HELP when the whole message is one of its words, else None."""
    word = body.strip().upper()
    for keyword, words in WORDS.items():
        if word in words:
            return keyword
    return None

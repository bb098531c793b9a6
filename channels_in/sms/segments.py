"""How many SMS segments a text takes, and in which encoding: the reference.

The reply box shows the same count as the agent types (its JavaScript twin
follows this module; when they disagree, this one is right). The rules, from
GSM 03.38 and 3GPP TS 23.040:

- A text made only of the GSM 7-bit default alphabet goes as GSM-7. Each
  character of the basic set is one septet; each of the extension table
  (``^ { } \\ [ ] ~ | €`` and form feed) is two, an escape and the character.
  One message holds 160 septets; a longer text is split into parts of 153
  (7 septets go to the header that joins the parts).
- Any other character, a single "ą", "ř" or emoji among them, sends the whole
  text as UCS-2: 70 UTF-16 code units in one message, 67 per part. A character
  outside the Basic Multilingual Plane (most emoji) is two code units.
- A part never ends halfway through a character: an escape and its character,
  or the two halves of a surrogate pair, stay in one part (so a long text can
  take one part more than units / per_segment).

Not modelled: national language shift tables (Turkish, Portuguese, ...) and
Twilio's optional Smart Encoding, which swaps look-alikes (curly quotes) for
GSM characters before sending; both only ever lower the count.
"""

from __future__ import annotations

from dataclasses import dataclass

GSM_7 = "GSM-7"
UCS_2 = "UCS-2"

# The basic character set, in code order (0x1B, the escape, is not a character).
GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ"
    " !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# The extension table: each costs two septets (escape + character).
GSM_EXTENSION = frozenset("^{}\\[~]|€\f")

SINGLE = {GSM_7: 160, UCS_2: 70}
PER_PART = {GSM_7: 153, UCS_2: 67}


@dataclass(frozen=True)
class Segments:
    encoding: str  # "GSM-7" or "UCS-2"
    # Septets (GSM-7) or UTF-16 code units (UCS-2) the text takes.
    units: int
    # Messages the text goes as; 0 for an empty text.
    count: int
    # Units one message holds: 160 / 70 for a single one, 153 / 67 per part.
    per_segment: int
    # The characters that forced UCS-2, each once, in order of appearance.
    non_gsm_chars: tuple[str, ...] = ()


def segments(text: str) -> Segments:
    """The encoding, length and segment count of `text` as an SMS."""
    non_gsm = tuple(dict.fromkeys(c for c in text if c not in GSM_BASIC and c not in GSM_EXTENSION))
    encoding = UCS_2 if non_gsm else GSM_7
    costs = [_cost(c, encoding) for c in text]
    units = sum(costs)
    if units <= SINGLE[encoding]:
        return Segments(encoding, units, 1 if units else 0, SINGLE[encoding], non_gsm)
    per_part = PER_PART[encoding]
    count, used = 1, 0
    for cost in costs:
        if used + cost > per_part:
            count, used = count + 1, 0
        used += cost
    return Segments(encoding, units, count, per_part, non_gsm)


def _cost(char: str, encoding: str) -> int:
    if encoding == UCS_2:
        return 2 if ord(char) > 0xFFFF else 1
    return 2 if char in GSM_EXTENSION else 1

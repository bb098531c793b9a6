"""Text folding for article search: one normal form for what is stored and what is typed.

Customers type Polish and Czech without diacritics ("vraceni zbozi", "haslo"), in
any case and in any inflected form, so both sides are folded the same way:
lower case, accents stripped, punctuation gone, words separated by one space.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

# Letters NFKD leaves whole because they are not "letter + accent" in Unicode.
_UNDECOMPOSED = str.maketrans(
    {"ł": "l", "đ": "d", "ø": "o", "æ": "ae", "œ": "oe", "ı": "i", "ħ": "h", "þ": "th"}
)
# Letters and digits; "_" counts as a word character for \w, not for us.
_WORD = re.compile(r"[^\W_]+")
# The same, in text that may still carry combining accents (decomposed input).
_RAW_WORD = re.compile(r"(?:[^\W_]|[\u0300-\u036f])+")

STEM_LENGTH = 5
# Shorter words are never searched for: a query needs three letters to mean anything.
MIN_WORD_CHARS = 3


def normalize(text: str) -> str:
    """Fold `text` to lower-case ASCII-ish words separated by single spaces.

    "Vrácení zboží!" -> "vraceni zbozi", "Hasło" -> "haslo", "e-mail" -> "e mail".
    """
    folded = unicodedata.normalize("NFKD", text.casefold().translate(_UNDECOMPOSED))
    stripped = "".join(c for c in folded if not unicodedata.combining(c))
    return " ".join(_WORD.findall(stripped))


def meaningful_words(text: str) -> list[str]:
    """The normalized words of `text` a search can use: stop words and short words left out."""
    return [w for w in normalize(text).split() if len(w) >= MIN_WORD_CHARS and w not in STOP_WORDS]


def find_words(text: str) -> Iterator[tuple[int, str]]:
    """Each word of `text` as (offset in `text`, normalized word), to map matches back."""
    for match in _RAW_WORD.finditer(text):
        yield match.start(), normalize(match.group())


def stem(word: str) -> str:
    """The prefix that inflected forms of a normalized `word` share, near enough.

    Polish and Czech inflect mostly at the end of a word ("towar", "towaru";
    "reklamace", "reklamaci"), so longer words are compared on their first five
    letters and five-letter words on four; short words are kept whole.
    """
    if len(word) > STEM_LENGTH:
        return word[:STEM_LENGTH]
    if len(word) == STEM_LENGTH:
        return word[: STEM_LENGTH - 1]
    return word


# Words that say nothing about what the customer needs, in en, pl and cs, as typed
# (folded below). One list for all three: a visitor does not always write in the
# language the widget is set to. Greetings belong here too: chat messages start with them.
_STOP_WORDS_AS_WRITTEN = """
a about after again all also am an and any are as at be been before being but by can
could did do does doing done for from get got had has have having hello help her here hey
hi him his how i if in into is it its just me might more my need no not now of on or our
please so some still than thank thanks that the their them then there these they this
those to too us very want was we were what when where which while who why will with
would yes you your question questions

aby ale albo ani bardzo bez bo by być chcę chciałabym chciałbym chciałem chciałam co czy
czyli dla dlaczego do dobry dzień dziękuję dzięki gdy gdzie i ich ile jak jaka jaki jakie
jednak jest jestem jeszcze już kiedy kto która które który lub ma mam mi mnie moja moje
mogę może można mój na nad nie nic niż o od oraz po pod proszę przez przy się są ta tak
tam te tego ten też to tu tylko w we witam wszystko z za ze że żeby pytanie pytania

aby ale ani asi bude by bych být co či další den děkuji do dobrý dobrého jak jaké jaký je
jsem jsi jsme jsou již já k kde kdy když kolik která které který mám mi mně mohu moje
můj může můžu na nebo než o od pak po pro prosím proč před při s se si tak také tam ten
to tu u už v ve z za zda že chci chtěl chtěla chtěli potřebuji dotaz dotazy otázka otázku
"""
STOP_WORDS: frozenset[str] = frozenset(normalize(_STOP_WORDS_AS_WRITTEN).split())

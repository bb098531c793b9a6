"""Segment counting, the reference the reply box's counter follows. No database."""

import pytest

from channels_in.sms.segments import GSM_7, UCS_2, segments


@pytest.mark.parametrize(
    "text, encoding, units, count, per_segment",
    [
        ("", GSM_7, 0, 0, 160),
        ("a" * 160, GSM_7, 160, 1, 160),
        ("a" * 161, GSM_7, 161, 2, 153),
        ("a" * 306, GSM_7, 306, 2, 153),
        ("a" * 307, GSM_7, 307, 3, 153),
        ("Dzień dobry", UCS_2, 11, 1, 70),
        ("ą" * 70, UCS_2, 70, 1, 70),
        ("ą" * 71, UCS_2, 71, 2, 67),
        ("Řeknu vám to zítra", UCS_2, 18, 1, 70),
        # The extension table costs two septets each: escape + character.
        ("Cena: 20 €", GSM_7, 11, 1, 160),
        ("[ok]", GSM_7, 6, 1, 160),
        ("€" * 80, GSM_7, 160, 1, 160),
        ("€" * 81, GSM_7, 162, 2, 153),
        # GSM-7's own accented letters stay GSM-7.
        ("Ça coûte 5 £ à Zürich", UCS_2, 21, 1, 70),
        ("Ça va à Århus? Ñ Ü ß É", GSM_7, 22, 1, 160),
        # Emoji outside the BMP are two UTF-16 code units.
        ("👍" * 35, UCS_2, 70, 1, 70),
        ("👍" * 36, UCS_2, 72, 2, 67),
    ],
)
def test_it_counts_segments(text, encoding, units, count, per_segment):
    result = segments(text)

    assert (result.encoding, result.units, result.count, result.per_segment) == (
        encoding,
        units,
        count,
        per_segment,
    )


def test_it_names_the_characters_that_force_ucs2_once_each_in_order():
    assert segments("Zażółć gęślą jaźń").non_gsm_chars == tuple("żółćęśąźń")
    assert segments("Plain ASCII [with] {braces}").non_gsm_chars == ()


def test_a_part_never_splits_an_escape_or_a_surrogate_pair():
    # 306 septets would fill two parts of 153 exactly, but "€" (escape + €) does
    # not fit in the one septet left after 152: it opens part two, and the last
    # "a" spills into a third.
    assert segments("a" * 152 + "€" + "a" * 152).units == 306
    assert segments("a" * 152 + "€" + "a" * 152).count == 3
    assert segments("a" * 152 + "€" + "a" * 151).count == 2
    # The same with an emoji's two UTF-16 halves after 66 of 67 code units.
    assert segments("ą" * 66 + "👍" + "ą" * 66).units == 134
    assert segments("ą" * 66 + "👍" + "ą" * 66).count == 3
    assert segments("ą" * 66 + "👍" + "ą" * 65).count == 2

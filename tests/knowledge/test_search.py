import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from knowledge.search import (
    EXCERPT_CHARS,
    Suggestion,
    article_for_reader,
    article_titles,
    suggest_articles,
)

pytestmark = pytest.mark.django_db


def titles(query, language, **kwargs):
    return [s.title for s in suggest_articles(query, language=language, **kwargs)]


@pytest.mark.parametrize(
    "language, query, expected",
    [
        # Polish: inflected, without diacritics, in capitals, half typed.
        ("pl", "zwrócić towar", "Zwrot towaru"),
        ("pl", "zwrotu towaru", "Zwrot towaru"),
        ("pl", "ZWROT TOW", "Zwrot towaru"),
        ("pl", "haslo", "Resetowanie hasła do konta"),
        ("pl", "Nie pamiętam hasła", "Resetowanie hasła do konta"),
        ("pl", "chcę złożyć reklamację", "Reklamacja wadliwego lub uszkodzonego towaru"),
        ("pl", "gdzie jest moja paczka", "Gdzie jest moja paczka? Śledzenie zamówienia"),
        ("pl", "ile kosztuje dostawa", "Czas i koszt dostawy"),
        ("pl", "jak anulowac zamowienie", "Zmiana lub anulowanie zamówienia"),
        ("pl", "platnosc blikiem", "Metody płatności"),
        # Czech
        ("cs", "vraceni zbozi", "Vrácení zboží"),
        ("cs", "Chtěla bych vrátit zboží", "Vrácení zboží"),
        ("cs", "reklamaci", "Reklamace vadného nebo poškozeného zboží"),
        ("cs", "zapomnel jsem heslo", "Obnovení zapomenutého hesla"),
        ("cs", "kolik stoji doprava", "Doprava: doba a cena doručení"),
        ("cs", "zrušení objednávky", "Změna nebo zrušení objednávky"),
        # English
        ("en", "How do I track my order?", "Where is my order? Tracking your parcel"),
        ("en", "refund", "Returns and refunds"),
        ("en", "cancelling", "Changing or cancelling an order"),
        ("en", "forgot password", "Resetting your password"),
        ("en", "Do you ship to Slovakia?", "Delivery times and costs"),
    ],
)
def test_it_finds_the_article_a_customer_means(demo_articles, language, query, expected):
    suggestions = suggest_articles(query, language=language)

    assert suggestions, query
    assert suggestions[0].title == expected
    assert all(s.language == language for s in suggestions)


@pytest.mark.parametrize(
    "query",
    ["", "   ", "ok", "a b", "?!%_", "jak to", "How do I do this?", "Dobrý den", "Dzień dobry!"],
)
def test_it_suggests_nothing_for_stop_words_or_too_little_text(demo_articles, query):
    with CaptureQueriesContext(connection) as queries:
        assert suggest_articles(query, language="pl") == []
    assert len(queries) == 0


def test_it_never_shows_unpublished_articles(write_article):
    draft = write_article("Zwrot towaru", "Jak zwrócić towar.", language="pl", is_published=False)

    assert suggest_articles("zwrot towaru", language="pl") == []
    assert article_for_reader(draft.pk) is None
    assert article_titles([draft.pk]) == {}


def test_it_prefers_the_visitors_language_and_falls_back_only_when_nothing_matches(
    write_article,
):
    en = write_article("Paying with Apple Pay", "Apple Pay works in the basket.", language="en")
    cs = write_article("Platba přes Apple Pay", "Apple Pay funguje v košíku.", language="cs")

    assert [s.id for s in suggest_articles("apple pay", language="cs")] == [cs.pk]
    assert [s.id for s in suggest_articles("apple pay", language="en")] == [en.pk]
    # Nothing in Polish mentions it: the other languages are better than nothing.
    fallback = suggest_articles("apple pay", language="pl")
    assert {s.id for s in fallback} == {en.pk, cs.pk}


def test_title_matches_rank_above_body_matches(write_article):
    write_article(
        "Shipping abroad",
        "We ship to Slovakia and Austria.\n\nParcels to Slovakia take three days.",
    )
    titled = write_article("Slovakia", "Everything about orders from abroad.")

    assert suggest_articles("slovakia", language="en")[0].id == titled.pk


def test_more_of_the_query_found_ranks_higher(write_article):
    write_article("Parcel lockers", "Pick your parcel up at any time.")
    both = write_article("Changing the parcel locker", "Change the address of a parcel locker.")
    write_article("Changing your address", "Change your address in the account.")

    assert suggest_articles("change parcel locker", language="en")[0].id == both.pk


def test_the_excerpt_comes_from_the_part_that_matched(write_article):
    write_article(
        "Delivery",
        "Orders placed by 2 p.m. leave the same day.\n\n"
        "Delivery options:\n- Courier: €4.90\n- Parcel locker: €2.90\n\n"
        "We also ship abroad.",
    )

    (suggestion,) = suggest_articles("parcel locker", language="en")

    assert suggestion == Suggestion(
        id=suggestion.id, title="Delivery", excerpt="Parcel locker: €2.90", language="en"
    )


def test_a_long_excerpt_is_cut_around_the_match(write_article):
    filler = "Our warehouse packs every order with care and checks it twice. " * 4
    write_article(
        "Returns",
        f"Short intro.\n\n{filler}Refunds to a card take three to five working days. {filler}",
    )

    (suggestion,) = suggest_articles("refund card", language="en")

    assert len(suggestion.excerpt) <= EXCERPT_CHARS
    assert suggestion.excerpt.startswith("…Refunds to a card take three to five working days.")
    assert suggestion.excerpt.endswith("…")


def test_the_excerpt_is_the_opening_when_only_the_title_matched(write_article):
    write_article("Gift cards", "Buy them in any amount.\n\nThey never expire.")

    assert suggest_articles("gift card", language="en")[0].excerpt == "Buy them in any amount."


def test_hostile_queries_are_bounded_and_taken_literally(write_article):
    write_article("100% cotton_shirts", "Wash at 30 degrees.")

    assert suggest_articles("%%% ___ .* [a-z]+ \\", language="en") == []
    assert suggest_articles("cotton " * 10_000, language="en")[0].title == "100% cotton_shirts"
    assert suggest_articles("' OR 1=1 --", language="en") == []


def test_the_limit_is_respected(demo_articles):
    assert len(suggest_articles("zamówienie", language="pl", limit=2)) == 2
    assert suggest_articles("zamówienie", language="pl", limit=0) == []


def test_suggesting_takes_one_query_however_many_articles(write_article):
    def write(numbers):
        for number in numbers:
            write_article(f"Return number {number}", f"How to return order {number} for a refund.")

    def count_queries():
        with CaptureQueriesContext(connection) as queries:
            assert len(suggest_articles("return refund order", language="en")) == 3
        return len(queries)

    write(range(5))
    with_five = count_queries()
    write(range(5, 50))

    assert count_queries() == with_five == 1


def test_the_reader_gets_paragraphs_and_lists(write_article):
    article = write_article(
        "Payment methods",
        "You can pay in any of these ways:\n"
        "- by card,\n"
        "- by bank transfer, and we ship\n"
        "  once the money arrives.\n"
        "\n\n"
        "Card payments are confirmed\nat once.\r\n\r\n"
        "- Cash on delivery",
    )

    assert article_for_reader(article.pk) == {
        "id": article.pk,
        "title": "Payment methods",
        "language": "en",
        "paragraphs": [
            {"kind": "p", "text": "You can pay in any of these ways:"},
            {
                "kind": "ul",
                "items": ["by card,", "by bank transfer, and we ship once the money arrives."],
            },
            {"kind": "p", "text": "Card payments are confirmed at once."},
            {"kind": "ul", "items": ["Cash on delivery"]},
        ],
    }
    for missing in (article.pk + 1000, 10**30, -1, "1 OR 1=1", None):
        assert article_for_reader(missing) is None


def test_titles_come_in_one_query(write_article, django_assert_num_queries):
    a = write_article("Returns", "How to return.")
    b = write_article("Refunds", "How refunds work.", language="pl")
    hidden = write_article("Draft", "Not yet.", is_published=False)

    with django_assert_num_queries(1):
        assert article_titles(iter([a.pk, b.pk, hidden.pk, 999_999, 10**30])) == {
            a.pk: "Returns",
            b.pk: "Refunds",
        }
    with django_assert_num_queries(0):
        assert article_titles([]) == {}

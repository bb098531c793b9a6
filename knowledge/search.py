"""Article suggestions while a visitor types, and articles as the chat widget shows them.

The database narrows the published articles to those containing a word that
starts with one of the query's stems (one query, capped); Python ranks that
handful: title matches above body matches, whole words above stems, articles in
the visitor's language first and the others only when none of those matches.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from math import ceil

from django.db.models import Case, F, Q, Value, When
from django.db.models.functions import Left, StrIndex
from django.db.models.lookups import GreaterThan

from knowledge.models import TITLE_END, Article, body_blocks
from knowledge.text import find_words, meaningful_words, normalize, stem

# Query text comes from an anonymous visitor: bounded before any work is done.
MAX_QUERY_CHARS = 200
MAX_TERMS = 6
# Enough to rank well, few enough that ranking stays well under a millisecond each.
MAX_CANDIDATES = 50
EXCERPT_CHARS = 160
TITLE_WEIGHT = 4


@dataclass(frozen=True)
class Suggestion:
    id: int
    title: str
    excerpt: str  # plain text, at most EXCERPT_CHARS, from the part of the body that matched best
    language: str


@dataclass(frozen=True)
class _Term:
    word: str  # as typed, folded
    stem: str


def suggest_articles(query: str, *, language: str, limit: int = 3) -> list[Suggestion]:
    """Up to `limit` published articles for what the visitor has typed so far.

    Articles in `language` come first; others only when nothing in `language`
    matches. A query with fewer than three meaningful characters (stop words
    left out) gives []. One database query, whatever the number of articles.
    """
    terms = _terms(query)
    if not terms or limit <= 0:
        return []
    scored = [(_score(terms, row[4]), row) for row in _candidates(terms, language=language)]
    pool = [(score, row) for score, row in scored if row[3] == language] or scored
    pool.sort(key=lambda scored_row: (-scored_row[0], scored_row[1][1]))
    return [
        Suggestion(id=pk, title=title, excerpt=_excerpt(body, terms), language=lang)
        for _, (pk, title, body, lang, _search_text) in pool[:limit]
    ]


def article_for_reader(article_id: int) -> dict | None:
    """A published article as the widget shows it, or None if missing or unpublished.

    {"id", "title", "language", "paragraphs": [{"kind": "p", "text"} | {"kind": "ul", "items"}]}
    """
    pk = _article_id(article_id)
    if pk is None:
        return None
    article = (
        Article.objects.filter(pk=pk, is_published=True)
        .only("id", "title", "language", "body")
        .first()
    )
    if article is None:
        return None
    return {
        "id": article.pk,
        "title": article.title,
        "language": article.language,
        "paragraphs": article.paragraphs(),
    }


def article_titles(ids: Iterable[int]) -> dict[int, str]:
    """Titles of the published articles among `ids`, in one query (none for no ids)."""
    wanted = {pk for pk in map(_article_id, ids) if pk is not None}
    if not wanted:
        return {}
    return dict(
        Article.objects.filter(pk__in=wanted, is_published=True)
        .order_by()
        .values_list("id", "title")
    )


def _article_id(value: object) -> int | None:
    """`value` as an article id, or None: ids arrive from the widget's socket, and
    SQLite raises on integers beyond 64 bits instead of finding nothing."""
    try:
        pk = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None
    return pk if 0 < pk < 2**63 else None


def _terms(query: str) -> list[_Term]:
    """The query's meaningful words, one per stem, the longest MAX_TERMS in typed order."""
    by_stem: dict[str, str] = {}
    for word in meaningful_words(query[:MAX_QUERY_CHARS]):
        by_stem.setdefault(stem(word), word)
    longest = set(sorted(by_stem.values(), key=len, reverse=True)[:MAX_TERMS])
    return [_Term(word=word, stem=s) for s, word in by_stem.items() if word in longest]


def _candidates(terms: list[_Term], *, language: str) -> list[tuple[int, str, str, str, str]]:
    """Published articles with words starting with enough of the stems, best first, capped.

    The ordering here only decides which rows make the cap (in-language first,
    then stems found, title hits counting more); _score() ranks them properly.
    strpos/instr rather than LIKE: the same answer, measured 2-4x faster on
    PostgreSQL, and no pattern syntax for the visitor's text to reach.
    """
    title = Left("search_text", StrIndex("search_text", Value(TITLE_END)))
    any_stem = Q()
    found: list[Case] = []
    in_title: list[Case] = []
    for term in terms:
        needle = Value(f" {term.stem}")
        in_text = GreaterThan(StrIndex("search_text", needle), 0)
        any_stem |= Q(in_text)
        found.append(Case(When(in_text, then=1), default=0))
        in_title.append(Case(When(GreaterThan(StrIndex(title, needle), 0), then=1), default=0))
    articles = Article.objects.filter(any_stem, is_published=True).alias(
        found=sum(found[1:], found[0]),
        in_title=sum(in_title[1:], in_title[0]),
        in_language=Case(When(language=language, then=1), default=0),
    )
    if len(terms) > 2:
        # A longer query needs about half its words in an article.
        articles = articles.filter(found__gte=ceil(len(terms) / 2))
    return list(
        articles.order_by(
            F("in_language").desc(), (F("in_title") * TITLE_WEIGHT + F("found")).desc(), "id"
        ).values_list("id", "title", "body", "language", "search_text")[:MAX_CANDIDATES]
    )


def _strength(term: _Term, padded: str) -> float:
    """How well `term` matches folded words " like these ": whole word, as typed, or stem."""
    if f" {term.word} " in padded:
        return 1.0
    if f" {term.word}" in padded:
        return 0.9
    if f" {term.stem}" in padded:
        return 0.7
    return 0.0


def _score(terms: list[_Term], search_text: str) -> float:
    title, _, body = search_text.partition(TITLE_END)
    title, body = f"{title} ", f"{body} "
    return sum(TITLE_WEIGHT * _strength(t, title) + _strength(t, body) for t in terms)


def _excerpt(body: str, terms: list[_Term]) -> str:
    """At most EXCERPT_CHARS of the paragraph or list item that matches the terms best."""
    passages: list[str] = []
    for block in body_blocks(body):
        passages.extend(block["items"] if block["kind"] == "ul" else [block["text"]])
    if not passages:
        return ""
    scores = [sum(_strength(t, f" {normalize(p)} ") for t in terms) for p in passages]
    best = passages[scores.index(max(scores))]
    return _window(best, terms)


def _window(passage: str, terms: list[_Term]) -> str:
    """`passage` cut to EXCERPT_CHARS at word boundaries, keeping the first match in view."""
    if len(passage) <= EXCERPT_CHARS:
        return passage
    match = next(
        (
            offset
            for offset, word in find_words(passage)
            if any(word.startswith(t.stem) for t in terms)
        ),
        0,
    )
    begin = 0
    if match > EXCERPT_CHARS * 2 // 3:
        # Start at the sentence holding the match, or a few words before it.
        sentence = max(passage.rfind(mark, 0, match) for mark in (". ", "! ", "? "))
        begin = sentence + 2 if sentence >= 0 and match - sentence < EXCERPT_CHARS // 2 else 0
        if not begin:
            begin = passage.rfind(" ", 0, match - 30) + 1
    prefix = "…" if begin else ""
    rest = passage[begin:]
    room = EXCERPT_CHARS - len(prefix)
    if len(rest) <= room:
        return prefix + rest
    cut = rest.rfind(" ", 0, room - 1)
    if cut <= 0:
        cut = room - 1
    return prefix + rest[:cut].rstrip(" ,;:-–") + "…"

"""Articles are written the way the app writes them: search_text refreshed before saving."""

from __future__ import annotations

import itertools

import pytest

from knowledge.demo import seed_articles
from knowledge.models import Article

_slugs = itertools.count(1)


@pytest.fixture
def write_article(db):
    """write_article(title, body, language="en", is_published=True) -> Article."""

    def _write(title: str, body: str, language: str = "en", is_published: bool = True):
        article = Article(
            title=title,
            slug=f"article-{next(_slugs)}",
            body=body,
            language=language,
            is_published=is_published,
        )
        article.refresh_search_text()
        article.save()
        return article

    return _write


@pytest.fixture
def demo_articles(db):
    seed_articles()

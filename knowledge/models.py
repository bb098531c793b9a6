"""Help-centre articles in the languages our customers write in.

An article's body is plain text: paragraphs are separated by a blank line and
lines starting with "- " are list items. `search_text` is derived from the title
and body by `refresh_search_text()`, which every write path calls before saving.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from knowledge.text import meaningful_words
from tickets.models import Language

# Separates the title's words from the body's in search_text; normalize() never
# leaves a newline, so the first one is always this one.
TITLE_END = "\n"


class Article(models.Model):
    title = models.CharField(_("title"), max_length=200)
    # Unique per language (Meta.constraints); its index serves lookups by language and slug.
    slug = models.SlugField(_("slug"), max_length=200, db_index=False)
    body = models.TextField(
        _("body"),
        help_text=_(
            "Plain text. Separate paragraphs with a blank line; "
            'start a line with "- " to make it a list item.'
        ),
    )
    language = models.CharField(_("language"), max_length=8, choices=Language.choices)
    is_published = models.BooleanField(_("published"), default=True)
    # " title words\n body words": each part's distinct meaningful words, folded
    # (knowledge.text.meaningful_words), each preceded by a space so that looking
    # for " stem" finds the words starting with it. Distinct words without stop
    # words: what the search can match, and 40% less to scan than the folded body.
    search_text = models.TextField(editable=False, default="")
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("article")
        verbose_name_plural = _("articles")
        ordering = ["language", "title"]
        # No index on search_text: a B-tree cannot answer "contains". The search
        # scans it with strpos/instr (a few ms at 2,000 articles); with tens of
        # thousands, a pg_trgm GIN index queried with LIKE is the next step.
        constraints = [
            models.UniqueConstraint(
                fields=["language", "slug"], name="knowledge_article_slug_per_language"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @staticmethod
    def search_text_for(*, title: str, body: str) -> str:
        """The search_text an article with this title and body has."""
        title_words = " ".join(dict.fromkeys(meaningful_words(title)))
        body_words = " ".join(dict.fromkeys(meaningful_words(body)))
        return f" {title_words}{TITLE_END} {body_words}"

    def refresh_search_text(self) -> None:
        """Derive search_text from the current title and body (the caller saves)."""
        self.search_text = self.search_text_for(title=self.title, body=self.body)

    def paragraphs(self) -> list[dict[str, Any]]:
        """The body as blocks: {"kind": "p", "text": str} or {"kind": "ul", "items": [str]}."""
        return body_blocks(self.body)


def body_blocks(body: str) -> list[dict[str, Any]]:
    """Plain-text `body` as paragraphs and lists (see Article.paragraphs).

    A paragraph's lines are joined with spaces; an indented line after a list
    item continues that item.
    """
    blocks: list[dict[str, Any]] = []
    lines: list[str] = []
    items: list[str] = []

    def flush() -> None:
        if lines:
            blocks.append({"kind": "p", "text": " ".join(lines)})
            lines.clear()
        if items:
            blocks.append({"kind": "ul", "items": list(items)})
            items.clear()

    for raw in body.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = raw.strip()
        if not line:
            flush()
        elif line.startswith("- "):
            if lines:
                flush()
            items.append(line[2:].strip())
        elif items and raw[:1].isspace():
            items[-1] = f"{items[-1]} {line}"
        else:
            if items:
                flush()
            lines.append(line)
    flush()
    return blocks

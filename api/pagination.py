"""Keyset pagination for every API list.

Every list answers `{"next": <url or null>, "results": [...]}` (the cursor
lists also give `previous`). A page is one index range scan, so the cost of
a page does not depend on how far into the list it is, and its query count
does not depend on its size.
"""

from __future__ import annotations

from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.utils.urls import replace_query_param

PAGE_SIZE = 25
MAX_PAGE_SIZE = 100
PAGE_SIZE_PARAM = "page_size"


def page_size_from(request: Request, default: int = PAGE_SIZE) -> int:
    """The `page_size` the client asked for; a bad one is a 400, not silently ignored."""
    raw = request.query_params.get(PAGE_SIZE_PARAM)
    if raw is None or raw == "":
        return default
    try:
        size = int(raw)
    except ValueError:
        size = 0
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise ValidationError(
            {PAGE_SIZE_PARAM: [f"Give a whole number from 1 to {MAX_PAGE_SIZE}."]}
        )
    return size


def link_with(request: Request, param: str, value: object | None) -> str | None:
    """The current URL with `param` set to `value` (None: no next page)."""
    if value is None:
        return None
    return replace_query_param(request.build_absolute_uri(), param, str(value))


class DefaultCursorPagination(CursorPagination):
    """Newest first by id; `?cursor=` comes from the `next`/`previous` links."""

    page_size = PAGE_SIZE
    page_size_query_param = PAGE_SIZE_PARAM
    max_page_size = MAX_PAGE_SIZE
    ordering = "-id"

    def get_page_size(self, request: Request) -> int:
        return page_size_from(request, self.page_size)

    def decode_cursor(self, request: Request):
        try:
            cursor = super().decode_cursor(request)
        except NotFound:
            cursor = None
            valid = False
        else:
            # Orderings here are all on ids: a position that is not one would
            # reach the database as a type error.
            valid = cursor is None or cursor.position is None or cursor.position.isdigit()
        if not valid:
            raise ValidationError(
                {self.cursor_query_param: ["This cursor is not valid; follow the `next` link."]}
            )
        return cursor


class OldestFirstPagination(DefaultCursorPagination):
    """For a conversation, read top to bottom."""

    ordering = "id"

"""Every API error is JSON: {"error": "<code>", "detail": "<human sentence>"}.

Validation errors add "fields": {"<field>": ["<message>", ...]} (nested
fields dotted: "identity.value"). Each of our domain errors maps to one
status here, so views just call the workflow and let its error rise.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, JsonResponse
from django.urls import Resolver404, resolve
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler, set_rollback

from channels_in.inboxes import InboxError
from tickets.changes import ChangeError
from tickets.merge import MergeError
from tickets.opening import OpeningError
from tickets.replies import ReplyError

log = logging.getLogger(__name__)

DOMAIN_ERRORS: dict[type[Exception], tuple[int, str]] = {
    ReplyError: (400, "reply_error"),
    ChangeError: (400, "change_error"),
    MergeError: (400, "merge_error"),
    OpeningError: (400, "opening_error"),
    InboxError: (400, "inbox_error"),
}


class ConflictError(exceptions.APIException):
    status_code = 409
    default_code = "conflict"
    default_detail = "The request conflicts with an earlier one."


def error_body(code: str, detail: str, fields: dict[str, list[str]] | None = None) -> dict:
    body: dict[str, Any] = {"error": code, "detail": detail}
    if fields:
        body["fields"] = fields
    return body


def json_exception_handler(exc: Exception, context: dict) -> Response:
    for error_type, (status, code) in DOMAIN_ERRORS.items():
        if isinstance(exc, error_type):
            set_rollback()
            return Response(error_body(code, str(exc)), status=status)
    if isinstance(exc, RequestDataTooBig):
        return Response(error_body("too_large", "The request body is too large."), status=413)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound("Not found.")
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    response = exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        # A bug of ours. The client still gets JSON; the traceback goes to the log.
        log.exception("unhandled error in %s", context.get("view"), exc_info=exc)
        set_rollback()
        return Response(
            error_body("server_error", "Something went wrong on our side; it has been logged."),
            status=500,
        )
    if isinstance(exc, exceptions.ValidationError):
        fields, sentence = _fields_and_sentence(exc.detail)
        response.data = error_body("invalid", sentence, fields)
    else:
        code = getattr(exc.detail, "code", None) or exc.default_code
        response.data = error_body(str(code), _sentence(str(exc.detail)))
    return response


def _fields_and_sentence(detail: Any) -> tuple[dict[str, list[str]], str]:
    fields: dict[str, list[str]] = {}
    general: list[str] = []
    _flatten(detail, "", fields, general)
    general.extend(fields.pop("non_field_errors", []))
    if general:
        sentence = general[0]
    elif fields:
        name, messages = next(iter(fields.items()))
        sentence = f"{name}: {messages[0]}"
    else:
        sentence = "The request is not valid."
    problems = len(general) + sum(len(m) for m in fields.values())
    if problems > 1:
        more = problems - 1
        sentence = (
            f"{_sentence(sentence)} ({more} more problem{'s' if more > 1 else ''} in fields.)"
        )
    return fields, _sentence(sentence)


def _flatten(detail: Any, prefix: str, fields: dict[str, list[str]], general: list[str]) -> None:
    if isinstance(detail, dict):
        for key, value in detail.items():
            _flatten(value, f"{prefix}.{key}" if prefix else str(key), fields, general)
    elif isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            target = fields.setdefault(prefix, []) if prefix else general
            target.extend(str(item) for item in detail)
        else:
            for index, item in enumerate(detail):
                if item:
                    _flatten(item, f"{prefix}.{index}" if prefix else str(index), fields, general)
    else:
        (fields.setdefault(prefix, []) if prefix else general).append(str(detail))


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?", ")")) else f"{text}."


def unknown_endpoint(request: HttpRequest, path: str = "") -> JsonResponse:
    """JSON 404 for any /api/v1/ path that matches no endpoint (instead of an HTML page)."""
    detail = f"There is no API endpoint at {request.path}."
    if not request.path.endswith("/"):
        try:
            resolved = resolve(request.path + "/")
        except Resolver404:
            resolved = None
        if resolved is not None and resolved.func is not unknown_endpoint:
            detail += f" Did you mean {request.path}/ ?"
    return JsonResponse(error_body("not_found", detail), status=404)

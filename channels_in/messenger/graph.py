"""Meta's Graph API as Messenger uses it: the Send API and a person's profile.

Every call is authenticated with the page access token as the `access_token`
query parameter, as Meta documents it. The token never reaches a log: httpx
logs each request's URL at INFO, so its records are redacted here, and our
own errors never quote a URL.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
from django.conf import settings
from django.utils.translation import gettext as _

log = logging.getLogger(__name__)

# Graph error codes (https://developers.facebook.com/docs/messenger-platform/error-codes).
# Asking again later can help with these: an unknown or temporary error, rate limits.
TEMPORARY_CODES = frozenset({1, 2, 4, 17, 32, 341, 613})
OUTSIDE_WINDOW = (10, 2018278)
PERSON_UNAVAILABLE = 551
INVALID_PARAMETER = 100
ACCESS_TOKEN = 190
PERMISSION = 10
# 200-299: a permission the app or the token lacks.
PERMISSION_RANGE = range(200, 300)


class GraphError(Exception):
    """A Graph API call that failed. permanent=True: the same request cannot succeed later."""

    def __init__(
        self,
        reason: str,
        *,
        permanent: bool,
        code: int | None = None,
        subcode: int | None = None,
    ):
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.code = code
        self.subcode = subcode


@dataclass(frozen=True)
class Sent:
    recipient_id: str
    message_id: str


def send_text(
    *, token: str, psid: str, text: str, tag: str = "", quick_replies: list[dict] | None = None
) -> Sent:
    """POST /me/messages: a text to one person, a RESPONSE within the standard window,
    or a MESSAGE_TAG send (`tag`, e.g. HUMAN_AGENT) outside it. quick_replies are
    Messenger's buttons under the text ({"content_type": "text", "title", "payload"})."""
    payload: dict[str, Any] = {
        "recipient": {"id": psid},
        "messaging_type": "MESSAGE_TAG" if tag else "RESPONSE",
        "message": {"text": text},
    }
    if quick_replies:
        payload["message"]["quick_replies"] = quick_replies[:13]  # Meta's limit
    if tag:
        payload["tag"] = tag
    answer = _call("POST", "me/messages", token=token, json=payload)
    return Sent(
        recipient_id=str(answer.get("recipient_id") or ""),
        message_id=str(answer.get("message_id") or ""),
    )


def get_profile(*, token: str, psid: str) -> dict:
    """GET /<psid>: the person's name as their profile shows it to the page."""
    return _call(
        "GET",
        quote(psid, safe=""),
        token=token,
        params={"fields": "first_name,last_name,name"},
    )


def _call(
    method: str,
    path: str,
    *,
    token: str,
    json: dict | None = None,
    params: dict | None = None,
) -> dict:
    url = f"{settings.META_GRAPH_API_BASE_URL}/{settings.META_GRAPH_API_VERSION}/{path}"
    try:
        response = httpx.request(
            method,
            url,
            params={**(params or {}), "access_token": token},
            json=json,
            timeout=settings.PROVIDER_TIMEOUT_SECONDS,
        )
    except httpx.TimeoutException as exc:
        raise GraphError(
            f"Messenger: no answer in time ({type(exc).__name__})", permanent=False
        ) from None
    except httpx.HTTPError as exc:
        # Only the exception's class: its text may quote the URL, token included.
        raise GraphError(
            f"Messenger: could not connect ({type(exc).__name__})", permanent=False
        ) from None
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if response.is_success:
        if not isinstance(answer, dict):
            raise GraphError(
                f"Messenger answered {response.status_code} without JSON", permanent=False
            )
        return answer
    raise error_from(response.status_code, answer)


def error_from(status: int, answer: object) -> GraphError:
    """Meta's {"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}} as a
    GraphError, with a short explanation for the agent when the code is a known one."""
    error = answer.get("error") if isinstance(answer, dict) else None
    if not isinstance(error, dict):
        # No Graph error at all: a proxy or an outage. Worth another try unless it is ours.
        return GraphError(
            f"Messenger answered HTTP {status}", permanent=400 <= status < 500 and status != 429
        )
    code = error.get("code") if isinstance(error.get("code"), int) else None
    subcode = error.get("error_subcode") if isinstance(error.get("error_subcode"), int) else None
    message = str(error.get("message") or "").strip().rstrip(".")
    label = f"Messenger {code}" if subcode is None else f"Messenger {code}/{subcode}"
    explanation = _explain(code, subcode)
    reason = f"{label}: {message}." + (f" {explanation}" if explanation else "")
    if error.get("fbtrace_id"):
        # Meta's support asks for it.
        reason += f" (fbtrace_id {error['fbtrace_id']})"
    temporary = code in TEMPORARY_CODES or status >= 500 or status == 429
    return GraphError(reason, permanent=not temporary, code=code, subcode=subcode)


def _explain(code: int | None, subcode: int | None) -> str:
    if (code, subcode) == OUTSIDE_WINDOW:
        return _(
            "Messenger only allows replies within 24 hours of the customer's last message "
            "(7 days with the Human agent tag)."
        )
    if code == PERSON_UNAVAILABLE:
        return _(
            "The person cannot be reached on Messenger now: they may have blocked the page "
            "or deactivated their account."
        )
    if code == INVALID_PARAMETER:
        return _(
            "Messenger refused the request: the person may not exist for this page, "
            "or the message is not valid."
        )
    if code in (ACCESS_TOKEN, PERMISSION) or (code is not None and code in PERMISSION_RANGE):
        return _(
            "The page access token is invalid, expired or lacks the pages_messaging "
            "permission: give the inbox a new one."
        )
    if code in TEMPORARY_CODES:
        return _("Messenger is busy or limiting requests; the message will be tried again.")
    return ""


# httpx logs "HTTP Request: POST https://graph.facebook.com/...?access_token=..." at INFO.
_TOKEN_IN_URL = re.compile(r"(access_token=)[^&\s\"']+")


class RedactAccessTokens(logging.Filter):
    """Blanks `access_token=` values in log records before any handler sees them."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(
                _TOKEN_IN_URL.sub(r"\1[redacted]", str(arg)) if "access_token=" in str(arg) else arg
                for arg in record.args
            )
        if isinstance(record.msg, str) and "access_token=" in record.msg:
            record.msg = _TOKEN_IN_URL.sub(r"\1[redacted]", record.msg)
        return True


_redact = RedactAccessTokens()
for _name in ("httpx", "httpcore"):
    if _redact not in logging.getLogger(_name).filters:
        logging.getLogger(_name).addFilter(_redact)

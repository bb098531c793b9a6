"""Twilio's webhook forms as Twilio posts them, and its signature over them.

Field names and shapes from Twilio's messaging webhook documentation; signed
with the official RequestValidator, never a signer of our own.
"""

from __future__ import annotations

import itertools

from twilio.request_validator import RequestValidator

ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "twilio-auth-token-for-tests"
OUR_NUMBER = "+48500600700"
CUSTOMER = "+48601234567"
FORM = "application/x-www-form-urlencoded"

_serial = itertools.count(1)


def new_sid(prefix: str = "SM") -> str:
    """A sid shaped like Twilio's: two letters and 32 hex digits."""
    return f"{prefix}{next(_serial):032x}"


def inbound_text(
    body: str = "Dzień dobry, gdzie jest moja paczka?",
    *,
    sender: str = CUSTOMER,
    sid: str | None = None,
    media: tuple[tuple[str, str], ...] = (),
) -> dict[str, str]:
    """The form Twilio posts for a text (or an MMS, with media) to our number."""
    sid = sid or new_sid("MM" if media else "SM")
    params = {
        "ToCountry": "PL",
        "ToState": "",
        "SmsMessageSid": sid,
        "NumMedia": str(len(media)),
        "ToCity": "",
        "FromZip": "",
        "SmsSid": sid,
        "FromState": "",
        "SmsStatus": "received",
        "FromCity": "",
        "Body": body,
        "FromCountry": "PL",
        "To": OUR_NUMBER,
        "ToZip": "",
        "NumSegments": "1",
        "MessageSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": sender,
        "ApiVersion": "2010-04-01",
    }
    for index, (url, content_type) in enumerate(media):
        params[f"MediaUrl{index}"] = url
        params[f"MediaContentType{index}"] = content_type
    return params


def status_callback(sid: str, status: str, *, to: str = CUSTOMER, error_code: str = "") -> dict:
    """The form Twilio posts to a message's StatusCallback as its status changes."""
    params = {
        "SmsSid": sid,
        "SmsStatus": status,
        "MessageStatus": status,
        "To": to,
        "MessageSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": OUR_NUMBER,
        "ApiVersion": "2010-04-01",
    }
    if error_code:
        params["ErrorCode"] = error_code
    return params


def sign(url: str, params: dict, token: str = AUTH_TOKEN) -> str:
    return RequestValidator(token).compute_signature(url, params)

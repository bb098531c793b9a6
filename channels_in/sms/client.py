"""Twilio's REST API through the official client, with our settings and our errors.

The base URL is a setting (TWILIO_API_BASE_URL) so that tests and staging talk
to a local stand-in over real HTTP; the timeout is PROVIDER_TIMEOUT_SECONDS.
"""

from __future__ import annotations

from dataclasses import dataclass

import requests
from django.conf import settings
from django.utils.translation import gettext as _
from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from ..base import DeliveryError


@dataclass(frozen=True)
class Account:
    """What an SMS inbox sends with: its Twilio account and the sender."""

    account_sid: str
    auth_token: str
    # The E.164 number texts come from, or else a Messaging Service that picks one.
    phone_number: str = ""
    messaging_service_sid: str = ""


def client_for(account: Account) -> Client:
    client = Client(
        account.account_sid,
        account.auth_token,
        http_client=TwilioHttpClient(timeout=settings.PROVIDER_TIMEOUT_SECONDS),
    )
    client.api.base_url = settings.TWILIO_API_BASE_URL
    return client


def send_sms(account: Account, *, to: str, body: str, status_callback: str) -> str:
    """Create one outbound message; return its sid ("" if Twilio gave none). Raises DeliveryError.

    A 4xx refusal (an invalid or unsubscribed number, a blocked sender) is
    permanent; 429, a 5xx, a timeout or a broken connection are worth a retry.
    """
    sender = (
        {"from_": account.phone_number}
        if account.phone_number
        else {"messaging_service_sid": account.messaging_service_sid}
    )
    try:
        created = client_for(account).messages.create(
            to=to, body=body, status_callback=status_callback, **sender
        )
    except TwilioRestException as exc:
        reason = f"Twilio {exc.code}: {_provider_message(exc.msg)}"
        raise DeliveryError(reason, permanent=_is_permanent(exc.status)) from exc
    except TwilioServiceException as exc:
        reason = f"Twilio {exc.code}: {exc.detail or exc.title}"
        raise DeliveryError(reason, permanent=_is_permanent(exc.status)) from exc
    except (requests.RequestException, TwilioException) as exc:
        raise DeliveryError(
            _("Twilio could not be reached (%(error)s); trying again.")
            % {"error": f"{type(exc).__name__}: {exc}"[:300]}
        ) from exc
    # Accepted without an id (never seen): sent, but no status callback will match it.
    return created.sid or ""


def _is_permanent(status: int) -> bool:
    return 400 <= status < 500 and status != 429


def _provider_message(msg: str) -> str:
    # The client prefixes Twilio's own message: "Unable to create record: <message>".
    prefix, sep, rest = msg.partition(": ")
    return rest if sep and prefix.startswith("Unable to") else msg


def explain_error(code: str) -> str:
    """A short sentence for the agent about a Twilio error code, or "" if we know none.

    Status callbacks carry only the code; these are the ones seen most.
    """
    explanations = {
        "30003": _("the phone is unreachable (switched off or out of coverage)"),
        "30004": _("the recipient blocked messages from this number"),
        "30005": _("the number is unknown or no longer exists"),
        "30006": _("the number is a landline or cannot receive texts"),
        "30007": _("the carrier filtered the message as spam"),
        "30008": _("the carrier could not deliver it (unknown error)"),
        "21610": _("the customer opted out by texting STOP"),
        "21211": _("the number is not a valid phone number"),
        "21614": _("the number cannot receive texts"),
    }
    return explanations.get(str(code).strip(), "")

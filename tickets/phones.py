"""Phone numbers in one form, E.164 ("+48601234567"), whatever way they were written."""

from __future__ import annotations

import phonenumbers
from django.conf import settings


def to_e164(value: str, *, region: str | None = None) -> str | None:
    """The number in E.164, or None if it is not a valid phone number.

    A number without a country code is read as one of `region`
    (PHONE_DEFAULT_REGION by default): "601 234 567" in PL is "+48601234567".
    """
    try:
        number = phonenumbers.parse(value, region or settings.PHONE_DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def display(value: str) -> str:
    """An E.164 number as people read it: "+48 601 234 567"."""
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        return value
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)

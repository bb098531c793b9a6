"""The adapter for each channel. Adding a channel = one module + one line here."""

from __future__ import annotations

from .adapters.email import EmailAdapter
from .adapters.messenger import MessengerAdapter
from .adapters.sms import SmsAdapter
from .adapters.test import TestAdapter
from .adapters.widget import WidgetAdapter
from .base import Adapter

_ADAPTERS: dict[str, Adapter] = {
    adapter.channel: adapter
    for adapter in (
        EmailAdapter(),
        WidgetAdapter(),
        TestAdapter(),
        SmsAdapter(),
        MessengerAdapter(),
    )
}


def get_adapter(channel: str) -> Adapter:
    try:
        return _ADAPTERS[channel]
    except KeyError:
        raise LookupError(f"no adapter for channel {channel!r}") from None


def register(adapter: Adapter) -> None:
    _ADAPTERS[adapter.channel] = adapter

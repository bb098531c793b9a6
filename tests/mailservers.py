"""Real mail servers on 127.0.0.1 for tests: an SMTP server that records what it receives."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller

from tests.servers import free_port


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.raw, policy=policy.default)


class _Recorder:
    def __init__(self, server: RecordingSMTPServer):
        self.server = server

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address in self.server.refuse:
            return self.server.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        with self.server.lock:
            self.server.messages.append(
                Received(
                    mail_from=envelope.mail_from,
                    rcpt_tos=list(envelope.rcpt_tos),
                    raw=envelope.original_content or envelope.content,
                )
            )
        return "250 Message accepted for delivery"


class RecordingSMTPServer:
    def __init__(self):
        self.port = free_port()
        self.messages: list[Received] = []
        # address -> SMTP reply, e.g. "550 5.1.1 No such user"
        self.refuse: dict[str, str] = {}
        self.lock = threading.Lock()
        self._controller = Controller(_Recorder(self), hostname="127.0.0.1", port=self.port)

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()

"""Django's SMTP backend, keeping what the server refused.

smtplib's sendmail() raises only when every recipient is refused; when the
customer's address is refused but someone on Cc is accepted, it returns the
refusals and Django drops them. Our reply would read "sent" although the
customer never got it. This backend keeps them (`refused`) so the email
adapter can fail the message with the server's reason.
"""

from __future__ import annotations

from django.core.mail.backends.smtp import EmailBackend as DjangoSMTPBackend


class EmailBackend(DjangoSMTPBackend):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # address -> (code, reason) for every recipient the server refused.
        self.refused: dict[str, tuple[int, bytes]] = {}

    def open(self) -> bool | None:
        opened = super().open()
        if self.connection is not None and not hasattr(self.connection, "_keeps_refusals"):
            sendmail = self.connection.sendmail

            def keeping_refusals(*args, **kwargs):
                refused = sendmail(*args, **kwargs) or {}
                self.refused.update(refused)
                return refused

            self.connection.sendmail = keeping_refusals
            self.connection._keeps_refusals = True
        return opened

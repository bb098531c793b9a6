"""Polling IMAP mailboxes: each email inbox with an "imap" config is read by UID.

One poll of one inbox:

1. take the lease on its Mailbox row (a second poll of the same inbox skips;
   the lease of a poll that crashed simply expires);
2. log in, select the folder and read UIDVALIDITY: when the server changed it,
   UIDs start over, so we do too (Message-IDs keep that from storing twice);
3. fetch the mail above the last UID we recorded, in UID order, at most
   IMAP_POLL_LIMIT per poll so a large backlog does not hold the worker;
4. for each mail: commit its exact bytes (store_email), move it to the
   processed folder or flag it, then record its UID. A crash between two steps
   fetches at most that one mail again, and the Message-ID dedup absorbs it;
5. record how it went: success resets the backoff, a failure (login, network,
   a missing folder) is kept as a readable sentence for the inboxes page and
   waits exponentially longer before the next try;
6. queue the stored mail for parsing and ingest, after the IMAP session ended.

Config (inbox.config["imap"]): host, port, security ("ssl", "starttls" or
"none"), username, folder ("INBOX"), processed ("move" or "flag"),
processed_folder ("Processed"), processed_flag ("\\Seen"). The password is
inbox.secrets["imap_password"]; it never reaches a log line or last_error.
"""

from __future__ import annotations

import imaplib
import logging
import socket
import ssl
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from imap_tools import (
    AND,
    BaseMailBox,
    ImapToolsError,
    MailBox,
    MailboxFlagError,
    MailboxFolderCreateError,
    MailboxFolderSelectError,
    MailboxLoginError,
    MailboxMoveError,
    MailBoxStartTls,
    MailboxStarttlsError,
    MailBoxUnencrypted,
    MailMessage,
    U,
    UnexpectedCommandStatusError,
)
from imap_tools.utils import check_command_status

from tickets.models import Channel, Inbox

from ..models import Mailbox
from .receive import store_email

log = logging.getLogger(__name__)

# Mail fetched per FETCH command (bounded memory, few round trips).
FETCH_CHUNK = 10
SECURITY_CHOICES = ("ssl", "starttls", "none")
PROCESSED_CHOICES = ("move", "flag")


class ImapError(Exception):
    """A poll failed; the message is a sentence for the inboxes page (no secrets)."""


class LeaseLostError(Exception):
    """Another poll took the mailbox over (ours outlived its lease): stop quietly."""


@dataclass(frozen=True)
class ImapConfig:
    host: str
    port: int
    security: str
    username: str
    password: str
    folder: str
    processed: str
    processed_folder: str
    processed_flag: str


@dataclass(frozen=True)
class PollResult:
    inbox_id: int
    state: str  # "ok", "failed" or "skipped"
    fetched: int = 0
    stored: int = 0
    duplicates: int = 0
    # The poll stopped at IMAP_POLL_LIMIT with mail still waiting (next poll: at once).
    more: bool = False
    error: str = ""


# --- Which inboxes, and when -------------------------------------------------------------


def has_imap(inbox: Inbox) -> bool:
    imap = (inbox.config or {}).get("imap")
    return inbox.channel == Channel.EMAIL and isinstance(imap, dict) and bool(imap.get("host"))


def claim_due_mailboxes(*, now: datetime | None = None) -> list[int]:
    """The ids of the IMAP inboxes to poll now, creating their Mailbox rows as needed.

    Each one's next_poll_at moves one interval ahead, so the next beat does not
    queue it again while its task waits in the queue; the poll sets the real
    next time (and if the task is lost, the inbox is simply due again then).
    """
    now = now or timezone.now()
    inboxes = Inbox.objects.filter(channel=Channel.EMAIL, is_active=True).only(
        "id", "channel", "config"
    )
    inbox_ids = [inbox.pk for inbox in inboxes if has_imap(inbox)]
    if not inbox_ids:
        return []
    known = set(Mailbox.objects.filter(inbox_id__in=inbox_ids).values_list("inbox_id", flat=True))
    Mailbox.objects.bulk_create(
        [Mailbox(inbox_id=pk, next_poll_at=now) for pk in inbox_ids if pk not in known],
        ignore_conflicts=True,
    )
    due = Mailbox.objects.filter(inbox_id__in=inbox_ids, next_poll_at__lte=now).filter(
        Q(leased_until__isnull=True) | Q(leased_until__lte=now)
    )
    ids = list(due.order_by("next_poll_at").values_list("inbox_id", flat=True))
    Mailbox.objects.filter(inbox_id__in=ids).update(
        next_poll_at=now + timedelta(seconds=settings.IMAP_POLL_SECONDS)
    )
    return ids


def backoff_seconds(failures: int) -> int:
    """How long a mailbox waits after its n-th failure in a row: doubling, capped."""
    if failures <= 0:
        return settings.IMAP_POLL_SECONDS
    delay = settings.IMAP_POLL_SECONDS * 2 ** min(failures, 20)
    return min(delay, max(settings.IMAP_MAX_BACKOFF_SECONDS, settings.IMAP_POLL_SECONDS))


def lease_seconds() -> int:
    # Renewed after every step, each of which the socket timeout bounds.
    return settings.IMAP_TIMEOUT_SECONDS * 3 + 60


def lease_mailbox(inbox_id: int, *, now: datetime | None = None) -> datetime | None:
    """Take the inbox's mailbox for one poll; None when another poll holds it.

    The lease is the leased_until value itself: every later write of the poll
    matches on it, so a poll that lost its lease cannot write over another's.
    """
    now = now or timezone.now()
    mailbox, _created = Mailbox.objects.get_or_create(inbox_id=inbox_id)
    until = now + timedelta(seconds=lease_seconds())
    taken = (
        Mailbox.objects.filter(pk=mailbox.pk)
        .filter(Q(leased_until__isnull=True) | Q(leased_until__lte=now))
        .update(leased_until=until, last_polled_at=now)
    )
    return until if taken else None


def release_mailbox(inbox_id: int, lease: datetime) -> None:
    Mailbox.objects.filter(inbox_id=inbox_id, leased_until=lease).update(leased_until=None)


# --- One poll ------------------------------------------------------------------------------


def poll_mailbox(inbox_id: int) -> PollResult:
    """Fetch an inbox's new mail once; never raises for IMAP trouble (it is recorded).

    Safe to run twice at once (the second skips) and again after a crash.
    """
    inbox = Inbox.objects.filter(pk=inbox_id).first()
    if inbox is None or not inbox.is_active or not has_imap(inbox):
        return PollResult(inbox_id=inbox_id, state="skipped")
    lease = lease_mailbox(inbox_id)
    if lease is None:
        log.info("mailbox of inbox %s is being polled elsewhere; skipping", inbox_id)
        return PollResult(inbox_id=inbox_id, state="skipped")
    poll = _Poll(inbox=inbox, lease=lease)
    try:
        poll.run()
    except LeaseLostError:
        log.warning("poll of inbox %s lost its lease; another poll took over", inbox_id)
        result = poll.result("skipped")
    except ImapError as exc:
        result = poll.result("failed", error=_scrub(str(exc), poll.password))
    except Exception as exc:  # a bug or a server answer we do not understand
        log.exception("poll of inbox %s failed", inbox_id)
        message = _("Polling stopped on an unexpected error (%(kind)s); see the worker log.")
        result = poll.result("failed", error=message % {"kind": type(exc).__name__})
    else:
        result = poll.result("ok")
    _record(inbox_id, poll.lease, result)
    _queue_processing(poll.new_raw_ids)
    return result


class _RawMail(MailMessage):
    """A fetched mail with the exact bytes the server sent.

    imap-tools keeps only a parsed email.message.Message (.obj), and its
    as_bytes() re-serialises: headers refolded, encodings changed. We store the
    original, which is what a later re-parse or an .eml download must see.
    """

    def __init__(self, fetch_data: list) -> None:
        super().__init__(fetch_data)
        self.raw: bytes = self._get_message_data_parts(fetch_data)[0]


class _Poll:
    def __init__(self, *, inbox: Inbox, lease: datetime) -> None:
        self.inbox = inbox
        self.lease = lease
        self.password = str((inbox.secrets or {}).get("imap_password") or "")
        self.fetched = 0
        self.stored = 0
        self.duplicates = 0
        self.more = False
        self.new_raw_ids: list[int] = []

    def result(self, state: str, error: str = "") -> PollResult:
        return PollResult(
            inbox_id=self.inbox.pk,
            state=state,
            fetched=self.fetched,
            stored=self.stored,
            duplicates=self.duplicates,
            more=self.more,
            error=error,
        )

    def run(self) -> None:
        config = read_imap_config(self.inbox)
        try:
            mailbox = _connect(config)
            try:
                self._read(mailbox, config)
            except (OSError, imaplib.IMAP4.abort):
                _drop(mailbox)  # the connection is broken: a LOGOUT would only wait
                raise
            except BaseException:
                _close(mailbox)
                raise
            _close(mailbox)
        except (OSError, imaplib.IMAP4.error, ImapToolsError) as exc:
            raise ImapError(describe_error(exc, config)) from exc

    def _read(self, mailbox: BaseMailBox, config: ImapConfig) -> None:
        mailbox.login(config.username, config.password, initial_folder=None)
        _refresh_capabilities(mailbox)
        mailbox.folder.set(config.folder)
        uidvalidity = _uidvalidity(mailbox, config.folder)
        state = Mailbox.objects.get(inbox_id=self.inbox.pk)
        last_uid = state.last_uid
        if state.uidvalidity != uidvalidity:
            if state.uidvalidity is not None:
                log.warning(
                    "UIDVALIDITY of inbox %s changed (%s -> %s); reading the folder again",
                    self.inbox.pk,
                    state.uidvalidity,
                    uidvalidity,
                )
            last_uid = 0
            self._write(uidvalidity=uidvalidity, last_uid=0)

        # "UID n:*" always matches the last mail, even when its UID is below n.
        found = mailbox.uids(AND(uid=U(last_uid + 1, "*")), charset=None)
        uids = sorted(uid for uid in map(int, found) if uid > last_uid)
        limit = settings.IMAP_POLL_LIMIT
        self.more = len(uids) > limit
        uids = uids[:limit]
        if not uids:
            return
        if config.processed == "move":
            _ensure_folder(mailbox, config.processed_folder)
        self._write()

        # Fetching yields instances of this class (imap-tools' own extension point).
        mailbox.email_message_class = _RawMail
        for start in range(0, len(uids), FETCH_CHUNK):
            chunk = [str(uid) for uid in uids[start : start + FETCH_CHUNK]]
            mails = list(mailbox.fetch(uid_list=chunk, mark_seen=False, bulk=True))
            self._write()
            for mail in sorted(mails, key=lambda m: int(m.uid or 0)):
                if mail.uid is None:
                    continue
                self._take(mailbox, config, mail, uid=int(mail.uid), uidvalidity=uidvalidity)

    def _take(
        self,
        mailbox: BaseMailBox,
        config: ImapConfig,
        mail: _RawMail,
        *,
        uid: int,
        uidvalidity: int,
    ) -> None:
        stored = store_email(
            inbox=self.inbox,
            raw=mail.raw,
            source="imap",
            meta={"uid": uid, "uidvalidity": uidvalidity, "folder": config.folder},
        )
        self.fetched += 1
        if stored.duplicate:
            self.duplicates += 1
        else:
            self.stored += 1
            self.new_raw_ids.append(stored.raw.pk)
        _mark_processed(mailbox, config, uid)
        self._write(last_uid=uid)

    def _write(self, **fields: int) -> None:
        """Save progress and renew the lease, only while the lease is still ours."""
        renewed = timezone.now() + timedelta(seconds=lease_seconds())
        updated = Mailbox.objects.filter(inbox_id=self.inbox.pk, leased_until=self.lease).update(
            leased_until=renewed, **fields
        )
        if not updated:
            raise LeaseLostError
        self.lease = renewed


def read_imap_config(inbox: Inbox) -> ImapConfig:
    """The inbox's IMAP settings with defaults filled in; ImapError when unusable."""
    imap = dict((inbox.config or {}).get("imap") or {})
    password = str((inbox.secrets or {}).get("imap_password") or "")
    security = str(imap.get("security") or "ssl").lower()
    if security not in SECURITY_CHOICES:
        raise ImapError(
            _("The IMAP security setting “%(value)s” is not one of %(choices)s.")
            % {"value": security, "choices": ", ".join(SECURITY_CHOICES)}
        )
    processed = str(imap.get("processed") or "move").lower()
    if processed not in PROCESSED_CHOICES:
        raise ImapError(
            _("The IMAP processed setting “%(value)s” is not one of %(choices)s.")
            % {"value": processed, "choices": ", ".join(PROCESSED_CHOICES)}
        )
    try:
        port = int(imap.get("port") or (993 if security == "ssl" else 143))
    except (TypeError, ValueError):
        port = 0
    if not 0 < port < 65536:
        raise ImapError(_("The IMAP port must be a number from 1 to 65535."))
    config = ImapConfig(
        host=str(imap.get("host") or "").strip(),
        port=port,
        security=security,
        username=str(imap.get("username") or "").strip(),
        password=password,
        folder=str(imap.get("folder") or "INBOX"),
        processed=processed,
        processed_folder=str(imap.get("processed_folder") or "Processed"),
        processed_flag=str(imap.get("processed_flag") or "\\Seen"),
    )
    if not config.host or not config.username or not config.password:
        raise ImapError(_("The inbox needs an IMAP host, username and password to be polled."))
    if config.processed == "move" and config.processed_folder == config.folder:
        raise ImapError(_("The processed folder must not be the folder that is polled."))
    return config


# --- IMAP steps ----------------------------------------------------------------------------


def _connect(config: ImapConfig) -> BaseMailBox:
    timeout = settings.IMAP_TIMEOUT_SECONDS
    if config.security == "ssl":
        # imaplib's default context does not verify certificates; this one does.
        context = ssl.create_default_context()
        return MailBox(config.host, config.port, timeout=timeout, ssl_context=context)
    if config.security == "starttls":
        context = ssl.create_default_context()
        return MailBoxStartTls(config.host, config.port, timeout=timeout, ssl_context=context)
    return MailBoxUnencrypted(config.host, config.port, timeout=timeout)


def describe_error(exc: BaseException, config: ImapConfig) -> str:
    """One sentence an admin can act on, for the inboxes page; never the password."""
    where = {"host": config.host, "port": config.port}
    reply = _server_reply(exc)
    if isinstance(exc, socket.gaierror):
        text = _("The IMAP server name %(host)s could not be found.") % where
    elif isinstance(exc, ConnectionRefusedError):
        text = _("Nothing answers at %(host)s:%(port)s (connection refused).") % where
    elif isinstance(exc, TimeoutError):
        text = _("The IMAP server %(host)s:%(port)s did not answer within %(seconds)s seconds.") % {
            **where,
            "seconds": settings.IMAP_TIMEOUT_SECONDS,
        }
    elif isinstance(exc, ssl.SSLCertVerificationError):
        text = _("The certificate of %(host)s could not be verified: %(reason)s.") % {
            "host": config.host,
            "reason": exc.verify_message or exc.reason,
        }
    elif isinstance(exc, ssl.SSLError):
        text = _("The secure connection to %(host)s:%(port)s failed: %(reason)s.") % {
            **where,
            "reason": exc.reason or exc,
        }
    elif isinstance(exc, OSError):
        text = _("The connection to %(host)s:%(port)s failed: %(reason)s.") % {
            **where,
            "reason": exc.strerror or exc,
        }
    elif isinstance(exc, MailboxLoginError):
        text = _("The IMAP server refused the login of %(user)s: %(reply)s") % {
            "user": config.username,
            "reply": reply,
        }
    elif isinstance(exc, MailboxFolderSelectError):
        text = _("The folder “%(folder)s” could not be opened: %(reply)s") % {
            "folder": config.folder,
            "reply": reply,
        }
    elif isinstance(exc, MailboxStarttlsError) or (
        # imaplib refuses by itself ("TLS not supported by server") when the
        # server does not offer STARTTLS.
        config.security == "starttls" and isinstance(exc, imaplib.IMAP4.error) and "TLS" in reply
    ):
        text = _("The IMAP server %(host)s:%(port)s did not accept STARTTLS: %(reply)s") % {
            **where,
            "reply": reply,
        }
    elif isinstance(exc, imaplib.IMAP4.abort):
        text = _("The IMAP server %(host)s:%(port)s ended the session: %(reply)s") % {
            **where,
            "reply": reply,
        }
    else:
        text = _("The IMAP server %(host)s:%(port)s answered with an error: %(reply)s") % {
            **where,
            "reply": reply,
        }
    return _scrub(text, config.password)


def _close(mailbox: BaseMailBox) -> None:
    try:
        mailbox.logout()
    except (ImapToolsError, imaplib.IMAP4.error, OSError):
        _drop(mailbox)


def _drop(mailbox: BaseMailBox) -> None:
    try:
        mailbox.client.shutdown()
    except OSError:
        pass


def _refresh_capabilities(mailbox: BaseMailBox) -> None:
    # imaplib keeps the capabilities announced before login; servers list MOVE
    # and UIDPLUS only after it, and imap-tools' move() looks for MOVE there.
    typ, data = mailbox.client.capability()
    if typ == "OK" and data and data[-1]:
        mailbox.client.capabilities = tuple(data[-1].decode("ascii", "replace").upper().split())


def _uidvalidity(mailbox: BaseMailBox, folder: str) -> int:
    _name, data = mailbox.client.response("UIDVALIDITY")
    if data and data[-1]:
        return int(data[-1])
    return int(mailbox.folder.status(folder, ["UIDVALIDITY"])["UIDVALIDITY"])


def _ensure_folder(mailbox: BaseMailBox, name: str) -> None:
    if mailbox.folder.exists(name):
        return
    try:
        mailbox.folder.create(name)
    except MailboxFolderCreateError as exc:
        if not mailbox.folder.exists(name):  # not another client creating it at the same time
            raise ImapError(
                _("The folder “%(folder)s” for processed mail could not be created: %(reply)s")
                % {"folder": name, "reply": _server_reply(exc)}
            ) from exc


def _mark_processed(mailbox: BaseMailBox, config: ImapConfig, uid: int) -> None:
    try:
        if config.processed == "move":
            mailbox.move(str(uid), config.processed_folder)
        else:
            # Not mailbox.flag(): it EXPUNGEs afterwards, which would also remove
            # mail another client marked deleted but meant to keep until later.
            result = mailbox.client.uid("STORE", str(uid), "+FLAGS", f"({config.processed_flag})")
            check_command_status(result, MailboxFlagError)
    except (MailboxMoveError, MailboxFlagError, UnexpectedCommandStatusError) as exc:
        values = {
            "uid": uid,
            "folder": config.processed_folder,
            "flag": config.processed_flag,
            "reply": _server_reply(exc),
        }
        if config.processed == "move":
            text = _(
                "Mail with UID %(uid)s was stored but could not be moved to “%(folder)s”: %(reply)s"
            )
        else:
            text = _(
                "Mail with UID %(uid)s was stored but could not be flagged %(flag)s: %(reply)s"
            )
        raise ImapError(text % values) from exc


# --- Outcome -------------------------------------------------------------------------------


def _record(inbox_id: int, lease: datetime, result: PollResult) -> None:
    """Write how the poll went and let go of the mailbox (only if the lease is still ours)."""
    now = timezone.now()
    ours = Mailbox.objects.filter(inbox_id=inbox_id, leased_until=lease)
    if result.state == "ok":
        wait = 0 if result.more else settings.IMAP_POLL_SECONDS
        ours.update(
            failures=0,
            last_error="",
            last_success_at=now,
            next_poll_at=now + timedelta(seconds=wait),
            leased_until=None,
        )
    elif result.state == "failed":
        failures = (ours.values_list("failures", flat=True).first() or 0) + 1
        log.warning("poll of inbox %s failed (%s in a row): %s", inbox_id, failures, result.error)
        ours.update(
            failures=failures,
            last_error=result.error[:2000],
            next_poll_at=now + timedelta(seconds=backoff_seconds(failures)),
            leased_until=None,
        )
    else:
        ours.update(leased_until=None)


def _queue_processing(raw_ids: list[int]) -> None:
    from ..tasks import process_inbound  # tasks imports this module

    for raw_id in raw_ids:
        process_inbound.delay(raw_id)


def _server_reply(exc: Exception) -> str:
    """What the server said, as text ("[AUTHENTICATIONFAILED] Authentication failed.")."""
    if isinstance(exc, UnexpectedCommandStatusError):
        data = exc.command_result[1] if len(exc.command_result) > 1 else None
        parts = data if isinstance(data, list | tuple) else [data]
        text = " ".join(
            p.decode("utf-8", "replace") if isinstance(p, bytes) else str(p)
            for p in parts
            if p is not None
        )
        return text.strip() or str(exc.command_result[0])
    if exc.args and isinstance(exc.args[0], bytes):
        return exc.args[0].decode("utf-8", "replace")
    return str(exc)


def _scrub(text: str, password: str) -> str:
    # A server may echo what it was sent; a password never reaches the page.
    return text.replace(password, "•••") if password else text

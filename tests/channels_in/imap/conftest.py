"""A real IMAP server for the polling tests: Debian's dovecot on 127.0.0.1.

One dovecot runs for the whole session with its own configuration, ports and
folders (never the system's /etc/dovecot or ports 143/993); each test gets its
own account, so tests share nothing but the process. Mail reaches an account
the way any client would put it there: IMAP APPEND.

It listens twice on 127.0.0.1: `port` in plain text (STARTTLS offered,
plaintext login allowed: "security": "none") and `ssl_port` with TLS from the
start ("security": "ssl"), both with a self-signed certificate for 127.0.0.1
that the code under test trusts only when a test points SSL_CERT_FILE at it.
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path

import pytest
from imap_tools import MailBoxUnencrypted

from channels_in.inboxes import create_inbox
from tests.servers import free_port
from tickets.models import Channel

DOVECOT = "/usr/sbin/dovecot"
_accounts = itertools.count(1)
ACCOUNTS = 500
_mails = itertools.count(1)

CONFIG = """\
# Written by tests/channels_in/imap/conftest.py for one test session.
base_dir = {run}
state_dir = {state}
log_path = {log}
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
disable_plaintext_auth = no
auth_mechanisms = plain login
# A wrong password is answered at once: no failure delay (2 s by default) and
# no growing penalty for repeated failures (the anvil-auth-penalty socket, below).
auth_failure_delay = 0
{mail_user}
mail_location = maildir:{mail}/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {passwd}
}}
userdb {{
  driver = static
  args = home={mail}/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {ssl_port}
    ssl = yes
  }}
}}
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
"""


def _user_settings() -> str:
    """Who the mail processes run as: the dovecot user (dovecot never touches mail as root)."""
    user = pwd.getpwnam("dovecot")  # created by the dovecot-core package
    return (
        f"mail_uid = {user.pw_uid}\nmail_gid = {user.pw_gid}\n"
        f"first_valid_uid = {user.pw_uid}\nfirst_valid_gid = {user.pw_gid}\n"
    )


def _make_certificate(cert: Path, key: Path, host: str) -> None:
    if not shutil.which("openssl"):
        pytest.fail("The IMAP tests need openssl for a test certificate: apt-get install openssl")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", f"/CN={host}", "-addext", f"subjectAltName=IP:{host}",
         "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip


class DovecotServer:
    host = "127.0.0.1"

    def __init__(self, config_dir: Path):
        self.config_dir = config_dir
        self.port = free_port()
        self.ssl_port = free_port()
        # Mail and auth processes run as the dovecot user, who cannot enter
        # pytest's private (0700) temporary tree: the folders and the password
        # file live in a directory of their own, removed when the session ends.
        self.work = Path(tempfile.mkdtemp(prefix="helpdesk-dovecot-"))
        self.work.chmod(0o755)
        self.mail = self.work / "mail"
        self.mail.mkdir()
        user = pwd.getpwnam("dovecot")
        os.chown(self.mail, user.pw_uid, user.pw_gid)
        # Every account exists from the start: dovecot may not notice a
        # password file that changes within the second it last read it.
        self.passwd = self.work / "passwd"
        self.passwd.write_text(
            "".join(
                f"{a.username}:{{PLAIN}}{a.password}::::::\n"
                for a in map(self.account, range(1, ACCOUNTS + 1))
            )
        )
        self.passwd.chmod(0o644)
        self.log = config_dir / "dovecot.log"
        self.cert, key = self.work / "cert.pem", self.work / "key.pem"
        _make_certificate(self.cert, key, self.host)
        self.conf = config_dir / "dovecot.conf"
        self.conf.write_text(
            CONFIG.format(
                run=self.work / "run",
                state=self.work / "state",
                log=self.log,
                mail_user=_user_settings(),
                mail=self.mail,
                passwd=self.passwd,
                port=self.port,
                ssl_port=self.ssl_port,
                cert=self.cert,
                key=key,
            )
        )
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(self.conf)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                output = self.process.stdout.read().decode(errors="replace")
                pytest.fail(f"dovecot did not start:\n{output}\n{self.log_text()}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.5) as sock:
                    if sock.recv(100).startswith(b"* OK"):
                        return
            except OSError:
                time.sleep(0.05)
        pytest.fail(f"dovecot did not accept connections on port {self.port}:\n{self.log_text()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self.process is not None and self.process.stdout:
            self.process.stdout.close()
        shutil.rmtree(self.work, ignore_errors=True)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else "(no log)"

    def add_account(self) -> Account:
        """A fresh account: its own folders, so a test sees only its own mail."""
        number = next(_accounts)
        if number > ACCOUNTS:
            pytest.fail(f"All {ACCOUNTS} test accounts are used; raise ACCOUNTS in this conftest.")
        return self.account(number)

    def account(self, number: int) -> Account:
        return Account(server=self, username=f"support{number}", password=f"pass-{number}-ok")


@dataclass
class Account:
    server: DovecotServer
    username: str
    password: str

    def connect(self) -> MailBoxUnencrypted:
        return MailBoxUnencrypted(self.server.host, self.server.port, timeout=10).login(
            self.username, self.password
        )

    def deliver(self, raw: bytes, folder: str = "INBOX") -> None:
        """Put one mail in the folder (IMAP APPEND), creating the folder if needed."""
        with self.connect() as mailbox:
            if folder != "INBOX" and not mailbox.folder.exists(folder):
                mailbox.folder.create(folder)
            mailbox.append(raw, folder)

    def message_ids(self, folder: str = "INBOX") -> list[str]:
        """The Message-IDs in a folder, in UID order ([] when it does not exist)."""
        with self.connect() as mailbox:
            if not mailbox.folder.exists(folder):
                return []
            mailbox.folder.set(folder)
            return [
                mail.headers.get("message-id", ("",))[0].strip()
                for mail in mailbox.fetch(mark_seen=False, headers_only=True, bulk=True)
            ]

    def flags(self, folder: str = "INBOX") -> list[tuple[str, ...]]:
        with self.connect() as mailbox:
            mailbox.folder.set(folder)
            return [mail.flags for mail in mailbox.fetch(mark_seen=False, headers_only=True)]

    def recreate(self, folder: str) -> None:
        """Delete and create a folder again: the server gives it a new UIDVALIDITY."""
        with self.connect() as mailbox:
            mailbox.folder.delete(folder)
            mailbox.folder.create(folder)


@pytest.fixture(scope="session")
def dovecot(tmp_path_factory):
    if not os.path.exists(DOVECOT):
        pytest.fail(
            "The IMAP tests need Debian's dovecot: "
            "apt-get install dovecot-imapd (or run `make mailserver`)."
        )
    if os.geteuid() != 0:
        # Dovecot starts as root and drops to its own users; unprivileged it
        # needs a different set-up that these tests do not provide.
        pytest.fail("The IMAP tests start dovecot, which must run as root (as `make test` does).")
    server = DovecotServer(tmp_path_factory.mktemp("dovecot"))
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture
def imap_account(dovecot) -> Account:
    return dovecot.add_account()


@pytest.fixture
def make_imap_inbox(db, team):
    """make_imap_inbox(account, **imap) -> an email inbox that polls the account.

    `password=` overrides the account's (a wrong one), `port=` its port (a closed one).
    """

    def _make(account: Account, *, name=None, password=None, address=None, **imap):
        settings = {
            "host": account.server.host,
            "port": account.server.port,
            "security": "none",
            "username": account.username,
            "folder": "INBOX",
            "processed": "move",
            "processed_folder": "Processed",
            **imap,
        }
        return create_inbox(
            channel=Channel.EMAIL,
            name=name or f"Support {account.username}",
            team=team,
            config={
                "address": address or f"{account.username}@helpdesk.example",
                "imap": settings,
            },
            secrets={"imap_password": account.password if password is None else password},
        )

    return _make


@pytest.fixture
def new_mail():
    """new_mail(message_id="<a@b>", sender=..., subject=..., text=...) -> raw bytes.

    A plain mail as a customer's client sends it (CRLF line ends); without
    `sender` it has no From (the kind of mail we cannot turn into a ticket).
    """

    def _mail(
        *,
        message_id: str | None = None,
        sender: str | None = "jan@example.com",
        subject: str = "Zamówienie 1234",
        text: str = "Dzień dobry, gdzie jest moja paczka?",
        to: str = "support@helpdesk.example",
    ) -> bytes:
        mail = EmailMessage()
        if sender:
            mail["From"] = f"Jan Kowalski <{sender}>"
        mail["To"] = to
        mail["Subject"] = subject
        mail["Date"] = formatdate(localtime=False)
        mail["Message-ID"] = message_id or f"<imap-test-{next(_mails)}@mail.example.com>"
        mail.set_content(text)
        return mail.as_bytes(policy=mail.policy.clone(linesep="\r\n"))

    return _mail

"""Write N realistic inbound mails as .eml files, the same every time for the same seed.

    python bench/email/generate.py --out var/bench-email/mails --count 2000 [--seed 2026]

Standard library only, so both our virtualenv and django-helpdesk's can run it. The mix:

- English, Polish and Czech mail; the Central European ones in utf-8, iso-8859-2 or
  windows-1250 (headers as RFC 2047 encoded words in the same charset);
- plain text, multipart/alternative (text + HTML), and some multipart/mixed with a small
  attachment (PDF, PNG, CSV, a log file; some with RFC 2231 non-ASCII file names);
- about a third replies ("Re: ...", In-Reply-To and References naming an earlier mail of
  the same conversation, the earlier text quoted below);
- many distinct senders, a few of them writing several times (new topics and follow-ups);
- Received, DKIM-Signature, X-Mailer/User-Agent headers of the size real mail carries.

Bodies are quoted-printable, base64 or (utf-8 only) 8bit, as mail clients send them. No
legacy-charset body is raw 8-bit: django-helpdesk reads local mail files as text in the
locale's encoding (utf-8), so such a file would stop its whole import run.

Files are written as 00001.eml ... in CRLF form. A summary of the mix goes to stdout as JSON
(and to --summary FILE).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import quopri
import random
import struct
import zlib
from datetime import UTC, datetime, timedelta
from email.header import Header
from email.utils import encode_rfc2231, format_datetime, formataddr
from pathlib import Path

SUPPORT = ("Sklep Obsługa", "support@shop.example")
BASE_DATE = datetime(2026, 11, 2, 7, 30, tzinfo=UTC)

FIRST = {
    "en": ["Emma", "Oliver", "Sophie", "Jack", "Grace", "Harry", "Chloe", "Liam", "Ella", "Noah"],
    "pl": [
        "Małgorzata",
        "Łukasz",
        "Agnieszka",
        "Paweł",
        "Zofia",
        "Grzegorz",
        "Żaneta",
        "Michał",
        "Ewa",
        "Bożena",
        "Jędrzej",
        "Katarzyna",
    ],
    "cs": [
        "Jiří",
        "Tereza",
        "Petr",
        "Kateřina",
        "Tomáš",
        "Markéta",
        "Lukáš",
        "Zuzana",
        "Ondřej",
        "Věra",
        "Radek",
        "Šárka",
    ],
}
LAST = {
    "en": ["Smith", "Taylor", "Brown", "Wilson", "Evans", "Walker", "Wright", "Hughes"],
    "pl": [
        "Wiśniewska",
        "Wójcik",
        "Kowalczyk",
        "Dąbrowski",
        "Zieliński",
        "Szymańska",
        "Woźniak",
        "Kozłowski",
        "Jankowska",
        "Mazur",
    ],
    "cs": [
        "Novák",
        "Svobodová",
        "Dvořák",
        "Černá",
        "Procházka",
        "Kučerová",
        "Veselý",
        "Horáková",
        "Němec",
        "Marešová",
    ],
}
DOMAINS = {
    "en": ["mail.example", "example.com", "inbox.example.org", "corp.example.net"],
    "pl": ["poczta.example.pl", "wp.example.pl", "firma.example.pl", "example.pl"],
    "cs": ["seznam.example.cz", "posta.example.cz", "example.cz", "firma.example.cz"],
}
SUBJECTS = {
    "en": [
        "Order {n} has not arrived",
        "Wrong size delivered (order {n})",
        "Refund for order {n}",
        "Invoice {n} needs a VAT number",
        "Cannot log in to my account",
        "Question about the warranty",
        "Parcel damaged in transit, order {n}",
        "Change delivery address for {n}",
    ],
    "pl": [
        "Zamówienie {n} nie dotarło",
        "Zły rozmiar w przesyłce (zamówienie {n})",
        "Zwrot pieniędzy za zamówienie {n}",
        "Faktura {n} - brak numeru NIP",
        "Nie mogę się zalogować do konta",
        "Pytanie o gwarancję - uszkodzony zamek błyskawiczny",
        "Paczka uszkodzona w transporcie, zamówienie {n}",
        "Zmiana adresu dostawy dla {n}",
    ],
    "cs": [
        "Objednávka {n} nedorazila",
        "Špatná velikost v zásilce (objednávka {n})",
        "Vrácení peněz za objednávku {n}",
        "Faktura {n} - chybí DIČ",
        "Nemohu se přihlásit ke svému účtu",
        "Dotaz na záruku - poškozený zip",
        "Balík poškozený při přepravě, objednávka {n}",
        "Změna doručovací adresy pro {n}",
    ],
}
GREETING = {
    "en": ["Hello,", "Hi there,", "Good morning,", "Dear support team,"],
    "pl": ["Dzień dobry,", "Witam,", "Szanowni Państwo,", "Cześć,"],
    "cs": ["Dobrý den,", "Zdravím,", "Vážení,", "Ahoj,"],
}
SENTENCES = {
    "en": [
        "I ordered a blue jacket last week and it still has not shipped.",
        "The tracking page has shown the same status for five days now.",
        "Could you tell me when the parcel will be sent?",
        "The sleeves are too short, so I would like to exchange it for a larger size.",
        "I paid by card and the money has already left my account.",
        "Please send the invoice to my company address, the VAT number is below.",
        "The zip broke after two days of normal use.",
        "I have attached a photo of the damage.",
        "Is it possible to pick the order up in person instead?",
        "Your website shows an error when I try to reset my password.",
        "I would appreciate a quick answer, the jacket is a birthday present.",
        "Thank you for the fast delivery last time, this time something went wrong.",
    ],
    "pl": [
        "W zeszłym tygodniu zamówiłam niebieską kurtkę i nadal nie została wysłana.",
        "Strona śledzenia przesyłki od pięciu dni pokazuje ten sam status.",
        "Czy mogą Państwo sprawdzić, kiedy paczka zostanie nadana?",
        "Rękawy są za krótkie, więc chciałabym wymienić ją na większy rozmiar.",
        "Zapłaciłem kartą i pieniądze już zniknęły z mojego konta.",
        "Proszę o wystawienie faktury na firmę, numer NIP podaję poniżej.",
        "Zamek błyskawiczny zepsuł się po dwóch dniach zwykłego użytkowania.",
        "W załączniku przesyłam zdjęcie uszkodzenia.",
        "Czy mogę odebrać zamówienie osobiście w sklepie w Łodzi?",
        "Przy próbie zmiany hasła strona wyświetla błąd.",
        "Będę wdzięczna za szybką odpowiedź, kurtka ma być prezentem urodzinowym.",
        "Ostatnio dostawa była bardzo szybka, tym razem coś poszło nie tak.",
        "Żółta etykieta na paczce była rozerwana, a karton zgnieciony.",
    ],
    "cs": [
        "Minulý týden jsem objednala modrou bundu a pořád nebyla odeslána.",
        "Sledování zásilky ukazuje už pět dní stejný stav.",
        "Můžete mi prosím říct, kdy bude balík odeslán?",
        "Rukávy jsou příliš krátké, ráda bych ji vyměnila za větší velikost.",
        "Platil jsem kartou a peníze už z účtu odešly.",
        "Prosím o vystavení faktury na firmu, DIČ uvádím níže.",
        "Zip se rozbil po dvou dnech běžného nošení.",
        "V příloze posílám fotografii poškození.",
        "Je možné si objednávku vyzvednout osobně na prodejně v Brně?",
        "Při pokusu o obnovení hesla web hlásí chybu.",
        "Budu ráda za rychlou odpověď, bunda má být dárek k narozeninám.",
        "Minule bylo doručení velmi rychlé, tentokrát se něco pokazilo.",
        "Žluťoučký štítek na balíku byl roztržený a krabice zmačkaná.",
    ],
}
FOLLOW_UPS = {
    "en": [
        "Any news on this? I have not heard back yet.",
        "Thanks for the answer. The parcel arrived today, but the size is still wrong.",
        "I am sending the photo you asked for.",
        "That worked, thank you. You can close the ticket.",
        "Sorry, I forgot to add the order number: {n}.",
    ],
    "pl": [
        "Czy są jakieś nowe informacje? Nadal nie dostałam odpowiedzi.",
        "Dziękuję za odpowiedź. Paczka dotarła dziś, ale rozmiar wciąż jest zły.",
        "Przesyłam zdjęcie, o które Państwo prosili.",
        "Zadziałało, dziękuję. Można zamknąć zgłoszenie.",
        "Przepraszam, zapomniałem podać numer zamówienia: {n}.",
    ],
    "cs": [
        "Máte nějaké novinky? Stále jsem nedostala odpověď.",
        "Děkuji za odpověď. Balík dnes dorazil, ale velikost je pořád špatná.",
        "Posílám fotografii, o kterou jste žádali.",
        "Funguje to, děkuji. Požadavek můžete uzavřít.",
        "Omlouvám se, zapomněl jsem uvést číslo objednávky: {n}.",
    ],
}
CLOSING = {
    "en": ["Thanks,", "Best regards,", "Kind regards,", "Cheers,"],
    "pl": ["Pozdrawiam,", "Z poważaniem,", "Dziękuję i pozdrawiam,", "Miłego dnia,"],
    "cs": ["S pozdravem,", "Děkuji,", "Hezký den,", "S přátelským pozdravem,"],
}
WROTE = {
    "en": "On {date}, {name} <{addr}> wrote:",
    "pl": "W dniu {date} {name} <{addr}> pisze:",
    "cs": "Dne {date} {name} <{addr}> napsal(a):",
}
REPLY_PREFIX = {"en": "Re: ", "pl": "Re: ", "cs": "Re: "}
MAILERS = [
    ("User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Thunderbird/128.4.0"),
    ("X-Mailer", "Apple Mail (2.3774.200.91.1.1)"),
    ("X-Mailer", "Microsoft Outlook 16.0"),
    ("User-Agent", "Roundcube Webmail/1.6.9"),
    ("X-Mailer", "iPhone Mail (21G93)"),
    ("User-Agent", "K-9 Mail for Android"),
]
CRLF = "\r\n"


class Mail:
    """What later mails need to know about an earlier one."""

    def __init__(self, *, message_id, subject, sender, lang, text, date, references):
        self.message_id = message_id
        self.subject = subject
        self.sender = sender
        self.lang = lang
        self.text = text
        self.date = date
        self.references = references


class Generator:
    def __init__(self, seed: int) -> None:
        self.rnd = random.Random(seed)
        self.seed = seed
        self.senders: list[tuple[str, str, str]] = []  # (name, address, lang)
        self.mails: list[Mail] = []
        self.threads_of: dict[str, list[int]] = {}  # sender address -> indexes of their mails
        self.stats: dict[str, dict[str, int]] = {}

    def count(self, key: str, value: str) -> None:
        bucket = self.stats.setdefault(key, {})
        bucket[value] = bucket.get(value, 0) + 1

    # --- people -------------------------------------------------------------------------

    def new_sender(self) -> tuple[str, str, str]:
        rnd = self.rnd
        lang = rnd.choices(("en", "pl", "cs"), weights=(30, 40, 30))[0]
        first, last = rnd.choice(FIRST[lang]), rnd.choice(LAST[lang])
        local = _ascii(f"{first}.{last}").lower()
        address = f"{local}{len(self.senders) + 1}@{rnd.choice(DOMAINS[lang])}"
        sender = (f"{first} {last}", address, lang)
        self.senders.append(sender)
        return sender

    def pick_sender(self) -> tuple[str, str, str]:
        # One new topic in five comes from someone who wrote before.
        if self.senders and self.rnd.random() < 0.2:
            # Skewed towards a few frequent writers.
            return self.senders[int(len(self.senders) * self.rnd.random() ** 2)]
        return self.new_sender()

    # --- content ------------------------------------------------------------------------

    def body(self, lang: str, n: int, *, follow_up: bool) -> str:
        rnd = self.rnd
        lines = [rnd.choice(GREETING[lang]), ""]
        if follow_up:
            lines.append(rnd.choice(FOLLOW_UPS[lang]).format(n=n))
            if rnd.random() < 0.5:
                lines.append(rnd.choice(SENTENCES[lang]))
        else:
            count = rnd.randint(2, 6)
            sentences = rnd.sample(SENTENCES[lang], count)
            split = rnd.randint(1, count)
            lines.append(" ".join(sentences[:split]))
            if sentences[split:]:
                lines += ["", " ".join(sentences[split:])]
            lines.append(f"#{n}")
        return "\n".join(lines)

    def signature(self, name: str, lang: str) -> str:
        phone = f"+{self.rnd.choice(('48', '420', '44'))} {self.rnd.randint(500, 799)} " + (
            f"{self.rnd.randint(100, 999)} {self.rnd.randint(100, 999)}"
        )
        return "\n".join([self.rnd.choice(CLOSING[lang]), name, "-- ", phone])

    # --- one mail -----------------------------------------------------------------------

    def mail(self, i: int) -> bytes:
        rnd = self.rnd
        n = 500000 + i
        date = BASE_DATE + timedelta(minutes=7 * i + rnd.randint(0, 6), seconds=rnd.randint(0, 59))
        parent: Mail | None = None
        if self.mails and rnd.random() < 0.36:
            # A reply: mostly the customer following up on their own last conversation.
            parent = self.mails[rnd.randrange(max(0, len(self.mails) - 400), len(self.mails))]
            own = self.threads_of.get(parent.sender[1], [])
            if own:
                parent = self.mails[own[-1]]
            sender = parent.sender
            lang = parent.lang
        else:
            sender = self.pick_sender()
            lang = sender[2] if rnd.random() < 0.9 else rnd.choice(("en", "pl", "cs"))
        name, address, _ = sender
        if lang == "en":
            charset = rnd.choices(("us-ascii", "utf-8"), weights=(40, 60))[0]
        else:
            charset = rnd.choices(("utf-8", "iso-8859-2", "windows-1250"), weights=(60, 20, 20))[0]
        if parent is not None:
            subject = REPLY_PREFIX[lang] + parent.subject.removeprefix(REPLY_PREFIX[lang])
        else:
            subject = rnd.choice(SUBJECTS[lang]).format(n=n)
        text = self.body(lang, n, follow_up=parent is not None)
        own_text = text + "\n\n" + self.signature(name, lang)
        full_text = own_text
        if parent is not None:
            wrote = WROTE[lang].format(
                date=format_datetime(parent.date), name=parent.sender[0], addr=parent.sender[1]
            )
            quoted = "\n".join(("> " + line).rstrip() for line in parent.text.splitlines())
            full_text = own_text + "\n\n" + wrote + "\n" + quoted
        if charset == "us-ascii" and not (full_text + name).isascii():
            charset = "utf-8"  # an English mail quoting, or signed by, a Polish or Czech name
        domain = address.split("@", 1)[1]
        digest = hashlib.sha1(f"{self.seed}-{i}".encode()).hexdigest()[:12]
        message_id = f"<{digest}.{i}.{self.seed}@{domain}>"
        references: list[str] = []
        if parent is not None:
            references = [*parent.references, parent.message_id][-8:]

        headers: list[tuple[str, str]] = []
        hops = rnd.randint(1, 3)
        for hop in range(hops):
            stamp = format_datetime(date + timedelta(seconds=hops - hop))
            host = f"mx{hop + 1}.{domain}"
            address_ip = f"192.0.2.{rnd.randint(1, 254)}"
            queue_id = f"{digest[:10].upper()}{hop}"
            headers.append(
                (
                    "Received",
                    f"from {host} ({host} [{address_ip}]){CRLF}\tby mx.shop.example (Postfix) "
                    f"with ESMTPS id {queue_id}{CRLF}\tfor <{SUPPORT[1]}>; {stamp}",
                )
            )
        if rnd.random() < 0.6:
            sig = base64.b64encode(hashlib.sha512(message_id.encode()).digest() * 4).decode()
            headers.append(
                (
                    "DKIM-Signature",
                    f"v=1; a=rsa-sha256; c=relaxed/relaxed; d={domain}; s=s2026;{CRLF}"
                    f"\th=from:to:subject:date:message-id; bh={sig[:44]};{CRLF}"
                    f"\tb={sig[:76]}{CRLF}\t {sig[76:152]}{CRLF}\t {sig[152:228]}",
                )
            )
        header_charset = "utf-8" if charset == "us-ascii" else charset
        headers += [
            ("From", formataddr((name, address), charset=header_charset)),
            ("To", formataddr(SUPPORT, charset="utf-8")),
        ]
        if rnd.random() < 0.1:
            colleague = self.new_sender() if rnd.random() < 0.5 else rnd.choice(self.senders)
            headers.append(("Cc", formataddr(colleague[:2], charset=header_charset)))
        headers += [
            ("Subject", _header(subject, header_charset)),
            ("Date", format_datetime(date)),
            ("Message-ID", message_id),
        ]
        if parent is not None:
            headers.append(("In-Reply-To", parent.message_id))
            headers.append(("References", (CRLF + " ").join(references)))
        mailer = rnd.choice(MAILERS)
        headers.append(mailer)
        if rnd.random() < 0.4:
            headers.append(("Content-Language", {"en": "en-GB", "pl": "pl", "cs": "cs-CZ"}[lang]))
        headers.append(("MIME-Version", "1.0"))

        shape = rnd.choices(("plain", "alternative"), weights=(45, 55))[0]
        if shape == "plain":
            body_part = _text_part(full_text, "plain", charset, self._cte(charset))
        else:
            cte = self._cte(charset)
            html = _html(own_text, parent, lang)
            body_part = _multipart(
                "alternative",
                [
                    _text_part(full_text, "plain", charset, cte),
                    _text_part(html, "html", charset, cte),
                ],
                self._boundary(i, "alt"),
            )
        attachment = None
        if rnd.random() < 0.15:
            attachment = self.attachment(lang, n)
            entity = _multipart("mixed", [body_part, attachment[1]], self._boundary(i, "mix"))
            self.count("attachments", attachment[0])
        else:
            entity = body_part
        self.count("shape", shape + (" + attachment" if attachment else ""))
        self.count("language", lang)
        self.count("charset", charset)
        self.count("kind", "reply" if parent else "new conversation")

        raw = CRLF.join(f"{k}: {v}" for k, v in headers) + CRLF + entity
        self.mails.append(
            Mail(
                message_id=message_id,
                subject=subject,
                sender=sender,
                lang=lang,
                text=own_text,
                date=date,
                references=references,
            )
        )
        self.threads_of.setdefault(address, []).append(len(self.mails) - 1)
        return raw.encode("utf-8")

    def _cte(self, charset: str) -> str:
        if charset == "us-ascii":
            return "7bit"
        if charset == "utf-8":
            return self.rnd.choices(("quoted-printable", "base64", "8bit"), weights=(45, 30, 25))[0]
        return self.rnd.choices(("quoted-printable", "base64"), weights=(75, 25))[0]

    def _boundary(self, i: int, kind: str) -> str:
        return f"----=_Part_{kind}_{self.seed}_{i}_{self.rnd.randrange(10**9):09d}"

    def attachment(self, lang: str, n: int) -> tuple[str, str]:
        rnd = self.rnd
        kind = rnd.choices(("pdf", "png", "csv", "log"), weights=(40, 35, 15, 10))[0]
        if kind == "pdf":
            name = {"en": f"invoice-{n}.pdf", "pl": f"faktura-{n}-korekta.pdf"}.get(
                lang, f"faktura-{n}-opravná.pdf"
            )
            content = b"%PDF-1.4\n" + rnd.randbytes(rnd.randint(2_000, 30_000)) + b"\n%%EOF\n"
            ctype = "application/pdf"
        elif kind == "png":
            name = {"en": "photo.png", "pl": f"zdjęcie-uszkodzenia-{n}.png"}.get(
                lang, f"fotka-poškození-{n}.png"
            )
            content = _png(rnd, rnd.randint(40, 160), rnd.randint(30, 120))
            ctype = "image/png"
        elif kind == "csv":
            name = f"order-{n}.csv"
            rows = ["sku;name;qty;price"] + [
                f"SKU{rnd.randint(1000, 9999)};{rnd.choice(SENTENCES[lang])[:24]};"
                f"{rnd.randint(1, 4)};{rnd.randint(20, 900)}.{rnd.randint(0, 99):02d}"
                for _ in range(rnd.randint(3, 30))
            ]
            content = "\n".join(rows).encode("utf-8")
            ctype = "text/csv"
        else:
            name = "app.log"
            content = "\n".join(
                f"2026-11-0{rnd.randint(1, 9)} 10:{rnd.randint(10, 59)} ERROR login failed code "
                f"{rnd.randint(400, 503)}"
                for _ in range(rnd.randint(5, 60))
            ).encode()
            ctype = "text/plain"
        if name.isascii():
            disposition = f'attachment; filename="{name}"'
            type_name = f'; name="{name}"'
        else:
            disposition = f"attachment;{CRLF} filename*={encode_rfc2231(name, 'utf-8')}"
            type_name = ""
        encoded = base64.encodebytes(content).decode("ascii").replace("\n", CRLF)
        part = (
            f"Content-Type: {ctype}{type_name}{CRLF}"
            f"Content-Disposition: {disposition}{CRLF}"
            f"Content-Transfer-Encoding: base64{CRLF}{CRLF}{encoded}"
        )
        return kind, part


def _ascii(text: str) -> str:
    table = str.maketrans(
        "ąćęłńóśźżĄĆĘŁŃÓŚŹŻěščřžýáíéůúťďňĚŠČŘŽÝÁÍÉŮÚŤĎŇ",
        "acelnoszzACELNOSZZescrzyaieuutdnESCRZYAIEUUTDN",
    )
    return text.translate(table)


def _header(value: str, charset: str) -> str:
    if value.isascii():
        return value
    return Header(value, charset, maxlinelen=76, header_name="Subject").encode(linesep=CRLF)


def _text_part(text: str, subtype: str, charset: str, cte: str) -> str:
    if cte == "quoted-printable":
        body = quopri.encodestring(text.encode(charset)).decode("ascii").replace("\n", CRLF)
    elif cte == "base64":
        data = text.replace("\n", CRLF).encode(charset)
        body = base64.encodebytes(data).decode("ascii").replace("\n", CRLF)
    else:
        body = text.replace("\n", CRLF)
    return (
        f"Content-Type: text/{subtype}; charset={charset}{CRLF}"
        f"Content-Transfer-Encoding: {cte}{CRLF}{CRLF}{body.rstrip(CRLF)}{CRLF}"
    )


def _multipart(subtype: str, parts: list[str], boundary: str) -> str:
    out = [f'Content-Type: multipart/{subtype};{CRLF} boundary="{boundary}"{CRLF}{CRLF}']
    for part in parts:
        out.append(f"--{boundary}{CRLF}{part}")
    out.append(f"--{boundary}--{CRLF}")
    return "".join(out)


def _html(text: str, parent: Mail | None, lang: str) -> str:
    def paragraphs(value: str) -> str:
        return "".join(
            "<p>" + _escape(block).replace("\n", "<br>\n") + "</p>\n"
            for block in value.split("\n\n")
        )

    html = (
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8">'
        "</head>\n<body>\n"
        f'<div dir="ltr" style="font-family: Arial, sans-serif; font-size: 14px">\n'
        f"{paragraphs(text)}</div>\n"
    )
    if parent is not None:
        wrote = WROTE[lang].format(
            date=format_datetime(parent.date), name=parent.sender[0], addr=parent.sender[1]
        )
        html += (
            f'<div class="gmail_quote"><div class="gmail_attr">{_escape(wrote)}</div>\n'
            '<blockquote type="cite" style="margin:0 0 0 .8ex;border-left:1px #ccc solid;'
            f'padding-left:1ex">\n{paragraphs(parent.text)}</blockquote></div>\n'
        )
    return html + "</body></html>"


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _png(rnd: random.Random, width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    colour = bytes(rnd.randrange(256) for _ in range(3))
    rows = b"".join(b"\x00" + colour * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )


def generate(out: Path, count: int, seed: int) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.eml"):
        old.unlink()
    gen = Generator(seed)
    total = 0
    for i in range(1, count + 1):
        raw = gen.mail(i)
        total += len(raw)
        (out / f"{i:05d}.eml").write_bytes(raw)
    customers = {m.sender[1] for m in gen.mails}
    writes = {}
    for m in gen.mails:
        writes[m.sender[1]] = writes.get(m.sender[1], 0) + 1
    return {
        "count": count,
        "seed": seed,
        "bytes_total": total,
        "bytes_mean": round(total / max(count, 1)),
        "senders": len(customers),
        "senders_with_several_mails": sum(1 for v in writes.values() if v > 1),
        **{key: dict(sorted(value.items())) for key, value in gen.stats.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--summary", type=Path)
    args = parser.parse_args()
    summary = generate(args.out, args.count, args.seed)
    text = json.dumps(summary, indent=2, ensure_ascii=False)
    if args.summary:
        args.summary.parent.mkdir(parents=True, exist_ok=True)
        args.summary.write_text(text)
    print(text)


if __name__ == "__main__":
    main()

"""Writes the corpus mails that cannot be typed by hand: legacy 8-bit charsets
(iso-8859-2, windows-1250, declared, undeclared and mislabelled), raw 8-bit
headers, computed encodings, binary garbage, huge and oversized parts.

Every other file in mails/ is written by hand. The output is deterministic:
no clock, no randomness; test_parse_corpus.py checks the committed files
still match what this script builds.

    .venv/bin/python tests/channels_in/email_corpus/generate.py
"""

from __future__ import annotations

import base64
import hashlib
import quopri
from collections.abc import Callable
from pathlib import Path

MAILS = Path(__file__).parent / "mails"

BUILDERS: dict[str, Callable[[], bytes]] = {}


def mail(name: str) -> Callable[[Callable[[], bytes]], Callable[[], bytes]]:
    def register(builder: Callable[[], bytes]) -> Callable[[], bytes]:
        BUILDERS[name] = builder
        return builder

    return register


# --- encoding helpers ----------------------------------------------------------


def crlf(text: str) -> bytes:
    """An ASCII template with CRLF line ends, as mail travels over SMTP."""
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode("ascii")


def qp(text: str, charset: str) -> str:
    """Quoted-printable body in a charset (soft breaks at 76 columns)."""
    encoded = quopri.encodestring(text.replace("\n", "\r\n").encode(charset))
    return encoded.decode("ascii").replace("\r\n", "\n").replace("=0D\n", "\n")


def b64(data: bytes) -> str:
    return base64.encodebytes(data).decode("ascii")


def word_q(text: str, charset: str) -> str:
    """One RFC 2047 Q encoded word."""
    out = []
    for byte in text.encode(charset):
        char = chr(byte)
        if char == " ":
            out.append("_")
        elif char.isalnum() and byte < 128:
            out.append(char)
        elif char in "-./,:" and byte < 128:
            out.append(char)
        else:
            out.append(f"={byte:02X}")
    return f"=?{charset}?Q?{''.join(out)}?="


def word_b(data: bytes, charset: str) -> str:
    return f"=?{charset}?B?{base64.b64encode(data).decode('ascii')}?="


def pseudo_random(seed: str, size: int) -> bytes:
    """Deterministic noise: sha256 in counter mode."""
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(f"{seed}:{counter}".encode()).digest()
        counter += 1
    return bytes(out[:size])


PNG_1PX = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
PDF_SMALL = (
    b"%PDF-1.4\n1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj\n"
    b"2 0 obj <</Type /Pages /Kids [] /Count 0>> endobj\ntrailer <</Root 1 0 R>>\n%%EOF\n"
)

RECEIVED_GMAIL = """\
Received: from mail-ej1-f54.google.com (mail-ej1-f54.google.com [209.85.218.54])
\tby mx.helpdesk.example (Postfix) with ESMTPS id 4TvQ1k6Z3Lz9sWq
\tfor <support@helpdesk.example>; Fri, 15 Mar 2024 09:12:44 +0100 (CET)
"""
RECEIVED_OUTLOOK = """\
Received: from EUR05-AM6-obe.outbound.protection.outlook.com
\t(mail-am6eur05on2097.outbound.protection.outlook.com [40.107.22.97])
\tby mx.helpdesk.example (Postfix) with ESMTPS id 4TvR7c0nQ2z9sTb
\tfor <support@helpdesk.example>; Fri, 15 Mar 2024 10:41:03 +0100 (CET)
"""


# --- Outlook (desktop, Polish, iso-8859-2 quoted-printable) ---------------------

ANNA_FROM = f"{word_q('Anna Wiśniewska', 'iso-8859-2')} <anna.wisniewska@firma-budowlana.pl>"
ANNA_SUBJECT = word_q("Zamówienie nr ZK/2024/0315 - uszkodzona dostawa", "iso-8859-2")
ANNA_THREAD_INDEX = "Adp+PEtaSXCivhoOqJk8W2omZ8SiRg=="
ANNA_FIRST_ID = "AM0PR07MB4468A1B2C3D4E5F6A7B8C9D0E1F2A3B4@AM0PR07MB4468.eurprd07.prod.outlook.com"

OUTLOOK_HTML_HEAD = """\
<html xmlns:v=3D"urn:schemas-microsoft-com:vml" xmlns:o=3D"urn:schemas-micr=
osoft-com:office:office" xmlns:w=3D"urn:schemas-microsoft-com:office:word" =
xmlns:m=3D"http://schemas.microsoft.com/office/2004/12/omml" xmlns=3D"http:=
//www.w3.org/TR/REC-html40">
<head>
<meta http-equiv=3D"Content-Type" content=3D"text/html; charset=3Diso-8859-=
2">
<meta name=3D"Generator" content=3D"Microsoft Word 15 (filtered medium)">
<style><!--
p.MsoNormal, li.MsoNormal, div.MsoNormal
\t{margin:0cm;
\tfont-size:11.0pt;
\tfont-family:"Calibri",sans-serif;}
@page WordSection1
\t{size:612.0pt 792.0pt;
\tmargin:70.85pt 70.85pt 70.85pt 70.85pt;}
div.WordSection1
\t{page:WordSection1;}
--></style>
</head>
<body lang=3D"PL" link=3D"#0563C1" vlink=3D"#954F72" style=3D"word-wrap:brea=
k-word">
<div class=3D"WordSection1">
"""


def _outlook_paragraphs(lines: list[str]) -> str:
    html = "".join(f'<p class="MsoNormal">{line or "<o:p>&nbsp;</o:p>"}</p>\n' for line in lines)
    return qp(html, "iso-8859-2")


@mail("outlook_new_request_iso8859_2_qp.eml")
def outlook_new_request() -> bytes:
    lines = [
        "Dzień dobry,",
        "",
        "proszę o pilną wymianę uszkodzonej płyty gipsowo-kartonowej - dostawa z 12 marca "
        "przyszła pęknięta. Zdjęcia prześlę osobno.",
        "",
        "Pozdrawiam serdecznie",
        "Anna Wiśniewska",
        "Kierownik zaopatrzenia, Firma Budowlana Wiśniewscy Sp. z o.o.",
    ]
    return crlf(
        RECEIVED_OUTLOOK
        + f"""\
From: {ANNA_FROM}
To: "support@helpdesk.example" <support@helpdesk.example>
Subject: {ANNA_SUBJECT}
Thread-Topic: {ANNA_SUBJECT}
Thread-Index: {ANNA_THREAD_INDEX}
Date: Fri, 15 Mar 2024 09:41:01 +0000
Message-ID: <{ANNA_FIRST_ID}>
Accept-Language: pl-PL, en-US
Content-Language: pl-PL
X-MS-Has-Attach:
X-MS-TNEF-Correlator:
x-originating-ip: [83.24.101.17]
Content-Type: multipart/alternative;
\tboundary="_000_AM0PR07MB4468A1B2C3D4E5F6A7B8C9D0E1F2A3B4AM0PR07MB4468eurp_"
MIME-Version: 1.0

--_000_AM0PR07MB4468A1B2C3D4E5F6A7B8C9D0E1F2A3B4AM0PR07MB4468eurp_
Content-Type: text/plain; charset="iso-8859-2"
Content-Transfer-Encoding: quoted-printable

{qp(chr(10).join(lines), "iso-8859-2")}

--_000_AM0PR07MB4468A1B2C3D4E5F6A7B8C9D0E1F2A3B4AM0PR07MB4468eurp_
Content-Type: text/html; charset="iso-8859-2"
Content-Transfer-Encoding: quoted-printable

{OUTLOOK_HTML_HEAD}{_outlook_paragraphs(lines)}
</div>
</body>
</html>

--_000_AM0PR07MB4468A1B2C3D4E5F6A7B8C9D0E1F2A3B4AM0PR07MB4468eurp_--
"""
    )


@mail("outlook_reply_thread_index.eml")
def outlook_reply_thread_index() -> bytes:
    # Some gateways drop In-Reply-To and References; Outlook's Thread-Index
    # (the same 22-byte root plus 5 bytes per reply) is all that is left.
    lines = [
        "Dzień dobry,",
        "",
        "w załączeniu dosyłam numer palety: PAL-7781. Czy odbiór uszkodzonego towaru",
        "jest po Państwa stronie?",
        "",
        "Anna Wiśniewska",
    ]
    subject = word_q("RE: Zamówienie nr ZK/2024/0315 - uszkodzona dostawa", "iso-8859-2")
    return crlf(
        RECEIVED_OUTLOOK
        + f"""\
From: {ANNA_FROM}
To: "support@helpdesk.example" <support@helpdesk.example>
Subject: {subject}
Thread-Topic: {ANNA_SUBJECT}
Thread-Index: Adp+PEtaSXCivhoOqJk8W2omZ8SiRgobLD1O
Date: Fri, 15 Mar 2024 11:02:17 +0000
Message-ID: <AM0PR07MB44680F1E2D3C4B5A69788796A5B4C3D2@AM0PR07MB4468.eurprd07.prod.outlook.com>
Accept-Language: pl-PL, en-US
Content-Language: pl-PL
X-MS-Has-Attach:
X-MS-TNEF-Correlator:
Content-Type: multipart/alternative;
\tboundary="_000_AM0PR07MB44680F1E2D3C4B5A69788796A5B4C3D2AM0PR07MB4468eurp_"
MIME-Version: 1.0

--_000_AM0PR07MB44680F1E2D3C4B5A69788796A5B4C3D2AM0PR07MB4468eurp_
Content-Type: text/plain; charset="iso-8859-2"
Content-Transfer-Encoding: quoted-printable

{qp(chr(10).join(lines), "iso-8859-2")}

--_000_AM0PR07MB44680F1E2D3C4B5A69788796A5B4C3D2AM0PR07MB4468eurp_
Content-Type: text/html; charset="iso-8859-2"
Content-Transfer-Encoding: quoted-printable

{OUTLOOK_HTML_HEAD}{_outlook_paragraphs(lines)}
</div>
</body>
</html>

--_000_AM0PR07MB44680F1E2D3C4B5A69788796A5B4C3D2AM0PR07MB4468eurp_--
"""
    )


@mail("outlook_reply_border_quote.eml")
def outlook_reply_border_quote() -> bytes:
    # Anna answers our reply: Outlook's header block (a div with a top border)
    # opens the quoted history.
    visible = [
        "Dziękuję, odbiór w poniedziałek po 10:00 pasuje.",
        "",
        "Anna",
    ]
    quoted = (
        '<div style="border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0cm 0cm 0cm">\n'
        '<p class="MsoNormal"><b>Od:</b> Acme Support &lt;support@helpdesk.example&gt;<br>\n'
        "<b>Wysłano:</b> piątek, 15 marca 2024 12:30<br>\n"
        "<b>Do:</b> Anna Wiśniewska &lt;anna.wisniewska@firma-budowlana.pl&gt;<br>\n"
        "<b>Temat:</b> Re: Zamówienie nr ZK/2024/0315</p>\n"
        "</div>\n"
        '<p class="MsoNormal">Kurier odbierze uszkodzoną płytę w poniedziałek.</p>\n'
    )
    text = "\n".join(visible) + (
        "\n\nOd: Acme Support <support@helpdesk.example>\nWysłano: piątek, 15 marca 2024 12:30\n"
        "Do: Anna Wiśniewska <anna.wisniewska@firma-budowlana.pl>\n"
        "Temat: Re: Zamówienie nr ZK/2024/0315\n\n"
        "Kurier odbierze uszkodzoną płytę w poniedziałek.\n"
    )
    subject = word_q("RE: Zamówienie nr ZK/2024/0315", "iso-8859-2")
    boundary = "_000_AM0PR07MB4468C0FFEE0012345678ABCDEF01AM0PR07MB4468eurp_"
    return crlf(
        RECEIVED_OUTLOOK
        + f"""\
From: {ANNA_FROM}
To: Acme Support <support@helpdesk.example>
Subject: {subject} [#{{{{TICKET_ID}}}}]
Thread-Topic: {ANNA_SUBJECT}
Thread-Index: Adp+PEtaSXCivhoOqJk8W2omZ8SiRgobLD1OAAFTDAA=
Date: Fri, 15 Mar 2024 13:15:40 +0000
Message-ID: <AM0PR07MB4468C0FFEE0012345678ABCDEF01@AM0PR07MB4468.eurprd07.prod.outlook.com>
References: <{ANNA_FIRST_ID}>
 <{{{{OUR_MESSAGE_ID}}}}>
In-Reply-To: <{{{{OUR_MESSAGE_ID}}}}>
Accept-Language: pl-PL, en-US
Content-Language: pl-PL
X-MS-Has-Attach:
X-MS-TNEF-Correlator:
Content-Type: multipart/alternative; boundary="{boundary}"
MIME-Version: 1.0

--{boundary}
Content-Type: text/plain; charset="iso-8859-2"
Content-Transfer-Encoding: quoted-printable

{qp(text, "iso-8859-2")}

--{boundary}
Content-Type: text/html; charset="iso-8859-2"
Content-Transfer-Encoding: quoted-printable

{OUTLOOK_HTML_HEAD}{_outlook_paragraphs(visible)}{qp(quoted, "iso-8859-2")}
</div>
</body>
</html>

--{boundary}--
"""
    )


# --- Thunderbird and other desktop clients, 8-bit legacy charsets ---------------

PAWEL_FROM = "=?UTF-8?Q?Pawe=c5=82_Zieli=c5=84ski?= <pawel.zielinski@interia.pl>"
PAWEL_TEXT = (
    "Dzień dobry,\n"
    "\n"
    "od tygodnia nie mogę zalogować się do panelu klienta. Hasło resetowałem\n"
    "dwa razy, przychodzi mail, ale link wygasa natychmiast. Proszę o pomoc,\n"
    "bo nie widzę faktur za luty i marzec.\n"
    "\n"
    "Pozdrawiam,\n"
    "Paweł Zieliński\n"
    "-- \n"
    "Paweł Zieliński | tel. 601 234 567\n"
)


@mail("thunderbird_iso8859_2.eml")
def thunderbird_iso8859_2() -> bytes:
    head = crlf(
        """\
Received: from poczta.interia.pl (smtp53.poczta.interia.pl [217.74.67.53])
\tby mx.helpdesk.example (Postfix) with ESMTPS id 4TvS2m1bX4z9sWr
\tfor <support@helpdesk.example>; Sat, 16 Mar 2024 08:03:11 +0100 (CET)
Message-ID: <3b1f6a0e-95c1-4d8e-b7a2-1f0e9c3d2a41@interia.pl>
Date: Sat, 16 Mar 2024 08:03:09 +0100
MIME-Version: 1.0
User-Agent: Mozilla Thunderbird
Content-Language: pl
To: support@helpdesk.example
"""
        + f"From: {PAWEL_FROM}\n"
        + "Subject: =?UTF-8?Q?Nie_mog=c4=99_si=c4=99_zalogowa=c4=87_do_panelu?=\n"
        + """\
Content-Type: text/plain; charset=ISO-8859-2; format=flowed
Content-Transfer-Encoding: 8bit

"""
    )
    return head + PAWEL_TEXT.replace("\n", "\r\n").encode("iso-8859-2")


@mail("thunderbird_undeclared_iso8859_2.eml")
def thunderbird_undeclared_iso8859_2() -> bytes:
    # An old Thunderbird profile behind a relay that stripped the MIME headers:
    # iso-8859-2 bytes, no charset anywhere. "ś", "ź", "ą" are where
    # iso-8859-2 and windows-1250 differ.
    text = (
        "Dzień dobry,\n\nproszę o zwrot środków za zamówienie 4471, źle naliczono opłatę\n"
        "za przesyłkę. Kwota do zwrotu: 24,99 zł. Świetnie, że odpisują Państwo szybko.\n\n"
        "Ślę pozdrowienia, Łukasz Ząbek\n"
    )
    head = crlf(
        """\
Received: from [192.168.1.23] (host-89-228-4-17.dynamic.mm.pl [89.228.4.17])
\tby mx.helpdesk.example (Postfix) with ESMTPSA id 4TvS9q2hK1z9sTc
\tfor <support@helpdesk.example>; Sat, 16 Mar 2024 10:21:07 +0100 (CET)
Message-ID: <4F1A2B3C.5060708@zabek.net.pl>
Date: Sat, 16 Mar 2024 10:21:05 +0100
From: Lukasz Zabek <lukasz@zabek.net.pl>
User-Agent: Mozilla/5.0 (Windows NT 6.1; rv:17.0) Gecko/20130215 Thunderbird/17.0.3
To: support@helpdesk.example
Subject: Zwrot za zamowienie 4471

"""
    )
    return head + text.replace("\n", "\r\n").encode("iso-8859-2")


CZECH_HTML = (
    '<html><head><meta http-equiv="content-type" content="text/html; charset=windows-1250">'
    "</head><body>\n<p>Dobrý den,</p>\n<p>objednávka č. 20240318 dorazila poškozená: "
    "žádné z&nbsp;těch tří balení nešlo otevřít, víčka jsou prasklá. Prosím o výměnu "
    "nebo vrácení peněz.</p>\n<p>Děkuji,<br>Jiří Šťastný</p>\n"
    '<div class="moz-signature">-- <br>Jiří Šťastný, Brno, tel. +420 604 111 222</div>\n'
    "</body></html>\n"
)


@mail("thunderbird_czech_windows1250_html.eml")
def thunderbird_czech_windows1250_html() -> bytes:
    text = (
        "Dobrý den,\n\nobjednávka č. 20240318 dorazila poškozená: žádné z těch tří balení "
        "nešlo\notevřít, víčka jsou prasklá. Prosím o výměnu nebo vrácení peněz.\n\n"
        "Děkuji,\nJiří Šťastný\n-- \nJiří Šťastný, Brno, tel. +420 604 111 222\n"
    )
    boundary = "------------Wq0ZV7Jt3rY9bX2aC5dE8fG1"
    head = crlf(
        f"""\
Received: from mxf1.seznam.cz (mxf1.seznam.cz [77.75.78.201])
\tby mx.helpdesk.example (Postfix) with ESMTPS id 4TvT0a7Mh2z9sWs
\tfor <support@helpdesk.example>; Mon, 18 Mar 2024 14:30:52 +0100 (CET)
Content-Type: multipart/alternative;
 boundary="{boundary}"
Message-ID: <8e2d1c4b-7a6f-4e3d-9c2b-5a4f3e2d1c0b@centrum.cz>
Date: Mon, 18 Mar 2024 14:30:50 +0100
MIME-Version: 1.0
User-Agent: Mozilla Thunderbird
Content-Language: cs
To: support@helpdesk.example
From: {word_q("Jiří Šťastný", "windows-1250")} <jiri.stastny@centrum.cz>
Subject: {word_q("Poškozená zásilka - objednávka č. 20240318", "windows-1250")}

This is a multi-part message in MIME format.
--{boundary}
Content-Type: text/plain; charset=windows-1250; format=flowed
Content-Transfer-Encoding: 8bit

"""
    )
    middle = crlf(
        f"""
--{boundary}
Content-Type: text/html; charset=windows-1250
Content-Transfer-Encoding: 8bit

"""
    )
    tail = crlf(f"\n--{boundary}--\n")
    return (
        head
        + text.replace("\n", "\r\n").encode("windows-1250")
        + middle
        + CZECH_HTML.replace("\n", "\r\n").encode("windows-1250")
        + tail
    )


@mail("samsung_email_windows1250_undeclared.eml")
def samsung_windows1250_undeclared() -> bytes:
    text = (
        "Dzień dobry, zamawiałam kurtkę w rozmiarze M, przyszła XL. Proszę o wymianę.\n"
        "Żaneta Kaźmierczak\n\nWysłano z mojego smartfona Samsung Galaxy.\n"
    )
    head = crlf(
        """\
Received: from [10.94.17.3] (user-5-173-224-9.play-internet.pl [5.173.224.9])
\tby mx.helpdesk.example (Postfix) with ESMTPSA id 4TvT3c9Lp7z9sTd
\tfor <support@helpdesk.example>; Mon, 18 Mar 2024 19:44:31 +0100 (CET)
Message-ID: <d7xpl1a2-b3c4-d5e6-f7a8-samsung.mail.0318194429@email.android.com>
Date: Mon, 18 Mar 2024 19:44:29 +0100
From: Zaneta K <zaneta.kazmierczak@o2.pl>
To: support@helpdesk.example
Subject: Wymiana kurtki
MIME-Version: 1.0
Content-Type: text/plain
Content-Transfer-Encoding: 8bit

"""
    )
    return head + text.replace("\n", "\r\n").encode("windows-1250")


@mail("outlook_express_iso8859_2_label_cp1250_bytes.eml")
def outlook_express_mislabelled() -> bytes:
    # Outlook Express on Windows writes windows-1250 bytes and labels them
    # iso-8859-2: "ś" (0x9C), "ź" (0x9F), "Ś" (0x8C) become C1 control codes.
    text = (
        "Witam,\n\nŚrodki za fakturę FV/03/2024 przelałem wczoraj, proszę sprawdzić.\n"
        'Źle wpisałem tytuł przelewu, był "FV 03 2024". Wszystko świetnie działa.\n\n'
        "Pozdrawiam\nZdzisław Ślusarczyk\n"
    )
    head = crlf(
        """\
Received: from komputer (aafa12.neoplus.adsl.tpnet.pl [83.4.130.12])
\tby mx.helpdesk.example (Postfix) with SMTP id 4TvT9d0Wq5z9sWt
\tfor <support@helpdesk.example>; Tue, 19 Mar 2024 07:12:40 +0100 (CET)
Message-ID: <000a01da79b2$4c3d2e10$0201a8c0@komputer>
From: "Zdzislaw Slusarczyk" <zdzislaw.s@neostrada.pl>
To: <support@helpdesk.example>
Subject: Przelew FV/03/2024
Date: Tue, 19 Mar 2024 07:12:33 +0100
MIME-Version: 1.0
Content-Type: text/plain;
\tcharset="iso-8859-2"
Content-Transfer-Encoding: 8bit
X-Priority: 3
X-MSMail-Priority: Normal
X-Mailer: Microsoft Outlook Express 6.00.2900.5931
X-MimeOLE: Produced By Microsoft MimeOLE V6.00.2900.6157

"""
    )
    return head + text.replace("\n", "\r\n").encode("windows-1250")


@mail("iphone_windows1250_mislabelled.eml")
def iphone_windows1250_mislabelled() -> bytes:
    # Forwarded through a company relay that re-labels every body as UTF-8
    # without recoding it: the bytes are windows-1250.
    text = (
        "Dzień dobry,\n\nczy mogę zmienić adres dostawy zamówienia 5512 "
        "na ul. Łąkowa 7, Gdańsk?\n\n"
        "Pozdrawiam\nMałgorzata Żółtowska\n\nWysłane z iPhone'a\n"
    )
    head = crlf(
        """\
Received: from relay.zoltowscy-biuro.pl (relay.zoltowscy-biuro.pl [91.199.12.4])
\tby mx.helpdesk.example (Postfix) with ESMTPS id 4TvTB1f3Nn8z9sTe
\tfor <support@helpdesk.example>; Tue, 19 Mar 2024 08:55:02 +0100 (CET)
From: =?utf-8?Q?Ma=C5=82gorzata_=C5=BB=C3=B3=C5=82towska?= <m.zoltowska@zoltowscy-biuro.pl>
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit
Mime-Version: 1.0 (1.0)
Subject: Zmiana adresu dostawy 5512
Date: Tue, 19 Mar 2024 08:54:57 +0100
Message-Id: <A1B2C3D4-E5F6-4711-8899-AABBCCDDEEFF@zoltowscy-biuro.pl>
To: support@helpdesk.example
X-Mailer: iPhone Mail (21D61)

"""
    )
    return head + text.replace("\n", "\r\n").encode("windows-1250")


@mail("wp_pl_webmail_iso8859_2_qp.eml")
def wp_pl_webmail() -> bytes:
    text = (
        "Dzień dobry,\n\nzamówiłem ładowarkę, a dostałem kabel. Numer zamówienia: 88231.\n"
        "Proszę o wysyłkę właściwego towaru.\n\nGrzegorz Wójcik\n"
    )
    return crlf(
        f"""\
Received: from smtpo94.poczta.onet.pl (smtpo94.poczta.onet.pl [213.180.149.147])
\tby mx.helpdesk.example (Postfix) with ESMTPS id 4TvTD7g0Kk9z9sWu
\tfor <support@helpdesk.example>; Tue, 19 Mar 2024 12:01:19 +0100 (CET)
Date: Tue, 19 Mar 2024 12:01:15 +0100
From: {word_q("Grzegorz Wójcik", "iso-8859-2")} <grzegorz.wojcik@wp.pl>
To: support@helpdesk.example
Message-ID: <a8c2f1e4d3b5a6978d6c5b4a39281706@grzegorz.wojcik.wp.pl>
Subject: {word_q("Błędny towar w paczce", "iso-8859-2")}
MIME-Version: 1.0
Content-Type: text/plain; charset="iso-8859-2"
Content-Transfer-Encoding: quoted-printable
X-Mailer: Wirtualna Polska - http://www.wp.pl/
X-WP-AV: skaner antywirusowy Poczty Wirtualnej Polski
X-WP-SPAM: NO 0000000 [4VM0]

{qp(text, "iso-8859-2")}
"""
    )


@mail("seznam_czech_iso8859_2_qp.eml")
def seznam_czech() -> bytes:
    text = (
        "Dobrý den,\n\nposílám reklamaci: vysavač (obj. 77120) přestal po týdnu sát, "
        "ozývá se pískání.\nŽádám o opravu v záruce.\n\nS pozdravem\nPetr Novák\n"
    )
    html = (
        "<div>Dobrý den,</div><div><br></div><div>posílám reklamaci: vysavač (obj. 77120) "
        "přestal po týdnu sát, ozývá se pískání.<br>Žádám o opravu v záruce.</div>"
        "<div><br></div><div>S pozdravem<br>Petr Novák</div>"
    )
    boundary = "=_9b1c0a7e5d3f1e2c4a6b8d0f_="
    return crlf(
        f"""\
Received: from mxh1.seznam.cz (mxh1.seznam.cz [77.75.76.71])
\tby mx.helpdesk.example (Postfix) with ESMTPS id 4TvTG0h2Jj1z9sTf
\tfor <support@helpdesk.example>; Wed, 20 Mar 2024 09:17:48 +0100 (CET)
Received: from email.seznam.cz
\tby email-smtpc17a.ng.seznam.cz (email-smtpc17a.ng.seznam.cz [10.23.13.227])
\tid 39c6b3b2e3e6d9b3b8dd2f5c; Wed, 20 Mar 2024 09:17:46 +0100 (CET)
From: =?iso-8859-2?q?Petr_Nov=E1k?= <petr.novak@seznam.cz>
To: <support@helpdesk.example>
Subject: {word_q("Reklamace - vysavač nesaje", "iso-8859-2")}
Date: Wed, 20 Mar 2024 09:17:46 +0100 (CET)
Message-Id: <Mh3.5Vbc.4gPhW2sJ1Lq.1b8QpA@seznam.cz>
Mime-Version: 1.0 (Seznam.cz Email)
X-Mailer: Email.cz
Content-Language: cs
Content-Type: multipart/alternative;
\tboundary="{boundary}"

--{boundary}
Content-Type: text/plain;
\tcharset=iso-8859-2
Content-Transfer-Encoding: quoted-printable

{qp(text, "iso-8859-2")}
--{boundary}
Content-Type: text/html;
\tcharset=iso-8859-2
Content-Transfer-Encoding: quoted-printable

{qp(html, "iso-8859-2")}
--{boundary}--
"""
    )


@mail("onet_windows1250_base64.eml")
def onet_windows1250_base64() -> bytes:
    text = (
        "Szanowni Państwo,\n\nw nawiązaniu do rozmowy telefonicznej przesyłam prośbę o korektę "
        "faktury:\nnależy zmienić NIP nabywcy na 525-000-12-34.\n\nZ poważaniem\n"
        "Teresa Dąbrowska\nBiuro Rachunkowe Dąbrowska\n"
    )
    subject = "Prośba o korektę faktury FV/2024/03/117".encode("windows-1250")
    boundary = "----=_Part_2718281_1414213.1710941200000"
    return crlf(
        f"""\
Received: from smtpo.poczta.onet.pl (smtpo.poczta.onet.pl [213.180.142.170])
\tby mx.helpdesk.example (Postfix) with ESMTPS id 4TvTJ2k4Hh3z9sWv
\tfor <support@helpdesk.example>; Wed, 20 Mar 2024 14:26:40 +0100 (CET)
Date: Wed, 20 Mar 2024 14:26:40 +0100
From: {word_b("Teresa Dąbrowska".encode("windows-1250"), "windows-1250")} <t.dabrowska@op.pl>
To: support@helpdesk.example
Message-ID: <1710941200000.2718281.1414213@op.pl>
Subject: {word_b(subject[:24], "windows-1250")}
 {word_b(subject[24:], "windows-1250")}
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="{boundary}"
X-Mailer: Onet Poczta

------=_Part_2718281_1414213.1710941200000
Content-Type: text/plain; charset=windows-1250
Content-Transfer-Encoding: base64

{b64(text.replace(chr(10), chr(13) + chr(10)).encode("windows-1250"))}
------=_Part_2718281_1414213.1710941200000
Content-Type: application/pdf; name="FV_2024_03_117.pdf"
Content-Transfer-Encoding: base64
Content-Disposition: attachment; filename="FV_2024_03_117.pdf"

{b64(PDF_SMALL)}
------=_Part_2718281_1414213.1710941200000--
"""
    )


@mail("unknown_charset_name.eml")
def unknown_charset_name() -> bytes:
    # A shop system labels its windows-1250 output with a name no codec knows.
    text = "Zamówienie 9021 opłacone, proszę o wysyłkę kurierem. Pozdrawiam, Władysław Ćwik\n"
    head = crlf(
        """\
Received: from sklep.rowery-cwik.example (sklep.rowery-cwik.example [198.51.100.70])
\tby mx.helpdesk.example (Postfix) with ESMTP id 4TvUdA7Lm8z9sWq
\tfor <support@helpdesk.example>; Fri, 22 Mar 2024 14:00:00 +0100 (CET)
From: Wladyslaw Cwik <wladyslaw@rowery-cwik.example>
To: support@helpdesk.example
Subject: Zamowienie 9021
Date: Fri, 22 Mar 2024 13:59:58 +0100
Message-ID: <shop.9021.20240322135958@rowery-cwik.example>
MIME-Version: 1.0
Content-Type: text/plain; charset="win-1250-pl"
Content-Transfer-Encoding: 8bit

"""
    )
    return head + text.replace("\n", "\r\n").encode("windows-1250")


# --- Headers: raw 8-bit, RFC 2047 and RFC 2231 -----------------------------------


@mail("raw_8bit_headers_utf8.eml")
def raw_8bit_headers_utf8() -> bytes:
    # Not allowed by RFC 5322 without SMTPUTF8, still sent by scripts and old MTAs.
    return (
        crlf(
            """\
Received: from sklep.zabawki-krakow.pl (sklep.zabawki-krakow.pl [185.25.148.7])
\tby mx.helpdesk.example (Postfix) with ESMTP id 4TvTL4m6Ff5z9sTg
\tfor <support@helpdesk.example>; Wed, 20 Mar 2024 16:00:02 +0100 (CET)
Message-ID: <20240320150002.7f3a1c@sklep.zabawki-krakow.pl>
Date: Wed, 20 Mar 2024 15:00:02 +0000
To: support@helpdesk.example
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit
X-Mailer: PHP/7.4.33
"""
        )
        + "From: Sklep Zabawki Kraków – Bożena Łęcka <bozena@zabawki-krakow.pl>\r\n".encode()
        + "Subject: Zażółć gęślą jaźń: reklamacja nr 17\r\n\r\n".encode()
        + "Proszę o kontakt w sprawie reklamacji nr 17 (pluszowy żółw).\r\n".encode()
    )


@mail("raw_8bit_headers_cp1250.eml")
def raw_8bit_headers_cp1250() -> bytes:
    return (
        crlf(
            """\
Received: from erp.hurtownia-slask.pl (erp.hurtownia-slask.pl [31.186.80.44])
\tby mx.helpdesk.example (Postfix) with ESMTP id 4TvTN6n8Dd7z9sWw
\tfor <support@helpdesk.example>; Thu, 21 Mar 2024 06:30:12 +0100 (CET)
Message-ID: <ERP.20240321.063010.5531@hurtownia-slask.pl>
Date: Thu, 21 Mar 2024 06:30:10 +0100
To: support@helpdesk.example
MIME-Version: 1.0
Content-Type: text/plain; charset=windows-1250
Content-Transfer-Encoding: 8bit
X-Mailer: Subiekt GT
"""
        )
        + "From: Hurtownia Śląsk – dział zwrotów <zwroty@hurtownia-slask.pl>\r\n".encode(
            "windows-1250"
        )
        + "Subject: Zwrot towaru – świeże dostawy, ŹLE oznaczone\r\n\r\n".encode("windows-1250")
        + "Dzień dobry, paleta 12 wróciła źle oznaczona. Śląsk.\r\n".encode("windows-1250")
    )


@mail("rfc2047_split_multibyte_subject.eml")
def rfc2047_split_multibyte_subject() -> bytes:
    # A mailer that cut the UTF-8 bytes of "ó" across two encoded words.
    subject = "Zwrot pieniędzy za zamówienie 3310".encode()
    cut = subject.index("ó".encode()) + 1
    return crlf(
        f"""\
Received: from mail.newsletter-tool.example (mail.newsletter-tool.example [198.51.100.20])
\tby mx.helpdesk.example (Postfix) with ESMTP id 4TvTQ8p0Bb9z9sTh
\tfor <support@helpdesk.example>; Thu, 21 Mar 2024 09:45:00 +0100 (CET)
From: =?UTF-8?B?{base64.b64encode("Kinga Bąk".encode()).decode()}?= <kinga.bak@gazeta.pl>
To: support@helpdesk.example
Subject: {word_b(subject[:cut], "UTF-8")}
 {word_b(subject[cut:], "UTF-8")}
Date: Thu, 21 Mar 2024 09:44:58 +0100
Message-ID: <kb.20240321094458.3310@gazeta.pl>
MIME-Version: 1.0
Content-Type: text/plain; charset=UTF-8
Content-Transfer-Encoding: quoted-printable

{qp("Proszę o zwrot pieniędzy za zamówienie 3310, towar odesłałam.", "utf-8")}
"""
    )


@mail("rfc2231_continuation_iso8859_2_filename.eml")
def rfc2231_continuation() -> bytes:
    def pct(text: str) -> str:
        return "".join(
            chr(b) if chr(b).isalnum() and b < 128 else f"%{b:02X}"
            for b in text.encode("iso-8859-2")
        )

    return crlf(
        f"""\
Received: from smtp.o2.pl (smtp.o2.pl [193.17.41.98])
\tby mx.helpdesk.example (Postfix) with ESMTPS id 4TvTS0q2Zz1z9sWx
\tfor <support@helpdesk.example>; Thu, 21 Mar 2024 11:12:30 +0100 (CET)
From: Roman Kwiatkowski <roman.kwiatkowski@o2.pl>
To: support@helpdesk.example
Subject: Faktura do reklamacji
Date: Thu, 21 Mar 2024 11:12:27 +0100
Message-ID: <20240321101227.GA1188@o2.pl>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="=_mutt_boundary_Kd8vQ2"
User-Agent: Mutt/2.2.12 (2023-09-09)

--=_mutt_boundary_Kd8vQ2
Content-Type: text/plain; charset=us-ascii
Content-Disposition: inline

W zalaczniku faktura, o ktora Panstwo prosili.

--=_mutt_boundary_Kd8vQ2
Content-Type: application/pdf
Content-Disposition: attachment;
 filename*0*=iso-8859-2''{pct("Faktura za")};
 filename*1*={pct("łącznik żółty")};
 filename*2=".pdf"
Content-Transfer-Encoding: base64

{b64(PDF_SMALL)}
--=_mutt_boundary_Kd8vQ2--
"""
    )


@mail("outlook_rfc2047_encoded_filename.eml")
def outlook_rfc2047_encoded_filename() -> bytes:
    # Outlook puts RFC 2047 encoded words inside quoted parameters (not allowed
    # by RFC 2231, universal in practice).
    name = word_q("Wyciąg z konta - świadectwo.pdf", "windows-1250")
    boundary = "_004_DB9PR02MB7210E4F1A2B3C4D5E6F7A8B9C0D1DB9PR02MB7210eurp_"
    return crlf(
        f"""\
{RECEIVED_OUTLOOK.rstrip()}
From: Marek Lewandowski <marek.lewandowski@kancelaria-lewandowski.pl>
To: "support@helpdesk.example" <support@helpdesk.example>
Subject: Dokumenty do wniosku
Thread-Topic: Dokumenty do wniosku
Thread-Index: AdqA8aoCkStJii8vWRPB0KjJE6yLAQ==
Date: Thu, 21 Mar 2024 13:20:05 +0000
Message-ID: <DB9PR02MB7210E4F1A2B3C4D5E6F7A8B9C0D1@DB9PR02MB7210.eurprd02.prod.outlook.com>
Accept-Language: pl-PL, en-US
Content-Language: pl-PL
X-MS-Has-Attach: yes
X-MS-TNEF-Correlator:
Content-Type: multipart/mixed; boundary="{boundary}"
MIME-Version: 1.0

--{boundary}
Content-Type: text/plain; charset="us-ascii"
Content-Transfer-Encoding: quoted-printable

W zalaczeniu wyciag.

Marek Lewandowski

--{boundary}
Content-Type: application/pdf; name="{name}"
Content-Description: {name}
Content-Disposition: attachment; filename="{name}"; size={len(PDF_SMALL)};
\tcreation-date="Thu, 21 Mar 2024 13:19:41 GMT";
\tmodification-date="Thu, 21 Mar 2024 13:20:05 GMT"
Content-Transfer-Encoding: base64

{b64(PDF_SMALL)}
--{boundary}--
"""
    )


# --- Malformed and pathological ---------------------------------------------------


@mail("garbage_bytes.eml")
def garbage_bytes() -> bytes:
    # A binary blob posted to the webhook (a misconfigured forwarder): no
    # header line anywhere.
    noise = bytes(b if b not in b":\r\n" else 0x7F for b in pseudo_random("garbage", 4096))
    return b"\x89PNG\x1a\x00\x00" + noise


@mail("base64_with_junk.eml")
def base64_with_junk() -> bytes:
    text = "Dzień dobry, faktura 2024/77 nie dotarła. Proszę o ponowną wysyłkę.\n"
    body = b64(text.encode("utf-8"))
    return crlf(
        f"""\
Received: from mail.stary-serwer.example (mail.stary-serwer.example [203.0.113.55])
\tby mx.helpdesk.example (Postfix) with ESMTP id 4TvTV2r4Xx3z9sTi
\tfor <support@helpdesk.example>; Thu, 21 Mar 2024 15:00:00 +0100 (CET)
From: Henryk Sowa <henryk.sowa@stary-serwer.example>
To: support@helpdesk.example
Subject: Faktura 2024/77
Date: Thu, 21 Mar 2024 14:59:58 +0100
Message-ID: <b64junk.20240321145958@stary-serwer.example>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: base64

{body.rstrip()}
!!! scanned by OldAV 1.0 !!!
@@@@
"""
    )


@mail("huge_headers.eml")
def huge_headers() -> bytes:
    received = "".join(
        f"Received: from relay{n}.lists.example (relay{n}.lists.example [198.51.100.{n % 250}])\n"
        f"\tby relay{n + 1}.lists.example (Postfix) with ESMTP id R{n:05d}\n"
        f"\tfor <support@helpdesk.example>; Fri, 22 Mar 2024 08:00:{n % 60:02d} +0100 (CET)\n"
        for n in range(400)
    )
    references = "\n ".join(f"<ref{n:04d}.thread@lists.example>" for n in range(3000))
    recipients = ",\n ".join(f"Person {n} <person{n}@lists.example>" for n in range(300))
    subject = "Bardzo długi temat " + " ".join(f"słowo{n}" for n in range(300))
    return crlf(
        received
        + f"""\
From: Bogdan Kowal <bogdan.kowal@lists.example>
To: support@helpdesk.example,
 {recipients}
Subject: {word_b(subject.encode(), "UTF-8")}
Date: Fri, 22 Mar 2024 08:00:00 +0100
Message-ID: <huge-headers.20240322080000@lists.example>
References: {references}
X-Long-Header: {"x" * 20000}
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 7bit

Short body after very long headers.
"""
    )


@mail("oversize_attachment.eml")
def oversize_attachment() -> bytes:
    # The tests run with EMAIL_MAX_ATTACHMENT_BYTES = 20000: the scan is over,
    # the small receipt stays.
    scan = b"\xff\xd8\xff\xe0" + pseudo_random("scan", 30000)
    return crlf(
        f"""\
{RECEIVED_GMAIL.rstrip()}
From: Dorota Mazur <dorota.mazur@gmail.com>
To: support@helpdesk.example
Subject: Skan umowy i paragon
Date: Fri, 22 Mar 2024 09:30:11 +0100
Message-ID: <CAJx8Q1mT5Zr9dQf0oVbL3N7aXqL2kP4eR6sY8uW0zA1bC2dE3f@mail.gmail.com>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="000000000000a1b2c3d4e5f60714"

--000000000000a1b2c3d4e5f60714
Content-Type: text/plain; charset="UTF-8"

W zalaczniku skan umowy (duzy) i paragon.

--000000000000a1b2c3d4e5f60714
Content-Type: image/jpeg; name="skan_umowy.jpg"
Content-Disposition: attachment; filename="skan_umowy.jpg"
Content-Transfer-Encoding: base64
X-Attachment-Id: f_ltz1a2b30
Content-ID: <f_ltz1a2b30>

{b64(scan)}
--000000000000a1b2c3d4e5f60714
Content-Type: application/pdf; name="paragon.pdf"
Content-Disposition: attachment; filename="paragon.pdf"
Content-Transfer-Encoding: base64
X-Attachment-Id: f_ltz1a2b41
Content-ID: <f_ltz1a2b41>

{b64(PDF_SMALL)}
--000000000000a1b2c3d4e5f60714--
"""
    )


@mail("unsafe_attachment_filenames.eml")
def unsafe_attachment_filenames() -> bytes:
    parts = [
        ('filename="../../../../etc/passwd"', "text/plain", b"root:x:0:0:root:/root:/bin/bash\n"),
        (
            'filename="..\\\\..\\\\Windows\\\\System32\\\\evil.bat"',
            "application/octet-stream",
            b"@echo off\r\necho pwned\r\n",
        ),
        # %07 BEL, %0D%0A CRLF, %1B ESC inside an RFC 2231 value.
        ("filename*=utf-8''bell%07%0D%0Ainjected%1B.txt", "text/plain", b"control characters\n"),
        ('filename=".htaccess"', "text/plain", b"Options +ExecCGI\n"),
        ('filename="' + "a" * 300 + '.pdf"', "application/pdf", PDF_SMALL),
        ('filename="/absolute/path/report.pdf"', "application/pdf", PDF_SMALL),
    ]
    body = "".join(
        f"""--unsafe-0001
Content-Type: {ctype}
Content-Disposition: attachment; {disposition}
Content-Transfer-Encoding: base64

{b64(content)}"""
        for disposition, ctype, content in parts
    )
    return crlf(
        f"""\
Received: from attacker.example (attacker.example [203.0.113.66])
\tby mx.helpdesk.example (Postfix) with ESMTP id 4TvTX4s6Vv5z9sWy
\tfor <support@helpdesk.example>; Fri, 22 Mar 2024 10:00:00 +0100 (CET)
From: Eve Mallory <eve@attacker.example>
To: support@helpdesk.example
Subject: Invoice documents
Date: Fri, 22 Mar 2024 09:59:58 +0100
Message-ID: <unsafe-names.20240322095958@attacker.example>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="unsafe-0001"

--unsafe-0001
Content-Type: text/plain; charset=utf-8

Please see the attached documents.

{body}--unsafe-0001--
"""
    )


@mail("nul_bytes_in_body.eml")
def nul_bytes_in_body() -> bytes:
    head = crlf(
        """\
Received: from scanner.biuro.example (scanner.biuro.example [192.0.2.77])
\tby mx.helpdesk.example (Postfix) with ESMTP id 4TvTZ6t8Tt7z9sTj
\tfor <support@helpdesk.example>; Fri, 22 Mar 2024 11:11:11 +0100 (CET)
From: Skaner Biuro <skaner@biuro.example>
To: support@helpdesk.example
Subject: Scan to mail
Date: Fri, 22 Mar 2024 11:11:09 +0100
Message-ID: <scan.20240322111109.0001@biuro.example>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

"""
    )
    return head + b"Skan dokumentu\x00 nr 42\x00\x00 gotowy.\r\nDrukarka HP\x00\r\n"


@mail("bare_lf_and_mixed_line_endings.eml")
def bare_lf_and_mixed_line_endings() -> bytes:
    return (
        b"Received: from mail.mixed.example (mail.mixed.example [192.0.2.88])\r\n"
        b"\tby mx.helpdesk.example (Postfix) with ESMTP id 4TvTb8v0Rr9z9sWz\n"
        b"\tfor <support@helpdesk.example>; Fri, 22 Mar 2024 12:00:00 +0100 (CET)\r\n"
        b"From: Olga Krol <olga.krol@mixed.example>\n"
        b"To: support@helpdesk.example\r\n"
        b"Subject: Mieszane konce linii\n"
        b"Date: Fri, 22 Mar 2024 11:59:58 +0100\r\n"
        b"Message-ID: <mixed-eol.20240322115958@mixed.example>\n"
        b"MIME-Version: 1.0\r\n"
        b'Content-Type: multipart/alternative; boundary="eol"\n'
        b"\r\n"
        b"--eol\n"
        b"Content-Type: text/plain; charset=utf-8\r\n"
        b"\n"
        b"Pierwsza linia\r\nDruga linia\nTrzecia linia\rCzwarta linia\r\n"
        b"--eol\r\n"
        b"Content-Type: text/html; charset=utf-8\n"
        b"\r\n"
        b"<p>Pierwsza linia</p>\r\n<p>Druga linia</p>\n"
        b"--eol--\n"
    )


def build_all() -> dict[str, bytes]:
    return {name: builder() for name, builder in sorted(BUILDERS.items())}


def main() -> None:
    MAILS.mkdir(exist_ok=True)
    for name, raw in build_all().items():
        (MAILS / name).write_bytes(raw)
    print(f"wrote {len(BUILDERS)} mails to {MAILS}")


if __name__ == "__main__":
    main()

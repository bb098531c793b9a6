"""Where quoted history and signatures start, so the timeline can fold them.

Nothing is cut: the whole body is kept, the folded part sits behind a
"show quoted text" toggle. Markers cover the clients our customers use
(Gmail, Outlook, Apple Mail, Thunderbird, phones) in English, Polish and Czech.
"""

from __future__ import annotations

import html as html_lib
import re

# A line that opens quoted history in a plain-text reply.
_TEXT_QUOTE_HEADERS = [
    r"^On .{5,200}wrote:\s*$",  # Gmail, Apple Mail, Thunderbird (en)
    r"^W dniu .{5,200}(pisze|napisał|napisała|napisał\(a\)):\s*$",  # pl
    r"^.{0,100}\d{4}.{0,100}(pisze|napisał|napisała|napisał\(a\)):\s*$",  # pl, other orders
    r"^Dne .{5,200}(napsal|napsala|napsal\(a\))( jste)?:\s*$",  # cs
    r"^.{0,100}\d{4}.{0,100}(napsal|napsala|napsal\(a\)):\s*$",  # cs, other orders
    r"^-{2,}\s*(Original Message|Oryginalna wiadomość|Původní zpráva|Původní e-mail|"
    r"Wiadomość oryginalna|Forwarded message|Przekazana wiadomość|Přeposlaná zpráva)\s*-{2,}\s*$",
    r"^_{10,}\s*$",  # Outlook's rule above its header block
    r"^(From|Od):\s.+$",  # Outlook's header block (From/Sent or Od/Wysłano/Odesláno)
]
_TEXT_QUOTE = re.compile("|".join(f"(?:{p})" for p in _TEXT_QUOTE_HEADERS), re.I | re.M)
_SIGNATURE = re.compile(
    r"^(-- ?|Sent from my \w+.*|Wysłan[oe] z (mojego )?\w+.*|Odesláno z (mého )?\w+.*|"
    r"Get Outlook for \w+.*|Pobierz Outlook.*)$",
    re.M | re.I,
)

# Elements mail clients wrap quoted history (or a signature) in.
_HTML_QUOTE = re.compile(
    r"<(div|blockquote|hr|span)\b[^>]*?("
    r'class="[^"]*\b(gmail_quote|gmail_signature|moz-cite-prefix|moz-signature|'
    r'yahoo_quoted|OutlookMessageHeader|protonmail_quote|zmail_extra)\b[^"]*"|'
    r'id="(divRplyFwdMsg|appendonsend|stopSpelling|mail-editor-reference-message-container|'
    r'OLK_SRC_BODY_SECTION|Signature)"|'
    r'type="cite"'
    r")[^>]*>",
    re.I,
)
# Outlook desktop: the reply header block is a div with a top border.
_OUTLOOK_BORDER = re.compile(
    r"<div\b[^>]*style=\"[^\"]*border:none;\s*border-top:solid #[0-9A-F]{6} 1\.0pt[^\"]*\"[^>]*>",
    re.I,
)


def text_fold_at(text: str) -> int | None:
    """Where the quoted tail of a plain-text reply starts, or None to show it all."""
    if not text:
        return None
    candidates = []
    quote = _TEXT_QUOTE.search(text)
    if quote:
        candidates.append(quote.start())
    signature = _SIGNATURE.search(text)
    if signature:
        candidates.append(signature.start())
    # A trailing run of "> " lines.
    lines = text.split("\n")
    end = len(lines)
    while end > 0 and (not lines[end - 1].strip() or lines[end - 1].lstrip().startswith(">")):
        end -= 1
    if end < len(lines) and any(line.lstrip().startswith(">") for line in lines[end:]):
        candidates.append(len("\n".join(lines[:end])))
    at = min(candidates, default=None)
    # Never fold the whole message away: something must stay visible.
    if at is None or not text[:at].strip():
        return None
    return at


def html_fold_at(html: str) -> int | None:
    """Where quoted history or a signature starts in an HTML body, or None."""
    if not html:
        return None
    found = [m.start() for m in (_HTML_QUOTE.search(html), _OUTLOOK_BORDER.search(html)) if m]
    at = min(found, default=None)
    if at is None:
        return None
    visible = re.sub(r"<[^>]+>|&nbsp;|\s", "", html[:at])
    return at if visible else None


def fold_html(html: str, summary: str) -> str:
    """The HTML with its quoted tail inside a closed <details> (sanitize afterwards)."""
    at = html_fold_at(html)
    if at is None:
        return html
    return (
        f'{html[:at]}<details class="quoted"><summary>{html_lib.escape(summary)}</summary>'
        f"{html[at:]}</details>"
    )


def text_to_html(text: str, summary: str) -> str:
    """A plain-text body as HTML paragraphs, its quoted tail folded."""
    at = text_fold_at(text)
    visible, quoted = (text, "") if at is None else (text[:at], text[at:])
    body = _paragraphs(visible)
    if quoted.strip():
        body += (
            f'<details class="quoted"><summary>{html_lib.escape(summary)}</summary>'
            f"{_paragraphs(quoted)}</details>"
        )
    return body


def _paragraphs(text: str) -> str:
    blocks = [b for b in re.split(r"\n\s*\n", text.strip()) if b.strip()]
    return "".join(
        "<p>" + "<br>".join(html_lib.escape(line) for line in block.split("\n")) + "</p>"
        for block in blocks
    )

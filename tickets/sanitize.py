"""Every piece of HTML from a channel passes through here before it is stored."""

import html as html_lib
import re

import nh3

ALLOWED_TAGS = {
    "a",
    "b",
    "blockquote",
    "br",
    "code",
    "details",
    "div",
    "em",
    "h1",
    "h2",
    "h3",
    "h4",
    "hr",
    "i",
    "img",
    "li",
    "ol",
    "p",
    "pre",
    "s",
    "span",
    "strong",
    "sub",
    "summary",
    "sup",
    "table",
    "tbody",
    "td",
    "th",
    "thead",
    "tr",
    "u",
    "ul",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    # data-remote-src: a remote image's address, kept out of `src` so that showing
    # the message fetches nothing (tracking pixels) until an agent asks.
    "img": {"src", "data-remote-src", "alt", "title", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
}


def sanitize_html(html: str, *, block_remote_images: bool = True) -> str:
    """Keep the formatting of a message and drop anything that could run or track.

    Remote images are blocked unless block_remote_images is False (our own
    outbound HTML, which the customer's mail client must show as written).
    """
    if not html:
        return ""
    cleaned = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        attribute_filter=_filter_attribute,
        url_schemes={"http", "https", "mailto", "tel", "cid"},
        link_rel="noopener noreferrer nofollow",
    )
    return block_images(cleaned) if block_remote_images else cleaned


# nh3 serializes like html5ever: lowercase names, values in double quotes with
# `&`, `"`, `<` and `>` escaped, so a tag ends at the first `>` and a value at
# the next `"`.
_IMG_TAG = re.compile(r"<img\b[^>]*>")
_SRC_ATTR = re.compile(r'\ssrc="([^"]*)"')
# What a browser ignores in a URL: surrounding spaces, tabs and newlines anywhere.
_URL_NOISE = re.compile(r"[\x00-\x20\x7f]+")
_REMOTE_URL = re.compile(r"^(?:https?:)?//", re.I)


def _remote_url(value: str) -> str | None:
    """The http(s) or protocol-relative address in an attribute value, else None."""
    url = _URL_NOISE.sub("", html_lib.unescape(value))
    return url if _REMOTE_URL.match(url) else None


def _filter_attribute(element: str, attribute: str, value: str) -> str | None:
    if element == "img" and attribute == "data-remote-src":
        return _remote_url(value)
    return value


def block_images(html: str) -> str:
    """Make every <img> fetch nothing: a remote src moves to data-remote-src.

    Only `cid:` (an image sent inside the mail, served by us) stays in src;
    any other src (relative, which would hit our own server) is dropped.
    Expects nh3's output (sanitize_html calls it after cleaning).
    """
    if "<img" not in html:
        return html

    def rewrite(tag: re.Match[str]) -> str:
        def move(src: re.Match[str]) -> str:
            value = src.group(1)
            if html_lib.unescape(value).strip().lower().startswith("cid:"):
                return src.group(0)
            url = _remote_url(value)
            if url is None or "data-remote-src=" in tag.group(0):
                return ""
            return f' data-remote-src="{html_lib.escape(url)}"'

        return _SRC_ATTR.sub(move, tag.group(0))

    return _IMG_TAG.sub(rewrite, html)


def html_to_text(html: str) -> str:
    """Plain text of an HTML body, for previews and search."""
    if not html:
        return ""
    text = nh3.clean(html.replace("<br", "\n<br").replace("</p>", "</p>\n"), tags=set())
    return html_lib.unescape(text).strip()

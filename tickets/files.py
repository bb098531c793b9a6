"""Filenames from the outside world, made safe to store and to show."""

import re
import unicodedata

from django.http import FileResponse

# Letters, digits and the punctuation people put in document names; nothing a
# shell, a path or a header would read specially.
_UNSAFE = re.compile(r"[^\w.\- ()\[\],+&–—]+", re.UNICODE)


def safe_filename(name: str, default: str = "attachment") -> str:
    """No directories, no control characters, no leading dots, at most 150 characters."""
    name = unicodedata.normalize("NFC", name or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = _UNSAFE.sub("_", name).strip(" .")
    if not name:
        return default
    if len(name) > 150:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: 150 - len(ext) - 1] + "." + ext) if dot and len(ext) < 10 else name[:150]
    return name


_CONTENT_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$")


def plain_content_type(value: str) -> str:
    """A stored (sender-given) content type, reduced to a plain `type/subtype`."""
    bare = (value or "").split(";", 1)[0].strip().lower()
    return bare if _CONTENT_TYPE.match(bare) else "application/octet-stream"


def attachment_response(attachment, *, csp: str = "default-src 'none'; sandbox") -> FileResponse:
    """An attachment as a download, or shown inline when it is a picture.

    SVG is never shown inline (it can carry script); nothing is sniffed, and the
    response is sandboxed, whatever the sender claimed the file to be.
    """
    content_type = plain_content_type(attachment.content_type)
    inline = content_type.startswith("image/") and "svg" not in content_type
    response = FileResponse(
        attachment.file.open("rb"),
        as_attachment=not inline,
        filename=attachment.filename,
        content_type=content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = csp
    return response

"""Filenames from the outside world, made safe to store and to show."""

import re
import unicodedata

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

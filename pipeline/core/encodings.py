"""What every reader of bytes shares: the size bound, French-first encoding detection, and
record ids for web pages (files, fetched pages and WARC records alike)."""

from __future__ import annotations

import hashlib
import re
from urllib.parse import urlsplit

# The default --max-chars (500,000) at 8 bytes a character: UTF-8 takes up to 4, and
# the markup of an HTML page, or the escapes and other fields of a JSON line, come on top.
DEFAULT_MAX_BYTES = 8 * 500_000
# What charset-normalizer looks at.
DETECT_BYTES = 1 << 16


def legacy_encoding(data: bytes) -> str:
    """The encoding of text that is not UTF-8: Windows-1252, the legacy encoding of French
    text, whenever charset-normalizer finds it plausible (its first guess for short French
    text is often a Central European code page, which turns `è` into `č`); else its guess."""
    import charset_normalizer

    sample = data[:DETECT_BYTES]
    if charset_normalizer.from_bytes(sample, cp_isolation=["cp1252"]).best() is not None:
        return "cp1252"
    best = charset_normalizer.from_bytes(sample).best()
    return best.encoding if best is not None else "cp1252"


def url_name(url: str) -> str:
    """A record id from a URL: host and path, readable, without the scheme and query
    (a short hash of the query keeps two pages of one path apart)."""
    parts = urlsplit(url)
    path = re.sub(r"/+", "/", parts.path).strip("/")
    name = f"{parts.hostname or ''}/{path}".rstrip("/")
    if parts.query:
        name += "~" + hashlib.sha256(parts.query.encode()).hexdigest()[:8]
    return name or url

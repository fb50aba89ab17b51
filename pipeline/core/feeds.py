"""Feeds and sitemaps: the URLs to fetch, parsed from bytes (no network here).

- `kind_of(body)` says what a fetched body is: "rss", "atom", "rdf" (RSS 1.0 / 0.90),
  "sitemap" (a <urlset>), "sitemapindex", or None (an HTML page, plain text, JSON...),
  from its root element alone.
- `parse_feed(body, base_url)` reads an RSS 2.0 (and 0.9x), RSS 1.0/RDF or Atom 1.0 (and
  0.3) feed: one `Item` per item or entry, in document order, and the feed's title.
- `parse_sitemap(body, base_url)` reads a sitemap (<urlset>, Google News extension
  included) or a sitemap index: the page URLs as Items and the child sitemaps' URLs.
- `parse_url_list(text)` reads a plain-text list of URLs (also the sitemap protocol's
  text format).

What comes out:

- Every link is absolute, resolved against `base_url` (the URL the document was fetched
  from, `Page.final_url`) and any `xml:base` on the way down; only http and https links
  are kept. An item with no usable link (none, empty, `mailto:`, relative with no base)
  cannot be fetched, so it is skipped (and counted in a `newsum` log warning); a link
  seen earlier in the same document is skipped too (the first item wins), as fetching it
  twice would make the same article twice.
- RSS items: the link is <link>, else <atom:link rel="alternate">, else a <guid> that is
  an absolute http(s) URL and not isPermaLink="false". RDF items: <link>, else
  rdf:about. Atom entries: the <link> whose rel is "alternate" (or absent), an HTML one
  first; "self", "enclosure", "related", "edit", "via", "replies" never.
- Dates are ISO 8601 when they parse: RFC 822 (RSS pubDate: "Tue, 12 Mar 2024 18:12:00
  +0200", "... GMT") and W3C/RFC 3339 dates (Atom published/updated, dc:date, lastmod;
  "2024-03-12T18:12Z", "2024-03-12") come out as `datetime.isoformat()` with the offset
  that was given (a date alone stays a date); anything else (French day names...) is
  kept as given. Atom prefers published, then updated; RSS pubDate, then dc:date; a
  Google News sitemap news:publication_date, then lastmod.
- Authors: RSS dc:creator (several joined by ", "), else <author> ("jean@ex.fr (Jean
  Dupont)" gives "Jean Dupont"); Atom author/name (several joined), else the feed's.
- Summaries (RSS description, Atom summary) and HTML titles are plain text: tags
  stripped, script/style dropped, character references decoded, one line per block.
  Typographic spaces (U+00A0, U+202F) are kept.

Safety: feeds and sitemaps are untrusted. They are parsed by lxml with entity
resolution off, no network, no DTD loading, libxml2's default limits (huge_tree off:
depth, text node size, entity amplification), and a resolver that answers every
external reference with nothing; a document whose DTD declares any entity (XXE, billion
laughs) is refused with FeedError before its root element is read. HTML named entities
that are not XML's own (&eacute;, &nbsp;, common in hand-made French feeds, which no
DTD here defines) are read as the characters they name. A body is at most
MAX_SITEMAP_BYTES after gzip decompression (a gzip bomb stops there, holding no more
than that), and at most MAX_ITEMS items or child sitemaps are kept (the rest is not
read, with a log warning). Parsing streams: elements already read are freed, so a
sitemap near the bound costs its bytes, not a tree of them.

A malformed document (not well-formed XML, truncated gzip, a sitemap given to
`parse_feed` or the reverse, an HTML page) raises FeedError, a ValueError, whose message
says what and where.
"""

from __future__ import annotations

import dataclasses
import datetime
import email.utils
import html
import html.entities
import logging
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

from lxml import etree

__all__ = [
    "MAX_ITEMS",
    "MAX_SITEMAP_BYTES",
    "SNIFF_BYTES",
    "FeedError",
    "Item",
    "html_to_text",
    "iso_date",
    "kind_of",
    "parse_feed",
    "parse_sitemap",
    "parse_url_list",
]

log = logging.getLogger("newsum")

# The sitemaps.org limits on one sitemap: 50,000 URLs and 50 MiB uncompressed. They bound
# feeds too (a news feed is rarely over 1 MB) and a sitemap index's children.
MAX_ITEMS = 50_000
MAX_SITEMAP_BYTES = 50 * 1024 * 1024
# What kind_of decompresses and reads to find the root element.
SNIFF_BYTES = 64 * 1024

_CHUNK = 1 << 20

ATOM = "http://www.w3.org/2005/Atom"
ATOM03 = "http://purl.org/atom/ns#"
RSS10 = "http://purl.org/rss/1.0/"
RSS090 = "http://my.netscape.com/rdf/simple/0.9/"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
DC = "http://purl.org/dc/elements/1.1/"
NEWS = "http://www.google.com/schemas/sitemap-news/0.9"
_XML_BASE = "{http://www.w3.org/XML/1998/namespace}base"
_RDF_ABOUT = f"{{{RDF}}}about"

_GZIP_MAGIC = b"\x1f\x8b"
_UTF8_BOM = b"\xef\xbb\xbf"
_FEEDS = ("rss", "atom", "rdf")
_SITEMAPS = ("sitemap", "sitemapindex")
# Media types that cannot be a feed whatever the body says (servers label feeds
# text/html, text/plain or application/octet-stream, so those are read).
_NOT_XML = ("image/", "audio/", "video/", "font/", "application/pdf", "application/zip")


class FeedError(ValueError):
    """A feed or sitemap that cannot be read: malformed, refused, or too large."""


@dataclass(frozen=True)
class Item:
    """One article to fetch, with what the feed or sitemap says about it."""

    link: str  # absolute http(s) URL
    title: str | None = None
    date: str | None = None  # ISO 8601 when it parses, else as given
    author: str | None = None
    summary: str | None = None  # plain text
    feed_title: str | None = None  # the feed's title; a news sitemap's publication name


# ---------------------------------------------------------------------------- tags


def _tags(local: str, *namespaces: str) -> frozenset[str]:
    return frozenset(f"{{{ns}}}{local}" if ns else local for ns in namespaces)


_RSS_NS = ("", RSS10, RSS090)
_ATOM_NS = (ATOM, ATOM03, "")

_RSS_CHANNEL = _tags("channel", *_RSS_NS)
_RSS_ITEM = _tags("item", *_RSS_NS)
_RSS_TITLE = _tags("title", *_RSS_NS)
_RSS_LINK = _tags("link", *_RSS_NS)
_RSS_DESCRIPTION = _tags("description", *_RSS_NS)
_RSS_PUBDATE = _tags("pubDate", "")
_RSS_AUTHOR = _tags("author", "")
_RSS_GUID = _tags("guid", "")
_DC_CREATOR = _tags("creator", DC)
_DC_DATE = _tags("date", DC)
_ATOM_LINK_IN_RSS = _tags("link", ATOM)

_ATOM_ENTRY = _tags("entry", *_ATOM_NS)
_ATOM_TITLE = _tags("title", *_ATOM_NS)
_ATOM_LINK = _tags("link", *_ATOM_NS)
_ATOM_SUMMARY = _tags("summary", *_ATOM_NS)
_ATOM_PUBLISHED = _tags("published", ATOM, "") | _tags("issued", ATOM03)
_ATOM_UPDATED = _tags("updated", ATOM, "") | _tags("modified", ATOM03)
_ATOM_AUTHOR = _tags("author", *_ATOM_NS)
_ATOM_NAME = _tags("name", *_ATOM_NS)
_ATOM_SOURCE = _tags("source", *_ATOM_NS)


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _namespace(tag: str) -> str:
    return tag[1:].partition("}")[0] if tag.startswith("{") else ""


def _kind_of_root(tag: str) -> str | None:
    local, namespace = _local(tag), _namespace(tag)
    if local == "rss":
        return "rss"
    if local == "feed" and namespace in _ATOM_NS:
        return "atom"
    if local == "RDF" and namespace == RDF:
        return "rdf"
    if local == "urlset":
        return "sitemap"
    if local == "sitemapindex":
        return "sitemapindex"
    return None


# ---------------------------------------------------------------------------- bytes


def _gunzip(data: bytes, limit: int, *, strict: bool = True) -> bytes:
    """The members of a gzip stream, one after the other, at most `limit` bytes.

    strict: over the limit or truncated raises FeedError; otherwise the first `limit`
    bytes (or what there is) come back, which is what sniffing needs."""
    out = bytearray()
    while data[:2] == _GZIP_MAGIC:
        member = zlib.decompressobj(wbits=31)
        pending = data
        while True:
            try:
                # max_length is never 0 here (0 would mean no limit): len(out) <= limit.
                chunk = member.decompress(pending, limit + 1 - len(out))
            except zlib.error as exc:
                if not strict:
                    return bytes(out[:limit])
                raise FeedError(f"not a valid gzip stream: {exc}") from None
            out += chunk
            if len(out) > limit:
                if not strict:
                    return bytes(out[:limit])
                raise FeedError(
                    f"over {limit:,} bytes once decompressed (the bound is MAX_SITEMAP_BYTES)"
                )
            pending = member.unconsumed_tail
            if member.eof or not (chunk or pending):
                break
        if not member.eof:
            if not strict:
                return bytes(out)
            raise FeedError("truncated gzip stream")
        data = member.unused_data
    return bytes(out)


def _body(body: bytes, limit: int | None) -> bytes:
    """The document's bytes: decompressed, bounded, the head tidied for the parser."""
    limit = MAX_SITEMAP_BYTES if limit is None else limit
    data = bytes(body)
    if data[:2] == _GZIP_MAGIC:
        data = _gunzip(data, limit)
    elif len(data) > limit:
        raise FeedError(f"over {limit:,} bytes (the bound is MAX_SITEMAP_BYTES)")
    return _html_entities_to_references(_tidy_head(data))


def _tidy_head(data: bytes) -> bytes:
    """Whitespace before the XML declaration (a common server slip) is dropped, as the
    parser refuses it; the UTF-8 BOM stays."""
    bom = _UTF8_BOM if data.startswith(_UTF8_BOM) else b""
    rest = data[len(bom) :]
    if rest[:1].isspace():
        stripped = rest.lstrip(b" \t\r\n")
        if stripped.startswith(b"<?xml"):
            return bom + stripped
    return data


_XML_ENTITIES = frozenset({"amp", "lt", "gt", "quot", "apos"})
_NAMED_REFERENCE = re.compile(rb"&([A-Za-z][A-Za-z0-9]{1,31});")


def _numeric_reference(match: re.Match[bytes]) -> bytes:
    name = match.group(1).decode("ascii")
    if name in _XML_ENTITIES:
        return match.group(0)
    text = html.entities.html5.get(name + ";")
    if text is None:
        return match.group(0)
    return "".join(f"&#{ord(c)};" for c in text).encode("ascii")


def _html_entities_to_references(data: bytes) -> bytes:
    """&eacute; and the other HTML entities become character references (&#233;).

    No DTD here defines them (internal entity declarations are refused, external DTDs
    are not loaded), so in XML they would be errors. The rewrite is on bytes, which is
    right for UTF-8 and the other ASCII-compatible encodings; in UTF-16 the pattern
    never matches."""
    if b"&" not in data:
        return data
    return _NAMED_REFERENCE.sub(_numeric_reference, data)


# ---------------------------------------------------------------------------- parsing


class _NoExternal(etree.Resolver):
    """Every external reference (DTD, entity, XInclude) reads as nothing."""

    def resolve(self, system_url, public_id, context):  # type: ignore[override]
        return self.resolve_string("", context)


def _pull_parser() -> etree.XMLPullParser:
    parser = etree.XMLPullParser(
        events=("start", "end"),
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_pis=True,
    )
    parser.resolvers.add(_NoExternal())
    return parser


def _events(data: bytes) -> Iterator[tuple[str, etree._Element]]:
    """The document's start and end events, streaming; FeedError when it is malformed
    or its DTD declares entities. The first event is the root's start."""
    if not data.strip():
        raise FeedError("empty document")
    parser = _pull_parser()
    root = None
    try:
        for start in range(0, len(data), _CHUNK):
            parser.feed(data[start : start + _CHUNK])
            for event, element in parser.read_events():
                if root is None:
                    root = element
                    _refuse_entities(element)
                yield event, element
        parser.close()
        for event, element in parser.read_events():
            yield event, element
    except etree.XMLSyntaxError as exc:
        raise FeedError(f"malformed XML: {_message(exc)}") from None


def _message(exc: etree.XMLSyntaxError) -> str:
    message = (exc.msg or "").strip()
    if message and not message.startswith("no element found"):
        return message
    # The pull parser's own message can be vague ("no element found" for an undefined
    # entity); the last error libxml2 logged says what and where.
    last = exc.error_log.last_error
    if last is None:
        return message or "not well-formed"
    return f"{last.message.strip()}, line {last.line}, column {last.column}"


def _refuse_entities(root: etree._Element) -> None:
    dtd = root.getroottree().docinfo.internalDTD
    if dtd is not None:
        names = [entity.name for entity in dtd.iterentities()]
        if names:
            raise FeedError(
                "refused: the document's DTD declares entities "
                f"({', '.join(names[:5])}); a feed or sitemap needs none"
            )


def _free(element: etree._Element) -> None:
    """Forget an element once read, and the siblings read before it."""
    element.clear(keep_tail=False)
    parent = element.getparent()
    if parent is not None:
        while element.getprevious() is not None:
            del parent[0]


def _children(element: etree._Element, tags: frozenset[str]) -> list[etree._Element]:
    return [child for child in element if isinstance(child.tag, str) and child.tag in tags]


def _first(element: etree._Element, tags: frozenset[str]) -> etree._Element | None:
    for child in element:
        if isinstance(child.tag, str) and child.tag in tags:
            return child
    return None


def _plain(element: etree._Element | None) -> str | None:
    """An element's text content, whitespace trimmed; None when empty."""
    if element is None:
        return None
    text = "".join(element.itertext()).strip()
    return text or None


def _markup(element: etree._Element) -> str:
    """What an element holds, as HTML: its text when it has no children (escaped or
    CDATA HTML), else itself serialized (raw XHTML inside an RSS description)."""
    if len(element) == 0:
        return element.text or ""
    return etree.tostring(element, encoding="unicode", with_tail=False)


def _base(element: etree._Element, base_url: str) -> str:
    """The base URL in force at an element: base_url, then each xml:base down to it."""
    base = base_url
    for node in [*reversed(list(element.iterancestors())), element]:
        declared = node.get(_XML_BASE)
        if declared:
            base = urljoin(base, declared.strip())
    return base


_PLAIN_ABSOLUTE = re.compile(r"https?://[^\s/?#\\]+(?:[/?#][^\s\\]*)?", re.IGNORECASE)


def _absolute(link: str | None, base: str) -> str | None:
    if not link:
        return None
    link = link.strip()
    if _PLAIN_ABSOLUTE.fullmatch(link) and "/." not in link:
        return link  # what urljoin would give, sooner (sitemaps are long lists of these)
    try:
        url = urljoin(base, link.strip())
        scheme, host = urlsplit(url)[:2]
    except ValueError:  # a malformed IPv6 host, say
        return None
    return url if scheme.lower() in ("http", "https") and host else None


# ---------------------------------------------------------------------------- text


class _TextOf(HTMLParser):
    BLOCKS = frozenset(
        "address article aside blockquote br dd div dl dt figcaption figure footer h1 h2 h3"
        " h4 h5 h6 header hr li main nav ol p pre section table td th tr ul".split()
    )
    SKIPPED = frozenset({"script", "style", "template"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIPPED:
            self.skipping += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_startendtag(self, tag, attrs):
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in self.SKIPPED:
            self.skipping = max(0, self.skipping - 1)
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.skipping:
            self.parts.append(_WHITESPACE.sub(" ", data))


# HTML's whitespace (a newline in HTML is a space); U+00A0 and U+202F are not in it.
_WHITESPACE = re.compile(r"[ \t\n\r\f\v]+")
_SPACES = re.compile(r"[ \t\r\f\v]+")


def _lines(text: str) -> list[str]:
    lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return [line for line in lines if line]


def html_to_text(markup: str | None, *, one_line: bool = False) -> str | None:
    """HTML as plain text: tags stripped, script and style dropped, references decoded,
    one line per block (or all on one line); None when nothing is left."""
    if not markup or not markup.strip():
        return None
    if "<" in markup or "&" in markup:
        parser = _TextOf()
        parser.feed(markup)
        parser.close()
        markup = "".join(parser.parts)
    else:
        markup = _WHITESPACE.sub(" ", markup)
    lines = _lines(markup)
    return (" " if one_line else "\n").join(lines) or None


def _atom_text(element: etree._Element | None, *, one_line: bool) -> str | None:
    """An Atom text construct (type text, html or xhtml; Atom 0.3's media types)."""
    if element is None:
        return None
    kind = (element.get("type") or "text").strip().lower()
    if kind in ("html", "text/html"):
        return html_to_text(element.text, one_line=one_line)
    if kind in ("xhtml", "application/xhtml+xml"):
        return html_to_text(_markup(element), one_line=one_line)
    # Plain text: a blank line ends a paragraph, other line breaks are wrapping.
    text = "".join(element.itertext())
    paragraphs = (_WHITESPACE.sub(" ", part).strip() for part in re.split(r"\n\s*\n", text))
    return (" " if one_line else "\n").join(part for part in paragraphs if part) or None


# ---------------------------------------------------------------------------- dates

_W3C_DATE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?)?"
)


def _w3c_date(text: str) -> str | None:
    match = _W3C_DATE.fullmatch(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        date = datetime.date(int(year), int(month), int(day))
        if hour is None:
            return date.isoformat()
        tz = None
        if zone in ("Z", "z"):
            tz = datetime.timezone.utc
        elif zone:
            sign = -1 if zone[0] == "-" else 1
            digits = zone[1:].replace(":", "")
            offset = datetime.timedelta(hours=int(digits[:2]), minutes=int(digits[2:] or 0))
            tz = datetime.timezone(sign * offset)
        micro = int((fraction or "0")[:6].ljust(6, "0"))
        moment = datetime.datetime(
            date.year, date.month, date.day, int(hour), int(minute), int(second or 0), micro, tz
        )
    except ValueError:  # 2024-02-30, 25:00, an offset of 24 hours or more
        return None
    return moment.isoformat()


def _rfc822_date(text: str) -> str | None:
    try:
        moment = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return None if moment is None else moment.isoformat()


def iso_date(text: str | None) -> str | None:
    """A feed or sitemap date as ISO 8601 when it parses (W3C/RFC 3339, then RFC 822),
    else as given (trimmed); None when empty."""
    if text is None:
        return None
    text = " ".join(text.split())
    if not text:
        return None
    if re.fullmatch(r"\d{4}(-\d{2})?", text):  # W3C's year and year-month forms
        return text
    return _w3c_date(text) or _rfc822_date(text) or text


# ---------------------------------------------------------------------------- authors

_EMAIL_THEN_NAME = re.compile(r"\S+@\S+\s*\((.+)\)")
_NAME_THEN_EMAIL = re.compile(r"(.+?)\s*<\S+@\S+>")


def _author_name(text: str | None) -> str | None:
    """RSS's <author> is an e-mail address, often with the name after it."""
    if not text:
        return None
    text = " ".join(text.split())
    match = _EMAIL_THEN_NAME.fullmatch(text) or _NAME_THEN_EMAIL.fullmatch(text)
    return match.group(1).strip() if match else text or None


def _joined(names: list[str | None]) -> str | None:
    kept: list[str] = []
    for name in names:
        if name and name not in kept:
            kept.append(name)
    return ", ".join(kept) or None


# ---------------------------------------------------------------------------- feeds


def _rss_item(item: etree._Element, base_url: str) -> Item | None:
    link = None
    element = _first(item, _RSS_LINK)
    if element is not None:
        link = _absolute(_plain(element), _base(element, base_url))
    if link is None:
        for element in _children(item, _ATOM_LINK_IN_RSS):
            if (element.get("rel") or "alternate").strip() == "alternate":
                link = _absolute(element.get("href"), _base(element, base_url))
                if link:
                    break
    if link is None:
        guid = _first(item, _RSS_GUID)
        text = _plain(guid)
        if (
            guid is not None
            and text
            and (guid.get("isPermaLink") or "true").strip().lower() != "false"
            and urlsplit(text).scheme.lower() in ("http", "https")
        ):
            link = _absolute(text, base_url)
    if link is None and item.get(_RDF_ABOUT):
        link = _absolute(item.get(_RDF_ABOUT), _base(item, base_url))
    if link is None:
        return None
    title = _first(item, _RSS_TITLE)
    description = _first(item, _RSS_DESCRIPTION)
    author = _joined([_plain(e) for e in _children(item, _DC_CREATOR)]) or _author_name(
        _plain(_first(item, _RSS_AUTHOR))
    )
    return Item(
        link=link,
        title=None if title is None else html_to_text(_markup(title), one_line=True),
        date=iso_date(_plain(_first(item, _RSS_PUBDATE)) or _plain(_first(item, _DC_DATE))),
        author=author,
        summary=None if description is None else html_to_text(_markup(description)),
    )


def _atom_link(entry: etree._Element, base_url: str) -> str | None:
    candidates = []
    for element in _children(entry, _ATOM_LINK):
        rel = (element.get("rel") or "alternate").strip()
        if rel in ("alternate", "http://www.iana.org/assignments/relation/alternate"):
            link = _absolute(element.get("href"), _base(element, base_url))
            if link:
                kind = (element.get("type") or "text/html").strip().lower()
                html_first = 0 if kind in ("text/html", "application/xhtml+xml") else 1
                candidates.append((html_first, len(candidates), link))
    return min(candidates)[2] if candidates else None


def _atom_authors(element: etree._Element) -> str | None:
    return _joined(
        [_plain(_first(author, _ATOM_NAME)) for author in _children(element, _ATOM_AUTHOR)]
    )


def _atom_entry(entry: etree._Element, base_url: str) -> Item | None:
    link = _atom_link(entry, base_url)
    if link is None:
        return None
    author = _atom_authors(entry)
    source = _first(entry, _ATOM_SOURCE)
    if author is None and source is not None:
        author = _atom_authors(source)
    return Item(
        link=link,
        title=_atom_text(_first(entry, _ATOM_TITLE), one_line=True),
        date=iso_date(
            _plain(_first(entry, _ATOM_PUBLISHED)) or _plain(_first(entry, _ATOM_UPDATED))
        ),
        author=author,
        summary=_atom_text(_first(entry, _ATOM_SUMMARY), one_line=False),
    )


def _capped(limit: int | None) -> int:
    return MAX_ITEMS if limit is None else limit


class _Kept:
    """Items kept in order, without repeated links, at most `limit`."""

    def __init__(self, limit: int, what: str, where: str) -> None:
        self.limit, self.what, self.where = limit, what, where
        self.links: set[str] = set()
        self.kept: list = []
        self.unlinked = self.repeated = 0
        self.full = False

    def add(self, link: str | None, value) -> bool:
        """False once full (the caller stops reading)."""
        if link is None:
            self.unlinked += 1
        elif link in self.links:
            self.repeated += 1
        elif len(self.kept) >= self.limit:
            self.full = True
            return False
        else:
            self.links.add(link)
            self.kept.append(value)
        return True

    def report(self) -> None:
        if self.full:
            log.warning(
                "%s: only the first %d %s are read (the bound is MAX_ITEMS)",
                self.where,
                self.limit,
                self.what,
            )
        if self.unlinked:
            log.warning(
                "%s: %d %s without an http(s) link skipped", self.where, self.unlinked, self.what
            )
        if self.repeated:
            log.debug("%s: %d repeated links skipped", self.where, self.repeated)


def parse_feed(
    body: bytes,
    base_url: str,
    *,
    max_bytes: int | None = None,
    max_items: int | None = None,
) -> tuple[list[Item], str | None]:
    """The items of an RSS, RSS 1.0/RDF or Atom feed, in document order, and its title.

    Items without an http(s) link and repeated links are skipped (see the module's
    docstring); every item's feed_title is the feed's title. max_bytes and max_items
    default to MAX_SITEMAP_BYTES and MAX_ITEMS. FeedError when the body is not a
    well-formed feed (a sitemap, an HTML page, malformed XML) or is refused."""
    data = _body(body, max_bytes)
    kept = _Kept(_capped(max_items), "items", base_url or "feed")
    feed_title: str | None = None
    feed_author: str | None = None
    root = kind = None
    for event, element in _events(data):
        if root is None:
            root, kind = element, _kind_of_root(element.tag)
            if kind not in _FEEDS:
                raise FeedError(_not_what(element.tag, kind, "a feed (RSS, RDF or Atom)"))
            continue
        if event != "end" or not isinstance(element.tag, str):
            continue
        parent = element.getparent()
        tag = element.tag
        if kind == "atom":
            if parent is not root:
                continue
            if tag in _ATOM_ENTRY:
                if not kept.add(*_keyed(_atom_entry(element, base_url))):
                    break
                _free(element)
            elif tag in _ATOM_TITLE and feed_title is None:
                feed_title = _atom_text(element, one_line=True)
            elif tag in _ATOM_AUTHOR and feed_author is None:
                feed_author = _plain(_first(element, _ATOM_NAME))
        else:
            in_channel = parent is not None and parent.tag in _RSS_CHANNEL
            if tag in _RSS_ITEM and (in_channel or parent is root):
                if not kept.add(*_keyed(_rss_item(element, base_url))):
                    break
                _free(element)
            elif tag in _RSS_TITLE and in_channel and feed_title is None:
                feed_title = html_to_text(_markup(element), one_line=True)
    kept.report()
    items = [
        dataclasses.replace(item, feed_title=feed_title, author=item.author or feed_author)
        for item in kept.kept
    ]
    return items, feed_title


def _keyed(item: Item | None) -> tuple[str | None, Item | None]:
    return (None, None) if item is None else (item.link, item)


def _not_what(tag: str, kind: str | None, wanted: str) -> str:
    if kind is None:
        local = _local(tag)
        hint = " (an HTML page?)" if local.lower() == "html" else ""
        return f"not {wanted}: the root element is <{local}>{hint}"
    return f"not {wanted}: this is a {kind}" + (
        ", read it with parse_sitemap" if kind in _SITEMAPS else ", read it with parse_feed"
    )


# ---------------------------------------------------------------------------- sitemaps


def _sitemap_url(url: etree._Element, base_url: str) -> Item | None:
    link = None
    lastmod = None
    news = None
    for child in url:
        if not isinstance(child.tag, str):
            continue
        local = _local(child.tag)
        if local == "loc" and link is None:
            link = _absolute(_plain(child), _base(child, base_url))
        elif local == "lastmod" and lastmod is None:
            lastmod = _plain(child)
        elif local == "news" and _namespace(child.tag) == NEWS and news is None:
            news = child
    if link is None:
        return None
    title = date = publication = None
    if news is not None:
        for child in news:
            if not isinstance(child.tag, str) or _namespace(child.tag) != NEWS:
                continue
            local = _local(child.tag)
            if local == "title":
                title = html_to_text(_plain(child), one_line=True)
            elif local == "publication_date":
                date = _plain(child)
            elif local == "publication":
                for name in child:
                    if isinstance(name.tag, str) and name.tag == f"{{{NEWS}}}name":
                        publication = _plain(name)
    return Item(link=link, title=title, date=iso_date(date or lastmod), feed_title=publication)


def parse_sitemap(
    body: bytes,
    base_url: str,
    *,
    max_bytes: int | None = None,
    max_items: int | None = None,
) -> tuple[list[Item], list[str]]:
    """A sitemap's page URLs as Items, and a sitemap index's child sitemap URLs.

    A <urlset> gives (items, []): link from <loc>, date from <lastmod>, and for a Google
    News sitemap title, date and feed_title from news:title, news:publication_date and
    news:publication/news:name. A <sitemapindex> gives ([], child sitemap URLs); fetching
    them is the caller's (with a bound on depth: an index may list itself). A gzipped
    body (.xml.gz) is decompressed up to max_bytes. URLs are resolved against base_url;
    entries without an http(s) <loc> and repeated URLs are skipped. FeedError when the
    body is not a well-formed sitemap (a feed, an HTML page, malformed XML) or is
    refused."""
    data = _body(body, max_bytes)
    root = kind = None
    kept: _Kept | None = None
    for event, element in _events(data):
        if root is None:
            root, kind = element, _kind_of_root(element.tag)
            if kind not in _SITEMAPS:
                raise FeedError(_not_what(element.tag, kind, "a sitemap"))
            what = "URLs" if kind == "sitemap" else "child sitemaps"
            kept = _Kept(_capped(max_items), what, base_url or "sitemap")
            continue
        if event != "end" or element.getparent() is not root or not isinstance(element.tag, str):
            continue
        assert kept is not None
        local = _local(element.tag)
        if kind == "sitemap" and local == "url":
            if not kept.add(*_keyed(_sitemap_url(element, base_url))):
                break
        elif kind == "sitemapindex" and local == "sitemap":
            loc = next(
                (c for c in element if isinstance(c.tag, str) and _local(c.tag) == "loc"), None
            )
            link = None if loc is None else _absolute(_plain(loc), _base(loc, base_url))
            if not kept.add(link, link):
                break
        _free(element)
    if kept is None:  # pragma: no cover - _events always yields the root first
        raise FeedError("empty document")
    kept.report()
    if kind == "sitemap":
        return list(kept.kept), []
    return [], list(kept.kept)


# ---------------------------------------------------------------------------- sniffing


def kind_of(body: bytes, content_type: str | None = None) -> str | None:
    """What a body is, from its root element: "rss", "atom", "rdf", "sitemap",
    "sitemapindex", or None (HTML, text, JSON, not XML, or unreadable).

    Reads at most SNIFF_BYTES (decompressed, for a gzip body); a BOM, an XML declaration,
    comments, a DOCTYPE and whitespace before the root are fine. The body decides, not
    content_type (servers serve feeds as text/html, text/plain, octet-stream): it only
    rules out media types that cannot be XML (image/, audio/, video/, font/, PDF, zip).
    None says "not a feed or sitemap", not "malformed": parse_feed says what is wrong."""
    if content_type:
        media = content_type.split(";", 1)[0].strip().lower()
        if media.startswith(_NOT_XML):
            return None
    if body[:2] == _GZIP_MAGIC:
        head = _gunzip(bytes(body), SNIFF_BYTES, strict=False)
    else:
        head = bytes(body[:SNIFF_BYTES])
    head = _tidy_head(head)
    if not head.strip():
        return None
    parser = _pull_parser()
    try:
        parser.feed(head)
        for event, element in parser.read_events():
            if event == "start":
                return _kind_of_root(element.tag)
    except etree.XMLSyntaxError:
        return None
    return None


# ---------------------------------------------------------------------------- URL lists


def parse_url_list(text: str) -> list[str]:
    """URLs from plain text, one a line, in order.

    Surrounding whitespace (and a leading BOM) is stripped; blank lines and lines whose
    first non-blank character is "#" are skipped ("#" later in a line is a URL's
    fragment, kept); a URL already listed is skipped (the first stays), as fetching it
    twice would make the same article twice. Lines are not checked: one that is not a
    URL comes back as is, so that the fetch reports it rather than it vanishing."""
    urls: list[str] = []
    seen: set[str] = set()
    for line in text.lstrip("\ufeff").splitlines():
        url = line.strip()
        if url and not url.startswith("#") and url not in seen:
            seen.add(url)
            urls.append(url)
    return urls

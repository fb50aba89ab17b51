"""WARC inputs (.warc, .warc.gz): Common Crawl's CC-NEWS and other web archives.

Each `response` record that holds an HTML page fetched with HTTP status 200 becomes one
record, through the same HTML extraction as an .html file; every other WARC record
(request, metadata, warcinfo, revisit, a non-200 or non-HTML response) is skipped and
counted in `WarcStats`. The file is streamed, record by record: memory holds one page
(at most `max_bytes`) whatever the size of the file.

A record:
- `id`: the page's URL as host and path (`www.example.fr/2024/03/article.html`, a short
  hash of the query appended), as for a fetched URL (`web.url_name`). The same URL read
  twice (a page crawled again) gets `ID~2` from the readers' run-wide rule, with a
  `repeated-id` warning that names both WARC records; a response without a target URI is
  `NAME-N`, NAME the file's name less `.warc[.gz]` and N its position;
- `url`: WARC-Target-URI (a canonical URL in the page does not replace it);
- `date`: the page's publication date when the extraction finds one, else empty, for
  cleaning's byline step to fill (it fills an empty date only: the crawl date there
  would hide the article's own). WARC-Date, the crawl date, is always kept in
  `extra["fetched_at"]`, as for fetched URLs, and WARC-Record-ID in
  `extra["warc_record_id"]`;
- `source`: the site's name from the page, else the URL's host.

The page is decoded by the charset of its HTTP Content-Type, else its <meta> charset,
else as UTF-8, else as Windows-1252 when plausible (charset-normalizer's guess
otherwise); a payload sent with Transfer-Encoding chunked or Content-Encoding gzip,
deflate or br is decoded first (Common Crawl stores payloads decoded already).

Problems never raise out of `read_warc`:
- a page over `max_bytes` (after decoding) is an error record for its URL; no more than
  `max_bytes + 1` bytes of it are read;
- a page with no main text is an error record (the extraction's reason);
- a damaged file (cut short, a bad gzip member, bytes that are not a WARC record) ends
  with one error record that names the file and the position where reading stopped;
  the records before it are all read. A gzip member cut short is found by its missing
  trailer and a record cut short by its length, so a truncated download never passes
  for a complete one.

Positions are 1-based among all the WARC records of the file (request and metadata
records count), so that a message names the record a WARC tool shows at that place.
"""

from __future__ import annotations

import codecs
import re
import zlib
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Protocol
from urllib.parse import urlsplit

from .encodings import legacy_encoding, url_name
from .html import extract_html
from .record import ERROR, Record

WARC_SUFFIXES = (".warc", ".warc.gz")
#: The content types read as pages; any other response is skipped.
HTML_TYPES = ("text/html", "application/xhtml+xml")

# Compressed bytes read at a time; fastwarc asks for as much decompressed.
_BLOCK = 1 << 16
_GZIP_MAGIC = b"\x1f\x8b"
# The last bytes of each gzip member, held until its CRC is checked: more than the
# "\r\n\r\n" after a WARC record, so that a record's own bytes are among them.
_HOLD = 8
# How far into a page a <meta charset> is looked for (browsers look at 1,024 bytes).
_META_SCAN = 4096
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-z0-9_.:-]+)""", re.I)
# Encodings that browsers read as Windows-1252 (WHATWG Encoding Standard).
_AS_CP1252 = {"ascii", "latin_1", "iso8859_1", "iso8859_15", "cp1252"}


class WarcOptions(Protocol):
    """What `read_warc` reads of `readers.ReadOptions` (that module imports this one)."""

    @property
    def max_bytes(self) -> int: ...

    @property
    def keep_html(self) -> bool: ...


@dataclass
class WarcStats:
    """What the WARC records of one or more files were; `read_warc` adds to these.

    records = responses + skipped_revisit + skipped_other (+ 1 for a damaged file), and
    responses = html + skipped_not_html + skipped_status. Each `html` response is one
    record; `errors` counts the error records (pages over the limit or with no text, and
    a damaged file's)."""

    records: int = 0  # WARC records read, of any type
    responses: int = 0  # `response` records
    html: int = 0  # responses with status 200 and an HTML content type: the records
    skipped_not_html: int = 0  # responses of another type (PDF, image, ...) or not HTTP
    skipped_status: int = 0  # responses with another status (3xx, 404, ...)
    skipped_revisit: int = 0  # `revisit` records (a page seen before, not stored again)
    skipped_other: int = 0  # request, metadata, warcinfo, resource, ... records
    errors: int = 0  # error records yielded

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def read_warc(
    path: Path, options: WarcOptions, stats: WarcStats, *, name: str | None = None
) -> Iterator[tuple[int, Record]]:
    """(position, record) for each HTML page of the WARC file at `path`, lazily; the
    counts of what was read and skipped are added to `stats` as it goes.

    `name`: what the ids of records without a URL start with (the readers' Source.name);
    by default the file's name less .warc or .warc.gz."""
    from fastwarc.warc import ArchiveIterator

    path = Path(path)
    name = name or _stem(path)
    position = 0

    def damaged(reason: str) -> tuple[int, Record]:
        stats.errors += 1
        record = Record(id=f"{name}-{position}" if position else name)
        where = f"{path} record {position}" if position else str(path)
        return position, record.mark(ERROR, f"{where}: cannot read: {reason}")

    try:
        raw = open(path, "rb")  # noqa: SIM115 - closed in `finally`, past the last yield
    except OSError as exc:
        yield damaged(exc.strerror or str(exc))
        return
    try:
        try:
            stream = _Stream(raw)
            records = ArchiveIterator(
                stream, parse_http=True, auto_decode="none", stream_detect=False
            )
        except BaseException as exc:
            _reraise_unless_read_error(exc)
            yield damaged(_text(exc))
            return
        while True:
            try:
                warc = next(records)
            except StopIteration:
                if stream.error:  # the file ends in a gzip member: cut short
                    position += 1
                    stats.records += 1
                    yield damaged(stream.error)
                return
            except BaseException as exc:  # fastwarc: "Invalid WARC header" and the like
                _reraise_unless_read_error(exc)
                position += 1
                stats.records += 1
                yield damaged(stream.error or f"not a valid WARC record ({_text(exc)})")
                return
            position += 1
            stats.records += 1
            try:
                outcome = _read_record(warc, options, stats)
            except BaseException as exc:
                _reraise_unless_read_error(exc)
                outcome = _Damage(_text(exc))
            if isinstance(outcome, _Damage):
                yield damaged(stream.error or outcome.reason)
                return
            if outcome is None:
                continue
            try:
                record = _record(outcome, name, position, path, options)
            except Exception as exc:  # a bug on one page must not end the file
                record = Record(id=f"{name}-{position}", url=outcome.url)
                record.mark(ERROR, f"{path} record {position}: {type(exc).__name__}: {exc}")
            if not record.ok:
                stats.errors += 1
            yield position, record
    finally:
        raw.close()


def _reraise_unless_read_error(exc: BaseException) -> None:
    """Raise `exc` again unless it is an error of reading: any Exception, or a panic in
    fastwarc's Rust code (pyo3's PanicException, a BaseException); Ctrl-C goes through."""
    if not isinstance(exc, Exception) and type(exc).__name__ != "PanicException":
        raise exc


def _text(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


# ---- the stream: gzip members decoded here, so that damage is seen -------------------


class _Stream:
    """The WARC file's bytes for fastwarc, gzip members decompressed (any number, as a
    .warc.gz holds one a record); a plain WARC passes through.

    zlib checks each member's CRC and length, and the last bytes of a member are handed
    out only once they have passed: a record in a damaged member (cut short, corrupt)
    never reads as complete, and everything before it is read. The damage reads as the
    end of the file, with `error` saying what it was. (fastwarc's own gzip reader takes
    a member cut short for a complete one; Python's gzip module drops the last block of
    good records before it raises.)"""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.error: str | None = None
        head = raw.read(2)
        self.gzip = head == _GZIP_MAGIC
        self._input = head  # compressed bytes not yet fed to a member's decompressor
        self._member: zlib._Decompress | None = None
        self._ready = bytearray()  # decompressed, checked or not the end of a member
        self._held = b""  # the end of the current member's output, until it is checked
        self._read = len(head)  # bytes read from the file, for messages
        self._given = 0
        self._ended = False

    def tell(self) -> int:
        return self._given

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = _BLOCK
        try:
            data = self._inflate(size) if self.gzip else self._plain(size)
        except OSError as exc:
            self._fail(f"read error: {exc.strerror or exc}")
            data = b""
        self._given += len(data)
        return data

    def _plain(self, size: int) -> bytes:
        if self._ended:
            return b""
        data, self._input = self._input[:size], self._input[size:]
        if len(data) < size:
            data += self.raw.read(size - len(data))
        return data

    def _inflate(self, size: int) -> bytes:
        while len(self._ready) < size and not self._ended:
            self._step()
        data = bytes(self._ready[:size])
        del self._ready[:size]
        return data

    def _step(self) -> None:
        """Decompress some more: at most a block of output, or the next member's start."""
        if self._input:
            data, self._input = self._input, b""
        else:
            data = self.raw.read(_BLOCK)
            self._read += len(data)
        if self._member is None:
            if not data:  # the end of the file, between members: complete
                self._ended = True
                return
            if not data.startswith(_GZIP_MAGIC[: len(data)]):
                self._fail(f"bytes that are no gzip member at byte {self._at(data)}")
                return
            self._member = zlib.decompressobj(wbits=31)  # one gzip member
        elif not data:
            self._fail("the file ends inside a gzip member: it was cut short")
            return
        try:
            chunk = self._member.decompress(data, _BLOCK)
        except zlib.error as exc:
            self._fail(f"bad gzip data before byte {self._at(b'')}: {exc}")
            return
        held = self._held + chunk
        if self._member.eof:  # the member's CRC and length are right
            self._ready += held
            self._held = b""
            self._input = self._member.unused_data
            self._member = None
        else:
            cut = max(len(held) - _HOLD, 0)
            self._ready += held[:cut]
            self._held = held[cut:]
            self._input = self._member.unconsumed_tail

    def _at(self, pending: bytes) -> int:
        """The file offset of the first byte of `pending` (the bytes being looked at)."""
        return self._read - len(pending) - len(self._input)

    def _fail(self, reason: str) -> None:
        self.error, self._ended = reason, True


# ---- one WARC record -----------------------------------------------------------------


@dataclass
class _Damage:
    reason: str


@dataclass
class _Page:
    url: str | None
    warc_date: str | None
    record_id: str | None
    payload: bytes | None  # None: over the limit
    charset: str | None
    problem: str | None = None  # a payload that cannot be decoded


def _read_record(warc, options: WarcOptions, stats: WarcStats) -> _Page | _Damage | None:
    """The page of one WARC record, None for a record that is skipped (counted), or the
    damage that ends the file."""
    from fastwarc.warc import WarcRecordType

    headers = warc.headers
    if headers.get("Content-Length") is None:  # a record cut inside its WARC headers
        return _Damage("a WARC record's headers are incomplete: the file was cut short?")
    expected = warc.content_length
    kind = warc.record_type
    http = warc.http_headers if kind == WarcRecordType.response and warc.is_http else None
    page = kind == WarcRecordType.response and http is not None and http.status_code == 200
    page = page and _media_type(http, headers) in HTML_TYPES
    payload = b""
    if page:
        # The payload as stored (maybe compressed), one byte over the limit at most.
        payload = warc.reader.read(options.max_bytes + 1)
    size = len(payload) + warc.reader.consume()
    if size < expected:
        return _Damage(f"the record is cut short ({size:,} of {expected:,} bytes)")
    if kind == WarcRecordType.revisit:
        stats.skipped_revisit += 1
        return None
    if kind != WarcRecordType.response:
        stats.skipped_other += 1
        return None
    stats.responses += 1
    if http is None:  # dns:, whois: and other responses that are not HTTP
        stats.skipped_not_html += 1
        return None
    if http.status_code != 200:
        stats.skipped_status += 1
        return None
    if not page:
        stats.skipped_not_html += 1
        return None
    stats.html += 1
    result = _Page(
        url=_target(headers.get("WARC-Target-URI")),
        warc_date=headers.get("WARC-Date"),
        record_id=headers.get("WARC-Record-ID"),
        payload=None,
        charset=warc.http_charset,
    )
    if len(payload) > options.max_bytes:
        return result  # payload None: over the limit
    try:
        body = _unpack(payload, http, options.max_bytes)
    except _Undecodable as exc:
        result.payload, result.problem = b"", str(exc)
        return result
    result.payload = body if len(body) <= options.max_bytes else None
    return result


def _media_type(http, headers) -> str:
    """The payload's media type, lowercased: the HTTP Content-Type, else the type the
    crawler identified (Common Crawl's WARC-Identified-Payload-Type)."""
    value = http.get("Content-Type") or headers.get("WARC-Identified-Payload-Type") or ""
    return value.split(";", 1)[0].strip().lower()


def _target(uri: str | None) -> str | None:
    # WARC 1.0 wrote the URI in angle brackets; some tools still do.
    return uri.strip().strip("<>") if uri else None


def _record(page: _Page, name: str, position: int, path: Path, options: WarcOptions) -> Record:
    where = f"{path} record {position}"
    record = Record(id=url_name(page.url) if page.url else f"{name}-{position}", url=page.url)
    if page.warc_date:
        record.extra["fetched_at"] = page.warc_date
    if page.record_id:
        record.extra["warc_record_id"] = page.record_id
    if page.payload is None:
        limit = f"over the {options.max_bytes:,}-byte limit (max_bytes)"
        return record.mark(ERROR, f"{where}: {page.url}: {limit}")
    if page.problem:
        return record.mark(ERROR, f"{where}: {page.url}: {page.problem}")
    record.html = decode_html(page.payload, page.charset)
    extract_html(record, options.keep_html)
    if not record.ok:
        record.reason = f"{where}: {page.url}: {record.reason}"
    if not record.source and page.url:
        record.source = urlsplit(page.url).hostname
    return record


# ---- HTTP payloads ---------------------------------------------------------------------


class _Undecodable(ValueError):
    pass


def _unpack(payload: bytes, http, limit: int) -> bytes:
    """The body as the server meant it: chunks joined, content encoding undone (at most
    `limit + 1` bytes of it); Common Crawl has done both and renamed the headers."""
    transfer = (http.get("Transfer-Encoding") or "").lower()
    if "chunked" in transfer:
        payload = _dechunk(payload)
    encoding = (http.get("Content-Encoding") or "").strip().lower()
    if encoding in ("", "identity", "none"):
        return payload
    try:
        if encoding in ("gzip", "x-gzip"):
            if not payload.startswith(_GZIP_MAGIC):  # a crawler decoded it and kept the header
                return payload
            return zlib.decompressobj(wbits=47).decompress(payload, limit + 1)
        if encoding == "deflate":
            try:
                return zlib.decompressobj().decompress(payload, limit + 1)
            except zlib.error:  # deflate without its zlib header, as many servers send it
                return zlib.decompressobj(wbits=-15).decompress(payload, limit + 1)
        if encoding == "br":
            import io

            from fastwarc.stream_io import BrotliReader

            return BrotliReader(io.BytesIO(payload)).read(limit + 1)
    except (zlib.error, OSError) as exc:
        raise _Undecodable(f"cannot undo Content-Encoding {encoding}: {_text(exc)}") from None
    raise _Undecodable(f"unsupported Content-Encoding {encoding!r}")


def _dechunk(data: bytes) -> bytes:
    """HTTP chunked transfer coding undone; the data as it is when it is not chunked (a
    crawler that joined the chunks may keep the header)."""
    out: list[bytes] = []
    at = 0
    while True:
        end = data.find(b"\r\n", at)
        if end < 0:
            return data
        size_text = data[at:end].split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            return data
        if size == 0:
            return b"".join(out)
        start = end + 2
        out.append(data[start : start + size])
        at = start + size + 2
        if at > len(data):  # the last chunk is cut: what there is of it
            return b"".join(out)


def decode_html(data: bytes, declared: str | None = None) -> str:
    """A page's text: by its byte order mark, else the charset its HTTP header declares,
    else its <meta> charset, else UTF-8, else a detected legacy encoding (Windows-1252
    for French whenever plausible). A declared charset the bytes do not fit is passed
    over (servers often declare UTF-8 for Windows-1252 pages); UTF-8 with a few stray
    bytes stays UTF-8, the strays replaced."""
    for bom, encoding in (
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            return data.decode(encoding, errors="replace")
    meta = _META_CHARSET.search(data[:_META_SCAN])
    candidates = [_codec(declared, http=True), _codec(meta and meta.group(1).decode("ascii"))]
    for encoding in (*dict.fromkeys(c for c in candidates if c), "utf-8"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    text = data.decode("utf-8", errors="replace")
    if _mostly_utf8(text):
        return text
    return data.decode(legacy_encoding(data), errors="replace")


def _codec(name: str | None, http: bool = False) -> str | None:
    """Python's codec for a declared charset; None for an unknown one."""
    if not name:
        return None
    try:
        codec = codecs.lookup(name.strip().strip("\"'")).name.replace("-", "_")
    except LookupError:
        return None
    if codec in _AS_CP1252:
        return "cp1252"
    if codec.startswith(("utf_16", "utf_32")) and not http:
        return "utf-8"  # a <meta> read as ASCII cannot be in UTF-16 (WHATWG)
    return codec


def _mostly_utf8(text: str) -> bool:
    """UTF-8 with a few bad bytes (a stray Windows-1252 character in a UTF-8 page), not
    a legacy page declared or taken for UTF-8, where nearly every accent is bad."""
    bad = text.count("\ufffd")
    accents = sum(1 for c in text if c > "\x7f") - bad
    return accents >= 4 * bad


# ---- names ---------------------------------------------------------------------------


def _stem(path: Path) -> str:
    """The file's name less .warc or .warc.gz (CC-NEWS-20240314-001.warc.gz -> CC-NEWS-...)."""
    name = path.name
    for suffix in (".gz", ".warc"):
        if name.lower().endswith(suffix) and len(name) > len(suffix):
            name = name[: -len(suffix)]
    return name


__all__ = ["HTML_TYPES", "WARC_SUFFIXES", "WarcStats", "decode_html", "read_warc", "url_name"]

"""Inputs that live on the web: article URLs, RSS/Atom feeds, sitemaps and URL lists.

Each becomes records through the same HTML extraction as an .html file. Fetching is
pipeline.core.fetch's (polite and safe: robots.txt, per-host limits and delays, no
private addresses unless allowed); parsing is pipeline.core.feeds'. A URL that cannot be
fetched or is not an article page is an error record with the reason, never dropped.

`Web` holds the one fetcher of a read (made on first use, so file-only runs never import
httpx) and its counts, which the batch job keeps in its manifest. In a job it caches
responses in the output folder, so a resumed run fetches nothing it already has.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol
from urllib.parse import urlsplit

from .encodings import url_name
from .html import extract_html
from .record import ERROR, Record

if TYPE_CHECKING:
    from .feeds import Item
    from .fetch import Fetcher, FetchOptions, Page


class Source(Protocol):
    """What this module reads of a pipeline.core.readers.Source (which imports it)."""

    kind: str
    location: str
    name: str


class ReadOptions(Protocol):
    """What this module reads of pipeline.core.readers.ReadOptions."""

    keep_html: bool
    max_bytes: int
    limit: int | None
    sample: int | None
    seed: int

    def fetch_options(self) -> FetchOptions: ...


#: Source kinds read from the web, with what one position in them is called.
WEB_KINDS = {"url": None, "feed": "item", "sitemap": "url", "urls": "line"}
#: Sitemap indexes are followed this deep, and at most this many child sitemaps.
MAX_SITEMAP_DEPTH = 2
MAX_SITEMAPS = 1000
_HTML_TYPES = ("text/html", "application/xhtml+xml")


class Web:
    """The fetcher of one read, its options and cache folder; `stats()` for the manifest."""

    def __init__(self, options: ReadOptions, cache_dir: Path | None = None) -> None:
        self.options = options
        self.cache_dir = cache_dir
        self._fetcher: Fetcher | None = None
        self.warc: dict[str, int] = {}  # what the WARC inputs held, skipped records counted

    def read_warc(self, source: Source, options: ReadOptions) -> Iterator[tuple[int, Record]]:
        """A WARC file's HTML responses (pipeline.core.warc), its counts added to `warc`."""
        from dataclasses import asdict

        from .warc import WarcStats, read_warc

        stats = WarcStats()
        try:
            yield from read_warc(Path(source.location), options, stats, name=source.name)
        finally:
            for key, value in asdict(stats).items():
                self.warc[key] = self.warc.get(key, 0) + value

    @property
    def fetcher(self) -> Fetcher:
        if self._fetcher is None:
            from .fetch import Fetcher

            options = self.options.fetch_options()
            if self.cache_dir is not None:  # a job's: what a resume must read again
                options = replace(options, keep_failures=True)
            self._fetcher = Fetcher(options, self.cache_dir)
        return self._fetcher

    def stats(self) -> dict[str, Any]:
        """What the read fetched (requests, bytes, errors, ...) and what WARC inputs held."""
        out: dict[str, Any] = {}
        if self._fetcher is not None:
            out["fetch"] = self._fetcher.stats()
        if self.warc:
            out["warc"] = dict(self.warc)
        return out

    def close(self) -> None:
        if self._fetcher is not None:
            self._fetcher.close()


def check_url(url: str, spec: str) -> str:
    """`url` when it is an http(s) URL; NewsumError naming the spec otherwise."""
    from .errors import NewsumError

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise NewsumError(f"{spec!r}: only http:// and https:// URLs are read")
    return url


def read_web(source: Source, options: ReadOptions, web: Web) -> Iterator[tuple[int, Record]]:
    """The records of a web source: the articles it lists, or the page it is."""
    listing = _listing(source, web)
    if listing.failure is not None:
        yield 0, _failed(source.name, source.location, *listing.failure)
    elif listing.items is None:
        yield 0, _article(source.name, listing.page, options)
    else:
        yield from _read_items(listing.items, source, options, web)


def links(source: Source, options: ReadOptions, web: Web) -> list[str]:
    """The article URLs a web source would fetch (--limit/--sample applied), fetching only
    its listing: what `run --dry-run` counts. A URL that is no listing is one page."""
    listing = _listing(source, web)
    if listing.items is None:
        return [source.location] if source.kind == "url" and listing.kind is None else []
    return [item.link for _, item in pick(list(enumerate(listing.items, 1)), options)]


class _Listing(NamedTuple):
    items: list[Item] | None  # None: no listing (an article page, or a failure)
    page: Page | None = None  # what was fetched (None for a URL list)
    kind: str | None = None  # the listing's kind: its prefix, or detected from a URL's page
    failure: tuple[str, str] | None = None  # (what failed, why) for the error record


def _listing(source: Source, web: Web) -> _Listing:
    """What a web source lists: a URL list's lines, a feed's or a sitemap's pages (a URL
    that serves one is read as one), or nothing for a URL that is an article page."""
    from .feeds import Item, kind_of, parse_url_list

    if source.kind == "urls":
        text = Path(source.location).read_text(encoding="utf-8", errors="replace")
        return _Listing([Item(link=url) for url in parse_url_list(text)], kind="urls")
    page = web.fetcher.fetch(source.location)
    if page.error:
        what = "fetch" if source.kind == "url" else f"fetching the {source.kind}"
        return _Listing(None, page, failure=(what, page.error))
    kind = source.kind if source.kind != "url" else kind_of(page.body or b"", page.content_type)
    if kind is None:
        return _Listing(None, page)
    try:
        if kind in ("feed", "rss", "atom", "rdf"):
            items = _feed_items(page)
        else:
            items = _sitemap_items(page, web)
    except ValueError as exc:  # feeds.FeedError: not a feed, malformed
        return _Listing(None, page, kind, (f"reading the {kind}", str(exc)))
    return _Listing(items, page, kind)


def _feed_items(page: Page) -> list[Item]:
    from .feeds import parse_feed

    items, _title = parse_feed(page.body or b"", page.final_url or page.url)
    return items


def _sitemap_items(page: Page, web: Web, depth: int = 0, seen: set | None = None) -> list[Item]:
    """The pages a sitemap lists, following a sitemap index (bounded in depth and count)."""
    from .feeds import parse_sitemap

    seen = seen if seen is not None else set()
    items, children = parse_sitemap(page.body or b"", page.final_url or page.url)
    for child in children:
        if depth >= MAX_SITEMAP_DEPTH or len(seen) >= MAX_SITEMAPS or child in seen:
            continue
        seen.add(child)
        sub = web.fetcher.fetch(child)
        if not sub.error:
            items.extend(_sitemap_items(sub, web, depth + 1, seen))
    return items


def _read_items(
    items: list[Item], source: Source, options: ReadOptions, web: Web
) -> Iterator[tuple[int, Record]]:
    """The articles the items link to, fetched in order; the item's own metadata (a
    feed's title, date and author) wins over what extraction finds on the page."""
    chosen = pick(list(enumerate(items, 1)), options)
    pages = web.fetcher.fetch_all(item.link for _, item in chosen)
    for (position, item), page in zip(chosen, pages, strict=True):
        name = url_name(item.link)
        if page.error:
            record = _failed(name, item.link, "fetch", page.error)
        else:
            record = _article(name, page, options)
        for field in ("title", "date", "author"):
            value = getattr(item, field, None)
            if value:
                setattr(record, field, value)
        if getattr(item, "feed_title", None):
            record.source = item.feed_title
        yield position, record


def _article(name: str, page: Page, options: ReadOptions) -> Record:
    if page.content_type and page.content_type not in _HTML_TYPES:
        reason = f"not an HTML page (content type {page.content_type})"
        return _failed(name, page.url, "fetch", reason)
    record = Record(id=name, html=page.text or "", url=page.final_url or page.url)
    extract_html(record, options.keep_html)
    if page.fetched_at:
        record.extra["fetched_at"] = page.fetched_at
    return record


def _failed(name: str, url: str, what: str, reason: str) -> Record:
    return Record(id=name, url=url).mark(ERROR, f"{what} {url}: {reason}")


def pick(entries: list[Any], options: ReadOptions) -> list[Any]:
    """`--limit N`: the first N; `--sample N --seed S`: N at random (the same N for the
    same seed), in their input order."""
    if options.sample is not None and options.sample < len(entries):
        chosen = sorted(random.Random(options.seed).sample(range(len(entries)), options.sample))
        entries = [entries[i] for i in chosen]
    if options.limit is not None:
        entries = entries[: options.limit]
    return entries

"""Fetching web pages politely and safely: one `Page` per URL, never an exception.

The policy, so that reading a feed of a thousand articles neither hammers a site, nor
reaches inside the network it runs in, nor stalls or dies on one bad URL:

- Only http and https. Before every request and every redirect hop (redirects are
  followed here, at most `max_redirects`), the host is resolved and refused when any of
  its addresses is loopback, private, link-local (the cloud metadata address
  169.254.169.254 among them), unspecified, reserved, multicast or otherwise not global,
  IPv4-mapped IPv6 included, unless `allow_private_hosts`. The connection itself goes
  to an address vetted the same way, so a name that resolves to a public address for the
  check and to a private one for the connection (DNS rebinding) is refused too. For the
  same reason environment proxies (HTTP_PROXY...) are not used.
- robots.txt is honoured for the product token "newsum": fetched once per scheme and
  host (through the same rules), kept in memory and in the cache folder. A 4xx (or no
  robots.txt reachable through redirects) allows everything; a 5xx, 429, timeout or
  connection error disallows the whole host (RFC 9309 §2.3.1.3-4), and the reason says
  so. A Crawl-delay longer than `host_delay` (capped at MAX_CRAWL_DELAY) becomes the
  host's delay. urllib.robotparser decides: first matching rule, not RFC 9309's longest.
- At most `concurrency` requests in flight overall, `per_host` per host, and
  `host_delay` seconds between the starts of two requests to one host, whatever the
  number of threads calling `fetch`. A slot is held only while a request is on the wire:
  sleeping before a retry holds none.
- Transient failures are retried up to `retries` times: HTTP 429, 500, 502, 503 and 504,
  a timeout, a connection refused, reset or closed early. Between attempts: full-jitter
  exponential backoff, `uniform(0, backoff * 2**n)`, or the server's Retry-After
  (seconds or an HTTP date), both capped at `max_backoff`; a Retry-After also holds back
  every other request to that host. Other 4xx are not retried.
- Every phase of a request (connect, each read) has `timeout` seconds, and a whole
  response WHOLE_RESPONSE_TIMEOUTS times that (a server dripping a byte a second ends).
- The body is read as a stream and decompressed here (gzip and deflate are the only
  encodings asked for), so a page over `max_bytes`, compressed or not, stops at
  max_bytes + 1 bytes held: "too large". A Content-Length over the limit is refused
  before any of the body is read.
- With a cache folder, each final answer is kept in one file per URL (named by the
  SHA-256 of the URL as asked), written atomically: a later fetch of that URL, by this
  fetcher or another one (a resumed run), returns it with `from_cache` and sends nothing.
  Pages are kept, and so are definitive failures (an HTTP 4xx but 429, too many
  redirects, a robots.txt refusal, too large), which a rerun would only repeat; transient
  ones (timeouts, 5xx after the retries, connection errors) and refusals that depend on
  the options (private addresses) are not. A kept robots refusal or "too large" is not
  used when the options no longer imply it (robots off, a larger max_bytes).
"""

from __future__ import annotations

import codecs
import contextlib
import datetime
import hashlib
import ipaddress
import json
import logging
import os
import re
import socket
import tempfile
import threading
import time
import zlib
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple
from urllib.robotparser import RobotFileParser

import httpcore
import httpx

from .. import __version__
from .encodings import DEFAULT_MAX_BYTES, legacy_encoding
from .errors import NewsumError
from .retry import backoff_delay, describe, retry_after

log = logging.getLogger("newsum")

#: The robots.txt product token: the first word of the user agent.
ROBOTS_AGENT = "newsum"
USER_AGENT = f"newsum/{__version__} (+https://github.com/newsum/newsum; news summarization)"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
#: A whole response (headers and body) has this many times `timeout`.
WHOLE_RESPONSE_TIMEOUTS = 6
#: robots.txt is read up to this much (RFC 9309 §2.5: at least 500 KiB); the rest ignored.
ROBOTS_MAX_BYTES = 512 * 1024
#: A Crawl-delay longer than this is taken as this: a site asking for an hour between
#: requests would otherwise stall a run for days.
MAX_CRAWL_DELAY = 60.0
# The connection failed, not the request: refused, reset, closed without answer.
_CONNECTION_ERRORS = (httpx.NetworkError, httpx.RemoteProtocolError)
_CACHE_VERSION = 1
# Media types whose body is text, besides text/*: feeds, sitemaps, JSON.
_TEXT_TYPES = re.compile(r"(?:\+|/)(?:xml|json)$|^application/(?:xml|json|javascript)$")
# Labels browsers read as Windows-1252 (WHATWG Encoding): a French page that says
# ISO-8859-1 often holds Windows-1252's ’ “ ” … and œ, which Latin-1 turns into controls.
_AS_CP1252 = frozenset({"iso-8859-1", "iso8859-1", "latin1", "latin-1", "l1", "us-ascii", "ascii"})
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16's: it starts with the same two bytes
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# <meta charset="x">, <meta http-equiv="Content-Type" content="text/html; charset=x">, and
# an XML declaration's encoding, in the first bytes of a page (HTML's prescan reads 1024).
_SNIFF_BYTES = 4096
_META_CHARSET = re.compile(rb"<meta\b[^>]*?charset\s*=\s*[\"']?\s*([\w.:-]+)", re.IGNORECASE)
_XML_ENCODING = re.compile(rb"^\s*<\?xml\b[^>]*?encoding\s*=\s*[\"']([\w.:-]+)", re.IGNORECASE)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


@dataclass(frozen=True)
class FetchOptions:
    """How politely and how hard to fetch; the defaults are the CLI's."""

    user_agent: str = USER_AGENT
    timeout: float = 20.0  # seconds per request phase (connect, each read)
    retries: int = 2  # on 429, 500, 502, 503, 504, timeouts and connection errors
    backoff: float = 0.5  # full-jitter exponential: uniform(0, backoff * 2**attempt)
    max_backoff: float = 30.0  # the cap on a backoff or a server's Retry-After
    max_bytes: int = DEFAULT_MAX_BYTES  # a larger body (decompressed) is refused: too large
    concurrency: int = 8  # requests in flight overall
    per_host: int = 2  # requests in flight per host
    host_delay: float = 1.0  # seconds between the starts of two requests to one host
    robots: bool = True  # honour robots.txt (for the product token "newsum")
    allow_private_hosts: bool = False
    max_redirects: int = 5
    # Keep transient failures too (a batch job's cache): a resumed run then reads the
    # input the interrupted one read, page for page, instead of a page that came back.
    keep_failures: bool = False

    def __post_init__(self) -> None:
        if self.timeout <= 0 or self.retries < 0 or self.max_redirects < 0:
            raise NewsumError("fetch options: timeout > 0, retries >= 0, max_redirects >= 0")
        if self.max_bytes < 1 or self.concurrency < 1 or self.per_host < 1:
            raise NewsumError("fetch options: max_bytes, concurrency and per_host must be >= 1")
        if min(self.backoff, self.max_backoff, self.host_delay) < 0:
            raise NewsumError("fetch options: backoff, max_backoff and host_delay must be >= 0")


@dataclass
class Page:
    """What fetching one URL gave: the page, or `error` saying why there is none."""

    url: str  # as asked
    final_url: str | None = None  # after redirects
    status: int | None = None  # the final response's, when there was one
    content_type: str | None = None  # the media type, lower-case, without parameters
    text: str | None = None  # the body decoded, for a textual media type (or none given)
    body: bytes | None = None  # the raw (decompressed) bytes, for parsers that want bytes
    error: str | None = None  # why there is no usable page
    fetched_at: str | None = None  # ISO 8601 UTC, when the final response came
    from_cache: bool = False


class Fetcher:
    """Fetches pages under FetchOptions; thread-safe, one per run (its limits, robots.txt
    files and counts are shared by every thread calling it). Close it when done."""

    def __init__(self, options: FetchOptions = FetchOptions(), cache_dir: Path | None = None):
        self.options = options
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        n = options.concurrency
        transport = httpx.HTTPTransport(
            limits=httpx.Limits(max_connections=n, max_keepalive_connections=n)
        )
        if not options.allow_private_hosts:
            _guard(transport)
        self._http = httpx.Client(
            transport=transport,  # a transport of our own: no environment proxies
            follow_redirects=False,
            timeout=httpx.Timeout(options.timeout),
            headers={
                "User-Agent": options.user_agent,
                "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
                "Accept-Language": "fr,en;q=0.5",
                "Accept-Encoding": "gzip, deflate",  # the ones decompressed here, bounded
            },
        )
        self._slots = threading.BoundedSemaphore(n)
        self._lock = threading.Lock()
        self._hosts: dict[str, _Host] = {}
        self._robots: dict[str, _Robots] = {}
        self._robots_locks: dict[str, threading.Lock] = {}
        self._pool: ThreadPoolExecutor | None = None
        self._stats = dict.fromkeys(
            ("requests", "bytes", "errors", "cached", "robots_refused", "retries"), 0
        )

    # --- the API --------------------------------------------------------------------------

    def fetch(self, url: str) -> Page:
        """The page at `url`; a failure is a Page with `error`, never an exception."""
        page = self._from_cache(url)
        if page is not None:
            self._count(cached=1)
        else:
            outcome = self._fetch(url, robots=self.options.robots)
            page = outcome.page
            self._store(outcome)
        if page.error:
            self._count(errors=1)
            if page.error.startswith("robots.txt"):
                self._count(robots_refused=1)
        return page

    def fetch_all(self, urls: Iterable[str]) -> Iterator[Page]:
        """One Page per URL, in input order, fetched `concurrency` at a time. The URLs are
        read as needed, at most 4 * concurrency ahead of the page last yielded, so a
        list of a million URLs streams in flat memory; closing the iterator early cancels
        what has not started."""
        if self._pool is None:
            with self._lock:
                if self._pool is None:
                    self._pool = ThreadPoolExecutor(
                        max_workers=self.options.concurrency, thread_name_prefix="newsum-fetch"
                    )
        window = 4 * self.options.concurrency
        pending: deque = deque()
        try:
            for url in urls:
                pending.append(self._pool.submit(self.fetch, url))
                if len(pending) >= window:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()

    def stats(self) -> dict[str, int]:
        """Requests sent (robots.txt, redirects and retries included), body bytes received
        (as sent, compressed or not), pages returned with an error, pages from the cache,
        pages refused by robots.txt, and retries, so far."""
        with self._lock:
            return dict(self._stats)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        self._http.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- one URL, redirects followed ------------------------------------------------------

    def _fetch(
        self, url: str, robots: bool, limit: int | None = None, truncate: bool = False
    ) -> _Outcome:
        """The page, and what kind of answer it is for the cache (None: not to be kept).
        `truncate`: keep the first `limit` bytes of a longer body instead of refusing."""
        limit = self.options.max_bytes if limit is None else limit
        page = Page(url=url)
        current = url
        for hop in range(self.options.max_redirects + 1):
            target, problem = self._check(current, robots)
            if problem is not None:
                reason, kind = problem
                if hop:
                    reason = f"{reason} (redirected to {current})"
                page.error = reason
                return _Outcome(page, kind)
            page.final_url = current
            try:
                response = self._get(target, limit, truncate)
            except _Failure as failure:
                page.status = failure.status
                page.error = failure.reason
                page.fetched_at = _now() if failure.status else None
                return _Outcome(page, failure.kind, transient=failure.transient)
            page.status, page.fetched_at = response.status, _now()
            location = response.headers.get("location")
            if response.status in REDIRECT_STATUSES and location:
                try:
                    current = str(target.join(location))
                except (httpx.InvalidURL, ValueError) as exc:
                    page.error = f"bad redirect to {location!r} ({describe(exc)})"
                    return _Outcome(page, "http")
                continue
            if not 200 <= response.status < 300:  # a 3xx that does not say where
                page.error = f"HTTP {response.status}"
                return _Outcome(page, "http")
            content_type = response.headers.get("content-type")
            _fill(page, content_type, response.body or b"")
            return _Outcome(page, "ok", content_type)
        page.error = f"too many redirects (more than {self.options.max_redirects})"
        return _Outcome(page, "redirects")

    def _check(self, url: str, robots: bool) -> tuple[httpx.URL, tuple[str, str | None] | None]:
        """The URL parsed, and why it may not be fetched (with its cache kind), if so."""
        try:
            target = httpx.URL(url)
        except (httpx.InvalidURL, ValueError, TypeError) as exc:
            return httpx.URL(), (f"invalid URL ({describe(exc)})", None)
        if target.scheme not in ("http", "https"):
            return target, ("not http(s)", None)
        try:
            host = target.raw_host.decode("ascii")
        except UnicodeDecodeError:
            return target, (f"invalid host in {url}", None)
        if not host:
            return target, ("not http(s): no host", None)
        refused = _refusal(host, target.port or _PORTS[target.scheme], self.options)
        if refused is not None:
            return target, (refused, None)
        if robots:
            reason = self._robots_for(target).refusal(str(target))
            if reason is not None:  # a disallow is definitive; an unreachable file is not
                return target, (reason, "robots" if reason == _FORBIDDEN else None)
        return target, None

    # --- one request, retried -------------------------------------------------------------

    def _get(self, url: httpx.URL, limit: int, truncate: bool) -> _Response:
        """The response (body read unless a redirect), or _Failure after the retries."""
        host = self._host(url)
        attempt = 0
        while True:
            try:
                return self._attempt(url, host, limit, truncate)
            except _Failure as failure:
                if not failure.transient or attempt >= self.options.retries:
                    if attempt:
                        failure.reason += f" (after {attempt + 1} attempts)"
                    raise
                delay = backoff_delay(
                    attempt, failure.retry_after, self.options.backoff, self.options.max_backoff
                )
                if failure.retry_after is not None:  # the server's wish holds for all
                    host.hold(delay)
                attempt += 1
                self._count(retries=1)
                log.debug("fetch %s: %s; retry %d in %.2f s", url, failure.reason, attempt, delay)
                time.sleep(delay)

    def _attempt(self, url: httpx.URL, host: _Host, limit: int, truncate: bool) -> _Response:
        with self._slot(host):
            self._count(requests=1)
            deadline = time.monotonic() + WHOLE_RESPONSE_TIMEOUTS * self.options.timeout
            try:
                with self._http.stream("GET", url) as response:
                    return self._response(response, limit, truncate, deadline)
            except httpx.HTTPError as exc:
                raise self._failure(exc) from None
            except _Refused as exc:  # the connection-time check (the name now resolves
                raise _Failure(str(exc), transient=False) from None  # elsewhere)

    def _failure(self, exc: httpx.HTTPError) -> _Failure:
        if isinstance(exc, httpx.TimeoutException):
            return _Failure(f"timeout after {self.options.timeout:g} s")
        if isinstance(exc, _CONNECTION_ERRORS):
            return _Failure(f"connection error ({describe(exc)})")
        # A local protocol error, a body that does not decode: not transient.
        return _Failure(f"request error ({describe(exc)})", transient=False)

    def _response(
        self, response: httpx.Response, limit: int, truncate: bool, deadline: float
    ) -> _Response:
        status = response.status_code
        if status in RETRY_STATUSES:
            raise _Failure(
                f"HTTP {status}",
                status=status,
                retry_after=retry_after(response.headers.get("retry-after")),
            )
        if status in REDIRECT_STATUSES or not 200 <= status < 300:
            # The body of a redirect or an error page is not wanted: not read at all.
            return _Response(status, response.headers, None)
        too_large = f"too large: over {limit:,} bytes (max_bytes)"
        length = _int(response.headers.get("content-length"))
        if length is not None and length > limit and not truncate:
            raise _Failure(too_large, kind="too_large", status=status)
        try:
            body = self._body(response, limit, truncate, deadline)
        except _Failure as failure:
            failure.status = status
            raise
        except httpx.HTTPError as exc:  # a timeout or connection error halfway
            failure = self._failure(exc)
            failure.status = status
            raise failure from None
        if body is None:
            raise _Failure(too_large, kind="too_large", status=status)
        return _Response(status, response.headers, body)

    def _body(
        self, response: httpx.Response, limit: int, truncate: bool, deadline: float
    ) -> bytes | None:
        """The body, decompressed, holding at most `limit` + 1 bytes of it; None when it
        is longer (or its first `limit` bytes, with `truncate`)."""
        inflate = _Inflate(response.headers.get("content-encoding", ""))
        body = bytearray()
        for chunk in response.iter_raw():
            self._count(bytes=len(chunk))
            if time.monotonic() > deadline:
                seconds = WHOLE_RESPONSE_TIMEOUTS * self.options.timeout
                raise _Failure(f"timeout after {seconds:g} s (the whole response)")
            body += inflate(chunk, limit + 1 - len(body))
            if len(body) > limit:
                return bytes(body[:limit]) if truncate else None
        return bytes(body)

    # --- politeness -----------------------------------------------------------------------

    def _host(self, url: httpx.URL) -> _Host:
        name = url.raw_host.decode("ascii").lower()
        with self._lock:
            host = self._hosts.get(name)
            if host is None:
                host = self._hosts[name] = _Host(self.options.per_host, self.options.host_delay)
            return host

    @contextlib.contextmanager
    def _slot(self, host: _Host) -> Iterator[None]:
        """A request's turn: one of the host's slots, its delay since the host's last
        start, and one of the overall slots. The overall slot is taken only once the
        host's delay has passed, so a thread waiting for a slow host's turn keeps no
        other host waiting; taken, it starts at once, so starts stay `delay` apart."""
        with host.slots:
            while True:
                wait = host.wait()
                if wait > 0:
                    time.sleep(wait)
                self._slots.acquire()
                if host.start():
                    break
                self._slots.release()  # another thread of this host started first
            try:
                yield
            finally:
                self._slots.release()

    def _robots_for(self, url: httpx.URL) -> _Robots:
        """The robots.txt rules of the URL's scheme and host, fetched once."""
        origin = f"{url.scheme}://{url.netloc.decode('ascii')}"
        with self._lock:
            robots = self._robots.get(origin)
            if robots is not None:
                return robots
            lock = self._robots_locks.setdefault(origin, threading.Lock())
        with lock:  # one thread fetches it; the others of that origin wait for it
            robots = self._robots.get(origin)
            if robots is None:
                robots = self._load_robots(origin)
                if robots.delay is not None:
                    self._host(url).slow_down(min(robots.delay, MAX_CRAWL_DELAY))
                with self._lock:
                    self._robots[origin] = robots
        return robots

    def _load_robots(self, origin: str) -> _Robots:
        robots_url = f"{origin}/robots.txt"
        page, transient = self._from_cache(robots_url, ROBOTS_MAX_BYTES), False
        if page is None:
            outcome = self._fetch(robots_url, False, limit=ROBOTS_MAX_BYTES, truncate=True)
            page, transient = outcome.page, outcome.transient
            self._store(outcome)
        if page.error is None:
            parser = RobotFileParser(robots_url)
            parser.parse((page.body or b"").decode("utf-8", errors="replace").splitlines())
            delay = parser.crawl_delay(ROBOTS_AGENT)
            return _Robots(parser, None, float(delay) if delay is not None else None)
        if transient or (page.status or 0) >= 500:
            reason = re.sub(r" \(after \d+ attempts\)$", "", page.error)
            log.warning("%s unreachable (%s): the host is disallowed", robots_url, reason)
            return _Robots(None, f"robots.txt unreachable ({reason}): treated as disallow")
        return _Robots(None, None)  # 4xx, too many redirects, refused redirect: no rules

    # --- the cache ------------------------------------------------------------------------

    def _cache_path(self, url: str) -> Path | None:
        if self.cache_dir is None:
            return None
        key = hashlib.sha256(url.encode("utf-8", errors="surrogatepass")).hexdigest()
        return self.cache_dir / key[:2] / key

    def _from_cache(self, url: str, limit: int | None = None) -> Page | None:
        """The kept answer for `url`, when there is one that the options still imply."""
        limit = self.options.max_bytes if limit is None else limit
        path = self._cache_path(url)
        if path is None:
            return None
        try:
            data = path.read_bytes()
        except OSError:
            return None
        head, _, body = data.partition(b"\n")
        try:
            meta = json.loads(head)
            ok = meta.get("v") == _CACHE_VERSION and meta.get("url") == url
            ok = ok and meta.get("size", 0) == len(body)
        except (ValueError, AttributeError):
            ok = False
        if not ok:  # a file cut short by a crash, or not ours: fetched again
            return None
        kind = meta.get("kind")
        if kind == "robots" and not self.options.robots:
            return None
        if kind == "too_large" and meta.get("max_bytes", 0) < limit:
            return None  # the limit was raised since: it may fit now
        page = Page(
            url=url,
            final_url=meta.get("final_url"),
            status=meta.get("status"),
            error=meta.get("error"),
            fetched_at=meta.get("fetched_at"),
            from_cache=True,
        )
        if kind == "ok":
            if len(body) > limit:  # the limit was lowered since
                page.error = f"too large: over {limit:,} bytes (max_bytes)"
            else:
                _fill(page, meta.get("content_type"), body)
        return page

    def _store(self, outcome: _Outcome) -> None:
        """Keep a page for a later run, if its kind is kept: written whole or not at all
        (a temporary file renamed)."""
        page, kind = outcome.page, outcome.kind
        if kind is None and self.options.keep_failures and outcome.transient:
            kind = "failed"
        path = self._cache_path(page.url)
        if path is None or kind is None:
            return
        meta: dict[str, Any] = {
            "v": _CACHE_VERSION,
            "url": page.url,
            "kind": kind,
            "final_url": page.final_url,
            "status": page.status,
            "error": page.error,
            "fetched_at": page.fetched_at,
        }
        if kind == "ok":
            meta["content_type"] = outcome.content_type
        if kind == "too_large":
            meta["max_bytes"] = self.options.max_bytes
        body = (page.body or b"") if kind == "ok" else b""
        meta["size"] = len(body)  # a file that lost its end is not read back
        data = json.dumps(meta, ensure_ascii=True).encode() + b"\n" + body
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            try:
                with os.fdopen(fd, "wb") as out:
                    out.write(data)
                os.replace(temp, path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temp)
                raise
        except OSError as exc:  # a full disk costs the cache, not the page
            log.warning("cannot keep %s in the fetch cache %s: %s", page.url, self.cache_dir, exc)

    def _count(self, **amounts: int) -> None:
        with self._lock:
            for key, amount in amounts.items():
                self._stats[key] += amount


# --- helpers -------------------------------------------------------------------------------

_PORTS = {"http": 80, "https": 443}
_FORBIDDEN = "robots.txt forbids it"


class _Failure(Exception):
    """One attempt failed. `kind`: how the cache keeps it (None: not kept); `transient`:
    whether another attempt may succeed (never for one that is kept)."""

    def __init__(
        self,
        reason: str,
        kind: str | None = None,
        status: int | None = None,
        retry_after: float | None = None,
        transient: bool = True,
    ) -> None:
        super().__init__(reason)
        self.reason, self.kind, self.status, self.retry_after = reason, kind, status, retry_after
        self.transient = transient and kind is None


class _Refused(Exception):
    """The connection-time address check refused the host (not an OSError, so that
    httpcore passes it through unchanged)."""


class _Outcome(NamedTuple):
    page: Page
    kind: str | None  # how the cache keeps it: ok, http, redirects, robots, too_large; None
    content_type: str | None = None  # the header as sent (its charset decodes a kept body)
    transient: bool = False  # a failure that a later try may not meet again


@dataclass
class _Response:
    status: int
    headers: httpx.Headers
    body: bytes | None


@dataclass
class _Robots:
    parser: RobotFileParser | None  # None: no rules
    unreachable: str | None = None  # the reason every URL of the host is refused
    delay: float | None = None  # Crawl-delay, seconds

    def refusal(self, url: str) -> str | None:
        if self.unreachable is not None:
            return self.unreachable
        if self.parser is not None and not self.parser.can_fetch(ROBOTS_AGENT, url):
            return _FORBIDDEN
        return None


@dataclass
class _Host:
    """One host's politeness state: its slots, delay and the time its next request may
    start (time.monotonic())."""

    per_host: int
    delay: float
    slots: threading.BoundedSemaphore = field(init=False)
    lock: threading.Lock = field(default_factory=threading.Lock)
    next_start: float = 0.0

    def __post_init__(self) -> None:
        self.slots = threading.BoundedSemaphore(self.per_host)

    def wait(self) -> float:
        with self.lock:
            return self.next_start - time.monotonic()

    def start(self) -> bool:
        """Take the host's turn now, if it has come."""
        with self.lock:
            now = time.monotonic()
            if now < self.next_start:
                return False
            self.next_start = now + self.delay
            return True

    def hold(self, seconds: float) -> None:
        """No request starts for `seconds` (a Retry-After)."""
        with self.lock:
            self.next_start = max(self.next_start, time.monotonic() + seconds)

    def slow_down(self, delay: float) -> None:
        """A longer delay (Crawl-delay), from the last start on."""
        with self.lock:
            if delay > self.delay:
                self.next_start += delay - self.delay
                self.delay = delay


class _Inflate:
    """Decompresses a body chunk by chunk, never making more than asked of one chunk (so
    a gzip bomb stops at the size limit, not at what one chunk expands to)."""

    def __init__(self, encoding: str) -> None:
        codings = [c.strip().lower() for c in encoding.split(",")]
        codings = [c for c in codings if c and c != "identity"]
        if len(codings) > 1 or (codings and codings[0] not in ("gzip", "x-gzip", "deflate")):
            raise _Failure(f"unsupported content encoding {encoding!r}", transient=False)
        self.coding = codings[0] if codings else None
        wbits = zlib.MAX_WBITS | 16 if self.coding in ("gzip", "x-gzip") else zlib.MAX_WBITS
        self.zlib = zlib.decompressobj(wbits) if self.coding else None
        self.started = False

    def __call__(self, chunk: bytes, room: int) -> bytes:
        if self.zlib is None:
            return chunk
        try:
            out = self.zlib.decompress(chunk, room)
        except zlib.error as exc:
            if self.coding == "deflate" and not self.started:  # raw deflate, no zlib header
                self.zlib = zlib.decompressobj(-zlib.MAX_WBITS)
                self.started = True
                return self(chunk, room)
            raise _Failure(f"malformed {self.coding} body ({exc})", transient=False) from None
        self.started = True
        return out


def _guard(transport: httpx.HTTPTransport) -> None:
    """Make the transport connect only to vetted addresses (see _GuardedBackend)."""
    pool = getattr(transport, "_pool", None)
    if isinstance(pool, httpcore.ConnectionPool) and hasattr(pool, "_network_backend"):
        pool._network_backend = _GuardedBackend()
    else:  # pragma: no cover - an httpcore that moved it: the check before each request stays
        log.debug("fetch: no connection-time address check with this httpcore")


class _GuardedBackend(httpcore.SyncBackend):
    """Connects to an address of the host only when all of them are public, resolving
    once: the address checked is the address connected to."""

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            addresses = _resolve(host, port)
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve {host} ({exc})") from None
        for address in addresses:
            if not _public(address):
                raise _Refused(_refused(address))
        error: Exception = httpcore.ConnectError(f"cannot resolve {host}")
        for address in addresses:
            try:
                return super().connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except httpcore.ConnectError as exc:  # the next address may answer
                error = exc
        raise error


def _resolve(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """The host's addresses (an IP literal is its own); OSError when it does not resolve."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (UnicodeError, ValueError) as exc:  # a label over 63 characters...
        raise OSError(str(exc)) from None
    addresses = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).partition("%")[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise OSError("no address")
    return addresses


def _public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Whether an address is one of the public internet's; an IPv6 address that embeds an
    IPv4 one (mapped, 6to4, NAT64) is judged by that one too."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None and not _public(embedded):
            return False
    return address.is_global and not (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_unspecified
        or address.is_reserved
        or address.is_multicast
    )


def _refused(address: Any) -> str:
    return f"refused: {address} is a private/loopback address (--allow-private-hosts to allow)"


def _refusal(host: str, port: int, options: FetchOptions) -> str | None:
    """Why the host may not be reached: it does not resolve, or it is not public."""
    try:
        addresses = _resolve(host, port)
    except OSError:
        return f"cannot resolve {host}"
    if options.allow_private_hosts:
        return None
    for address in addresses:
        if not _public(address):
            return _refused(address)
    return None


def _fill(page: Page, content_type: str | None, body: bytes) -> None:
    """A successful page's body, media type and text."""
    page.body = body
    media = (content_type or "").partition(";")[0]
    page.content_type = media.strip().lower() or None
    page.text = decode(body, content_type) if _textual(page.content_type) else None


def _textual(media: str | None) -> bool:
    return media is None or media.startswith("text/") or bool(_TEXT_TYPES.search(media))


def decode(body: bytes, content_type: str | None = None) -> str:
    """A page's text: by byte order mark (as browsers, it wins), else the Content-Type's
    charset, else a <meta charset> or http-equiv or an XML declaration in its first
    bytes, else UTF-8 when it decodes, else charset-normalizer's guess (Windows-1252
    preferred, as readers does). Never raises: undecodable bytes become U+FFFD."""
    for bom, encoding in _BOMS:
        if body.startswith(bom):
            return body.decode(encoding, errors="replace")
    declared = _codec(_header_charset(content_type))
    if declared is None:
        head = body[:_SNIFF_BYTES]
        match = _XML_ENCODING.search(head) or _META_CHARSET.search(head)
        declared = _codec(match.group(1).decode("ascii")) if match else None
        if declared is not None and declared.startswith(("utf-16", "utf-32")):
            declared = "utf-8"  # an ASCII-readable declaration is not in UTF-16 (WHATWG)
    if declared is None:
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError:
            declared = legacy_encoding(body)
    return body.decode(declared, errors="replace")


def _header_charset(content_type: str | None) -> str | None:
    if not content_type:
        return None
    match = re.search(r";\s*charset\s*=\s*[\"']?([^\"';\s]+)", content_type, re.IGNORECASE)
    return match.group(1) if match else None


def _codec(label: str | None) -> str | None:
    """The Python codec of a charset label; None for an unknown one."""
    if not label:
        return None
    label = label.strip().lower()
    if label in _AS_CP1252:
        return "cp1252"
    try:
        name = codecs.lookup(label).name
    except LookupError:
        return None
    return "utf-8-sig" if name == "utf-8" else name  # a BOM after the header: dropped


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

"""pipeline.core.fetch against a real HTTP server on 127.0.0.1 (a stdlib
ThreadingHTTPServer per test): pages, charsets, robots.txt, redirects, the address
checks, timeouts, size limits, retries, politeness limits, the cache and the counts.

The server is on a loopback address, which the fetcher refuses by default: most tests
allow private hosts; those about the refusal itself make 127.0.0.1 count as public."""

from __future__ import annotations

import gzip
import ipaddress
import itertools
import socket
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from newsum.pipeline.core import fetch
from newsum.pipeline.core.errors import NewsumError
from newsum.pipeline.core.fetch import Fetcher, FetchOptions, Page

ARTICLE = (
    "<!doctype html><html lang='fr'><head><meta charset='utf-8'>"
    "<title>Brest : la rentrée</title></head><body><article><h1>La rentrée à Brest</h1>"
    "<p>Les élèves ont retrouvé l’école ce lundi, « déjà » impatients.</p>"
    "</article></body></html>"
)
# Windows-1252 only: ’ « » — œ are not Latin-1's; declared in <meta> alone.
CP1252 = (
    "<html><head><meta http-equiv='Content-Type' content='text/html; charset=windows-1252'>"
    "</head><body><p>L’été, « œuvre » — à Noël.</p></body></html>"
).encode("cp1252")
ROBOTS = b"User-agent: *\nDisallow: /private/\n"
LIMIT = 1000  # max_bytes for the size tests
SLOW_SECONDS = 2.0  # how long the slow page takes (past the 0.5 s timeout)


class State:
    """What the server saw and how it answers; shared by its handler threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.hits: Counter[str] = Counter()
        self.starts: list[tuple[float, str]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.waiting = 0  # /item requests between their arrival and their answer
        self.max_waiting = 0
        self.robots = "default"  # or "503", "404", "crawl-delay"
        self.stop = threading.Event()  # ends slow handlers at teardown


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # for chunked bodies; every answer closes the connection
    state: State

    def log_message(self, *args) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        state = self.state
        path = self.path
        with state.lock:
            state.hits[path] += 1
            state.starts.append((time.monotonic(), path))
            state.in_flight += 1
            state.max_in_flight = max(state.max_in_flight, state.in_flight)
        try:
            self.route(path, state)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (too large, timeout): expected
        finally:
            with state.lock:
                state.in_flight -= 1

    def send(self, status: int, body: bytes = b"", content_type="text/html", **headers) -> None:
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    def route(self, path: str, state: State) -> None:
        if path == "/robots.txt":
            if state.robots == "503":
                self.send(503, b"busy")
            elif state.robots == "404":
                self.send(404, b"no robots")
            elif state.robots == "crawl-delay":
                self.send(200, b"User-agent: newsum\nCrawl-delay: 1\n", "text/plain")
            else:
                self.send(200, ROBOTS, "text/plain")
        elif path in ("/article", "/private/secret", "/redirect/0"):
            self.send(200, ARTICLE.encode(), "text/html; charset=utf-8")
        elif path == "/cp1252":
            self.send(200, CP1252, "text/html")
        elif path == "/gzip":
            self.send(200, gzip.compress(ARTICLE.encode()), "text/html", Content_Encoding="gzip")
        elif path == "/bomb":  # 10 MB of zeros in about 10 kB
            self.send(200, gzip.compress(bytes(10_000_000)), "text/plain", Content_Encoding="gzip")
        elif path == "/image":
            self.send(200, b"\x89PNG\r\n\x1a\n\0\0", "image/png")
        elif path.startswith("/redirect/"):  # /redirect/3 -> /redirect/2 -> ... -> /redirect/0
            self.send(301, content_type=None, Location=f"/redirect/{int(path[10:]) - 1}")
        elif path == "/loop":
            self.send(302, content_type=None, Location="/loop")
        elif path == "/to-metadata":
            self.send(302, content_type=None, Location="http://169.254.169.254/latest/meta-data/")
        elif path == "/to-ftp":
            self.send(302, content_type=None, Location="ftp://example.org/file")
        elif path == "/slow":
            state.stop.wait(SLOW_SECONDS)
            self.send(200, b"late")
        elif path == "/huge":  # Content-Length over the limit: the body is never read
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(100 * LIMIT))
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            for _ in range(100):
                self.wfile.write(b"x" * LIMIT)
        elif path == "/huge-chunked":  # no length: up to 64 MB in 64 kB chunks
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            chunk = b"y" * 65536
            for _ in range(1024):
                if state.stop.is_set():
                    break
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.write(b"0\r\n\r\n")
        elif path == "/error500":
            self.send(500, b"oops")
        elif path == "/flaky503":
            self.send(503, b"busy", Retry_After="0")
        elif path == "/missing":
            self.send(404, b"not here")
        elif path == "/busy":  # 429 the first time, then the page
            if state.hits[path] == 1:
                self.send(429, b"slow down", Retry_After="0")
            else:
                self.send(200, ARTICLE.encode(), "text/html; charset=utf-8")
        elif path.startswith("/item/"):  # /item/N/SECONDS: answers after SECONDS
            _, _, n, seconds = path.split("/")
            with state.lock:
                state.waiting += 1
                state.max_waiting = max(state.max_waiting, state.waiting)
            state.stop.wait(float(seconds))
            with state.lock:  # before the answer: once sent, the client may ask again
                state.waiting -= 1
            self.send(200, f"<p>item {n}</p>".encode(), "text/html; charset=utf-8")
        else:
            self.send(404, b"unknown")


@pytest.fixture
def server():
    state = State()
    handler = type("BoundHandler", (Handler,), {"state": state})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    state.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    try:
        yield state
    finally:
        state.stop.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def options(**changes) -> FetchOptions:
    """Fast test options: the loopback server allowed, no delay, short backoff."""
    base = dict(allow_private_hosts=True, host_delay=0.0, backoff=0.01, timeout=5.0)
    return FetchOptions(**{**base, **changes})


def fetch_one(url: str, **changes) -> tuple[Page, dict[str, int]]:
    with Fetcher(options(**changes)) as fetcher:
        page = fetcher.fetch(url)
        return page, fetcher.stats()


@pytest.fixture
def loopback_public(monkeypatch):
    """127.0.0.1 counts as a public address (the rest as before), so that the default
    refusal of private hosts can be seen on the way from the test server."""
    public = fetch._public
    loopback = ipaddress.ip_address("127.0.0.1")
    monkeypatch.setattr(fetch, "_public", lambda address: address == loopback or public(address))


# --- pages and charsets ------------------------------------------------------------------------


def test_article_page(server):
    page, stats = fetch_one(f"{server.base}/article")
    assert page.error is None
    assert (page.status, page.content_type) == (200, "text/html")
    assert page.final_url == page.url == f"{server.base}/article"
    assert "l’école ce lundi, « déjà »" in page.text
    assert page.body == ARTICLE.encode()
    assert page.fetched_at.endswith("Z") and not page.from_cache
    assert stats["requests"] == 2  # robots.txt, then the page
    assert server.hits["/robots.txt"] == 1


def test_windows_1252_declared_in_meta_only(server):
    page, _ = fetch_one(f"{server.base}/cp1252")
    assert page.error is None
    assert "L’été, « œuvre » — à Noël." in page.text


def test_gzip_body_is_decompressed(server):
    page, _ = fetch_one(f"{server.base}/gzip")
    assert page.error is None and "La rentrée à Brest" in page.text


def test_gzip_bomb_stops_at_the_limit(server):
    page, _ = fetch_one(f"{server.base}/bomb", max_bytes=100_000)
    assert page.error == "too large: over 100,000 bytes (max_bytes)"
    assert page.body is None


def test_binary_page_has_body_but_no_text(server):
    page, _ = fetch_one(f"{server.base}/image")
    assert page.error is None and page.content_type == "image/png"
    assert page.body.startswith(b"\x89PNG") and page.text is None


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        ("é".encode("cp1252"), "text/html; charset=ISO-8859-1", "é"),  # read as Windows-1252
        ("’".encode("cp1252"), "text/html; charset=latin1", "’"),
        (b"\xef\xbb\xbfcaf\xc3\xa9", "text/html; charset=utf-8", "café"),  # BOM dropped
        ("café".encode("utf-16"), "text/html; charset=iso-8859-1", "café"),  # the BOM wins
        (b"<?xml version='1.0' encoding='iso-8859-15'?><a>\xa4</a>", None, "€"),
        (b"caf\xc3\xa9", "text/html; charset=bogus", "café"),  # unknown: detected
        ("Les élèves ont retrouvé l’école, « déjà ».".encode("cp1252"), None, "l’école"),
        (b"caf\xff\xfe", "text/plain; charset=utf-8", "caf\ufffd\ufffd"),  # never raises
    ],
)
def test_decode(body, content_type, expected):
    assert expected in fetch.decode(body, content_type)


# --- robots.txt ----------------------------------------------------------------------------


def test_robots_forbids_private_path(server):
    page, stats = fetch_one(f"{server.base}/private/secret")
    assert page.error == "robots.txt forbids it"
    assert server.hits["/private/secret"] == 0
    assert stats["robots_refused"] == 1 and stats["errors"] == 1


def test_robots_off_fetches_it(server):
    page, _ = fetch_one(f"{server.base}/private/secret", robots=False)
    assert page.error is None
    assert server.hits["/robots.txt"] == 0


def test_robots_fetched_once_per_host(server):
    with Fetcher(options()) as fetcher:
        pages = list(fetcher.fetch_all(f"{server.base}/article" for _ in range(5)))
    assert all(p.error is None for p in pages)
    assert server.hits["/robots.txt"] == 1


def test_robots_503_disallows_the_host(server):
    server.robots = "503"
    page, stats = fetch_one(f"{server.base}/article", retries=1)
    assert page.error == "robots.txt unreachable (HTTP 503): treated as disallow"
    assert server.hits["/article"] == 0
    assert server.hits["/robots.txt"] == 2  # retried like any request
    assert stats["robots_refused"] == 1


def test_robots_404_allows_everything(server):
    server.robots = "404"
    page, _ = fetch_one(f"{server.base}/private/secret")
    assert page.error is None


def test_crawl_delay_spaces_requests(server):
    server.robots = "crawl-delay"
    with Fetcher(options(per_host=2)) as fetcher:
        pages = list(fetcher.fetch_all([f"{server.base}/article", f"{server.base}/cp1252"]))
    assert all(p.error is None for p in pages)
    starts = [t for t, path in server.starts if path != "/robots.txt"]
    assert starts[1] - starts[0] >= 0.95


# --- redirects and addresses ---------------------------------------------------------------------


def test_redirect_chain(server):
    page, stats = fetch_one(f"{server.base}/redirect/3")
    assert page.error is None and page.status == 200
    assert page.url == f"{server.base}/redirect/3"
    assert page.final_url == f"{server.base}/redirect/0"
    assert stats["requests"] == 5  # robots.txt and 4 hops


def test_redirect_loop(server):
    page, _ = fetch_one(f"{server.base}/loop", max_redirects=3)
    assert page.error == "too many redirects (more than 3)"
    assert server.hits["/loop"] == 4


def test_redirect_to_non_http(server):
    page, _ = fetch_one(f"{server.base}/to-ftp")
    assert page.error == "not http(s) (redirected to ftp://example.org/file)"


def test_redirect_to_metadata_address_refused(server, loopback_public):
    with Fetcher(options(allow_private_hosts=False)) as fetcher:
        assert fetcher.fetch(f"{server.base}/article").error is None  # 127.0.0.1 is "public"
        page = fetcher.fetch(f"{server.base}/to-metadata")
    assert page.error.startswith("refused: 169.254.169.254 is a private/loopback address")
    assert "(redirected to http://169.254.169.254/latest/meta-data/)" in page.error
    assert server.hits["/to-metadata"] == 1


def test_private_host_refused_by_default(server):
    with Fetcher() as fetcher:  # the defaults
        page = fetcher.fetch(f"{server.base}/article")
        assert page.error == (
            "refused: 127.0.0.1 is a private/loopback address (--allow-private-hosts to allow)"
        )
        assert fetcher.fetch("http://localhost:1/").error.startswith("refused: ")
        assert fetcher.stats()["requests"] == 0
    assert sum(server.hits.values()) == 0


def test_name_that_rebinds_to_a_private_address_is_refused(server, monkeypatch):
    """The check before the request sees a public address; the connection, resolving
    again, a private one: refused at connection time."""
    real = socket.getaddrinfo
    answers = iter(["93.184.216.34", "127.0.0.1"])

    def resolve(host, port, *args, **kwargs):
        if host == "rebind.test":
            address = next(answers, "127.0.0.1")
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    port = server.base.rsplit(":", 1)[1]
    url = f"http://rebind.test:{port}/article"
    page, _ = fetch_one(url, allow_private_hosts=False, robots=False)
    assert page.error.startswith("refused: 127.0.0.1 is a private/loopback address")
    assert sum(server.hits.values()) == 0


def test_unresolvable_host(monkeypatch):
    def resolve(host, *args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    page, stats = fetch_one("http://nowhere.invalid/a")
    assert page.error == "cannot resolve nowhere.invalid"
    assert stats["requests"] == 0


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "0.0.0.0",
        "100.64.0.1",
        "224.0.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:169.254.169.254",
        "2002:7f00:1::",  # 6to4 of 127.0.0.1
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    ],
)
def test_private_addresses(address):
    assert not fetch._public(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"])
def test_public_addresses(address):
    assert fetch._public(ipaddress.ip_address(address))


def test_not_http():
    page, stats = fetch_one("ftp://example.org/file")
    assert page.error == "not http(s)" and stats["requests"] == 0
    assert fetch_one("file:///etc/passwd")[0].error == "not http(s)"


# --- failures, retries, limits -------------------------------------------------------------------


def test_timeout(server):
    started = time.monotonic()
    page, _ = fetch_one(f"{server.base}/slow", timeout=0.5, retries=0, robots=False)
    assert page.error == "timeout after 0.5 s"
    assert time.monotonic() - started < SLOW_SECONDS


def test_too_large_with_content_length(server):
    page, stats = fetch_one(f"{server.base}/huge", max_bytes=LIMIT, robots=False)
    assert page.error == "too large: over 1,000 bytes (max_bytes)"
    assert stats["bytes"] == 0  # refused on the header, nothing of the body read


def test_too_large_chunked(server):
    page, stats = fetch_one(f"{server.base}/huge-chunked", max_bytes=LIMIT, robots=False)
    assert page.error == "too large: over 1,000 bytes (max_bytes)"
    assert page.body is None
    assert stats["bytes"] < 1_000_000  # stopped early: the server offered 64 MB


def test_500_retried_then_error(server):
    page, stats = fetch_one(f"{server.base}/error500", retries=2, robots=False)
    assert page.error == "HTTP 500 (after 3 attempts)"
    assert page.status == 500
    assert server.hits["/error500"] == 3
    assert stats["retries"] == 2 and stats["requests"] == 3 and stats["errors"] == 1


def test_404_not_retried(server):
    page, stats = fetch_one(f"{server.base}/missing", retries=2, robots=False)
    assert page.error == "HTTP 404" and page.status == 404
    assert server.hits["/missing"] == 1 and stats["retries"] == 0


def test_429_retry_after_then_ok(server):
    page, stats = fetch_one(f"{server.base}/busy", backoff=5.0, robots=False)
    assert page.error is None and "La rentrée" in page.text
    assert server.hits["/busy"] == 2 and stats["retries"] == 1  # Retry-After: 0, not 5 s


def test_connection_error():
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    page, stats = fetch_one(f"http://127.0.0.1:{port}/", retries=1, robots=False)
    assert page.error.startswith("connection error (") and "(after 2 attempts)" in page.error
    assert stats["requests"] == 2


def test_options_are_checked():
    with pytest.raises(NewsumError):
        FetchOptions(concurrency=0)
    with pytest.raises(NewsumError):
        FetchOptions(timeout=0)


# --- politeness ----------------------------------------------------------------------------------


def test_per_host_limit(server):
    urls = [f"{server.base}/item/{i}/0.1" for i in range(20)]
    with Fetcher(options(per_host=2, concurrency=8, robots=False)) as fetcher:
        pages = list(fetcher.fetch_all(urls))
    assert all(p.error is None for p in pages)
    assert server.max_waiting == 2


def test_host_delay(server):
    urls = [f"{server.base}/item/{i}/0" for i in range(4)]
    with Fetcher(options(per_host=2, host_delay=0.2)) as fetcher:
        pages = list(fetcher.fetch_all(urls))
    assert all(p.error is None for p in pages)
    starts = [t for t, _ in server.starts]
    assert len(starts) == 5  # robots.txt too keeps the delay
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert min(gaps) >= 0.15, gaps  # 0.2 s apart, less what the network jitters


def test_fetch_all_keeps_input_order(server):
    # The first ones answer last.
    urls = [f"{server.base}/item/{i}/{0.05 * (5 - i):.2f}" for i in range(6)]
    with Fetcher(options(robots=False)) as fetcher:
        pages = list(fetcher.fetch_all(urls))
    assert [p.url for p in pages] == urls
    assert [p.text for p in pages] == [f"<p>item {i}</p>" for i in range(6)]


def test_fetch_all_reads_urls_lazily(server):
    pulled = 0

    def urls():
        nonlocal pulled
        for i in range(1000):
            pulled += 1
            yield f"{server.base}/item/{i}/0"

    with Fetcher(options(robots=False, concurrency=2)) as fetcher:
        pages = fetcher.fetch_all(urls())
        first = next(pages)
        assert first.error is None
        assert pulled <= 4 * 2 + 1  # the window, not the list
        pages.close()


# --- the cache -----------------------------------------------------------------------------------


def test_cache_serves_a_second_fetcher(server, tmp_path):
    kept = ["/article", "/missing", "/private/secret", "/huge", "/loop"]
    transient = ["/flaky503"]
    urls = [server.base + path for path in kept + transient]
    with Fetcher(options(max_bytes=LIMIT * 10, retries=0), cache_dir=tmp_path) as fetcher:
        first = list(fetcher.fetch_all(urls))
    assert first[0].error is None and not first[0].from_cache
    assert [p.error is None for p in first] == [True] + [False] * 5
    hits = server.hits.copy()

    with Fetcher(options(max_bytes=LIMIT * 10, retries=0), cache_dir=tmp_path) as fetcher:
        again = list(fetcher.fetch_all(urls))
        stats = fetcher.stats()
    assert [p.from_cache for p in again] == [True] * 5 + [False]
    for before, after in zip(first[:5], again[:5], strict=True):
        assert (after.error, after.status, after.text, after.body, after.final_url) == (
            before.error,
            before.status,
            before.text,
            before.body,
            before.final_url,
        )
        assert after.content_type == before.content_type
    assert again[0].fetched_at == first[0].fetched_at
    # Only the transient failure went out again (robots.txt came from the cache too).
    assert server.hits - hits == Counter({"/flaky503": 1})
    assert stats["cached"] == 5 and stats["requests"] == 1
    assert stats["robots_refused"] == 1 and stats["errors"] == 5


def test_cache_is_not_used_when_options_no_longer_imply_it(server, tmp_path):
    with Fetcher(options(max_bytes=LIMIT), cache_dir=tmp_path) as fetcher:
        assert fetcher.fetch(f"{server.base}/private/secret").error == "robots.txt forbids it"
        assert fetcher.fetch(f"{server.base}/huge").error.startswith("too large")
    with Fetcher(options(max_bytes=200 * LIMIT, robots=False), cache_dir=tmp_path) as fetcher:
        secret = fetcher.fetch(f"{server.base}/private/secret")
        huge = fetcher.fetch(f"{server.base}/huge")
    assert secret.error is None and not secret.from_cache
    assert huge.error is None and len(huge.body) == 100 * LIMIT


def test_cache_ignores_a_damaged_file(server, tmp_path):
    url = f"{server.base}/article"
    with Fetcher(options(robots=False), cache_dir=tmp_path) as fetcher:
        fetcher.fetch(url)
        path = fetcher._cache_path(url)
    path.write_bytes(path.read_bytes()[:-10])  # lost its end
    with Fetcher(options(robots=False), cache_dir=tmp_path) as fetcher:
        page = fetcher.fetch(url)
    assert page.error is None and not page.from_cache
    assert server.hits["/article"] == 2
    assert not list(tmp_path.rglob(".tmp-*"))


def test_stats(server):
    with Fetcher(options(retries=1)) as fetcher:
        fetcher.fetch(f"{server.base}/article")
        fetcher.fetch(f"{server.base}/private/secret")
        fetcher.fetch(f"{server.base}/missing")
        fetcher.fetch(f"{server.base}/error500")
        stats = fetcher.stats()
    body = len(ROBOTS) + len(ARTICLE.encode())
    assert stats == {
        "requests": 5,  # robots.txt, article, missing, error500 twice
        "bytes": body,
        "errors": 3,
        "cached": 0,
        "robots_refused": 1,
        "retries": 1,
    }

"""Web inputs end to end, through the CLI, against a small French news site on 127.0.0.1
(tests/fixtures/news_site.py): RSS and Atom feeds, news sitemaps and a sitemap index,
URL lists, bare URLs; errors as records with their reasons, nothing dropped, the feed's
metadata kept; the private-address refusal; --limit and --sample fetching only what they
pick; `run` with its manifest counts, its fetch cache on --resume and --overwrite; and
`run --dry-run` fetching only the listing.

The site is on a loopback address: every command allows private hosts, but the test of
the refusal itself. Fetching is made fast: no host delay, a 0.5 s timeout, one retry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from newsum.pipeline.cli import app
from tests.fixtures.jobs import NEWSUM, kill_9_when, shard_lines
from tests.fixtures.news_site import (
    ARTICLES,
    ATOM_UPDATED,
    BAD,
    FEED_AUTHOR,
    FEED_TITLE,
    HUGE_BYTES,
    LISTED,
    ROOT,
    SHORT_TITLE,
    SITEMAP_DATE,
    NewsSite,
    bad_title,
    news_site,
    sitemap_title,
)

FAST = ["--host-delay", "0", "--fetch-timeout", "0.5", "--fetch-retries", "1", "-q"]
ALLOW = ["--allow-private-hosts", *FAST]
#: With it, reading is bounded at 8 x 3,000 bytes: every article fits, /huge does not.
MAX_CHARS = 3000
EXTRACTIVE = ["--preset", "extractive", "--max-chars", str(MAX_CHARS)]
#: What the fetcher counts for one read of the feed: robots.txt and the feed, the four
#: articles (/old twice: the 301 and its target), /slow and /boom twice (one retry),
#: /huge, /missing and /image.png once; /private/ is refused without a request.
FEED_REQUESTS = 14


@pytest.fixture(scope="module")
def server():
    with news_site() as site:
        yield site


@pytest.fixture
def site(server: NewsSite) -> NewsSite:
    server.reset()
    server.boom_recovered = False
    return server


# ---- what each link gives ----------------------------------------------------------------


def reason(site: NewsSite, path: str, max_chars: int | None) -> str | None:
    """The exact reason of a bad page's error record. /huge is one only under --max-chars
    (reading is bounded at 8 bytes a character); without, it is an ordinary page."""
    url = site.url(path)
    if path == "/huge":
        return max_chars and f"fetch {url}: too large: over {8 * max_chars:,} bytes (max_bytes)"
    return {
        "/private/dossier.html": f"fetch {url}: robots.txt forbids it",
        "/slow": f"fetch {url}: timeout after 0.5 s (after 2 attempts)",
        "/boom": f"fetch {url}: HTTP 500 (after 2 attempts)",
        "/missing": f"fetch {url}: HTTP 404",
        "/image.png": f"fetch {url}: not an HTML page (content type image/png)",
    }[path]


def expected(site: NewsSite, listing: str, max_chars: int | None = None) -> list[dict]:
    """The fields each record of a listing ("rss", "atom", "sitemap") must have, exactly
    (None: absent), in the listing's order: one record a link."""
    by_path = {a.path: a for a in ARTICLES.values()} | {"/old": ARTICLES["roadsafety"]}
    wanted = []
    for path in LISTED:
        article = by_path.get(path)
        why = None if article else reason(site, path, max_chars)
        record: dict = {
            "id": f"127.0.0.1{path}",
            "status": "error" if why else "ok",
            "reason": why,
            # after redirects for a page, as listed for an error
            "url": site.url(article.path if article else path),
            "source": FEED_TITLE,
        }
        if listing == "sitemap":
            record.update(title=sitemap_title(site.url(path)), date=SITEMAP_DATE)
        elif article is not None:  # the feed's metadata wins over the page's
            record.update(title=article.title, author=article.author, date=article.iso)
        elif listing == "atom":  # an entry without author has the feed's
            date = ATOM_UPDATED.replace("Z", "+00:00")
            record.update(title=bad_title(path), author=FEED_AUTHOR, date=date)
        else:
            record.update(title=bad_title(path), author=None, date=None)
        wanted.append(record)
    return wanted


def check(records: list[dict], wanted: list[dict]) -> None:
    assert [r["id"] for r in records] == [w["id"] for w in wanted]  # none dropped, in order
    for record, want in zip(records, wanted, strict=True):
        assert {key: record.get(key) for key in want} == want, record["id"]
        if want["status"] == "ok":  # the page's French text, extracted
            assert record["lang"] == "fr" and len(record["text"]) > 300, record["id"]
            assert record["fetched_at"]
        else:
            assert not record.get("text"), record["id"]


def clean(*args: object, ok: bool = True) -> list[dict]:
    """`newsum clean ARGS -o -`, its records."""
    result = CliRunner().invoke(app, ["clean", *map(str, args), "-o", "-"])
    assert result.exit_code == (0 if ok else 1), result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


def listed_hits(site: NewsSite) -> dict[str, int]:
    """Requests for the pages the feed lists (redirect targets, feeds, robots.txt aside)."""
    return {path: site.hits[path] for path in LISTED if site.hits[path]}


def run(site: NewsSite, out: Path, *args: object):
    command = ["run", site.url("/feed.xml"), "-o", str(out), *EXTRACTIVE, *ALLOW]
    return CliRunner().invoke(app, [*command, *map(str, args)])


def manifest(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text(encoding="utf-8"))


def records_of(out: Path) -> list[dict]:
    return [json.loads(line) for line in shard_lines(out)]


def without_time(records: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "fetched_at"} for r in records]


# ---- 1. feeds, sitemaps, URL lists ---------------------------------------------------------


#: Requests for each listed page in one read: /private/ none (robots.txt forbids it),
#: /slow and /boom two (one retry).
LISTED_HITS = {p: 2 if p in ("/slow", "/boom") else 1 for p in LISTED if p != BAD[0]}


@pytest.mark.parametrize(
    ("prefix", "path", "listing"),
    [
        ("feed:", "/feed.xml", "rss"),
        ("feed:", "/atom.xml", "atom"),
        ("sitemap:", "/sitemap.xml", "sitemap"),
        ("sitemap:", "/sitemap-index.xml", "sitemap"),  # its two sitemaps, in order
    ],
)
def test_a_listing_gives_one_record_a_link_named_or_detected(site, prefix, path, listing):
    named = clean(prefix + site.url(path), *ALLOW)
    check(named, expected(site, listing))
    hits = dict(site.hits)
    assert hits["/robots.txt"] == hits[path] == 1  # once a run
    assert listed_hits(site) == LISTED_HITS
    if path == "/sitemap-index.xml":
        assert hits["/sitemap-1.xml"] == hits["/sitemap-2.xml"] == 1
    site.reset()
    detected = clean(site.url(path), *ALLOW)  # the bare URL: its content says what it is
    assert without_time(detected) == without_time(named)
    assert dict(site.hits) == hits


def test_a_url_list_a_file_and_a_url_in_one_command(site, tmp_path):
    fire, unemployment = ARTICLES["fire"], ARTICLES["unemployment"]
    urls = tmp_path / "revue.txt"
    lines = [
        "# revue de presse du 2 octobre",
        site.url(fire.path),
        "",
        "  " + site.url("/old") + "  ",
        site.url("/missing"),
        site.url("/old"),  # listed twice: read once
        site.url("/boom"),
        site.url("/image.png"),
        site.url("/private/dossier.html"),
        "ftp://127.0.0.1/depeche.html",  # in a list, a bad URL is a record, not a CLI error
    ]
    urls.write_text("\n".join(lines) + "\n", encoding="utf-8")
    local = ROOT / "examples" / "articles" / "festival-avignon.html"
    records = clean(f"urls:{urls}", local, site.url(unemployment.path), *ALLOW)

    def error(path: str) -> dict:
        return {"id": f"127.0.0.1{path}", "status": "error", "reason": reason(site, path, None)}

    ftp = "ftp://127.0.0.1/depeche.html"
    assert [{k: r.get(k) for k in ("id", "status", "reason")} for r in records] == [
        {"id": "127.0.0.1" + fire.path, "status": "ok", "reason": None},
        {"id": "127.0.0.1/old", "status": "ok", "reason": None},
        error("/missing"),
        error("/boom"),
        error("/image.png"),
        error("/private/dossier.html"),
        {"id": "127.0.0.1/depeche.html", "status": "error", "reason": f"fetch {ftp}: not http(s)"},
        {"id": "festival-avignon", "status": "ok", "reason": None},
        {"id": "127.0.0.1" + unemployment.path, "status": "ok", "reason": None},
    ]
    # No feed here: title, date and source are the pages' own.
    pages = {r["id"]: r for r in records if r["status"] == "ok"}
    janais = pages["127.0.0.1" + fire.path]
    assert janais["title"] == "Rennes. Un incendie ravage un entrepôt de la zone de la Janais"
    assert janais["source"] == "Ouest-France.fr" and janais["date"].startswith("2024-10-02")
    assert pages["127.0.0.1/old"]["url"] == site.url(ARTICLES["roadsafety"].path)
    assert "url" not in pages["festival-avignon"] and pages["festival-avignon"]["source"]
    assert all(r["lang"] == "fr" for r in pages.values())
    assert site.hits["/old"] == 1 and site.hits["/robots.txt"] == 1


# ---- 2. safety -----------------------------------------------------------------------------


def test_a_private_address_is_an_error_record_and_no_request(site, tmp_path):
    out = tmp_path / "out.jsonl"
    page, feed = site.url(ARTICLES["festival"].path), site.url("/feed.xml")
    result = CliRunner().invoke(app, ["clean", page, f"feed:{feed}", "-o", str(out), *FAST])
    assert result.exit_code == 1, result.output  # no record is ok
    refused = "refused: 127.0.0.1 is a private/loopback address (--allow-private-hosts to allow)"
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert records == [
        {"id": "127.0.0.1" + ARTICLES["festival"].path, "url": page, "status": "error",
         "reason": f"fetch {page}: {refused}"},
        {"id": "127.0.0.1/feed.xml", "url": feed, "status": "error",
         "reason": f"fetching the feed {feed}: {refused}"},
    ]  # fmt: skip
    assert not site.hits  # not even robots.txt


@pytest.mark.parametrize(
    "spec", ["ftp://127.0.0.1/depeche.html", "feed:ftp://127.0.0.1/flux.xml", "sitemap:file:///x"]
)
@pytest.mark.parametrize("command", ["clean", "run"])
def test_a_url_that_is_not_http_is_a_cli_error_before_anything_is_written(
    site, tmp_path, spec, command
):
    local = ROOT / "examples" / "articles" / "festival-avignon.html"
    out = tmp_path / ("out.jsonl" if command == "clean" else "out")
    args = [command, str(local), site.url("/feed.xml"), spec, "-o", str(out), *ALLOW]
    result = CliRunner().invoke(app, args + (EXTRACTIVE if command == "run" else []))
    assert result.exit_code == 2, result.output
    assert f"newsum: error: {spec!r}: only http:// and https:// URLs are read" in result.stderr
    assert not list(tmp_path.iterdir()) and not site.hits


# ---- 3. --limit and --sample ---------------------------------------------------------------


def test_limit_fetches_only_the_first_links(site):
    records = clean("feed:" + site.url("/feed.xml"), "--limit", "2", *ALLOW)
    check(records, expected(site, "rss")[:2])
    assert listed_hits(site) == {LISTED[0]: 1, LISTED[1]: 1}
    assert site.article_hits() == 2


def test_sample_picks_the_same_links_for_a_seed_in_feed_order(site):
    spec = "feed:" + site.url("/feed.xml")
    first = clean(spec, "--sample", "2", "--seed", "1", *ALLOW)
    picked = [LISTED.index(r["id"].removeprefix("127.0.0.1")) for r in first]
    assert len(picked) == 2 and picked == sorted(picked)  # in feed order
    wanted = expected(site, "rss")
    check(first, [wanted[i] for i in picked])
    assert listed_hits(site).keys() == {LISTED[i] for i in picked}  # only those fetched
    site.reset()
    again = clean(spec, "--sample", "2", "--seed", "1", *ALLOW)
    assert [r["id"] for r in again] == [r["id"] for r in first]
    assert listed_hits(site).keys() == {LISTED[i] for i in picked}


# ---- 4. run: summaries, manifest counts, the fetch cache ---------------------------------------


def check_run(site: NewsSite, out: Path) -> None:
    records = records_of(out)
    check([{k: v for k, v in r.items() if k != "summary"} for r in records],
          expected(site, "rss", MAX_CHARS))  # fmt: skip
    for record in records:
        if record["status"] == "ok":  # lead-3: the article's first sentences, in French
            assert record["summary"] and record["summary"].split()[0] in record["text"]
        else:
            assert not record.get("summary")
    data = manifest(out)
    assert data["status"] == "complete"
    assert data["counts"] == {"ok": 4, "skipped": 0, "error": 6, "warnings": 0}
    errors = (out / "errors.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["id"] for line in errors] == [f"127.0.0.1{p}" for p in BAD]


def test_run_on_a_feed_summarizes_its_articles_and_counts_its_fetches(site, tmp_path):
    out = tmp_path / "out"
    result = run(site, out)
    assert result.exit_code == 0, result.output
    check_run(site, out)
    fetch = manifest(out)["fetch"]
    assert 0 < fetch.pop("bytes") < HUGE_BYTES  # /huge refused by its Content-Length
    assert fetch == {"requests": FEED_REQUESTS, "errors": 5, "cached": 0, "robots_refused": 1,
                     "retries": 2}  # fmt: skip
    assert sum(site.hits.values()) == FEED_REQUESTS
    assert list((out / "fetch").rglob("*"))  # the responses are kept for --resume

    site.reset()
    result = run(site, out, "--overwrite")  # the fetch cache goes with the rest
    assert result.exit_code == 0, result.output
    check_run(site, out)
    assert manifest(out)["fetch"]["cached"] == 0
    assert manifest(out)["fetch"]["requests"] == FEED_REQUESTS
    assert site.hits["/feed.xml"] == site.hits["/robots.txt"] == 1


@pytest.mark.slow
def test_kill_9_then_resume_fetches_nothing_twice(site, tmp_path):
    out = tmp_path / "out"
    command = [*NEWSUM, "run", site.url("/feed.xml"), "-o", str(out), "--shard-size", "1"]
    # Cleaning takes records in batches, so the pages are all fetched before the first
    # shard is written: the kill lands while they are fetched (0.4 s between two requests
    # to the host), once a few are in the job's fetch cache.
    slow = [*ALLOW, "--host-delay", "0.4"]

    def fetched() -> int:
        return sum(1 for p in (out / "fetch").glob("??/*") if p.is_file())

    kill_9_when([*command, *EXTRACTIVE, *slow], lambda: fetched() >= 4, timeout=60)
    done = records_of(out)
    kept = fetched()
    assert len(done) < len(LISTED) and 4 <= kept < FEED_REQUESTS, "the kill must land mid-run"

    site.reset()
    result = run(site, out, "--shard-size", "1", "--resume")
    assert result.exit_code == 0, result.output
    check_run(site, out)  # every record exactly once, in feed order
    data = manifest(out)
    assert len(data["resumed"]) == 1
    fetch = data["fetch"]
    assert fetch["cached"] >= kept - 2 and fetch["requests"] < FEED_REQUESTS  # 2: robots, feed
    assert site.hits["/robots.txt"] == site.hits["/feed.xml"] == 0  # from the cache
    # A job keeps even its transient failures: the resume reads what the killed run read.
    for record in done:
        path = record["id"].removeprefix("127.0.0.1")
        assert site.hits[path] == 0, f"{path} fetched again"

    site.reset()
    result = run(site, out, "--shard-size", "1", "--overwrite")
    assert result.exit_code == 0, result.output
    check_run(site, out)
    assert manifest(out)["fetch"]["cached"] == 0
    assert site.hits["/feed.xml"] == 1 and site.article_hits() == FEED_REQUESTS - 2


# ---- 5. --dry-run --------------------------------------------------------------------------


def test_dry_run_fetches_only_the_listing_and_writes_nothing(site, tmp_path):
    out = tmp_path / "out"
    local = ROOT / "examples" / "articles" / "festival-avignon.html"
    args = ["run", site.url("/feed.xml"), str(local), "-o", str(out), "--dry-run", *ALLOW]
    result = CliRunner().invoke(app, [*args, "--preset", "extractive"])
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    assert plan["pages_to_fetch"] == len(LISTED)
    assert plan["articles"] == len(LISTED) + 1
    assert plan["inputs"][0] == {
        "input": site.url("/feed.xml"),
        "kind": "url",
        "links": len(LISTED),
    }
    assert plan["inputs"][1]["articles"] == 1
    assert plan["models"]["summarizer"] == "lead-3"
    assert dict(site.hits) == {"/robots.txt": 1, "/feed.xml": 1}  # no article page
    assert not out.exists()

    site.reset()
    result = CliRunner().invoke(app, [*args, "--limit", "2"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["pages_to_fetch"] == 2
    assert site.article_hits() == 0 and not out.exists()


# ---- library bugs --------------------------------------------------------------------------


def test_clean_max_chars_bounds_what_is_fetched(site):
    records = clean(site.url("/huge"), "--max-chars", MAX_CHARS, *ALLOW, ok=False)
    assert [(r["status"], r["reason"]) for r in records] == [
        ("error", reason(site, "/huge", MAX_CHARS))
    ]


def test_resume_keeps_what_the_interrupted_run_read(site, tmp_path):
    out = tmp_path / "out"
    assert run(site, out, "--shard-size", "1").exit_code == 0
    site.boom_recovered = True  # the server is back
    result = run(site, out, "--shard-size", "1", "--resume")
    assert result.exit_code == 0, result.output
    assert [r["id"] for r in records_of(out)] == [f"127.0.0.1{p}" for p in LISTED]


def test_the_progress_display_fetches_each_page_once(site, tmp_path, monkeypatch):
    from newsum.pipeline.core import progress

    monkeypatch.setattr(progress, "progress_enabled", lambda quiet: not quiet)
    command = ["run", site.url("/feed.xml"), "-o", str(tmp_path / "out"), *EXTRACTIVE]
    result = CliRunner().invoke(app, [*command, *[a for a in ALLOW if a != "-q"]])
    assert result.exit_code == 0, result.output
    assert site.hits["/feed.xml"] == 1
    assert sum(site.hits.values()) == FEED_REQUESTS


def test_a_short_feed_title_is_kept(site):
    (record,) = clean("feed:" + site.url("/short-titles.xml"), *ALLOW)
    assert record["status"] == "ok"
    assert record["title"] == SHORT_TITLE

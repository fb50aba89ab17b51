"""WARC inputs (pipeline.core.warc): HTML responses become records, everything else is
counted and skipped, a damaged file ends with one error record, and reading streams.

The WARC files are written here with fastwarc's writer (WarcRecord, GzipWriter), one
gzip member a record as in Common Crawl's .warc.gz, or uncompressed."""

from __future__ import annotations

import gzip
import io
import time
import tracemalloc
import zlib
from pathlib import Path

import pytest
from fastwarc.stream_io import GzipWriter
from fastwarc.warc import WarcRecord, WarcRecordType

from newsum.pipeline.core import warc as warc_module
from newsum.pipeline.core.readers import ReadOptions
from newsum.pipeline.core.record import ERROR, OK, Record
from newsum.pipeline.core.warc import WARC_SUFFIXES, WarcStats, decode_html, read_warc, url_name

CRAWLED = "2024-03-14T08:15:02Z"

# ---- the pages -----------------------------------------------------------------------

PONT_URL = "https://www.letelegramme.fr/finistere/brest/pont-de-recouvrance-travaux.html"
PONT_TITLE = "Brest : la rénovation du pont de Recouvrance commencera en septembre"
PONT = [
    "Les travaux de rénovation du pont de Recouvrance débuteront en septembre et dureront "
    "dix-huit mois, a annoncé mardi Brest métropole lors d’une réunion publique.",
    "Pendant toute la durée du chantier, la circulation des voitures sera limitée à une "
    "voie dans chaque sens, tandis que le tramway continuera de franchir la Penfeld.",
    "Le coût de l’opération est estimé à 24 millions d’euros, financés pour moitié par "
    "l’État et la Région Bretagne, selon le dossier présenté aux habitants.",
]

MARCHE_URL = "https://www.ouest-france.fr/economie/le-marche-des-lices-s-agrandit"
MARCHE_TITLE = "Rennes : le marché des Lices s’agrandit d’une nouvelle halle"
MARCHE = [
    "Le marché des Lices, deuxième marché de France par sa taille, accueillera bientôt une "
    "nouvelle halle consacrée aux producteurs bio, a indiqué la mairie de Rennes.",
    "Les commerçants saluent un projet « attendu depuis des années » et espèrent attirer "
    "une clientèle plus jeune, malgré des loyers en légère hausse.",
    "La première pierre sera posée à l’automne ; l’ouverture est prévue pour le printemps "
    "suivant, après une concertation avec les riverains du quartier.",
]

GREVE_URL = "https://www.lavoixdunord.fr/article?id=1452&page=2"
GREVE_TITLE = "Lille : grève des agents de la métropole européenne"
GREVE = [
    "Les agents de la Métropole européenne de Lille sont appelés à la grève jeudi pour "
    "réclamer une revalorisation de leurs salaires et de meilleures conditions de travail.",
    "Selon les syndicats, près d’un agent sur trois pourrait cesser le travail, ce qui "
    "perturberait la collecte des déchets dans plusieurs communes de l’agglomération.",
    "La direction assure qu’un service minimum sera organisé et qu’une rencontre avec les "
    "représentants du personnel est prévue la semaine prochaine.",
]


def article_page(title: str, paragraphs: list[str], head: str = "", byline: str = "") -> str:
    """A news page: site navigation, the article, related links and a footer."""
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return f"""<!DOCTYPE html><html lang="fr"><head>{head}<title>{title}</title></head>
<body><header><nav><a href="/">Accueil</a> <a href="/sport">Sport</a>
<a href="/abonnement">S’abonner</a></nav></header>
<main><article><h1>{title}</h1>{byline}{body}</article>
<aside><h2>Les plus lus</h2><ul><li><a href="/a">Un autre article</a></li></ul></aside></main>
<footer>© Le Journal – Mentions légales – Politique de confidentialité</footer>
</body></html>"""


PONT_HTML = article_page(
    PONT_TITLE,
    PONT,
    head='<meta charset="utf-8"><meta property="article:published_time" '
    'content="2024-03-12T18:12:00+01:00">',
    byline='<p class="byline">Par Jean Martin, le <time datetime="2024-03-12T18:12:00+01:00">'
    "12 mars 2024</time></p>",
)
MARCHE_HTML = article_page(MARCHE_TITLE, MARCHE)  # no date
GREVE_HTML = article_page(GREVE_TITLE, GREVE, head='<meta charset="iso-8859-1">')


# ---- writing WARC files with fastwarc ------------------------------------------------


def http(status: str, content_type: str | None, body: bytes, *headers: str) -> bytes:
    lines = [f"HTTP/1.1 {status}"]
    if content_type:
        lines.append(f"Content-Type: {content_type}")
    lines += [*headers, f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def record(
    kind: WarcRecordType,
    block: bytes = b"",
    uri: str | None = None,
    content_type: str | None = None,
    **headers: str,
) -> WarcRecord:
    rec = WarcRecord()
    rec.init_headers(kind)
    rec.headers["WARC-Date"] = CRAWLED
    if uri:
        rec.headers["WARC-Target-URI"] = uri
    if content_type:
        rec.headers["Content-Type"] = content_type
    for name, value in headers.items():
        rec.headers[name.replace("_", "-")] = value
    rec.set_bytes_content(block)
    return rec


def response(uri: str, payload: bytes, **headers: str) -> WarcRecord:
    return record(
        WarcRecordType.response, payload, uri, "application/http; msgtype=response", **headers
    )


def request(uri: str) -> WarcRecord:
    block = b"GET / HTTP/1.1\r\nHost: example.fr\r\nUser-Agent: CCBot/2.0\r\n\r\n"
    return record(WarcRecordType.request, block, uri, "application/http; msgtype=request")


def write_warc(path: Path, records: list[WarcRecord]) -> list[int]:
    """Write the records, one gzip member each for .warc.gz; return where each one ends."""
    buf = io.BytesIO()
    ends = []
    if path.name.endswith(".gz"):
        writer = GzipWriter(buf)
        for rec in records:
            rec.write(writer)
            writer.finish()  # the gzip member ends with the record, as in Common Crawl
            ends.append(len(buf.getvalue()))
    else:
        for rec in records:
            rec.write(buf)
            ends.append(buf.tell())
    path.write_bytes(buf.getvalue())
    return ends


def crawl() -> list[WarcRecord]:
    """What a crawler writes: pages, and what is not a page."""
    warcinfo = b"software: newsum-tests\r\nformat: WARC File Format 1.1\r\n"
    return [
        record(WarcRecordType.warcinfo, warcinfo, content_type="application/warc-fields"),
        request(PONT_URL),
        response(PONT_URL, http("200 OK", "text/html; charset=utf-8", PONT_HTML.encode())),
        record(
            WarcRecordType.metadata,
            b"fetchTimeMs: 212\r\n",
            PONT_URL,
            "application/warc-fields",
        ),
        response(
            MARCHE_URL,
            http("200 OK", "text/html; charset=windows-1252", MARCHE_HTML.encode("cp1252")),
        ),
        record(
            WarcRecordType.revisit,
            http("200 OK", "text/html; charset=utf-8", b""),
            PONT_URL,
            "application/http; msgtype=response",
            WARC_Profile="http://netpreserve.org/warc/1.1/revisit/identical-payload-digest",
            WARC_Refers_To_Target_URI=PONT_URL,
        ),
        response("https://www.example.fr/rapport.pdf", http("200 OK", "application/pdf", b"%PDF")),
        response(
            "https://www.example.fr/disparu.html",
            http("404 Not Found", "text/html; charset=utf-8", b"<p>Page introuvable</p>"),
        ),
        response(
            "https://www.example.fr/ancien",
            http("301 Moved Permanently", "text/html", b"", "Location: https://example.fr/"),
        ),
        # No charset in the header; the page's <meta> says ISO-8859-1 and it uses
        # Windows-1252's apostrophe (’), as such pages do: browsers read it as cp1252.
        response(GREVE_URL, http("200 OK", "text/html", GREVE_HTML.encode("cp1252"))),
        request("https://www.example.fr/suivant"),
    ]


def read(path: Path, **options) -> tuple[list[tuple[int, Record]], WarcStats]:
    stats = WarcStats()
    return list(read_warc(path, ReadOptions(**options), stats)), stats


# ---- what is read --------------------------------------------------------------------


@pytest.mark.parametrize("name", ["crawl.warc.gz", "crawl.warc"])
def test_the_html_pages_of_a_warc_file_are_records(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    write_warc(path, crawl())

    records, stats = read(path)

    summary = [(pos, r.status, r.id, r.url, r.date, r.title) for pos, r in records]
    assert summary == [
        (
            3,
            OK,
            "www.letelegramme.fr/finistere/brest/pont-de-recouvrance-travaux.html",
            PONT_URL,
            "2024-03-12",  # the page's own date
            PONT_TITLE,
        ),
        (
            5,
            OK,
            "www.ouest-france.fr/economie/le-marche-des-lices-s-agrandit",
            MARCHE_URL,
            None,  # no date in the page (the crawl's is `fetched_at`)
            MARCHE_TITLE,
        ),
        (10, OK, url_name(GREVE_URL), GREVE_URL, None, GREVE_TITLE),
    ]
    assert url_name(GREVE_URL).startswith("www.lavoixdunord.fr/article~")
    for (_, rec), paragraphs in zip(records, (PONT, MARCHE, GREVE), strict=True):
        for paragraph in paragraphs:  # decoded right: UTF-8, Windows-1252, ISO-8859-1
            assert paragraph in rec.text
        assert "Mentions légales" not in rec.text and "Accueil" not in rec.text
        assert rec.html is None
        assert rec.extra["fetched_at"] == CRAWLED
        assert rec.extra["warc_record_id"].startswith("<urn:uuid:")
        assert rec.source
    assert stats == WarcStats(
        records=11,
        responses=6,
        html=3,
        skipped_not_html=1,
        skipped_status=2,
        skipped_revisit=1,
        skipped_other=4,
        errors=0,
    )
    assert stats.as_dict()["html"] == 3


def test_a_warc_gzipped_whole_reads_the_same(tmp_path: Path) -> None:
    write_warc(tmp_path / "plain.warc", crawl())
    whole = tmp_path / "whole.warc.gz"  # one gzip member for the file, as gzip(1) makes it
    whole.write_bytes(gzip.compress((tmp_path / "plain.warc").read_bytes()))
    records, stats = read(whole)
    assert [(pos, rec.title) for pos, rec in records] == [
        (3, PONT_TITLE),
        (5, MARCHE_TITLE),
        (10, GREVE_TITLE),
    ]
    assert (stats.records, stats.html, stats.errors) == (11, 3, 0)


def test_the_records_clean_as_french_articles(tmp_path: Path) -> None:
    from newsum.pipeline.clean import CleanOptions, clean

    path = tmp_path / "crawl.warc.gz"
    write_warc(path, crawl())
    records = [rec for _, rec in read_warc(path, ReadOptions(), WarcStats())]
    cleaned = list(clean(records, CleanOptions()))
    assert [(rec.status, rec.lang, rec.duplicate_of) for rec in cleaned] == [(OK, "fr", None)] * 3
    assert cleaned[0].text.split("\n")[-3:] == PONT


def test_stats_add_up_over_files_and_keep_html(tmp_path: Path) -> None:
    write_warc(tmp_path / "a.warc.gz", crawl())
    write_warc(tmp_path / "b.warc", crawl())
    stats = WarcStats()
    options = ReadOptions(keep_html=True)
    records = [
        rec
        for name in ("a.warc.gz", "b.warc")
        for _, rec in read_warc(tmp_path / name, options, stats)
    ]
    assert len(records) == 6 and stats.html == 6 and stats.records == 22
    assert records[0].html == PONT_HTML


def test_ids_are_the_urls_host_and_path_as_for_fetched_pages(tmp_path: Path) -> None:
    from newsum.pipeline.core.web import url_name as web_url_name

    for url in (PONT_URL, GREVE_URL, "https://Example.FR//a//b/", "http://example.fr"):
        assert url_name(url) == web_url_name(url)
    # A response without a target URI: the file's name and the record's position.
    path = tmp_path / "CC-NEWS-20240314-00012.warc.gz"
    page = http("200 OK", "text/html; charset=utf-8", PONT_HTML.encode())
    no_uri = record(WarcRecordType.response, page, None, "application/http; msgtype=response")
    write_warc(path, [request(PONT_URL), no_uri])
    [(position, rec)] = read(path)[0]
    assert (position, rec.id, rec.url, rec.status) == (2, "CC-NEWS-20240314-00012-2", None, OK)
    [(_, named)] = list(read_warc(path, ReadOptions(), WarcStats(), name="in/cc"))
    assert named.id == "in/cc-2"


def test_chunked_and_compressed_payloads_are_decoded(tmp_path: Path) -> None:
    body = gzip.compress(PONT_HTML.encode())
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(body[i : i + 500]), body[i : i + 500])
                      for i in range(0, len(body), 500))  # fmt: skip
    deflated = zlib.compress(MARCHE_HTML.encode())[2:-4]  # raw deflate, as many servers send
    path = tmp_path / "raw.warc"
    write_warc(
        path,
        [
            response(
                PONT_URL,
                b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
                b"Transfer-Encoding: chunked\r\nContent-Encoding: gzip\r\n\r\n"
                + chunks
                + b"0\r\n\r\n",
            ),
            response(
                MARCHE_URL, http("200 OK", "text/html", deflated, "Content-Encoding: deflate")
            ),
            response(GREVE_URL, http("200 OK", "text/html", b"x", "Content-Encoding: zstd")),
        ],
    )
    records, stats = read(path)
    assert [r.status for _, r in records] == [OK, OK, ERROR]
    assert PONT[0] in records[0][1].text and MARCHE[2] in records[1][1].text
    assert "unsupported Content-Encoding 'zstd'" in records[2][1].reason
    assert stats.errors == 1


def test_a_page_over_max_bytes_is_an_error_record_and_reading_goes_on(tmp_path: Path) -> None:
    huge = article_page(PONT_TITLE, PONT * 6000).encode()  # 3 MB
    path = tmp_path / "big.warc.gz"
    write_warc(
        path,
        [
            response(PONT_URL, http("200 OK", "text/html; charset=utf-8", huge)),
            response(MARCHE_URL, http("200 OK", "text/html; charset=utf-8", MARCHE_HTML.encode())),
        ],
    )
    records, stats = read(path, max_bytes=100_000)
    (pos1, big), (pos2, small) = records
    assert (pos1, big.status, big.id, big.url, big.text) == (
        1,
        ERROR,
        url_name(PONT_URL),
        PONT_URL,
        None,
    )
    assert big.reason == f"{path} record 1: {PONT_URL}: over the 100,000-byte limit (max_bytes)"
    assert big.extra == {"fetched_at": CRAWLED, "warc_record_id": big.extra["warc_record_id"]}
    assert (pos2, small.status, small.title) == (2, OK, MARCHE_TITLE)
    assert (stats.html, stats.errors) == (2, 1)


def test_a_page_over_max_bytes_is_not_read_whole(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "big.warc.gz"
    huge = article_page(PONT_TITLE, PONT * 6000).encode()  # 3 MB
    write_warc(path, [response(PONT_URL, http("200 OK", "text/html", huge))])
    monkeypatch.setattr(warc_module, "extract_html", lambda rec, keep_html=False: rec)
    tracemalloc.start()
    try:
        [(_, rec)] = list(read_warc(path, ReadOptions(max_bytes=100_000), WarcStats()))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert rec.status == ERROR
    assert peak < 1_000_000, f"{peak:,} bytes at peak for a 3 MB page"


def test_a_page_with_no_text_is_an_error_record_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "empty.warc"
    write_warc(path, [response(PONT_URL, http("200 OK", "text/html", b"<html></html>"))])
    [(_, rec)], stats = read(path)
    assert rec.status == ERROR and rec.reason.startswith(f"{path} record 1: {PONT_URL}: html:")
    assert stats.errors == 1


# ---- damaged files -------------------------------------------------------------------


def test_a_truncated_warc_gz_ends_with_one_error_record(tmp_path: Path) -> None:
    path = tmp_path / "cut.warc.gz"
    ends = write_warc(path, crawl())
    data = path.read_bytes()
    for cut, position, pages in (
        ((ends[8] + ends[9]) // 2, 10, [3, 5]),  # in the middle of the 10th record's member
        (ends[9] - 3, 10, [3, 5]),  # only the gzip trailer is missing: its CRC is unchecked
        (ends[9] + 5, 11, [3, 5, 10]),  # in the gzip header of the 11th
    ):
        path.write_bytes(data[:cut])
        records, stats = read(path)
        *good, (last_position, last) = records
        assert [pos for pos, _ in good] == pages
        assert all(rec.ok for _, rec in good)
        assert (last_position, last.status, last.id) == (position, ERROR, f"cut-{position}")
        assert last.reason == (
            f"{path} record {position}: cannot read: "
            "the file ends inside a gzip member: it was cut short"
        )
        assert (stats.records, stats.errors) == (position, 1)


def test_a_corrupt_gzip_member_ends_the_file_with_an_error_record(tmp_path: Path) -> None:
    path = tmp_path / "bad.warc.gz"
    ends = write_warc(path, crawl())
    data = bytearray(path.read_bytes())
    data[(ends[3] + ends[4]) // 2] ^= 0xFF  # inside the 5th record's member
    path.write_bytes(bytes(data))
    records, stats = read(path)
    assert [(pos, rec.status) for pos, rec in records] == [(3, OK), (5, ERROR)]
    assert records[-1][1].reason.startswith(f"{path} record 5: cannot read: bad gzip data")
    assert (stats.records, stats.html, stats.errors) == (5, 1, 1)


def test_a_truncated_plain_warc_ends_with_one_error_record(tmp_path: Path) -> None:
    path = tmp_path / "cut.warc"
    ends = write_warc(path, crawl())
    data = path.read_bytes()
    n = len(MARCHE_HTML.encode("cp1252"))  # the 5th record's HTML, then "\r\n\r\n"
    for cut, position, pages, reason in (
        (ends[4] - 300, 5, [3], f"the record is cut short ({n - 296:,} of {n:,} bytes)"),
        (ends[4] + 40, 6, [3, 5], "a WARC record's headers are incomplete"),  # in the next one
    ):
        path.write_bytes(data[:cut])
        records, stats = read(path)
        assert [(pos, rec.status) for pos, rec in records[:-1]] == [(p, OK) for p in pages]
        assert records[-1][0] == position
        assert records[-1][1].status == ERROR
        assert records[-1][1].reason.startswith(f"{path} record {position}: cannot read: {reason}")
        assert (stats.records, stats.errors) == (position, 1)


def test_bytes_that_are_not_a_warc_record_end_the_file(tmp_path: Path) -> None:
    path = tmp_path / "junk.warc"
    ends = write_warc(path, crawl())
    data = path.read_bytes()
    path.write_bytes(data[: ends[2]] + b"<html>not a WARC record</html>\r\n\r\n" + data[ends[2] :])
    records, stats = read(path)
    assert [(pos, rec.status) for pos, rec in records] == [(3, OK), (4, ERROR)]
    assert "not a valid WARC record" in records[-1][1].reason
    assert stats.records == 4

    text = tmp_path / "notes.warc.gz"
    text.write_text("Ceci n'est pas une archive WARC.\n")
    [(position, rec)], _ = read(text)
    assert (position, rec.status) == (1, ERROR)
    assert rec.reason.startswith(f"{text} record 1: cannot read: not a valid WARC record")


def test_a_missing_file_is_an_error_record_not_an_exception(tmp_path: Path) -> None:
    [(position, rec)], stats = read(tmp_path / "absent.warc.gz")
    assert (position, rec.id, rec.status, stats.errors) == (0, "absent", ERROR, 1)
    assert "No such file" in rec.reason


# ---- streaming -----------------------------------------------------------------------


def big_crawl(path: Path, pages: int) -> None:
    records = []
    for i in range(pages):
        url = f"https://www.example.fr/actualite/article-{i}.html"
        html = article_page(f"{PONT_TITLE} ({i})", PONT).encode()
        records += [request(url), response(url, http("200 OK", "text/html", html))]
    write_warc(path, records)


def test_reading_is_lazy_and_memory_stays_flat(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "big.warc.gz"
    big_crawl(path, 2_000)  # 4,000 WARC records, 7 MB of HTML
    extracted = []

    def extract(rec: Record, keep_html: bool = False) -> Record:
        extracted.append(rec.url)
        rec.text, rec.html = rec.html[:100], None
        return rec

    monkeypatch.setattr(warc_module, "extract_html", extract)

    stats = WarcStats()
    start = time.perf_counter()
    records = read_warc(path, ReadOptions(), stats)
    position, first = next(records)
    assert time.perf_counter() - start < 1.0
    assert (position, first.url, len(extracted)) == (2, extracted[0], 1)
    assert stats.records == 2  # nothing read ahead but fastwarc's buffer
    records.close()

    tracemalloc.start()
    try:
        count = sum(1 for _ in read_warc(path, ReadOptions(), WarcStats()))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 2_000
    assert peak < 2_000_000, f"{peak:,} bytes at peak: records are held"


# ---- decoding ------------------------------------------------------------------------


def test_decoding_follows_the_header_then_meta_then_the_bytes() -> None:
    text = "L’été à Brest : «  œuvre » — déjà"
    cp1252, utf8 = text.encode("cp1252"), text.encode("utf-8")
    assert decode_html(utf8, "utf-8") == text
    assert decode_html(cp1252, "windows-1252") == text
    assert decode_html(cp1252, "iso-8859-1") == text  # browsers read latin-1 as cp1252
    assert decode_html(cp1252, "utf-8") == text  # a wrong header is passed over
    assert decode_html(b'<meta charset="windows-1252">' + cp1252).endswith(text)
    assert decode_html(cp1252 * 20) == text * 20  # no charset at all: detected
    assert decode_html(b"\xef\xbb\xbf" + utf8, "windows-1252") == text  # the BOM wins
    assert decode_html(utf8, "no-such-charset") == text
    # UTF-8 with one stray Windows-1252 byte stays UTF-8.
    assert decode_html(utf8 * 5 + b" \x92 " + utf8) == text * 5 + " \ufffd " + text


def test_warc_suffixes() -> None:
    assert WARC_SUFFIXES == (".warc", ".warc.gz")


# ---- from the command line ---------------------------------------------------------------


def test_newsum_clean_reads_a_warc_and_tells_what_it_skipped(tmp_path: Path) -> None:
    import json

    from typer.testing import CliRunner

    from newsum.pipeline.cli import app

    path = tmp_path / "crawl.warc.gz"
    write_warc(path, crawl())
    _, stats = read(path)
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(app, ["clean", str(path), "-o", str(out)])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(records) == stats.html and all(r["status"] == "ok" for r in records)
    # The skipped records are counted where the user sees them, with the tally.
    assert f"{stats.skipped_revisit:,} skipped revisit" in result.output
    assert f"{stats.skipped_not_html:,} skipped not html" in result.output
    assert f"{stats.skipped_status:,} skipped status" in result.output
    assert stats.skipped_revisit and stats.skipped_not_html and stats.skipped_status

"""WARC input throughput (articles/s, one core) and peak memory at 1k vs 10k pages.

    python benchmarks/bench_warc.py [--articles 10000] [--repeat 3] [--json]

The WARC is generated in the layout of Common Crawl's CC-NEWS: a warcinfo record, then
a request and a response for each page, one gzip member a record (fastwarc's writer).
Each page is a French news article from bench_clean's generator (its title, a byline
and five paragraphs) inside a news site's page: inline style and script, navigation,
share buttons, a "Lire aussi" box, the most-read list, a cookie banner and a footer,
about 18 KB of HTML. Real CC-NEWS pages are heavier (100 KB and more, mostly scripts),
so the extraction rates are an upper bound.

Three measurements, each in a fresh subprocess pinned to one core:
- scan:  read_warc with the extraction left out (WARC parsing, gzip, decoding only);
- read:  read_warc as it is (trafilatura's extraction of each page);
- clean: read_warc → newsum.pipeline.clean (CleanOptions defaults, dedup on) → JSONL
         to /dev/null, `newsum clean`'s library path.
They alternate, `--repeat` rounds at 10k, so that a noisy machine slows all alike; each
rate is its median. Peak RSS is measured at 1k and 10k pages: reading streams, so it
must be flat (scan, read); cleaning adds the near-duplicate index, about 700 bytes a
distinct article. Goal: 10k / 1k ≤ 1.05.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_clean import BOILERPLATE, sentence

CRAWLED = "2024-03-14T08:15:02Z"
SECTIONS = [
    "Actualité", "Politique", "Économie", "Société", "Monde", "Sport", "Culture", "Sciences",
    "Santé", "Environnement", "Faits divers", "Régions", "Opinions", "Vidéos", "Podcasts",
]  # fmt: skip
STYLE = ".site-header{display:flex;align-items:center}.nav a{margin:0 8px;color:#222}" * 80
SCRIPT = json.dumps({"tags": [f"tag-{i}" for i in range(300)], "ads": {"slots": list(range(300))}})


def page(rng: random.Random, i: int) -> tuple[str, str]:
    """(url, HTML) of one article page with a news site's boilerplate around it."""
    title = f"{sentence(rng)[:-1]} ({i})"
    paragraphs = [" ".join(sentence(rng) for _ in range(rng.randint(2, 4))) for _ in range(5)]
    day = rng.randint(1, 28)
    section = rng.choice(SECTIONS)
    nav = "".join(f'<li><a href="/{s.lower()}">{s}</a></li>' for s in SECTIONS)
    related = "".join(f'<li><a href="/a/{i}-{k}">{sentence(rng)}</a></li>' for k in range(8))
    reads = "".join(f'<li><a href="/b/{i}-{k}">{sentence(rng)}</a></li>' for k in range(10))
    footer = "".join(f'<a href="/f/{k}">{rng.choice(BOILERPLATE)}</a> ' for k in range(30))
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    html = f"""<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8">
<title>{title} | Le Quotidien</title><meta name="viewport" content="width=device-width">
<meta property="og:site_name" content="Le Quotidien"><style>{STYLE}</style>
<script>window.dataLayer = {SCRIPT};</script></head><body>
<div class="cookie-banner">Nous utilisons des cookies pour améliorer votre expérience.
<button>Accepter</button> <button>Paramétrer</button></div>
<header class="site-header"><a href="/" class="logo">Le Quotidien</a>
<nav class="nav"><ul>{nav}</ul></nav><a href="/abonnement">S’abonner</a></header>
<main><nav class="breadcrumb"><a href="/">Accueil</a> › <a href="/s">{section}</a></nav>
<article><h1>{title}</h1>
<p class="byline">Par Jean Martin, le <time datetime="2024-03-{day:02d}">{day} mars 2024</time></p>
<div class="share"><a>Partager sur Facebook</a> <a>Twitter</a> <a>Copier le lien</a></div>
{body}
<aside class="read-also"><h2>Lire aussi</h2><ul>{related}</ul></aside></article>
<aside class="most-read"><h2>Les plus lus</h2><ol>{reads}</ol></aside></main>
<footer><p>{footer}</p><p>© Le Quotidien – Mentions légales – Contact</p></footer>
</body></html>"""
    return f"https://www.lequotidien.fr/{section.lower()}/article-{i}.html", html


def write_warc(path: Path, n: int, seed: int = 0) -> float:
    """A CC-NEWS-like .warc.gz of n pages; return the mean HTML size in bytes."""
    from fastwarc.stream_io import GzipWriter
    from fastwarc.warc import WarcRecord, WarcRecordType

    def record(kind, block: bytes, uri: str | None, content_type: str) -> WarcRecord:
        rec = WarcRecord()
        rec.init_headers(kind)
        rec.headers["WARC-Date"] = CRAWLED
        if uri:
            rec.headers["WARC-Target-URI"] = uri
        rec.headers["Content-Type"] = content_type
        rec.set_bytes_content(block)
        return rec

    rng = random.Random(seed)
    total = 0
    with open(path, "wb") as f:
        writer = GzipWriter(f)
        info = b"software: newsum bench_warc\r\nformat: WARC File Format 1.1\r\n"
        record(WarcRecordType.warcinfo, info, None, "application/warc-fields").write(writer)
        writer.finish()
        for i in range(n):
            url, html = page(rng, i)
            body = html.encode()
            total += len(body)
            get = f"GET {url} HTTP/1.1\r\nUser-Agent: CCBot/2.0\r\n\r\n".encode()
            head = "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=UTF-8\r\n"
            payload = f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body
            for kind, block, kind_type in (
                (WarcRecordType.request, get, "application/http; msgtype=request"),
                (WarcRecordType.response, payload, "application/http; msgtype=response"),
            ):
                record(kind, block, url, kind_type).write(writer)
                writer.finish()  # one gzip member a record
        writer.close()
    return total / n


CHILD = """
import json, resource, sys, time
from pathlib import Path
from newsum.pipeline.clean import CleanOptions, clean
from newsum.pipeline.core import warc
from newsum.pipeline.core.html import extract_html
from newsum.pipeline.core.readers import ReadOptions
from newsum.pipeline.core.record import Record
from newsum.pipeline.core.writers import write_jsonl
src, mode = Path(sys.argv[1]), sys.argv[2]
# Warm up (trafilatura, the language model, lazy imports) so the rate is the steady state.
extract_html(Record("warm-up", html="<html><body><article><p>" + "Un court texte. " * 20
                    + "</p></article></body></html>"))
list(clean(iter([Record("warm-up", text="Un court texte pour charger les modèles.")])))
if mode == "scan":
    warc.extract_html = lambda record, keep_html=False: record
stats = warc.WarcStats()
start = time.perf_counter()
records = (record for _, record in warc.read_warc(src, ReadOptions(), stats))
if mode == "clean":
    tally = dict(write_jsonl(clean(records, CleanOptions()), "/dev/null"))
else:
    tally = {}
    for record in records:
        tally[record.status] = tally.get(record.status, 0) + 1
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "n": sum(tally.values()), "tally": tally,
                  "stats": stats.as_dict(),
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

MODES = ("scan", "read", "clean")
LABELS = {
    "scan": "scan (no extraction)",
    "read": "read_warc",
    "clean": "read_warc → clean",
}


def run_once(path: Path, mode: str) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    cmd = [sys.executable, "-c", CHILD, str(path), mode]
    if shutil.which("taskset"):
        cmd = ["taskset", "-c", "0", *cmd]
    return json.loads(
        subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    )


def measure(path: Path, repeat: int) -> dict[str, dict]:
    """Alternating rounds of the three modes; each mode's median run (by time)."""
    rounds = [{mode: run_once(path, mode) for mode in MODES} for _ in range(repeat)]
    return {
        mode: sorted((r[mode] for r in rounds), key=lambda run: run["seconds"])[repeat // 2]
        for mode in MODES
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument(
        "--repeat", type=int, default=3, help="alternating rounds at 10k; the medians count"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    n_small, n_big = 1_000, max(args.articles, 1_000)
    with tempfile.TemporaryDirectory() as tmp:
        small, big = Path(tmp, "small.warc.gz"), Path(tmp, "big.warc.gz")
        write_warc(small, n_small)
        html_bytes = write_warc(big, n_big)
        warc_mb = big.stat().st_size / 1e6
        runs = {n_small: measure(small, 1), n_big: measure(big, args.repeat)}
    result: dict = {
        "articles": n_big,
        "mean_html_bytes": round(html_bytes),
        "warc_gz_mb": round(warc_mb, 1),
        "rounds": args.repeat,
    }
    for mode in MODES:
        big_run, small_run = runs[n_big][mode], runs[n_small][mode]
        assert big_run["n"] == n_big and big_run["stats"]["html"] == n_big, big_run
        result[mode] = {
            "articles_per_s": round(n_big / big_run["seconds"], 1),
            "ok": big_run["tally"].get("ok", 0),
            "rss_mb_1k": round(small_run["rss_mb"], 1),
            "rss_mb_10k": round(big_run["rss_mb"], 1),
            "rss_ratio": round(big_run["rss_mb"] / small_run["rss_mb"], 3),
        }
    if args.json:
        print(json.dumps(result))
        return
    print(
        f"WARC: {n_big:,} generated pages (CC-NEWS layout, gzip a record), "
        f"{result['mean_html_bytes'] / 1000:.1f} KB of HTML each, {result['warc_gz_mb']} MB"
    )
    print(f"one core, median of {args.repeat} alternating rounds at {n_big:,}")
    print(f"{'':24}{'articles/s':>12}{'RSS 1k MB':>12}{'RSS 10k MB':>12}{'10k / 1k':>10}")
    for mode in MODES:
        row = result[mode]
        print(
            f"{LABELS[mode]:24}{row['articles_per_s']:>12,.0f}{row['rss_mb_1k']:>12.1f}"
            f"{row['rss_mb_10k']:>12.1f}{row['rss_ratio']:>10.2f}"
        )
    print(f"goal: 10k / 1k ≤ 1.05 (flat); ok after cleaning: {result['clean']['ok']:,}")


if __name__ == "__main__":
    main()

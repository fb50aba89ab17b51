"""`newsum run` end to end with tiny models: articles/s and peak RSS, 1,000 vs 10,000.

    python benchmarks/bench_run.py [--small 1000] [--big 10000] [--json]

A tiny random marian model (built here) summarizes and translates generated French
dispatches of two or three sentences. Each run is a fresh `newsum run` process; its
peak RSS is read by a wrapper process that runs nothing else. Memory must stay flat
from 1k to 10k articles: the job streams, one shard at a time (plus the
near-duplicate index of cleaning, a few KB an article).
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_clean import sentence

WRAPPER = """
import resource, subprocess, sys, time
start = time.perf_counter()
subprocess.run(sys.argv[1:], check=True)
seconds = time.perf_counter() - start
print(seconds, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
"""


def corpus(path: Path, n: int, seed: int = 0) -> None:
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as f:
        for i in range(n):
            text = " ".join(sentence(rng) for _ in range(rng.randint(2, 3)))
            f.write(json.dumps({"id": f"d{i}", "text": text}, ensure_ascii=False) + "\n")


def measure(source: Path, model: Path, outdir: Path) -> dict:
    command = [
        sys.executable,
        "-c",
        "from newsum.pipeline.cli import main; main()",
        "run",
        str(source),
        "-o",
        str(outdir),
        "--summarizer",
        str(model),
        "--translator",
        str(model),
        "--max-new-tokens",
        "16",
        "-q",
    ]
    out = subprocess.run(
        [sys.executable, "-c", WRAPPER, *command], check=True, capture_output=True, text=True
    ).stdout.split()
    return {"seconds": float(out[0]), "rss_mb": float(out[1])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--big", type=int, default=10_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    from newsum.models.hub import quiet_libraries
    from newsum.models.tiny import build_tiny

    quiet_libraries()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        model = build_tiny(root / "tiny", "marian")
        results = {}
        for n in (args.small, args.big):
            corpus(root / f"in-{n}.jsonl", n)
            started = time.perf_counter()
            results[n] = measure(root / f"in-{n}.jsonl", model, root / f"out-{n}")
            results[n]["articles_per_s"] = round(n / results[n]["seconds"], 1)
            results[n]["wall_s"] = round(time.perf_counter() - started, 1)
    small, big = results[args.small], results[args.big]
    summary = {
        "articles_per_s_small": small["articles_per_s"],
        "articles_per_s_big": big["articles_per_s"],
        "rss_mb_small": round(small["rss_mb"], 1),
        "rss_mb_big": round(big["rss_mb"], 1),
        "rss_big_vs_small": round(big["rss_mb"] / small["rss_mb"], 2),
    }
    if args.json:
        print(json.dumps(summary))
        return
    print("newsum run, tiny random marian (summarize + translate), 2-3 sentence dispatches")
    print(f"{'articles':>10}{'articles/s':>12}{'peak RSS MB':>13}")
    for n, r in results.items():
        print(f"{n:>10,}{r['articles_per_s']:>12,.1f}{r['rss_mb']:>13.1f}")
    print(f"RSS {args.big:,} / {args.small:,}: {summary['rss_big_vs_small']:.2f}")


if __name__ == "__main__":
    main()

"""`newsum run` end to end with tiny models: articles/s and peak RSS, 1,000 vs 10,000.

    python benchmarks/bench_run.py [--small 1000] [--big 10000] [--json]
    python benchmarks/bench_run.py --executor ray [--shards 8] [--shard-size 200] [--json]

A tiny random marian model (built here) summarizes and translates generated French
dispatches of two or three sentences. Each run is a fresh `newsum run` process; its
peak RSS is read by a wrapper process that runs nothing else. Memory must stay flat
from 1k to 10k articles: the job streams, one shard at a time (plus the
near-duplicate index of cleaning, a few KB an article).

With --executor ray: the same job in `--shards` shards, run in this process with the
local executor, then on a Ray started on this machine. It prints the Ray actors, how
many times they loaded the models (once each: the actors live for the whole run), the
wall time to the end of the first shard (starting Ray and loading the models included)
and the median time per shard after it, next to the local executor's. Actors that
load the models once make a shard on Ray cost about what it costs locally.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from itertools import pairwise
from pathlib import Path
from statistics import median

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


def shard_times(source: Path, model: Path, outdir: Path, executor: str, shard_size: int):
    """Run the job in this process; (manifest, seconds from the start to the end of each
    shard). A shard ends when all its records are generated: they are written at once."""
    from newsum.models.options import GenerationOptions
    from newsum.pipeline.job.options import RunOptions
    from newsum.pipeline.job.run import run

    options = RunOptions(
        inputs=(str(source),),
        output=str(outdir),
        summarizer=str(model),
        translator=str(model),
        shard_size=shard_size,
        executor=executor,
        generation=GenerationOptions(max_new_tokens=16),
    )
    ends: list[float] = []
    generated = 0

    def progress(stage: str, n: int) -> None:
        nonlocal generated
        if stage == "generated":
            generated += n
            while generated >= shard_size * (len(ends) + 1):
                ends.append(time.perf_counter() - started)

    started = time.perf_counter()
    manifest = run(options, progress=progress)
    return manifest, ends


def per_shard(ends: list[float]) -> dict:
    after_first = [b - a for a, b in pairwise(ends)]
    return {"first_s": round(ends[0], 2), "median_after_first_s": round(median(after_first), 3)}


def compare_executors(args) -> None:
    from newsum.models.libraries import quiet_libraries
    from newsum.models.tiny import build_tiny

    quiet_libraries()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        model = build_tiny(root / "tiny", "marian")
        source = root / "in.jsonl"
        corpus(source, args.shards * args.shard_size)
        results = {}
        for executor in ("local", args.executor):
            out = root / f"out-{executor}"
            manifest, ends = shard_times(source, model, out, executor, args.shard_size)
            assert len(ends) == args.shards == len(manifest["shards"]), (ends, manifest["shards"])
            results[executor] = {
                **per_shard(ends),
                "workers": len(manifest["workers"]),
                "model_loads": manifest["model_loads"],
                "devices": sorted({w["device"] for w in manifest["workers"]}),
            }
        same = all(
            (root / "out-local/shards" / p.name).read_bytes() == p.read_bytes()
            for p in sorted((root / f"out-{args.executor}/shards").iterdir())
        )
    local, other = results["local"], results[args.executor]
    ratio = round(other["median_after_first_s"] / local["median_after_first_s"], 2)
    summary = {"shards": args.shards, "shard_size": args.shard_size, "identical": same,
               "ratio_after_first": ratio, **results}  # fmt: skip
    if args.json:
        print(json.dumps(summary))
        return
    print(f"newsum run, tiny random marian, {args.shards} shards of {args.shard_size} dispatches")
    print(f"{'executor':>10}{'workers':>9}{'model loads':>13}{'device':>8}"
          f"{'first shard s':>15}{'median s/shard after':>22}")  # fmt: skip
    for name, r in results.items():
        print(f"{name:>10}{r['workers']:>9}{r['model_loads']:>13}{','.join(r['devices']):>8}"
              f"{r['first_s']:>15.2f}{r['median_after_first_s']:>22.3f}")  # fmt: skip
    print(f"{args.executor} / local, median time per shard after the first: {ratio:.2f}")
    print(f"shards identical to the local executor's: {'yes' if same else 'NO'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--big", type=int, default=10_000)
    parser.add_argument("--executor", choices=["ray"], help="time shards: local vs this")
    parser.add_argument("--shards", type=int, default=8)
    parser.add_argument("--shard-size", type=int, default=200)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.executor:
        compare_executors(args)
        return
    from newsum.models.libraries import quiet_libraries
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

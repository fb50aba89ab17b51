"""Cleaning throughput (articles/s, one core) and peak memory at 1k vs 10k articles.

    python benchmarks/bench_clean.py [--articles 10000] [--repeat 3] [--json]

The corpus is generated: French news-like paragraphs with a repeated title, a byline,
site boilerplate and 5 % near-duplicates, about 1,750 characters an article. Each
measurement runs `newsum clean`'s library path (read JSONL → clean → write JSONL) in
a fresh subprocess pinned to one core. Runs with and without deduplication alternate,
`--repeat` rounds of each, so that a noisy machine slows both alike; the rate is each
one's median and the dedup overhead the median of the rounds' time ratios (goal ≤ 1.25×).
Peak RSS is measured at 1k and 10k articles with and without the near-duplicate
index: without it memory must be flat (streaming); with it, it grows by the index's
size, about 700 bytes per distinct article (its signature and band keys in numpy
arrays), which must stay flat too: 10k / 1k ≤ 1.05.
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

SUBJECTS = [
    "Le gouvernement", "La mairie de Lyon", "Le syndicat des transports", "La Banque de France",
    "Le ministre de l'Économie", "L'entreprise nantaise", "La préfecture", "Le conseil régional",
    "Une association de riverains", "Le tribunal administratif", "La SNCF", "L'Insee",
]  # fmt: skip
VERBS = [
    "a annoncé", "prévoit", "a confirmé", "conteste", "a présenté", "étudie", "a suspendu",
    "défend", "a revu à la baisse", "finance",
]  # fmt: skip
OBJECTS = [
    "un plan d'investissement de {n} millions d'euros", "la fermeture de {n} guichets",
    "une hausse de {n} % des tarifs", "le recrutement de {n} agents", "un nouveau calendrier",
    "la rénovation de {n} écoles", "une baisse de {n} % de la consommation d'énergie",
    "un projet de loi sur le logement", "la création d'une ligne de tramway de {n} kilomètres",
]  # fmt: skip
TAILS = [
    "selon un communiqué publié mardi", "d'ici à la fin de l'année", "malgré l'opposition",
    "après plusieurs mois de négociations", "a indiqué son porte-parole", "dès le mois prochain",
    "pour la première fois depuis 2015", "sous réserve d'un accord",
]  # fmt: skip
BOILERPLATE = [
    "Lire aussi : Les autres annonces de la semaine", "Partager sur Facebook", "Twitter",
    "Temps de lecture : 3 min", "Article réservé aux abonnés", "Source : AFP",
    "© Le Quotidien 2024", "Abonnez-vous à notre newsletter", "Et vous ?",
    "Qu'en pensez-vous ?", "Publicité",
]  # fmt: skip


def sentence(rng: random.Random) -> str:
    obj = rng.choice(OBJECTS).format(n=rng.randint(2, 950))
    return f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {obj}, {rng.choice(TAILS)}."


def article(rng: random.Random, i: int) -> dict:
    title = f"{sentence(rng)[:-1]} ({i})"
    paragraphs = [" ".join(sentence(rng) for _ in range(rng.randint(2, 4))) for _ in range(5)]
    lines = [title, f"Le {rng.randint(1, 28)} mars 2024, par Jean Martin", *paragraphs]
    lines += [*rng.sample(BOILERPLATE, 4), title]
    return {"id": f"a{i}", "text": "\n".join(lines)}


def write_corpus(path: Path, n: int, seed: int = 0) -> float:
    """Write n articles (5 % near-duplicates of an earlier one); return mean characters."""
    rng = random.Random(seed)
    total = 0
    kept: list[dict] = []
    with path.open("w", encoding="utf-8") as f:
        for i in range(n):
            if kept and rng.random() < 0.05:
                rec = dict(rng.choice(kept), id=f"a{i}")
                rec["text"] += "\nUne phrase ajoutée à la fin par la rédaction."
            else:
                rec = article(rng, i)
                if len(kept) < 500:
                    kept.append(rec)
            total += len(rec["text"])
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")
    return total / n


CHILD = """
import json, resource, sys, time
from newsum.pipeline.clean import CleanOptions, clean
from newsum.pipeline.core.readers import read_inputs
from newsum.pipeline.core.record import Record
from newsum.pipeline.core.writers import write_jsonl
src, dedup = sys.argv[1], sys.argv[2] == "1"
# Warm up (language model load, lazy imports) so the rate is the steady state.
list(clean(iter([Record("warm-up", text="Un court texte pour charger les modèles.")])))
start = time.perf_counter()
duplicates = 0


def count(records):
    global duplicates
    for record in records:
        duplicates += record.duplicate_of is not None
        yield record


tally = write_jsonl(count(clean(read_inputs([src]), CleanOptions(dedup=dedup))), "/dev/null")
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "n": sum(tally.values()), "ok": tally["ok"],
                  "duplicates": duplicates,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run_once(path: Path, dedup: bool) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    cmd = [sys.executable, "-c", CHILD, str(path), "1" if dedup else "0"]
    if shutil.which("taskset"):
        cmd = ["taskset", "-c", "0", *cmd]
    return json.loads(
        subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    )


def measure(path: Path, repeat: int) -> tuple[dict, dict, float]:
    """Alternating rounds without and with dedup: each one's median run (by time), and
    the median of the rounds' time ratios (with / without)."""
    rounds = [(run_once(path, False), run_once(path, True)) for _ in range(repeat)]
    median = [
        sorted(runs, key=lambda run: run["seconds"])[repeat // 2]
        for runs in zip(*rounds, strict=True)
    ]
    ratios = sorted(with_["seconds"] / without["seconds"] for without, with_ in rounds)
    return median[0], median[1], ratios[repeat // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument(
        "--repeat", type=int, default=5, help="alternating rounds at 10k; the medians count"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    n_small, n_big = 1_000, max(args.articles, 1_000)
    with tempfile.TemporaryDirectory() as tmp:
        small, big = Path(tmp, "small.jsonl"), Path(tmp, "big.jsonl")
        write_corpus(small, n_small)
        chars = write_corpus(big, n_big)
        runs = {}
        for n, path in ((n_small, small), (n_big, big)):
            runs[n, False], runs[n, True], ratio = measure(path, args.repeat if n == n_big else 1)
    full = runs[(n_big, True)]
    result = {
        "articles": n_big,
        "mean_chars": round(chars),
        "rounds": args.repeat,
        "articles_per_s": round(full["n"] / full["seconds"], 1),
        "articles_per_s_no_dedup": round(n_big / runs[(n_big, False)]["seconds"], 1),
        "dedup_overhead": round(ratio, 3),
        "duplicates": full["duplicates"],
        "rss_mb_1k": round(runs[(n_small, True)]["rss_mb"], 1),
        "rss_mb_10k": round(full["rss_mb"], 1),
        "rss_mb_1k_no_dedup": round(runs[(n_small, False)]["rss_mb"], 1),
        "rss_mb_10k_no_dedup": round(runs[(n_big, False)]["rss_mb"], 1),
    }
    if args.json:
        print(json.dumps(result))
        return
    print(f"corpus: {n_big:,} generated articles, {result['mean_chars']:,} characters each")
    print("one core, read JSONL → clean → write JSONL")
    print(f"{'':24}{'articles/s':>12}{'RSS 1k MB':>12}{'RSS 10k MB':>12}{'10k / 1k':>10}")
    for label, suffix in (("clean (all steps)", ""), ("clean --no-dedup", "_no_dedup")):
        speed = result[f"articles_per_s{suffix}"]
        r1, r10 = result[f"rss_mb_1k{suffix}"], result[f"rss_mb_10k{suffix}"]
        print(f"{label:24}{speed:>12,.0f}{r1:>12.1f}{r10:>12.1f}{r10 / r1:>10.2f}")
    print(
        f"dedup overhead: {result['dedup_overhead']:.2f}× the run without it (goal ≤ 1.25×;"
        f" median of {args.repeat} alternating rounds); {result['duplicates']:,} duplicates flagged"
    )


if __name__ == "__main__":
    main()

"""Scoring 10,000 summary pairs: newsum's ROUGE (with bootstrap CIs) vs plain rouge-score.

    python benchmarks/bench_eval.py [--pairs 10000] [--json]

Same generated French pairs for every arm, one process, one after the other:
(a) rouge-score's RougeScorer with its default tokenizer and Porter stemmer, called
pair by pair, the usual loop; (b) newsum `fr` (Unicode words, Snowball French stems,
sentence split for rougeLsum) plus 1,000-resample bootstrap CIs; (c) newsum `compat`.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_clean import sentence


def pairs(n: int, seed: int = 0) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)
    refs = [" ".join(sentence(rng) for _ in range(2)) for _ in range(n)]
    preds = [" ".join(sentence(rng) for _ in range(rng.randint(1, 3))) for _ in range(n)]
    return preds, refs


def plain_rouge_score(preds: list[str], refs: list[str]) -> float:
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL", "rougeLsum"], use_stemmer=True)
    scores = [scorer.score(r, p) for p, r in zip(preds, refs, strict=True)]
    return sum(s["rouge1"].fmeasure for s in scores) / len(scores)


def newsum(preds: list[str], refs: list[str], tokenizer: str) -> float:
    from newsum.eval.rouge import RougeOptions, aggregate_rouge, rouge_pairs

    options = RougeOptions(tokenizer=tokenizer, split_sentences=True)
    return aggregate_rouge(rouge_pairs(preds, refs, options), options)["rouge1"]["fmeasure"]


def timed(fn, *args) -> tuple[float, float]:
    start = time.perf_counter()
    value = fn(*args)
    return time.perf_counter() - start, value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=10_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    preds, refs = pairs(args.pairs)
    timed(newsum, preds[:50], refs[:50], "fr")  # warm-up: imports, stemmer tables
    arms = {
        "rouge_score": timed(plain_rouge_score, preds, refs),
        "newsum_fr": timed(newsum, preds, refs, "fr"),
        "newsum_compat": timed(newsum, preds, refs, "compat"),
    }
    base = arms["rouge_score"][0]
    result = {
        name: {
            "seconds": round(s, 2),
            "pairs_per_s": round(args.pairs / s),
            "time_vs_rouge_score": round(s / base, 2),
        }
        for name, (s, _) in arms.items()
    }
    if args.json:
        print(json.dumps({"pairs": args.pairs, **result}))
        return
    print(f"{args.pairs:,} generated French pairs, rouge1/2/L/Lsum, one core")
    print(f"{'':16}{'seconds':>9}{'pairs/s':>10}{'time vs rouge-score':>21}")
    for name, r in result.items():
        print(
            f"{name:16}{r['seconds']:>9.2f}{r['pairs_per_s']:>10,}{r['time_vs_rouge_score']:>21.2f}"
        )
    print("newsum arms include sentence splitting for rougeLsum and 1,000-resample CIs.")


if __name__ == "__main__":
    main()

"""The device stays busy: `newsum run` against a SIMULATED GPU, sequential vs overlapped.

    python benchmarks/bench_device.py [--articles 2000] [--shard-size 1000] [--batch 64]
                                      [--latency-ms 15] [--step-ms 4] [--rounds 1] [--json]

The job is the real one (pipeline.job.run.run): generated French news articles (the
bench_clean corpus: boilerplate, bylines, 5 % near-duplicates, ~1,750 characters) read
from JSONL, cleaned with every step on, tokenized by the real SentencePiece tokenizers
of tiny models (models.tiny.build_tiny: a t5 summarizer like mT5 XL-Sum, a marian
translator like opus-mt-fr-en), chunked, batched by the engine (up to `--batch` inputs
of at most 512 tokens), decoded, cached and written in shards. Only the device is
simulated: both engines are built on `SimulatedDevice`, a real `Backend` whose
`generate` sleeps for the time a GPU would take, releasing the GIL as torch and
CTranslate2 do, and returns the first `max_new_tokens` ids of each input (the "summary"
is the article's start; the "translation" is its input).

The device model: a batch costs a fixed latency (launches, the encoder pass, copies)
plus one decoding step per token of its longest output, every sequence of the batch
making one token a step: `latency + step × tokens`. The defaults, 15 ms and 4 ms a
step at batch 64, are those of a base-size seq2seq model in half precision on a
recent data-center GPU; pass others to see where the CPU becomes the limit.

The device is busy while a batch is in `generate`; its share of the wall time of the
whole run (reading, cleaning, writing included) is printed for the sequential local
executor (`in_flight=1`: the CPU work runs between batches) and the overlapped one
(the default: see pipeline.job.executor), both from this one process, after a warm-up
run. The two runs must write byte-identical shards, and the device never runs two
batches at once. Goal: at least 90 % busy, overlapped, at batch 64.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from statistics import median

from newsum.models.backend import Backend, Decoding

sys.path.insert(0, str(Path(__file__).parent))
from bench_clean import write_corpus

MAX_INPUT_TOKENS = 512
#: Decoding lengths of the default preset's models: XL-Sum's 84, opus-mt's 128 (capped).
SUMMARY_TOKENS = 84
TRANSLATION_TOKENS = 128


@dataclass
class Busy:
    """When the device was busy: each batch's (start, end), and the most at once."""

    intervals: list[tuple[float, float]] = field(default_factory=list)
    running: int = 0
    most: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def enter(self) -> float:
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
        return time.perf_counter()

    def leave(self, start: float) -> None:
        end = time.perf_counter()
        with self.lock:
            self.running -= 1
            self.intervals.append((start, end))

    def seconds(self, start: float = float("-inf"), end: float = float("inf")) -> float:
        """Time covered by at least one batch between `start` and `end` (overlaps once)."""
        total, reach = 0.0, start
        for a, b in sorted(self.intervals):
            a, b = max(a, reach), min(b, end)
            if b > a:
                total += b - a
                reach = b
        return total

    def reset(self) -> None:
        with self.lock:
            self.intervals.clear()
            self.most = self.running


class Timed(Backend):
    """A backend whose calls are recorded in `busy`: how long each batch held the device."""

    def __init__(self, inner: Backend, busy: Busy) -> None:
        self.inner = inner
        self.busy = busy
        self.max_input_tokens = inner.max_input_tokens
        self.pad_token_id = inner.pad_token_id
        self.device = inner.device

    def generate(self, inputs: list[list[int]], decoding: Decoding) -> list[list[int]]:
        start = self.busy.enter()
        try:
            return self.inner.generate(inputs, decoding)
        finally:
            self.busy.leave(start)

    def describe(self) -> dict[str, str]:
        return self.inner.describe()


class SimulatedDevice(Backend):
    """SIMULATION of a GPU: sleeps `latency + step × (longest output)` seconds a batch
    (the GIL released, as a real device's kernels release it) and returns the first
    `max_new_tokens` ids of each input."""

    device = "simulated-gpu"

    def __init__(self, pad_token_id: int, latency_s: float, step_s: float) -> None:
        self.max_input_tokens = MAX_INPUT_TOKENS
        self.pad_token_id = pad_token_id
        self.latency_s = latency_s
        self.step_s = step_s

    def generate(self, inputs: list[list[int]], decoding: Decoding) -> list[list[int]]:
        pad = self.pad_token_id
        outputs = [[t for t in seq if t != pad][: decoding.max_new_tokens] for seq in inputs]
        time.sleep(self.latency_s + self.step_s * max(map(len, outputs)))
        return outputs

    def describe(self) -> dict[str, str]:
        return {"backend": "simulated", "device": self.device}


def tiny_tokenizers(root: Path) -> dict[str, Path]:
    """The tiny t5 (summarizer) and marian (translator) model folders, built in `root`."""
    from newsum.models.tiny import build_tiny

    return {arch: build_tiny(root / arch, arch) for arch in ("t5", "marian")}


def simulated_models(folders: dict[str, Path], busy: Busy, batch: int, latency_s: float,
                     step_s: float):  # fmt: skip
    """The run's model stages (summarize, translate) on engines with a simulated device."""
    from transformers import AutoTokenizer

    from newsum.models.engine import Engine
    from newsum.models.stages import Stage
    from newsum.models.summarize import Summarize
    from newsum.models.translate import Translate
    from newsum.pipeline.job.models import Models

    def engine(arch: str, max_new_tokens: int) -> Engine:
        tokenizer = AutoTokenizer.from_pretrained(folders[arch])
        device = SimulatedDevice(tokenizer.pad_token_id, latency_s, step_s)
        return Engine(
            Timed(device, busy),
            tokenizer,
            Decoding(max_new_tokens=max_new_tokens),
            max_input_tokens=MAX_INPUT_TOKENS,
            batch_tokens=batch * MAX_INPUT_TOKENS,
            max_batch_size=batch,
        )

    summarizer, translator = engine("t5", SUMMARY_TOKENS), engine("marian", TRANSLATION_TOKENS)
    simulation = {"latency_ms": latency_s * 1e3, "step_ms": step_s * 1e3, "batch": batch}
    stages = [
        Stage(Summarize(summarizer, ("fr",)), summarizer, {"id": "simulated-t5", **simulation}),
        Stage(Translate(translator, ("fr",)), translator, {"id": "simulated-marian"}),
    ]
    info = {"preset": "simulated", "summarizer": stages[0].info, "translator": stages[1].info,
            "generation": {"max_batch_size": batch}}  # fmt: skip
    return Models(stages, info, fingerprint=f"simulated-{batch}")


def run_job(source: Path, outdir: Path, models, busy: Busy, in_flight: int,
            shard_size: int) -> dict:  # fmt: skip
    """The real job over `source` with `models`; the device's busy share of its wall time."""
    from newsum.pipeline.job.options import RunOptions
    from newsum.pipeline.job.run import run

    options = RunOptions(inputs=(str(source),), output=str(outdir), shard_size=shard_size)
    busy.reset()
    start = time.perf_counter()
    manifest = run(options, models=models, in_flight=in_flight)
    end = time.perf_counter()
    device = busy.seconds(start, end)
    return {
        "wall_s": round(end - start, 2),
        "device_s": round(device, 2),
        "busy": round(device / (end - start), 3),
        "batches": len(busy.intervals),
        "most_batches_at_once": busy.most,
        "articles_per_s": round(sum(manifest["counts"].values()) / (end - start), 1),
        "ok": manifest["counts"].get("ok", 0),
    }


def shards_identical(a: Path, b: Path) -> bool:
    files = sorted(p.name for p in (a / "shards").iterdir())
    return files == sorted(p.name for p in (b / "shards").iterdir()) and all(
        (a / "shards" / f).read_bytes() == (b / "shards" / f).read_bytes() for f in files
    )


def compare(args) -> dict:
    """Both arms from one process, `args.rounds` times each (medians), after a warm-up."""
    from newsum.models.libraries import quiet_libraries
    from newsum.pipeline.job.executor import IN_FLIGHT

    quiet_libraries()
    arms = {"sequential": 1, "overlapped": IN_FLIGHT}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        busy = Busy()
        models = simulated_models(tiny_tokenizers(root / "models"), busy, args.batch,
                                  args.latency_ms / 1e3, args.step_ms / 1e3)  # fmt: skip
        source, warm = root / "in.jsonl", root / "warm.jsonl"
        write_corpus(source, args.articles)
        write_corpus(warm, args.batch, seed=1)
        run_job(warm, root / "warm", models, busy, IN_FLIGHT, args.shard_size)
        runs: dict[str, list[dict]] = {arm: [] for arm in arms}
        for n in range(args.rounds):
            for arm, in_flight in arms.items():
                out = root / f"{arm}-{n}"
                runs[arm].append(run_job(source, out, models, busy, in_flight, args.shard_size))
        identical = all(
            shards_identical(root / f"sequential-{n}", root / f"{arm}-{n}")
            for n in range(args.rounds)
            for arm in arms
        )
    results = {arm: _median(rs) for arm, rs in runs.items()}
    return {
        "simulation": "SIMULATED device: generate() sleeps latency + step x longest output",
        "latency_ms": args.latency_ms,
        "step_ms": args.step_ms,
        "batch": args.batch,
        "articles": args.articles,
        "shard_size": args.shard_size,
        "rounds": args.rounds,
        "in_flight": IN_FLIGHT,
        "identical_shards": identical,
        **results,
    }


def _median(runs: list[dict]) -> dict:
    """The run of median busy share, with every round's share."""
    chosen = sorted(runs, key=lambda r: r["busy"])[len(runs) // 2]
    return {**chosen, "busy_rounds": [r["busy"] for r in runs],
            "busy_median": median(r["busy"] for r in runs)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=2_000)
    parser.add_argument("--shard-size", type=int, default=1_000)
    parser.add_argument("--batch", type=int, default=64, help="inputs a batch at most")
    parser.add_argument("--latency-ms", type=float, default=15.0, help="simulated, a batch")
    parser.add_argument("--step-ms", type=float, default=4.0, help="simulated, a token step")
    parser.add_argument("--rounds", type=int, default=1, help="runs of each arm; medians")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    result = compare(args)
    if args.json:
        print(json.dumps(result))
        return
    print(f"newsum run, {args.articles:,} generated articles in shards of {args.shard_size:,}, "
          f"real reading, cleaning, tokenizers, caching and writing")  # fmt: skip
    print(f"SIMULATED device at batch {args.batch}: {args.latency_ms:g} ms a batch + "
          f"{args.step_ms:g} ms a decoding step (sleeps, GIL released)")  # fmt: skip
    print(f"{'executor':>24}{'wall s':>9}{'device s':>10}{'busy':>8}{'articles/s':>12}"
          f"{'batches':>9}{'at once':>9}")  # fmt: skip
    for arm, r in result.items():
        if arm in ("sequential", "overlapped"):
            label = f"{arm} ({'1' if arm == 'sequential' else result['in_flight']} in flight)"
            print(f"{label:>24}{r['wall_s']:>9.2f}{r['device_s']:>10.2f}{r['busy']:>8.1%}"
                  f"{r['articles_per_s']:>12.1f}{r['batches']:>9}"
                  f"{r['most_batches_at_once']:>9}")  # fmt: skip
    print(f"shards identical: {'yes' if result['identical_shards'] else 'NO'}; "
          f"goal: overlapped >= 90 % busy")  # fmt: skip


if __name__ == "__main__":
    main()

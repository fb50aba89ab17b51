"""Generation throughput on CPU: newsum's engine against the best raw use of each library.

    python benchmarks/bench_generate.py [--inputs 64] [--new-tokens 32] [--repeat 3]
                                        [--quick] [--json]

One random model with opus-mt-fr-en's dimensions (vocabulary 59,514, d_model 512, 6+6
layers, FFN 2,048, 8 heads; built by `models.tiny.build_tiny`, so no download) runs the
same French inputs (15 to 60 words each) five ways, each in a fresh subprocess:

    naive      AutoTokenizer + AutoModelForSeq2SeqLM, `generate` on one article at a time
    torch      newsum's engine (token-budget batches sorted by length), torch backend
    ct2        newsum's engine on the same model converted to CTranslate2 int8
    raw-torch  transformers `generate` on length-sorted padded batches, a sweep of batch
               sizes (16, 32, 64)
    raw-ct2    CTranslate2's `translate_batch` on all inputs at once, a sweep of replicas
               (`inter_threads` 1, 2, 4 up to the cores; `intra_threads` the cores shared
               out) x `max_batch_size` (16, 32, 64)

Every arm tokenizes and detokenizes with the same Hugging Face tokenizer inside its timed
pass. Decoding is greedy with min = max new tokens, so every arm produces the same
number of tokens (checked) and output tokens/s compares equal work. Each measurement is
a fresh process that loads its model, warms up on two inputs and times one pass over all
inputs (a raw arm does so for each setting of its sweep); the arms take turns for
`--repeat` rounds, each setting's median counts, and a raw arm's best median is its
winner. newsum/raw is the median of the rounds' ratios (each engine runs just before its
raw arm, so load from other processes hits both alike); the ratio of the medians is
printed too. newsum runs at its defaults (threads and replicas from the cores available).
Targets on 2 cores: newsum/raw >= 0.95 for both libraries; torch/naive >= 8, ct2/naive
>= 25. `--quick` skips the naive arm and narrows the sweeps to their usual winners; on a
busy machine, more rounds (`--repeat 5`) steady the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "models" / "data" / "french.txt"
# Helsinki-NLP/opus-mt-fr-en's config.
OPUS_MT_FR_EN = {
    "vocab_size": 59514,
    "d_model": 512,
    "encoder_layers": 6,
    "decoder_layers": 6,
    "encoder_ffn_dim": 2048,
    "decoder_ffn_dim": 2048,
    "encoder_attention_heads": 8,
    "decoder_attention_heads": 8,
    "max_position_embeddings": 512,
}
# Each engine just before its raw arm: the pair runs close in time, under the same load.
ARMS = ("naive", "torch", "raw-torch", "ct2", "raw-ct2")
ENGINES = ("torch", "ct2")  # each compared with its raw arm
TARGETS = {"torch": 8.0, "ct2": 25.0}  # vs naive
TARGET_VS_RAW = 0.95
BATCH_SIZES = (16, 32, 64)
QUICK = {"raw-torch": [32, 64], "raw-ct2": [(2, 16), (2, 32)]}  # (replicas, batch size)


def make_inputs(n: int, seed: int = 0, words: tuple[int, int] = (15, 60)) -> list[str]:
    """n French passages of `words` (lowest, highest) words, each starting at a sentence of
    the corpus (benchmarks/bench_llm.py draws longer ones the same way)."""
    low, high = words
    corpus = CORPUS.read_text(encoding="utf-8").split()
    starts = [i for i in range(len(corpus) - high) if i == 0 or corpus[i - 1].endswith(".")]
    rng = random.Random(seed)
    texts = []
    for _ in range(n):
        start = rng.choice(starts)
        texts.append(" ".join(corpus[start : start + rng.randint(low, high)]))
    return texts


# --- the arms, each run in its own process ------------------------------------------------


def naive_runner(model_dir: str, new_tokens: int):
    import torch
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForSeq2SeqLM.from_pretrained(model_dir).eval()

    def run(texts: list[str]) -> list[int]:
        counts = []
        with torch.inference_mode():
            for text in texts:
                inputs = tokenizer(text, return_tensors="pt")
                out = model.generate(
                    **inputs,
                    do_sample=False,
                    num_beams=1,
                    min_new_tokens=new_tokens,
                    max_new_tokens=new_tokens,
                )
                tokenizer.decode(out[0], skip_special_tokens=True)
                counts.append(out.shape[1] - 1)  # less the decoder start token
        return counts

    return run, f"torch threads={torch.get_num_threads()}, one article per generate()"


def engine_runner(
    model_dir: str, new_tokens: int, backend: str, batch_tokens: int | None, cap: int | None
):
    from newsum.models.load import load_model
    from newsum.models.options import GenerationOptions

    given = {"batch_tokens": batch_tokens, "max_batch_size": cap}
    options = GenerationOptions(
        backend=backend,
        device="cpu",
        num_beams=1,
        min_new_tokens=new_tokens,
        max_new_tokens=new_tokens,
        **{k: v for k, v in given.items() if v is not None},  # else newsum's defaults
    )
    loaded = load_model(model_dir, options)
    engine = loaded.engine

    def run(texts: list[str]) -> list[int]:
        results = engine.generate(texts)
        errors = [r.error for r in results if r.error]
        if errors:
            raise RuntimeError(f"{len(errors)} inputs failed: {errors[0]}")
        return [r.new_tokens for r in results]

    info = loaded.describe()
    if backend == "torch":
        threads = f"torch threads={info['threads']}"
    else:
        threads = f"ct2 replicas={info['replicas']} x threads={info['threads_per_replica']}"
    return run, (
        f"{threads}, batch_tokens={engine.batch_tokens}, max_batch_size={engine.max_batch_size}"
    )


def raw_torch_runners(model_dir: str, new_tokens: int, sizes: list[int]):
    """transformers as a careful user runs it: inputs sorted by length, padded batches."""
    import torch
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForSeq2SeqLM.from_pretrained(model_dir).eval()

    def runner(size: int):
        def run(texts: list[str]) -> list[int]:
            lengths = [len(ids) for ids in tokenizer(texts)["input_ids"]]
            order = sorted(range(len(texts)), key=lambda i: -lengths[i])
            counts = [0] * len(texts)
            with torch.inference_mode():
                for start in range(0, len(order), size):
                    batch = order[start : start + size]
                    inputs = tokenizer([texts[i] for i in batch], padding=True, return_tensors="pt")
                    out = model.generate(
                        **inputs,
                        do_sample=False,
                        num_beams=1,
                        min_new_tokens=new_tokens,
                        max_new_tokens=new_tokens,
                    )
                    tokenizer.batch_decode(out, skip_special_tokens=True)
                    pad = model.config.pad_token_id
                    for i, row in zip(batch, out.tolist(), strict=True):
                        counts[i] = sum(t != pad for t in row)
            return counts

        return run, f"torch threads={torch.get_num_threads()}, batch size {size}, sorted"

    return [runner(size) for size in sizes]


def raw_ct2_runners(model_dir: str, new_tokens: int, settings: list[tuple[int, int]]):
    """CTranslate2 as its documentation recommends: every input in one translate_batch
    call, which sorts them by length and deals max_batch_size chunks to its replicas."""
    import ctranslate2
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    cores = len(os.sched_getaffinity(0))

    def runner(replicas: int, size: int):
        threads = max(1, cores // replicas)
        translator = None

        def run(texts: list[str]) -> list[int]:
            nonlocal translator
            if translator is None:  # loaded at the warm-up, one at a time
                translator = ctranslate2.Translator(
                    model_dir, device="cpu", inter_threads=replicas, intra_threads=threads
                )
            tokens = [tokenizer.convert_ids_to_tokens(ids) for ids in tokenizer(texts)["input_ids"]]
            results = translator.translate_batch(
                tokens,
                max_batch_size=size,
                beam_size=1,
                min_decoding_length=new_tokens,
                max_decoding_length=new_tokens,
            )
            outputs = [tokenizer.convert_tokens_to_ids(r.hypotheses[0]) for r in results]
            tokenizer.batch_decode(outputs, skip_special_tokens=True)
            if len(texts) > 2:
                translator = None  # the timed pass is the last: free it for the next
            return [len(ids) for ids in outputs]

        label = f"inter_threads={replicas} intra_threads={threads}, max_batch_size={size}"
        return run, label

    return [runner(replicas, size) for replicas, size in settings]


def sweep(arm: str, cores: int, quick: bool) -> list:
    """The settings a raw arm tries: batch sizes, or (replicas, batch size) pairs."""
    if quick:
        return QUICK[arm]
    if arm == "raw-torch":
        return list(BATCH_SIZES)
    replicas = [n for n in (1, 2, 4) if n <= cores]
    return [(n, size) for n in replicas for size in BATCH_SIZES]


def peak_rss_mb() -> float:
    """This process's peak RSS. Linux's ru_maxrss would include the parent's peak (it
    survives exec, and the parent held the model while building it); VmHWM does not."""
    try:
        status = Path("/proc/self/status").read_text()
        return int(status.split("VmHWM:")[1].split()[0]) / 1024
    except (OSError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(args: argparse.Namespace) -> None:
    """One measurement: load, warm up on two inputs, then time one pass over all inputs;
    for a raw arm, one such measurement for each setting of its sweep."""
    sys.path.insert(0, str(ROOT))
    texts = make_inputs(args.inputs)
    if args.arm == "naive":
        runners = [naive_runner(args.model, args.new_tokens)]
    elif args.arm in ENGINES:
        runners = [
            engine_runner(
                args.model, args.new_tokens, args.arm, args.batch_tokens, args.max_batch_size
            )
        ]
    else:
        settings = sweep(args.arm, len(os.sched_getaffinity(0)), args.quick)
        make = raw_torch_runners if args.arm == "raw-torch" else raw_ct2_runners
        runners = make(args.model, args.new_tokens, settings)
    reports = []
    for run, setup in runners:
        run(texts[:2])  # lazy imports, allocator, kernels
        wall, cpu = time.perf_counter(), time.process_time()
        counts = run(texts)
        seconds, cpu_seconds = time.perf_counter() - wall, time.process_time() - cpu
        reports.append(
            {
                "seconds": seconds,
                "cpu_seconds": cpu_seconds,
                "new_tokens": sum(counts),
                "off_length": sum(c != args.new_tokens for c in counts),
                "setup": setup,
            }
        )
    rss = peak_rss_mb()
    print(json.dumps([{**report, "rss_mb": rss} for report in reports]))


# --- the parent: build, convert, run the arms, report ---------------------------------------


def measure(arm: str, model: Path, args: argparse.Namespace, script: str = __file__) -> list[dict]:
    """One fresh process of `script` (this one, or bench_llm.py) for `arm`; its reports
    (one for each setting of a sweep)."""
    cmd = [sys.executable, script, "--arm", arm, "--model", str(model)]
    for name in ("inputs", "new_tokens", "batch_tokens", "max_batch_size"):
        value = getattr(args, name)
        if value is not None:
            cmd += [f"--{name.replace('_', '-')}", str(value)]
    if args.quick:
        cmd.append("--quick")
    env = dict(os.environ, HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
    if proc.returncode != 0:
        sys.exit(f"the {arm} arm failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def rate(run: dict) -> float:
    return run["new_tokens"] / run["seconds"]


def median_run(runs: list[dict]) -> dict:
    """The run with the median time, its rate, and the highest peak RSS of all runs."""
    run = sorted(runs, key=lambda r: r["seconds"])[len(runs) // 2]
    return {
        **run,
        "tok_s": rate(run),
        "rss_mb": max(r["rss_mb"] for r in runs),
        "off_length": max(r["off_length"] for r in runs),
        "all_tok_s": [rate(r) for r in runs],  # by round
    }


def cpu_stall_seconds() -> float | None:
    """Seconds some task here waited for a CPU (Linux PSI), to tell a busy machine."""
    try:
        line = Path("/proc/pressure/cpu").read_text().splitlines()[0]
        return int(line.rsplit("total=", 1)[1]) / 1e6
    except (OSError, IndexError, ValueError):
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", type=int, default=64, help="articles (default 64)")
    parser.add_argument("--new-tokens", type=int, default=32, help="forced output length")
    parser.add_argument("--repeat", type=int, default=3, help="runs per arm; the median counts")
    parser.add_argument(
        "--batch-tokens", type=int, help="newsum's token budget (default: newsum's own)"
    )
    parser.add_argument(
        "--max-batch-size", type=int, help="newsum's batch cap (default: newsum's own)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="no naive arm; the sweeps' usual winners only"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--arm", choices=ARMS, help=argparse.SUPPRESS)  # child process
    parser.add_argument("--model", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.arm:
        child(args)
        return

    sys.path.insert(0, str(ROOT))
    from newsum.models.ct2 import convert
    from newsum.models.libraries import quiet_libraries
    from newsum.models.tiny import build_tiny

    quiet_libraries()  # no progress bars while saving the model
    arms = [arm for arm in ARMS if not (args.quick and arm == "naive")]
    started, stalled = time.perf_counter(), cpu_stall_seconds()
    with tempfile.TemporaryDirectory(prefix="bench-generate-") as tmp:
        hf = build_tiny(Path(tmp, "hf"), "marian", dims=OPUS_MT_FR_EN)
        ct2 = convert(str(hf), Path(tmp, "ct2"), quantization="int8")
        models = {"naive": hf, "torch": hf, "ct2": ct2, "raw-torch": hf, "raw-ct2": ct2}
        # Rounds, not one arm after the other: load from other processes drifts, and
        # interleaving spreads it over the arms.
        rounds = [
            {arm: measure(arm, models[arm], args) for arm in arms} for _ in range(args.repeat)
        ]
    elapsed = time.perf_counter() - started
    # Each arm's settings (one, or a sweep's) by their median; a raw arm's best is its winner.
    settings = {
        arm: [median_run([r[arm][k] for r in rounds]) for k in range(len(rounds[0][arm]))]
        for arm in arms
    }
    runs = {arm: max(found, key=lambda run: run["tok_s"]) for arm, found in settings.items()}
    # newsum / raw within each round (paired, so drifting load from other processes
    # cancels out), against the raw winner's run of that round; the median counts.
    paired = {}
    for engine in ENGINES:
        raw = f"raw-{engine}"
        winner = settings[raw].index(runs[raw])
        paired[engine] = sorted(rate(r[engine][0]) / rate(r[raw][winner]) for r in rounds)
    result: dict = {
        arm: {
            "tok_s": round(run["tok_s"], 1),
            "rss_mb": round(run["rss_mb"], 1),
            "setup": run["setup"],
        }
        for arm, run in runs.items()
    }
    for engine in ENGINES:
        result[f"{engine}_vs_raw"] = round(statistics.median(paired[engine]), 3)
        result[f"{engine}_vs_raw_medians"] = round(
            runs[engine]["tok_s"] / runs[f"raw-{engine}"]["tok_s"], 3
        )
    if "naive" in runs:
        for engine in ENGINES:
            result[f"{engine}_vs_naive"] = round(runs[engine]["tok_s"] / runs["naive"]["tok_s"], 2)
    for arm in ("raw-torch", "raw-ct2"):
        result[arm]["sweep"] = {run["setup"]: round(run["tok_s"], 1) for run in settings[arm]}
    for arm, run in runs.items():
        if run["off_length"]:
            print(
                f"warning: {arm}: {run['off_length']} outputs not {args.new_tokens} tokens long",
                file=sys.stderr,
            )
    share = None
    if stalled is not None:
        share = (cpu_stall_seconds() - stalled) / elapsed
        result["cpu_wait_share"] = round(share, 2)
    if args.json:
        print(json.dumps(result))
        return

    print(
        f"random model, opus-mt-fr-en dimensions; {args.inputs} French inputs of 15-60 words; "
        f"greedy, {args.new_tokens} new tokens each (forced); {len(os.sched_getaffinity(0))} "
        f"CPU cores; median of {args.repeat} fresh processes, each after a warm-up"
    )
    for arm in ("raw-torch", "raw-ct2"):
        print(f"{arm} sweep (median tok/s; * the winner):")
        for run in settings[arm]:
            mark = "*" if run is runs[arm] else " "
            print(f"  {mark} {run['tok_s']:>7,.1f}  {run['setup']}")
    base = runs["naive"]["tok_s"] if "naive" in runs else None
    print(
        f"{'arm':10}{'tok/s':>9}{'s/run':>8}{'CPU s':>8}{'RSS MB':>9}"
        f"{'vs naive':>10}{'vs raw':>8}  setup"
    )
    for arm, run in runs.items():
        naive = f"{run['tok_s'] / base:>9.1f}x" if base else f"{'-':>10}"
        raw = f"{result[f'{arm}_vs_raw']:>8.2f}" if arm in ENGINES else f"{'':>8}"
        print(
            f"{arm:10}{run['tok_s']:>9,.1f}{run['seconds']:>8.1f}{run['cpu_seconds']:>8.1f}"
            f"{run['rss_mb']:>9,.0f}{naive}{raw}  {run['setup']}"
        )
    for engine in ENGINES:
        ratio = result[f"{engine}_vs_raw"]
        verdict = "met" if ratio >= TARGET_VS_RAW else "NOT met"
        rounds_text = ", ".join(
            f"{x:,.0f}/{y:,.0f}"
            for x, y in zip(
                runs[engine]["all_tok_s"], runs[f"raw-{engine}"]["all_tok_s"], strict=True
            )
        )
        print(
            f"newsum {engine} / raw {engine} = {ratio:.2f}, median of the rounds' ratios "
            f"(target >= {TARGET_VS_RAW:g}): {verdict}; ratio of the medians "
            f"{result[f'{engine}_vs_raw_medians']:.2f}; by round {rounds_text} tok/s"
        )
    if base:
        for arm, target in TARGETS.items():
            ratio = result[f"{arm}_vs_naive"]
            verdict = "met" if ratio >= target else "NOT met"
            print(f"{arm}/naive = {ratio:.1f}x (target >= {target:g}x): {verdict}")
    line = f"whole run: {elapsed:.0f} s"
    if share is not None:
        line += f"; tasks waited for a CPU {share:.0%} of the time"
        if share > 0.1:
            line += " (other processes competed: figures are noisy, run again)"
    print(line)


if __name__ == "__main__":
    main()

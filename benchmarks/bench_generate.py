"""Generation throughput on CPU: a naive per-article loop vs newsum's engine (torch, ct2 int8).

    python benchmarks/bench_generate.py [--inputs 64] [--new-tokens 32] [--repeat 3] [--json]

One random model with opus-mt-fr-en's dimensions (vocabulary 59,514, d_model 512, 6+6
layers, FFN 2,048, 8 heads; built by `models.tiny.build_tiny`, so no download) runs the
same French inputs (15 to 60 words each) three ways, each in a fresh subprocess:

    naive  AutoTokenizer + AutoModelForSeq2SeqLM, `generate` on one article at a time
    torch  newsum's engine (token-budget batches sorted by length), torch backend
    ct2    newsum's engine on the same model converted to CTranslate2 int8

Decoding is greedy with min = max new tokens, so every arm produces the same number of
tokens (checked) and output tokens/s compares equal work. Each measurement is a fresh
process that loads its model, warms up on two inputs and times one pass over all inputs;
the arms take turns for `--repeat` rounds and each arm's median counts. Peak RSS is the
child's (model loading included). Every arm uses the libraries' default thread counts
(all cores). Targets on 2 cores: torch/naive >= 8, ct2/naive >= 25.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
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
ARMS = ("naive", "torch", "ct2")
TARGETS = {"torch": 8.0, "ct2": 25.0}


def make_inputs(n: int, seed: int = 0) -> list[str]:
    """n French passages of 15 to 60 words, each starting at a sentence of the corpus."""
    words = CORPUS.read_text(encoding="utf-8").split()
    starts = [i for i in range(len(words) - 60) if i == 0 or words[i - 1].endswith(".")]
    rng = random.Random(seed)
    texts = []
    for _ in range(n):
        start = rng.choice(starts)
        texts.append(" ".join(words[start : start + rng.randint(15, 60)]))
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


def engine_runner(model_dir: str, new_tokens: int, backend: str, batch_tokens: int, cap: int):
    from newsum.models.load import load_model
    from newsum.models.options import GenerationOptions

    options = GenerationOptions(
        backend=backend,
        device="cpu",
        batch_tokens=batch_tokens,
        max_batch_size=cap,
        num_beams=1,
        min_new_tokens=new_tokens,
        max_new_tokens=new_tokens,
    )
    engine = load_model(model_dir, options).engine

    def run(texts: list[str]) -> list[int]:
        results = engine.generate(texts)
        errors = [r.error for r in results if r.error]
        if errors:
            raise RuntimeError(f"{len(errors)} inputs failed: {errors[0]}")
        return [r.new_tokens for r in results]

    if backend == "torch":
        import torch

        threads = f"torch threads={torch.get_num_threads()}"
    else:
        threads = "ct2 intra_threads=default"
    return run, f"{threads}, batch_tokens={batch_tokens}, max_batch_size={cap}"


def peak_rss_mb() -> float:
    """This process's peak RSS. Linux's ru_maxrss would include the parent's peak (it
    survives exec, and the parent held the model while building it); VmHWM does not."""
    try:
        status = Path("/proc/self/status").read_text()
        return int(status.split("VmHWM:")[1].split()[0]) / 1024
    except (OSError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(args: argparse.Namespace) -> None:
    """One measurement: load, warm up on two inputs, then time one pass over all inputs."""
    sys.path.insert(0, str(ROOT))
    texts = make_inputs(args.inputs)
    if args.arm == "naive":
        run, setup = naive_runner(args.model, args.new_tokens)
    else:
        run, setup = engine_runner(
            args.model, args.new_tokens, args.arm, args.batch_tokens, args.max_batch_size
        )
    run(texts[:2])  # lazy imports, allocator, kernels
    wall, cpu = time.perf_counter(), time.process_time()
    counts = run(texts)
    seconds, cpu_seconds = time.perf_counter() - wall, time.process_time() - cpu
    report = {
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "new_tokens": sum(counts),
        "off_length": sum(c != args.new_tokens for c in counts),
        "rss_mb": peak_rss_mb(),
        "setup": setup,
    }
    print(json.dumps(report))


# --- the parent: build, convert, run the arms, report ---------------------------------------


def measure(arm: str, model: Path, args: argparse.Namespace) -> dict:
    """One fresh process for `arm`; its report."""
    cmd = [sys.executable, __file__, "--arm", arm, "--model", str(model)]
    for name in ("inputs", "new_tokens", "batch_tokens", "max_batch_size"):
        cmd += [f"--{name.replace('_', '-')}", str(getattr(args, name))]
    env = dict(os.environ, HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
    if proc.returncode != 0:
        sys.exit(f"the {arm} arm failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def median_run(runs: list[dict]) -> dict:
    """The run with the median time, its rate, and the highest peak RSS of all runs."""
    run = sorted(runs, key=lambda r: r["seconds"])[len(runs) // 2]
    return {
        **run,
        "tok_s": run["new_tokens"] / run["seconds"],
        "rss_mb": max(r["rss_mb"] for r in runs),
        "off_length": max(r["off_length"] for r in runs),
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
    parser.add_argument("--batch-tokens", type=int, default=4096, help="engine token budget")
    parser.add_argument("--max-batch-size", type=int, default=64, help="engine batch cap")
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
    started, stalled = time.perf_counter(), cpu_stall_seconds()
    with tempfile.TemporaryDirectory(prefix="bench-generate-") as tmp:
        hf = build_tiny(Path(tmp, "hf"), "marian", dims=OPUS_MT_FR_EN)
        ct2 = convert(str(hf), Path(tmp, "ct2"), quantization="int8")
        models = {"naive": hf, "torch": hf, "ct2": ct2}
        # Rounds, not one arm after the other: load from other processes drifts, and
        # interleaving spreads it over the arms.
        rounds = [
            {arm: measure(arm, models[arm], args) for arm in ARMS} for _ in range(args.repeat)
        ]
    runs = {arm: median_run([r[arm] for r in rounds]) for arm in ARMS}
    elapsed = time.perf_counter() - started
    base = runs["naive"]["tok_s"]
    result = {
        arm: {"tok_s": round(run["tok_s"], 1), "rss_mb": round(run["rss_mb"], 1)}
        for arm, run in runs.items()
    }
    result["torch_vs_naive"] = round(runs["torch"]["tok_s"] / base, 2)
    result["ct2_vs_naive"] = round(runs["ct2"]["tok_s"] / base, 2)
    for arm, run in runs.items():
        if run["off_length"]:
            print(
                f"warning: {arm}: {run['off_length']} outputs not {args.new_tokens} tokens long",
                file=sys.stderr,
            )
    if args.json:
        print(json.dumps(result))
        return

    print(
        f"random model, opus-mt-fr-en dimensions; {args.inputs} French inputs of 15-60 words; "
        f"greedy, {args.new_tokens} new tokens each (forced); {os.cpu_count()} CPU cores, "
        f"default thread counts; median of {args.repeat} fresh processes, each after a warm-up"
    )
    print(f"{'arm':8}{'tok/s':>9}{'s/run':>8}{'CPU s':>8}{'RSS MB':>9}{'vs naive':>10}  setup")
    for arm, run in runs.items():
        print(
            f"{arm:8}{run['tok_s']:>9,.1f}{run['seconds']:>8.1f}{run['cpu_seconds']:>8.1f}"
            f"{run['rss_mb']:>9,.0f}{run['tok_s'] / base:>9.1f}x  {run['setup']}"
        )
    for arm, target in TARGETS.items():
        ratio = result[f"{arm}_vs_naive"]
        verdict = "met" if ratio >= target else "NOT met"
        print(f"{arm}/naive = {ratio:.1f}x (target >= {target:g}x): {verdict}")
    line = f"whole run: {elapsed:.0f} s"
    if stalled is not None:
        share = (cpu_stall_seconds() - stalled) / elapsed
        line += f"; tasks waited for a CPU {share:.0%} of the time"
        if share > 0.1:
            line += " (other processes competed: figures are noisy, run again)"
    print(line)


if __name__ == "__main__":
    main()

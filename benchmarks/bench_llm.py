"""Instruct-LLM generation throughput on CPU: newsum's engine against raw transformers.

    python benchmarks/bench_llm.py [--inputs 8] [--new-tokens 16] [--repeat N]
                                   [--tiny] [--quick] [--json]

One random model with the dimensions of the `llm-small` preset's Qwen/Qwen2.5-1.5B-Instruct
(1.5 billion float32 parameters, 6.2 GB; built by `models.tiny.build_tiny` with
`QWEN25_15B_DIMS`, so no download; `--tiny` keeps the toy dimensions for a smoke test)
summarizes the same French inputs (40 to 120 words each) three ways, each in a fresh
subprocess:

    naive   AutoTokenizer + AutoModelForCausalLM: the chat template applied to one article
            at a time, `generate` on it, its answer decoded
    newsum  newsum's engine (`load_model` + `engine.generate`): ChatTokenizer, left-padded
            token-budget batches sorted by length, answers cleaned
    raw     transformers at its best: the same prompts, sorted by length, left-padded
            batches, a sweep of batch sizes (4, 8; measured on 2 cores, a float32 product
            of 2 rows costs about as much as one of 8, so batches of 2 lose to both)

Every arm sends the chat messages newsum sends (`prompts.messages` with the summarize
prompt, the template applied with the same arguments: the prompt token counts are checked
equal) and decodes its answers inside its timed pass. Decoding is greedy with min = max
new tokens, so every arm produces the same number of tokens (checked: random weights never
stop early) and output tokens/s compares equal work. The method is bench_generate.py's:
each measurement is a fresh process that loads the model, warms up on one short input
(two new tokens: on a 1.5B model a full-length warm-up costs as much as a tenth of the
timed pass) and times one pass over all inputs (the raw arm does so for each batch size of
its sweep); the arms take turns for `--repeat` rounds (newsum just before raw, so the pair
runs under the same load); each setting's median counts and the raw arm's best is its
winner. newsum/raw is the median of the rounds' ratios against the winner, newsum/naive
the ratio of the medians. Target: newsum/raw >= 0.95. `--batch-tokens` and
`--max-batch-size` set newsum's batching (default: newsum's own, 4,096 tokens on CPU,
prompt and answer both counted).

Columns: `padded` the prompt positions computed, padding included; `tmpl s` the seconds
spent applying the chat template (newsum's timed apart, after its pass); `wait` the share
of the timed pass during which some task on the machine waited for a CPU (Linux PSI): above
~10%, other processes took cores from the arm and its figure is not to be trusted.

Memory: the model is built once, in a subprocess (its build peaks near 7.4 GB), into a
temporary folder reused by every arm; one arm process at a time holds one copy of it.

Time at 1.5B dimensions: every prompt is ~470-560 tokens (the system turn and instructions
take ~350 of them with the tiny 1,000-token tokenizer), prefilled at 20-50 tokens/s on 2
cores, so prefill dominates and a decode step costs ~0.8 s (1 row) to ~1-4 s (8 rows).
Measured on 2 cores shared with other work: `--quick` (4 inputs, the raw arm in one batch
of 4, as newsum batches them) about 7 minutes, the defaults about 18; `--tiny` under one.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_generate import (  # the sibling script's helpers
    ROOT,
    cpu_stall_seconds,
    make_inputs,
    measure,
    median_run,
    peak_rss_mb,
    rate,
)

ARMS = ("naive", "newsum", "raw")  # newsum just before raw: the pair runs close in time
WORDS = (40, 120)
BATCH_SIZES = (4, 8)
QUICK = {"inputs": 4, "sizes": [4]}
TARGET_VS_RAW = 0.95
WARM_TOKENS = 2


def warm_text(texts: list[str]) -> str:
    return " ".join(texts[0].split()[:10])


# --- the arms, each run in its own process ------------------------------------------------


def chat_prompts(tokenizer):
    """A function that gives the prompt ids of texts as newsum builds them (its summarize
    prompt, the template with the generation prompt) and the seconds spent templating."""
    from newsum.models.prompts import load_prompts, messages

    prompt = load_prompts().summarize  # read once, as a hand-written script would
    # A Qwen3-style template (the tiny model's) thinks unless told not to; newsum says so.
    extra = {"enable_thinking": False} if "enable_thinking" in tokenizer.chat_template else {}

    def encode(texts: list[str]) -> tuple[list[list[int]], float]:
        started = time.perf_counter()
        ids = [
            tokenizer.apply_chat_template(
                messages(prompt, text),
                add_generation_prompt=True,
                tokenize=True,
                return_dict=False,
                **extra,
            )
            for text in texts
        ]
        return ids, time.perf_counter() - started

    return encode


def eos_ids(model) -> set[int]:
    eos = model.generation_config.eos_token_id
    return set(eos if isinstance(eos, list) else [eos])


def answer_length(row: list[int], stop: set[int], pad: int) -> int:
    """Tokens of an answer up to its end of turn, padding skipped (newsum's count)."""
    n = 0
    for token in row:
        if token in stop:
            break
        n += token != pad
    return n


def load_raw(model_dir: str):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
    return torch, tokenizer, model


def naive_runner(model_dir: str, new_tokens: int):
    torch, tokenizer, model = load_raw(model_dir)
    stop, pad = eos_ids(model), model.generation_config.pad_token_id
    encode = chat_prompts(tokenizer)

    def run(texts: list[str], new: int = new_tokens) -> dict:
        counts, prompt_tokens, template_s = [], 0, 0.0
        with torch.inference_mode():
            for text in texts:
                [ids], seconds = encode([text])
                template_s += seconds
                prompt_tokens += len(ids)
                out = model.generate(
                    input_ids=torch.tensor([ids]),
                    attention_mask=torch.ones(1, len(ids), dtype=torch.long),
                    do_sample=False,
                    num_beams=1,
                    min_new_tokens=new,
                    max_new_tokens=new,
                    pad_token_id=pad,
                )
                answer = out[0, len(ids) :].tolist()
                tokenizer.decode(answer, skip_special_tokens=True)
                counts.append(answer_length(answer, stop, pad))
        return {
            "counts": counts,
            "prompt_tokens": prompt_tokens,
            "padded_tokens": prompt_tokens,
            "batches": [1] * len(texts),
            "template_s": template_s,
        }

    return run, f"torch threads={torch.get_num_threads()}, one article per generate()"


def raw_runners(model_dir: str, new_tokens: int, sizes: list[int]):
    """transformers as a careful user runs it: prompts sorted by length, left-padded."""
    torch, tokenizer, model = load_raw(model_dir)
    stop, pad = eos_ids(model), model.generation_config.pad_token_id
    encode = chat_prompts(tokenizer)

    def runner(size: int):
        def run(texts: list[str], new: int = new_tokens) -> dict:
            prompts, template_s = encode(texts)
            order = sorted(range(len(texts)), key=lambda i: -len(prompts[i]))
            counts, padded, batches = [0] * len(texts), 0, []
            with torch.inference_mode():
                for start in range(0, len(order), size):
                    batch = order[start : start + size]
                    width = len(prompts[batch[0]])
                    ids = torch.full((len(batch), width), pad, dtype=torch.long)
                    mask = torch.zeros((len(batch), width), dtype=torch.long)
                    for row, i in enumerate(batch):
                        n = len(prompts[i])
                        ids[row, width - n :] = torch.tensor(prompts[i])
                        mask[row, width - n :] = 1
                    out = model.generate(
                        input_ids=ids,
                        attention_mask=mask,
                        do_sample=False,
                        num_beams=1,
                        min_new_tokens=new,
                        max_new_tokens=new,
                        pad_token_id=pad,
                    )
                    answers = out[:, width:].tolist()
                    tokenizer.batch_decode(answers, skip_special_tokens=True)
                    for i, row in zip(batch, answers, strict=True):
                        counts[i] = answer_length(row, stop, pad)
                    padded += len(batch) * width
                    batches.append(len(batch))
            return {
                "counts": counts,
                "prompt_tokens": sum(len(p) for p in prompts),
                "padded_tokens": padded,
                "batches": batches,
                "template_s": template_s,
            }

        label = f"torch threads={torch.get_num_threads()}, batch size {size}, sorted, left-padded"
        return run, label

    return [runner(size) for size in sizes]


def newsum_runner(model_dir: str, new_tokens: int, batch_tokens: int | None, cap: int | None):
    import time as clock

    from newsum.models.load import load_model
    from newsum.models.options import GenerationOptions

    given = {"batch_tokens": batch_tokens, "max_batch_size": cap}

    def engine_for(new: int):
        options = GenerationOptions(
            device="cpu",
            max_new_tokens=new,
            min_new_tokens=new,
            **{k: v for k, v in given.items() if v is not None},  # else newsum's defaults
        )
        return load_model(model_dir, options)

    loaded = engine_for(new_tokens)
    # The warm-up's engine: same weights (load_model shares a loaded backend), fewer tokens.
    engines = {new_tokens: loaded.engine, WARM_TOKENS: engine_for(WARM_TOKENS).engine}
    if engines[WARM_TOKENS].backend is not loaded.engine.backend:
        raise RuntimeError("load_model loaded the model twice: the warm-up would double memory")

    def run(texts: list[str], new: int = new_tokens) -> dict:
        engine = engines[new]
        results = engine.generate(texts)
        errors = [r.error for r in results if r.error]
        if errors:
            raise RuntimeError(f"{len(errors)} inputs failed: {errors[0]}")
        return {"counts": [r.new_tokens for r in results]}

    def details(texts: list[str]) -> dict:
        """After the timed pass: the prompts, the engine's batches, the templating time."""
        engine = engines[new_tokens]
        started = clock.perf_counter()
        ids = engine.encode(texts)
        template_s = clock.perf_counter() - started
        lengths = [len(seq) for seq in ids]
        plan = engine.batches(list(range(len(texts))), lengths)
        return {
            "prompt_tokens": sum(lengths),
            "padded_tokens": sum(len(b) * max(lengths[i] for i in b) for b in plan),
            "batches": [len(b) for b in plan],
            "template_s": template_s,
        }

    info = loaded.describe()
    setup = (
        f"torch threads={info.get('threads')}, {info.get('batching')} batches, "
        f"batch_tokens={loaded.engine.batch_tokens}, max_batch_size={loaded.engine.max_batch_size}"
    )
    run.details = details  # type: ignore[attr-defined]
    return run, setup


def child(args: argparse.Namespace) -> None:
    """One measurement: load, warm up on one short input, time one pass over all inputs;
    for the raw arm, one such measurement for each batch size of its sweep."""
    sys.path.insert(0, str(ROOT))
    texts = make_inputs(args.inputs, words=WORDS)
    if args.arm == "naive":
        runners = [naive_runner(args.model, args.new_tokens)]
    elif args.arm == "newsum":
        runners = [
            newsum_runner(args.model, args.new_tokens, args.batch_tokens, args.max_batch_size)
        ]
    else:
        sizes = QUICK["sizes"] if args.quick else list(BATCH_SIZES)
        runners = raw_runners(args.model, args.new_tokens, sizes)
    reports = []
    for run, setup in runners:
        run([warm_text(texts)], WARM_TOKENS)  # lazy imports, allocator, template compiled
        stalled = cpu_stall_seconds()
        wall, cpu = time.perf_counter(), time.process_time()
        out = run(texts)
        seconds, cpu_seconds = time.perf_counter() - wall, time.process_time() - cpu
        if stalled is not None:  # the share of the pass some task here waited for a CPU
            out["cpu_wait"] = (cpu_stall_seconds() - stalled) / seconds
        if hasattr(run, "details"):
            out.update(run.details(texts))
        counts = out.pop("counts")
        reports.append(
            {
                "seconds": seconds,
                "cpu_seconds": cpu_seconds,
                "new_tokens": sum(counts),
                "off_length": sum(c != args.new_tokens for c in counts),
                "setup": setup,
                **out,
            }
        )
    rss = peak_rss_mb()
    print(json.dumps([{**report, "rss_mb": rss} for report in reports]))


# --- the parent: build, run the arms, report ------------------------------------------------


def build(out: Path, tiny: bool) -> None:
    """The model, built in a subprocess so that the build's peak memory is given back."""
    dims = "None" if tiny else "QWEN25_15B_DIMS"
    code = (
        "import sys; sys.path.insert(0, sys.argv[2])\n"
        "from newsum.models.libraries import quiet_libraries\n"
        "from newsum.models.tiny import QWEN25_15B_DIMS, build_tiny\n"
        "quiet_libraries()\n"
        f"build_tiny(sys.argv[1], 'qwen2', dims={dims})\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(out), str(ROOT)], capture_output=True, text=True
    )
    if proc.returncode != 0:
        sys.exit(f"building the model failed:\n{proc.stderr[-3000:]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", type=int, help="articles (default 8; 4 with --quick)")
    parser.add_argument("--new-tokens", type=int, default=16, help="forced answer length")
    parser.add_argument(
        "--repeat", type=int, help="rounds; the median counts (default 1; 3 with --tiny)"
    )
    parser.add_argument(
        "--tiny", action="store_true", help="the toy qwen2 dimensions (a smoke test)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="4 inputs; the raw arm at batch size 4 only"
    )
    parser.add_argument(
        "--batch-tokens", type=int, help="newsum's token budget (default: newsum's own)"
    )
    parser.add_argument(
        "--max-batch-size", type=int, help="newsum's batch cap (default: newsum's own)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--arm", choices=ARMS, help=argparse.SUPPRESS)  # child process
    parser.add_argument("--model", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inputs is None:
        args.inputs = QUICK["inputs"] if args.quick else 8
    if args.repeat is None:
        args.repeat = 3 if args.tiny else 1
    if args.arm:
        child(args)
        return

    started, stalled = time.perf_counter(), cpu_stall_seconds()
    with tempfile.TemporaryDirectory(prefix="bench-llm-") as tmp:
        model = Path(tmp, "hf")
        build(model, args.tiny)
        built = time.perf_counter() - started
        rounds = [
            {arm: measure(arm, model, args, __file__) for arm in ARMS} for _ in range(args.repeat)
        ]
    elapsed = time.perf_counter() - started
    settings = {
        arm: [median_run([r[arm][k] for r in rounds]) for k in range(len(rounds[0][arm]))]
        for arm in ARMS
    }
    runs = {arm: max(found, key=lambda run: run["tok_s"]) for arm, found in settings.items()}
    winner = settings["raw"].index(runs["raw"])
    paired = sorted(rate(r["newsum"][0]) / rate(r["raw"][winner]) for r in rounds)
    result: dict = {
        arm: {
            "tok_s": round(run["tok_s"], 2),
            "seconds": round(run["seconds"], 1),
            "cpu_seconds": round(run["cpu_seconds"], 1),
            "rss_mb": round(run["rss_mb"], 1),
            "prompt_tokens": run["prompt_tokens"],
            "padded_tokens": run["padded_tokens"],
            "batches": run["batches"],
            "template_s": round(run["template_s"], 3),
            "cpu_wait": round(run.get("cpu_wait", 0.0), 2),
            "setup": run["setup"],
        }
        for arm, run in runs.items()
    }
    result["raw"]["sweep"] = {run["setup"]: round(run["tok_s"], 2) for run in settings["raw"]}
    result["newsum_vs_raw"] = round(statistics.median(paired), 3)
    result["newsum_vs_raw_medians"] = round(runs["newsum"]["tok_s"] / runs["raw"]["tok_s"], 3)
    result["newsum_vs_naive"] = round(runs["newsum"]["tok_s"] / runs["naive"]["tok_s"], 2)
    result["raw_vs_naive"] = round(runs["raw"]["tok_s"] / runs["naive"]["tok_s"], 2)
    result["build_s"] = round(built, 1)
    result["wall_s"] = round(elapsed, 1)
    for arm, run in runs.items():
        if run["off_length"]:
            print(
                f"warning: {arm}: {run['off_length']} outputs not {args.new_tokens} tokens long",
                file=sys.stderr,
            )
    prompts = {arm: run["prompt_tokens"] for arm, run in runs.items()}
    if len(set(prompts.values())) != 1:
        print(f"warning: the arms' prompts differ in tokens: {prompts}", file=sys.stderr)
    share = None
    if stalled is not None:
        share = (cpu_stall_seconds() - stalled) / elapsed
        result["cpu_wait_share"] = round(share, 2)
    if args.json:
        print(json.dumps(result))
        return

    dims = "toy qwen2 dimensions (--tiny)" if args.tiny else "Qwen2.5-1.5B-Instruct dimensions"
    print(
        f"random model, {dims}; {args.inputs} French inputs of {WORDS[0]}-{WORDS[1]} words in "
        f"newsum's summarize prompt ({runs['newsum']['prompt_tokens']:,} prompt tokens); greedy, "
        f"{args.new_tokens} new tokens each (forced); {len(os.sched_getaffinity(0))} CPU "
        f"cores; median of {args.repeat} fresh process(es), each after a warm-up"
    )
    print("raw sweep (median tok/s; * the winner):")
    for run in settings["raw"]:
        mark = "*" if run is runs["raw"] else " "
        wait = run.get("cpu_wait", 0.0)
        print(f"  {mark} {run['tok_s']:>8,.2f}  {run['setup']} (CPU wait {wait:.0%})")
    print(
        f"{'arm':8}{'tok/s':>8}{'s/run':>8}{'CPU s':>8}{'RSS MB':>8}{'padded':>8}"
        f"{'tmpl s':>8}{'wait':>6}  batches; setup"
    )
    for arm, run in runs.items():
        print(
            f"{arm:8}{run['tok_s']:>8,.2f}{run['seconds']:>8.1f}{run['cpu_seconds']:>8.1f}"
            f"{run['rss_mb']:>8,.0f}{run['padded_tokens']:>8,}{run['template_s']:>8.2f}"
            f"{run.get('cpu_wait', 0.0):>6.0%}  {run['batches']}; {run['setup']}"
        )
    ratio = result["newsum_vs_raw"]
    verdict = "met" if ratio >= TARGET_VS_RAW else "NOT met"
    by_round = ", ".join(
        f"{x:,.2f}/{y:,.2f}"
        for x, y in zip(runs["newsum"]["all_tok_s"], runs["raw"]["all_tok_s"], strict=True)
    )
    disturbed = [
        f"{arm} {run['cpu_wait']:.0%}"
        for arm, run in runs.items()
        if run.get("cpu_wait", 0.0) > 0.1
    ]
    print(
        f"newsum / raw = {ratio:.2f}, median of the rounds' ratios (target >= "
        f"{TARGET_VS_RAW:g}): {verdict}; ratio of the medians "
        f"{result['newsum_vs_raw_medians']:.2f}; by round {by_round} tok/s"
    )
    if disturbed:
        print(f"  other processes took CPU from: {', '.join(disturbed)} of the pass (not reliable)")
    print(
        f"newsum / naive = {result['newsum_vs_naive']:.2f}x; raw / naive = "
        f"{result['raw_vs_naive']:.2f}x"
    )
    line = f"whole run: {elapsed:.0f} s (model build {built:.0f} s)"
    if share is not None:
        line += f"; tasks waited for a CPU {share:.0%} of the time"
        if share > 0.1:
            line += " (other processes competed: figures are noisy, run again)"
    print(line)


if __name__ == "__main__":
    main()

"""The GPU check: one command, under 5 minutes, JSON out, for the day a GPU is lent.

    python benchmarks/gpu_check.py [--articles 1000] [--budget-s 270] [--out FILE]
    python benchmarks/gpu_check.py --tiny --device cpu     # every step, tiny, on CPU

Without CUDA it prints one line on stderr, `{"skipped": ...}` on stdout, and exits 0.
On a GPU it records, each step timed and isolated (a failing step is an "error" entry
and the others still run; a step that would pass the time budget is "skipped"):

- `cuda`: the device torch and CTranslate2 see, its memory, the library versions.
- `dtype`: the dtype newsum picks by itself (models.torch_backend.pick_dtype): bfloat16.
- `throughput`: random models at the real size of opus-mt-fr-en (marian, 6+6 layers,
  d_model 512, vocabulary 59,514: ~75M parameters) and mT5-base as in XL-Sum (t5, 12+12
  layers, d_model 768, vocabulary 250,112: ~580M), built by models.tiny.build_tiny, on
  newsum's engine with ~500-token inputs in batches of 64 and a fixed output length:
  torch (dtype auto) and CTranslate2 float16 and int8_float16. Generated tokens/s.
- `oom`: an oversized batch (about three times what the free memory holds) in one call:
  the engine must split it on CUDA's out-of-memory error until it fits, and every input
  must come back generated.
- `llm`: an instruct LLM at Qwen2.5-1.5B-Instruct's size (the `llm-small` preset; random
  weights, models.tiny's `qwen2`) on newsum's engine, ~500-token articles in its chat
  prompt, a fixed answer length: padded batches against transformers' continuous
  batching (`generate_batch`, paged attention). Generated tokens/s of each, their ratio,
  and whether both gave the same tokens (greedy).
- `job`: `newsum run` on generated French articles (the bench_clean corpus) with both
  random models on torch, overlapped (the default) then sequential: wall time and the
  share of it that a batch was in the backend's `generate` (benchmarks/bench_device.Busy),
  and whether both runs wrote the same shards.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from newsum.models.backend import Backend, Decoding, OutOfMemory

sys.path.insert(0, str(Path(__file__).parent))
from bench_clean import write_corpus
from bench_device import Busy, Timed, run_job, shards_identical

#: Real-size random models: (tiny architecture, config values), from the hub's configs.
SIZES: dict[str, tuple[str, dict[str, Any]]] = {
    "opus-mt-fr-en": ("marian", {
        "vocab_size": 59514, "d_model": 512, "encoder_layers": 6, "decoder_layers": 6,
        "encoder_attention_heads": 8, "decoder_attention_heads": 8,
        "encoder_ffn_dim": 2048, "decoder_ffn_dim": 2048, "max_position_embeddings": 512,
    }),
    "mT5-base": ("t5", {
        "vocab_size": 250112, "d_model": 768, "d_kv": 64, "d_ff": 2048, "num_layers": 12,
        "num_decoder_layers": 12, "num_heads": 12,
    }),
}  # fmt: skip
#: What each model does in the job.
ROLES = {"summarizer": "mT5-base", "translator": "opus-mt-fr-en"}
#: CTranslate2: the quantization converted to, and the (label, --dtype) loads of it.
CT2 = {
    "cuda": ("int8_float16", [("float16", "float16"), ("int8_float16", "auto")]),
    "cpu": ("int8", [("float32", "float32"), ("int8", "auto")]),
}
INPUT_TOKENS = 500  # a 512-token model input, special tokens and the tokenizer's drift aside


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=1_000, help="for the batch job")
    parser.add_argument("--budget-s", type=float, default=270, help="steps past it skip")
    parser.add_argument("--device", choices=["cuda", "cpu"], default="cuda")
    parser.add_argument("--tiny", action="store_true", help="tiny models (a test of the check)")
    parser.add_argument("--out", help="also write the JSON there")
    args = parser.parse_args(argv)
    import torch

    if args.device == "cuda" and not torch.cuda.is_available():
        reason = f"no CUDA device: torch {torch.__version__} sees none"
        print(f"gpu_check: skipped, {reason}", file=sys.stderr)
        result: dict = {"skipped": reason}
    else:
        result = run_checks(args)
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
    return result


class Steps:
    """Runs the steps in order within a time budget; each one's result, or its error."""

    def __init__(self, budget_s: float) -> None:
        self.start = time.perf_counter()
        self.deadline = self.start + budget_s
        self.result: dict[str, Any] = {"skipped": None}

    def run(self, name: str, step: Callable[[], Any], needs_s: float = 0) -> Any:
        """Record the step's result under `name`; returns it (None when skipped)."""
        value = self.call(step, needs_s)
        self.result[name] = value
        return None if isinstance(value, dict) and "skipped" in value else value

    def call(self, step: Callable[[], Any], needs_s: float = 0) -> Any:
        """The step's result, its error, or a skip when `needs_s` is past the budget."""
        if time.perf_counter() + needs_s > self.deadline:
            return {"skipped": "out of the time budget"}
        started = time.perf_counter()
        try:
            value = step()
        except Exception as exc:
            value = {"error": f"{type(exc).__name__}: {exc}", "trace": traceback.format_exc()}
        if isinstance(value, dict):
            value.setdefault("seconds", round(time.perf_counter() - started, 1))
        return value

    def done(self) -> dict[str, Any]:
        self.result["seconds"] = round(time.perf_counter() - self.start, 1)
        return self.result


def run_checks(args) -> dict:
    from newsum.models.libraries import quiet_libraries

    quiet_libraries()
    steps = Steps(args.budget_s)
    steps.run("cuda", lambda: device_info(args.device))
    steps.run("dtype", lambda: dtype_check(args.device))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        folders = steps.run("models", lambda: build_models(root, args.tiny)) or {}
        if "error" in folders:
            folders = {}
        runs: list[dict] = []
        steps.result["throughput"] = runs
        for name in (name for name in SIZES if name in folders):
            for backend, label, dtype, folder in variants(root, name, folders, args.device):

                def step(f=folder, b=backend, d=dtype):
                    return throughput(f, b, d, args.device, args.tiny)

                entry = steps.call(step, needs_s=20)
                runs.append({"model": name, "backend": backend, "precision": label, **entry})
        if "opus-mt-fr-en" in folders:
            steps.run("oom", lambda: oom_check(folders["opus-mt-fr-en"], args.device), 30)
        if all(name in folders for name in ROLES.values()):
            steps.run("job", lambda: job_check(root, folders, args), needs_s=60)
        steps.run("llm", lambda: llm_check(root, args.device, args.tiny), needs_s=90)
    return steps.done()


def llm_check(root: Path, device: str, tiny: bool) -> dict:
    """Padded batches, then continuous batching, on the same prompts of one LLM."""
    from newsum.models.tiny import QWEN25_15B_DIMS, build_tiny

    folder = str(build_tiny(root / "qwen2", "qwen2", dims=None if tiny else QWEN25_15B_DIMS))
    batch, new = (8, 8) if tiny else (64, 64)
    engine = engine_for(folder, "torch", "auto", device, batch, new, max_input=None)
    backend = engine.backend
    texts = long_inputs(engine, batch * 2)
    result: dict[str, Any] = {"describe": backend.describe(), "inputs": len(texts),
                              "new_tokens": new}  # fmt: skip
    outputs = {}
    for arm, continuous in (("padded", False), ("continuous", True)):
        if continuous and not hasattr(backend.model, "generate_batch"):
            result[arm] = {"skipped": "this transformers has no generate_batch"}
            continue
        backend.continuous = continuous
        engine.generate(texts[:batch])  # warm-up
        _sync(device)
        start = time.perf_counter()
        results = engine.generate(texts)
        _sync(device)
        seconds = time.perf_counter() - start
        outputs[arm] = [r.text for r in results]
        result[arm] = {
            "seconds": round(seconds, 2),
            "tokens_per_s": round(sum(r.new_tokens for r in results) / seconds, 1),
            "errors": sum(1 for r in results if r.error),
            "ran_continuous": backend.continuous,  # False: it fell back to padded batches
        }
    if len(outputs) == 2:
        result["continuous_vs_padded"] = round(
            result["continuous"]["tokens_per_s"] / result["padded"]["tokens_per_s"], 2
        )
        result["same_outputs"] = outputs["padded"] == outputs["continuous"]
    return result


def device_info(device: str) -> dict:
    import torch

    info: dict[str, Any] = {"torch": torch.__version__, "cuda": torch.version.cuda}
    try:
        import ctranslate2

        info["ctranslate2"] = ctranslate2.__version__
        info["ct2_cuda_devices"] = ctranslate2.get_cuda_device_count()
    except ImportError:
        info["ctranslate2"] = None
    if device == "cuda":
        props = torch.cuda.get_device_properties(0)
        free, total = torch.cuda.mem_get_info()
        info.update(name=props.name, capability=f"{props.major}.{props.minor}",
                    memory_gb=round(total / 2**30, 1), free_gb=round(free / 2**30, 1))  # fmt: skip
    return info


def dtype_check(device: str) -> dict:
    """newsum's own choice with --dtype auto: bfloat16 on a GPU that has it."""
    from newsum.models.torch_backend import pick_device, pick_dtype

    resolved = pick_device(device)
    chosen = str(pick_dtype("auto", resolved)).removeprefix("torch.")
    expected = "bfloat16" if resolved == "cuda" else "float32"
    return {"device": resolved, "chosen": chosen, "ok": chosen == expected}


def build_models(root: Path, tiny: bool) -> dict[str, str]:
    """A random model folder for each size (tiny dimensions with `tiny`)."""
    from newsum.models.tiny import build_tiny

    return {
        name: str(build_tiny(root / name, arch, dims=None if tiny else dims))
        for name, (arch, dims) in SIZES.items()
    }


def variants(root: Path, name: str, folders: dict[str, str], device: str):
    """(backend, precision label, --dtype, folder) of each throughput run of a model."""
    yield "torch", "auto", "auto", folders[name]
    try:
        from newsum.models.ct2 import convert
    except ImportError:
        return
    quantization, loads = CT2[device]
    converted = root / f"{name}-ct2"
    try:
        convert(folders[name], converted, quantization=quantization)
    except Exception as exc:  # recorded with each load that needed it
        yield "ct2", f"conversion failed: {exc}", "auto", ""
        return
    for label, dtype in loads:
        yield "ct2", label, dtype, str(converted)


def engine_for(folder: str, backend: str, dtype: str, device: str, batch: int, new: int,
               max_input: int | None = 512):  # fmt: skip
    from newsum.models.load import load_model
    from newsum.models.options import GenerationOptions

    options = GenerationOptions(backend=backend, device=device, dtype=dtype,
                                max_batch_size=batch, batch_tokens=batch * (512 + new),
                                max_new_tokens=new, min_new_tokens=new, num_beams=1,
                                max_input_tokens=max_input)  # fmt: skip
    return load_model(folder, options).engine


def long_inputs(engine, n: int, tokens: int = INPUT_TOKENS) -> list[str]:
    """n distinct French texts of about `tokens` tokens each for the engine's tokenizer."""
    import random

    from bench_clean import sentence

    rng = random.Random(0)
    texts = []
    for _ in range(n):
        text = " ".join(sentence(rng) for _ in range(tokens // 8))
        ids = engine.encode([text], special=False)[0][:tokens]
        texts.append(engine.tokenizer.decode(ids, skip_special_tokens=True))
    return texts


def throughput(folder: str, backend: str, dtype: str, device: str, tiny: bool) -> dict:
    if not folder:
        return {"error": "no converted model"}
    batch, new = (8, 8) if tiny else (64, 64)
    engine = engine_for(folder, backend, dtype, device, batch, new)
    texts = long_inputs(engine, batch * 2)
    engine.generate(texts[:batch])  # warm-up: kernels, allocator
    _sync(device)
    start = time.perf_counter()
    results = engine.generate(texts)
    _sync(device)
    seconds = time.perf_counter() - start
    generated = sum(r.new_tokens for r in results)
    return {
        "describe": engine.backend.describe(),
        "batch": batch,
        "inputs": len(texts),
        "input_tokens": round(sum(map(len, engine.encode(texts))) / len(texts)),
        "new_tokens": new,
        "errors": sum(1 for r in results if r.error),
        "seconds": round(seconds, 2),
        "tokens_per_s": round(generated / seconds, 1),
        "inputs_per_s": round(len(texts) / seconds, 2),
    }


class Splits(Backend):
    """Counts the batches a backend was given and the out-of-memory errors they raised;
    `limit` (CPU only, where memory does not run out) raises one above that many inputs."""

    def __init__(self, inner: Backend, limit: int | None = None) -> None:
        self.inner, self.limit = inner, limit
        self.max_input_tokens, self.pad_token_id = inner.max_input_tokens, inner.pad_token_id
        self.device = inner.device
        self.sizes: list[int] = []
        self.oom: list[int] = []

    def generate(self, inputs: list[list[int]], decoding: Decoding) -> list[list[int]]:
        self.sizes.append(len(inputs))
        try:
            if self.limit is not None and len(inputs) > self.limit:
                raise OutOfMemory(f"simulated: {len(inputs)} inputs over {self.limit}")
            return self.inner.generate(inputs, decoding)
        except OutOfMemory:
            self.oom.append(len(inputs))
            raise


def oom_check(folder: str, device: str) -> dict:
    """One batch about three times what fits: split on out-of-memory until it does."""
    cuda = device == "cuda"
    engine = engine_for(folder, "torch", "auto", device, batch=64, new=2)
    texts = long_inputs(engine, 64)
    if cuda:
        import torch

        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.memory_allocated()
        engine.generate(texts)
        per_input = max(1, (torch.cuda.max_memory_allocated() - before) // len(texts))
        free = torch.cuda.mem_get_info()[0]
        n = 64
        while n * per_input < 3 * free and n < 2**17:
            n *= 2
    else:
        per_input, n = 0, 64
    counter = Splits(engine.backend, limit=None if cuda else 16)
    engine.backend = counter
    engine.max_batch_size, engine.batch_tokens = n, n * 512
    start = time.perf_counter()
    results = engine.generate((texts * (n // len(texts) + 1))[:n])
    return {
        "inputs": n,
        "bytes_per_input": per_input,
        "simulated": not cuda,
        "out_of_memory_at": counter.oom[:8],
        "batches": len(counter.sizes),
        "generated": sum(1 for r in results if not r.error),
        "ok": bool(counter.oom) and all(not r.error for r in results),
        "seconds": round(time.perf_counter() - start, 1),
    }


def job_check(root: Path, folders: dict[str, str], args) -> dict:
    """`newsum run` with both models, overlapped then sequential: the device-busy share."""
    from newsum.models.options import GenerationOptions
    from newsum.pipeline.job.executor import IN_FLIGHT
    from newsum.pipeline.job.models import load_models
    from newsum.pipeline.job.options import RunOptions

    source = root / "articles.jsonl"
    write_corpus(source, args.articles)
    new = 8 if args.tiny else 32
    generation = GenerationOptions(device=args.device, max_new_tokens=new, num_beams=1,
                                   max_input_tokens=512)  # fmt: skip
    options = RunOptions(inputs=(str(source),), output="", generation=generation,
                         summarizer=folders[ROLES["summarizer"]],
                         translator=folders[ROLES["translator"]])  # fmt: skip
    models = load_models(options)
    busy = Busy()
    for engine in models.engines():
        engine.backend = Timed(engine.backend, busy)
    note = "busy: share of the wall time a batch was in generate"
    result: dict[str, Any] = {"articles": args.articles, "max_new_tokens": new, "note": note}
    for arm, in_flight in (("overlapped", IN_FLIGHT), ("sequential", 1)):
        result[arm] = run_job(source, root / arm, models, busy, in_flight, 1000)
    result["identical_shards"] = shards_identical(root / "overlapped", root / "sequential")
    return result


def _sync(device: str) -> None:
    if device == "cuda":
        import torch

        torch.cuda.synchronize()


if __name__ == "__main__":
    main()

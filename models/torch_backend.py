"""The PyTorch backend: transformers' AutoModelForSeq2SeqLM.generate, batched."""

from __future__ import annotations

from pathlib import Path

from newsum.pipeline.core.errors import NewsumError

from .backend import Backend, Decoding, OutOfMemory, plan_threads
from .libraries import first_line
from .options import GenerationOptions


def pick_device(requested: str) -> str:
    import torch

    if requested != "auto":
        return requested
    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def pick_dtype(requested: str, device: str):
    """bfloat16 on a GPU that supports it when --dtype auto; float32 elsewhere."""
    import torch

    if requested != "auto":
        return getattr(torch, requested)
    if device == "cuda" and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float32


def set_threads(torch, threads: int) -> None:
    """torch's intra-op threads for the process. Its default counts the cores of the
    machine, not a container's CPU quota; OMP_NUM_THREADS still wins when --threads
    is not given (plan_threads reads it)."""
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)


def start(options: GenerationOptions):
    """torch, the device and the dtype a torch backend runs with (threads set on CPU)."""
    import torch

    if options.replicas not in (None, 1):
        raise NewsumError(
            "--replicas is for --backend ct2; the torch backend runs one model (--threads "
            "sets its CPU threads)"
        )
    device = pick_device(options.device)
    dtype = pick_dtype(options.dtype, device)
    if device == "cpu":
        set_threads(torch, plan_threads("cpu", options.threads, 1).per_replica)
    return torch, device, dtype


def from_pretrained(auto, path: Path, options: GenerationOptions, dtype, **extra):
    """`auto.from_pretrained` with newsum's safety rules: safetensors only unless
    --allow-pickle, remote code only with --trust-remote-code (named in the error)."""
    return auto.from_pretrained(
        path,
        dtype=dtype,
        trust_remote_code=options.trust_remote_code,
        use_safetensors=None if options.allow_pickle else True,
        **extra,
    )


def cannot_load(path: Path, exc: Exception, options: GenerationOptions) -> NewsumError:
    needs_code = "trust_remote_code" in str(exc) and not options.trust_remote_code
    hint = "; it runs its own code: pass --trust-remote-code if you trust it" if needs_code else ""
    return NewsumError(f"cannot load the model in {path}: {first_line(exc)}{hint}")


def padded(torch, inputs: list[list[int]], pad: int, left: bool = False):
    """(input ids, attention mask) of a batch padded to its longest input: on the right
    for an encoder, on the left for a decoder-only model (every answer starts at the end)."""
    width = max(len(ids) for ids in inputs)
    ids = torch.full((len(inputs), width), pad, dtype=torch.long)
    mask = torch.zeros((len(inputs), width), dtype=torch.long)
    for row, seq in enumerate(inputs):
        where = slice(width - len(seq), width) if left else slice(0, len(seq))
        ids[row, where] = torch.tensor(seq, dtype=torch.long)
        mask[row, where] = 1
    return ids, mask


def decoding_settings(decoding: Decoding) -> dict:
    """`generate`'s arguments for the resolved decoding settings (greedy or beam search)."""
    return dict(
        do_sample=False,
        num_beams=decoding.num_beams,
        max_new_tokens=decoding.max_new_tokens,
        min_new_tokens=decoding.min_new_tokens or None,
        length_penalty=decoding.length_penalty,
        no_repeat_ngram_size=decoding.no_repeat_ngram_size or None,
    )


def out_of_memory(torch, exc: Exception) -> OutOfMemory:
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    return OutOfMemory(str(exc))


class TorchBackend(Backend):
    def __init__(self, path: Path, options: GenerationOptions) -> None:
        from transformers import AutoModelForSeq2SeqLM

        torch, self.device, self.dtype = start(options)
        try:
            try:
                model = from_pretrained(
                    AutoModelForSeq2SeqLM, path, options, self.dtype, attn_implementation="sdpa"
                )
                self.attention = "sdpa"
            except (ValueError, ImportError) as exc:
                if "sdpa" not in str(exc).lower():
                    raise
                # No SDPA kernel for this architecture.
                model = from_pretrained(AutoModelForSeq2SeqLM, path, options, self.dtype)
                self.attention = "eager"
        except Exception as exc:
            raise cannot_load(path, exc, options) from None
        self.model = model.to(self.device).eval()
        self._torch = torch
        config = model.config
        self.pad_token_id = config.pad_token_id if config.pad_token_id is not None else 0
        limit = getattr(config, "max_position_embeddings", None) or getattr(
            config, "n_positions", None
        )
        self.max_input_tokens = int(limit) if limit else 0  # 0: no fixed limit (T5)

    def generate(self, inputs: list[list[int]], decoding: Decoding) -> list[list[int]]:
        torch = self._torch
        ids, mask = padded(torch, inputs, self.pad_token_id)
        try:
            with torch.inference_mode():
                out = self.model.generate(
                    input_ids=ids.to(self.device),
                    attention_mask=mask.to(self.device),
                    forced_bos_token_id=decoding.forced_first_token,
                    **decoding_settings(decoding),
                )
        except torch.OutOfMemoryError as exc:
            raise out_of_memory(torch, exc) from exc
        pad = self.pad_token_id
        return [[t for t in row if t != pad] for row in out.tolist()]

    def describe(self) -> dict[str, str]:
        out = {
            "backend": "torch",
            "device": self.device,
            "dtype": str(self.dtype).removeprefix("torch."),
            "attention": self.attention,
        }
        if self.device == "cpu":
            out["threads"] = str(self._torch.get_num_threads())
        return out

"""The PyTorch backend for decoder-only models (instruct LLMs): AutoModelForCausalLM.

A decoder-only model continues its input, so a batch is padded on the left (every row's
answer starts at the same column) and only the tokens after the prompt are returned. On a
GPU, when transformers has it, generation goes through continuous batching (paged
attention, `generate_batch`): finished rows leave the batch and waiting ones take their
place instead of decoding padding until the longest answer ends. Beam search and the
CPU use padded batches.
"""

from __future__ import annotations

import logging
from pathlib import Path

from .backend import Backend, Decoding
from .libraries import first_line
from .options import GenerationOptions
from .torch_backend import (
    cannot_load,
    decoding_settings,
    from_pretrained,
    out_of_memory,
    padded,
    start,
)

log = logging.getLogger("newsum")


def is_causal(config: dict) -> bool:
    """Whether a model's config.json describes a decoder-only language model."""
    if config.get("is_encoder_decoder"):
        return False
    architectures = config.get("architectures") or []
    if any(name.endswith("ForCausalLM") for name in architectures):
        return True
    if architectures:
        return False
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES

    return config.get("model_type") in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES


class CausalBackend(Backend):
    decoder_only = True

    def __init__(self, path: Path, options: GenerationOptions) -> None:
        from transformers import AutoModelForCausalLM, GenerationConfig

        torch, self.device, self.dtype = start(options)
        try:
            model = from_pretrained(AutoModelForCausalLM, path, options, self.dtype)
        except Exception as exc:
            raise cannot_load(path, exc, options) from None
        self.model = model.to(self.device).eval()
        self._torch = torch
        self._config = GenerationConfig
        config = model.config
        generation = model.generation_config
        eos = _first(generation.eos_token_id, config.eos_token_id)
        self.eos_token_ids = set(eos if isinstance(eos, list) else [eos] if eos is not None else [])
        pad = _first(generation.pad_token_id, config.pad_token_id)
        self.pad_token_id = pad if pad is not None else min(self.eos_token_ids, default=0)
        self.max_input_tokens = int(getattr(config, "max_position_embeddings", 0) or 0)
        self.continuous = self.device == "cuda" and hasattr(model, "generate_batch")

    def generate(self, inputs: list[list[int]], decoding: Decoding) -> list[list[int]]:
        torch = self._torch
        try:
            with torch.inference_mode():
                if self.continuous and decoding.num_beams == 1:
                    outputs = self._continuous(inputs, decoding)
                    if outputs is not None:
                        return outputs
                return self._padded(inputs, decoding)
        except torch.OutOfMemoryError as exc:
            raise out_of_memory(torch, exc) from exc

    def _padded(self, inputs: list[list[int]], decoding: Decoding) -> list[list[int]]:
        ids, mask = padded(self._torch, inputs, self.pad_token_id, left=True)
        out = self.model.generate(
            input_ids=ids.to(self.device),
            attention_mask=mask.to(self.device),
            pad_token_id=self.pad_token_id,
            **decoding_settings(decoding),
        )
        return [self._answer(row) for row in out[:, ids.shape[1] :].tolist()]

    def _continuous(self, inputs: list[list[int]], decoding: Decoding) -> list[list[int]] | None:
        """Continuous batching; None when it could not give every input its answer (the
        padded path then runs the batch)."""
        config = self._config(
            do_sample=False,
            max_new_tokens=decoding.max_new_tokens,
            min_new_tokens=decoding.min_new_tokens or None,
            eos_token_id=sorted(self.eos_token_ids) or None,
            pad_token_id=self.pad_token_id,
        )
        try:
            results = self.model.generate_batch(inputs, generation_config=config, warmup=False)
        except Exception as exc:  # an attention kernel it lacks, a model it cannot page
            log.warning("continuous batching failed (%s): padded batches instead", first_line(exc))
            self.continuous = False
            return None
        outputs = list(results.values())
        if len(outputs) != len(inputs) or any(o.error for o in outputs):
            log.warning("continuous batching lost requests: this batch runs padded")
            return None
        return [self._answer(o.generated_tokens) for o in outputs]

    def _answer(self, tokens: list[int]) -> list[int]:
        """The answer's tokens, up to the first end-of-turn token."""
        out = []
        for token in tokens:
            if token in self.eos_token_ids:
                break
            if token != self.pad_token_id:
                out.append(token)
        return out

    def describe(self) -> dict[str, str]:
        out = {
            "backend": "torch",
            "architecture": "causal",
            "device": self.device,
            "dtype": str(self.dtype).removeprefix("torch."),
            "batching": "continuous" if self.continuous else "padded",
        }
        if self.device == "cpu":
            out["threads"] = str(self._torch.get_num_threads())
        return out


def _first(*values):
    return next((v for v in values if v is not None), None)

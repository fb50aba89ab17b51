"""The small interface every generation backend implements (torch, ctranslate2, fakes)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass


@dataclass(frozen=True)
class Decoding:
    """Resolved decoding settings for one call (no None: defaults already applied)."""

    num_beams: int = 1
    max_new_tokens: int = 128
    min_new_tokens: int = 0
    length_penalty: float = 1.0
    no_repeat_ngram_size: int = 0
    forced_first_token: int | None = None  # a target-language code of multilingual models


class OutOfMemory(Exception):
    """A backend ran out of accelerator memory on a batch; the engine splits and retries."""


class Backend(ABC):
    """Turns batches of token ids into batches of generated token ids.

    Tokenization stays outside (the engine owns the Hugging Face tokenizer), so the
    batching, chunking and retry logic is the same for every backend.
    """

    #: Input length the model accepts, in tokens (its position limit).
    max_input_tokens: int
    #: Id that pads inputs; generated sequences never contain it.
    pad_token_id: int
    #: Where it generates: "cpu", "cuda" or "mps" (resolved, never "auto").
    device: str

    @abstractmethod
    def generate(self, inputs: list[list[int]], decoding: Decoding) -> list[list[int]]:
        """One generated id sequence per input, in the same order, special tokens included
        or not (the engine decodes with skip_special_tokens). Raises OutOfMemory when the
        batch does not fit."""

    def describe(self) -> dict[str, str]:
        """What --verbose prints about the backend (device, dtype, ...)."""
        return {}

"""Building a ready model from a MODEL argument: an extractive summarizer, or an engine.

`load_model` reads top to bottom: find and check the files (models/hub.py), build the
backend (torch or CTranslate2) and the tokenizer, resolve the settings (flags, presets
file, the model's generation config), detect a multilingual model's language codes, and
put them together in an Engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from newsum.pipeline.core.errors import NewsumError

from .backend import Backend
from .chunking import SPECIAL_TOKENS_MARGIN
from .engine import Engine
from .extractive import Extractive, parse_extractive
from .hub import find_model, read_config
from .languages import detect as detect_languages
from .libraries import quiet_libraries
from .options import GenerationOptions, Resolved, published_settings, resolve

# A tokenizer's model_max_length is a huge sentinel when the model has no fixed limit.
_NO_LIMIT = 1_000_000


@dataclass
class Loaded:
    """A ready model: the engine, the settings it runs with and what --verbose shows."""

    model_id: str
    engine: Engine
    resolved: Resolved
    info: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        return {"model": self.model_id, **self.info, **self.resolved.as_dict()}


def load_summarizer(model: str, options: GenerationOptions) -> Loaded | Extractive:
    try:
        extractive = parse_extractive(model)
    except ValueError as exc:
        raise NewsumError(str(exc)) from None
    if extractive:
        return extractive
    loaded = load_model(model, options)
    _check_summaries_shrink(loaded.resolved)
    return loaded


def _check_summaries_shrink(resolved: Resolved) -> None:
    """Refuse settings under which a long article's chunk summaries cannot shrink.

    The summaries of a long article's chunks are joined and summarized again, so one
    summary must fit in one model input with room to spare; otherwise each round makes
    more pieces than the last and the work grows exponentially."""
    room = resolved.max_input_tokens - SPECIAL_TOKENS_MARGIN
    max_new = resolved.decoding.max_new_tokens
    if max_new >= room:
        raise NewsumError(
            f"--max-new-tokens {max_new} is too long for --max-input-tokens "
            f"{resolved.max_input_tokens}: the summaries of a long article's chunks are "
            f"summarized again, so a summary must be shorter than one model input "
            f"({room} tokens once special tokens are counted). Lower --max-new-tokens below "
            f"{room} or raise --max-input-tokens above {max_new + SPECIAL_TOKENS_MARGIN}."
        )


def load_model(model: str, options: GenerationOptions, target_lang: str | None = None) -> Loaded:
    """Find, check and load a seq2seq model with the chosen backend.

    `target_lang` is the language to generate in (a translator's "en"); None means the
    input's own language (a summarizer's)."""
    quiet_libraries()
    path = find_model(model, options)
    backend = _backend(path, options)
    tokenizer = _tokenizer(path, options)
    limits = [
        n for n in (backend.max_input_tokens, tokenizer.model_max_length) if 0 < n < _NO_LIMIT
    ]
    generation_config = read_config(path, "generation_config.json")
    resolved = resolve(options, model, generation_config, min(limits, default=None), backend.device)
    codes = detect_languages(tokenizer)
    if codes and options.languages is None and "languages" not in published_settings(model):
        # A multilingual model (NLLB, mBART-50, M2M-100) is told each record's language:
        # it takes any it has a code for, and a record in one it lacks is an error naming it.
        resolved = replace(resolved, languages=("*",))
    engine = Engine(
        backend,
        tokenizer,
        resolved.decoding,
        max_input_tokens=resolved.max_input_tokens,
        batch_tokens=resolved.batch_tokens,
        max_batch_size=resolved.max_batch_size,
        codes=codes,
        target_lang=target_lang,
    )
    info = {"path": str(path), "revision": options.revision or "default", **backend.describe()}
    if engine.codes:
        info["language_codes"] = engine.codes.family
    return Loaded(model, engine, resolved, info)


def _backend(path: Path, options: GenerationOptions) -> Backend:
    """The backend `options.backend` names; each imports its library only when chosen."""
    if options.backend == "ct2":
        from .ct2 import CT2Backend

        return CT2Backend(path, options)
    from .torch_backend import TorchBackend

    return TorchBackend(path, options)


def _tokenizer(path: Path, options: GenerationOptions):
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(path, trust_remote_code=options.trust_remote_code)
    except Exception as exc:
        raise NewsumError(f"cannot load the tokenizer of {path}: {exc}") from None

"""Building a ready model from a MODEL argument: an extractive summarizer, or an engine.

`load_model` reads top to bottom: find and check the files (models/hub.py), build the
backend (torch or CTranslate2) and the tokenizer, resolve the settings (flags, presets
file, the model's generation config), detect a multilingual model's language codes, and
put them together in an Engine.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from newsum.pipeline.core.errors import NewsumError

from .backend import Backend
from .causal import is_causal
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
    """A ready model: the engine, the settings it runs with and what --verbose shows; for
    an instruct LLM in one-call mode, also the engine that asks for both outputs at once."""

    model_id: str
    engine: Engine
    resolved: Resolved
    info: dict[str, Any] = field(default_factory=dict)
    one_call: Any = None  # models.llm.OneCall

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
    _check_summaries_shrink(loaded.resolved, loaded.engine.overhead)
    return loaded


def _check_summaries_shrink(resolved: Resolved, overhead: int = 0) -> None:
    """Refuse settings under which a long article's chunk summaries cannot shrink.

    The summaries of a long article's chunks are joined and summarized again, so one
    summary must fit in one model input with room to spare; otherwise each round makes
    more pieces than the last and the work grows exponentially."""
    room = resolved.max_input_tokens - SPECIAL_TOKENS_MARGIN - overhead
    max_new = resolved.decoding.max_new_tokens
    if max_new >= room:
        raise NewsumError(
            f"--max-new-tokens {max_new} is too long for --max-input-tokens "
            f"{resolved.max_input_tokens}: the summaries of a long article's chunks are "
            f"summarized again, so a summary must be shorter than one model input "
            f"({room} tokens once special tokens are counted). Lower --max-new-tokens below "
            f"{room} or raise --max-input-tokens above "
            f"{max_new + SPECIAL_TOKENS_MARGIN + overhead}."
        )


def load_model(model: str, options: GenerationOptions, target_lang: str | None = None) -> Loaded:
    """Find, check and load a seq2seq model with the chosen backend.

    `target_lang` is the language to generate in (a translator's "en"); None means the
    input's own language (a summarizer's)."""
    quiet_libraries()
    if options.backend == "openai":
        return load_server(model, options, target_lang)
    path = find_model(model, options)
    if options.backend == "torch" and is_causal(read_config(path, "config.json")):
        return load_llm(model, path, options, target_lang)
    backend = shared_backend(path, options)
    tokenizer = load_tokenizer(path, options)
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
    engine = _engine(backend, tokenizer, resolved, target_lang, codes)
    info = {"path": str(path), "revision": options.revision or "default", **backend.describe()}
    if engine.codes:
        info["language_codes"] = engine.codes.family
    return Loaded(model, engine, resolved, info)


# Backends alive in this process by folder and options: a summarizer and a translator that
# name the same model (an instruct LLM does both) share one copy of its weights.
_LOADED: weakref.WeakValueDictionary = weakref.WeakValueDictionary()


def shared_backend(path: Path, options: GenerationOptions) -> Backend:
    """The backend `options.backend` names for the model in `path`, loaded once while in
    use; each imports its library only when chosen."""
    key = (str(path.resolve()), options.backend, options.device, options.dtype, options.threads,
           options.replicas, options.allow_pickle, options.trust_remote_code)  # fmt: skip
    backend = _LOADED.get(key)
    if backend is not None:
        return backend
    if options.backend == "ct2":
        from .ct2 import CT2Backend

        backend = CT2Backend(path, options)
    elif is_causal(read_config(path, "config.json")):
        from .causal import CausalBackend

        backend = CausalBackend(path, options)
    else:
        from .torch_backend import TorchBackend

        backend = TorchBackend(path, options)
    _LOADED[key] = backend
    return backend


def load_tokenizer(path: Path, options: GenerationOptions):
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(path, trust_remote_code=options.trust_remote_code)
    except Exception as exc:
        raise NewsumError(f"cannot load the tokenizer of {path}: {exc}") from None


# ---- instruct LLMs ---------------------------------------------------------------------------

# An LLM's answer, when neither the flags nor the presets file set --max-new-tokens: a
# summary of two or three sentences, and the translation of a piece of text (pieces are
# cut to three quarters of it, so the English fits).
LLM_MAX_NEW_TOKENS = {"summarize": 256, "translate": 512}
# A decoder-only batch's budget (prompt plus answer tokens a row) when --batch-tokens is
# not given. A decoding step costs about the same for 4 rows as for 8 on a CPU, so more
# rows a batch means fewer steps (bench_llm: 8 rows of ~560 + 16 tokens in one batch, not
# two); the KV cache of 16k tokens is under 1 GB at Qwen2.5-1.5B's size.
LLM_BATCH_TOKENS = {"cpu": 16_384, "mps": 16_384, "cuda": 65_536, "server": 65_536}
# A served model's context when the server does not say it (vLLM's /v1/models does) and
# its config is not at hand: long enough for a news article, short enough for most models.
FALLBACK_SERVER_CONTEXT = 8192
_CLIENTS: weakref.WeakValueDictionary = weakref.WeakValueDictionary()


def load_llm(model: str, path: Path, options: GenerationOptions, target_lang: str | None):
    """An instruct LLM in-process: its chat prompt around every text, left-padded batches
    whose budget counts the answer's tokens too, and one copy of the weights for both stages."""
    from .llm import ChatTokenizer, OneCall
    from .prompts import load_prompts

    task = "translate" if target_lang else "summarize"
    backend = shared_backend(path, options)
    base = load_tokenizer(path, options)
    limits = [n for n in (backend.max_input_tokens, base.model_max_length) if 0 < n < _NO_LIMIT]
    context = min(limits, default=FALLBACK_SERVER_CONTEXT)
    prompts = load_prompts(options.prompts)
    tokenizer = ChatTokenizer(base, getattr(prompts, task), name=model)
    resolved = _resolve_llm(options, model, context, task, tokenizer.overhead, backend.device)
    engine = _engine(backend, tokenizer, resolved, target_lang)
    one_call = None
    if options.one_call and task == "summarize":
        both = ChatTokenizer(base, prompts.both, name=model, clean=False)
        one_call = OneCall(_engine(backend, both, _both(resolved, context), None))
    info = {
        "path": str(path),
        "revision": options.revision or "default",
        **backend.describe(),
        "prompts": prompts.describe(),
    }
    return Loaded(model, engine, resolved, info, one_call)


def load_server(model: str, options: GenerationOptions, target_lang: str | None) -> Loaded:
    """A model behind an OpenAI-compatible server: the same prompts, sent as chat requests."""
    from .llm import ChatTokenizer, EstimatingTokenizer, OneCall, ServerEngine, prompt_overhead
    from .prompts import load_prompts

    if not options.base_url:
        raise NewsumError("--backend openai needs --base-url, e.g. http://127.0.0.1:8000/v1")
    if not model:
        raise NewsumError("--backend openai needs the served model's name (--model, or "
                          "--summarizer/--translator in `newsum run`)")  # fmt: skip
    task = "translate" if target_lang else "summarize"
    client = _client(options)
    served = {entry.get("id"): entry for entry in client.models()}
    prompts = load_prompts(options.prompts)
    local = _local_tokenizer(model, options)
    context = (served.get(model) or {}).get("max_model_len")
    if local is not None:
        tokenizer = ChatTokenizer(local, getattr(prompts, task), name=model)
        context = context or (local.model_max_length if 0 < local.model_max_length < _NO_LIMIT
                              else None)  # fmt: skip
    else:
        tokenizer = EstimatingTokenizer()
    context = int(context or FALLBACK_SERVER_CONTEXT)

    def engine(prompt, resolved: Resolved, clean: bool, counting) -> ServerEngine:
        return ServerEngine(
            client,
            model,
            prompt,
            resolved.decoding,
            tokenizer=counting,
            max_input_tokens=resolved.max_input_tokens,
            batch_tokens=resolved.batch_tokens,
            max_batch_size=resolved.max_batch_size,
            overhead=prompt_overhead(counting, prompt),
            clean=clean,
            extra=extra,
        )

    # Reasoning off, as in-process, where the template takes it: vLLM, SGLang and
    # `transformers serve` pass chat_template_kwargs to the template. Only then, since
    # OpenAI's own API refuses fields it does not know.
    template = getattr(local, "chat_template", None) or ""
    thinking = isinstance(template, str) and "enable_thinking" in template
    extra = {"chat_template_kwargs": {"enable_thinking": False}} if thinking else {}

    overhead = prompt_overhead(tokenizer, getattr(prompts, task))
    resolved = _resolve_llm(options, model, context, task, overhead, "server")
    main = engine(getattr(prompts, task), resolved, True, tokenizer)
    one_call = None
    if options.one_call and task == "summarize":
        counting = ChatTokenizer(local, prompts.both, model) if local is not None else tokenizer
        one_call = OneCall(engine(prompts.both, _both(resolved, context), False, counting))
    info = {
        "backend": "openai",
        "device": "server",
        "base_url": options.base_url,
        "served_model": model,
        "context": str(context),
        "token_counts": "tokenizer" if local is not None else "estimated",
        "prompts": prompts.describe(),
    }
    return Loaded(model, main, resolved, info, one_call)


def _resolve_llm(options, model: str, context: int, task: str, overhead: int, device: str):
    """The settings of an LLM stage: a prompt plus its answer must fit the context, and a
    piece to translate must leave its translation room in the answer."""
    published = published_settings(model)
    max_new = options.max_new_tokens or published.get("max_new_tokens") or LLM_MAX_NEW_TOKENS[task]
    resolved = resolve(replace(options, max_new_tokens=max_new), model, {}, context, device)
    room = context - max_new
    if room < overhead + SPECIAL_TOKENS_MARGIN + 16:
        raise NewsumError(
            f"{model}'s context of {context} tokens leaves no room for a text: its prompt "
            f"takes {overhead} and --max-new-tokens {max_new}. Lower --max-new-tokens."
        )
    if options.batch_tokens is None:
        resolved = replace(resolved, batch_tokens=LLM_BATCH_TOKENS.get(device, 16_384))
    limit = min(resolved.max_input_tokens, room)
    if options.max_input_tokens and options.max_input_tokens > room:
        raise NewsumError(
            f"--max-input-tokens {options.max_input_tokens} plus --max-new-tokens {max_new} "
            f"is over {model}'s context of {context} tokens"
        )
    if task == "translate":
        limit = min(limit, overhead + SPECIAL_TOKENS_MARGIN + max(16, max_new * 3 // 4))
    return replace(resolved, max_input_tokens=limit)


def _both(resolved: Resolved, context: int) -> Resolved:
    """The one-call settings: room for a summary and its translation in one answer."""
    decoding = replace(resolved.decoding, max_new_tokens=2 * resolved.decoding.max_new_tokens)
    return replace(
        resolved,
        decoding=decoding,
        max_input_tokens=max(1, min(resolved.max_input_tokens, context - decoding.max_new_tokens)),
    )


def _engine(backend: Backend, tokenizer, resolved: Resolved, target_lang: str | None,
            codes=None) -> Engine:  # fmt: skip
    return Engine(
        backend,
        tokenizer,
        resolved.decoding,
        max_input_tokens=resolved.max_input_tokens,
        batch_tokens=resolved.batch_tokens,
        max_batch_size=resolved.max_batch_size,
        codes=codes,
        target_lang=target_lang,
    )


def _client(options: GenerationOptions):
    """One client per server and settings, shared by the stages (one connection pool)."""
    import os
    from urllib.parse import urlsplit

    from .server import ChatClient, ServerSettings

    if "@" in urlsplit(options.base_url).netloc:
        # The URL is written to the manifest and shown in errors; the key never is.
        raise NewsumError(
            "--base-url holds a user name or password: give the server's key with "
            "--api-key-env VAR instead (sent as a Bearer token, never written anywhere)"
        )
    key = None
    if options.api_key_env:
        # Keys read from files keep their line break: strip it.
        key = os.environ.get(options.api_key_env, "").strip()
        if not key:
            raise NewsumError(f"--api-key-env {options.api_key_env}: that variable is not set")
        if not (key.isascii() and key.isprintable()) or " " in key:
            raise NewsumError(
                f"--api-key-env {options.api_key_env}: the key holds characters an HTTP "
                "header cannot carry (spaces, line breaks or non-ASCII letters)"
            )
    settings = ServerSettings(
        base_url=options.base_url,
        api_key=key,
        max_concurrency=options.max_concurrency,
        timeout=options.request_timeout,
        retries=options.retries,
    )
    client = _CLIENTS.get(settings)
    if client is None:
        client = _CLIENTS[settings] = ChatClient(settings)
    return client


def _local_tokenizer(model: str, options: GenerationOptions):
    """The served model's tokenizer when it is on this machine (a folder, or the Hugging
    Face cache; never a download), with a chat template; else None."""
    path = Path(model).expanduser()
    if not path.is_dir():
        try:
            from huggingface_hub import snapshot_download

            patterns = ["*.json", "*.model", "*.txt"]
            path = Path(snapshot_download(model, local_files_only=True, allow_patterns=patterns))
        except Exception:
            return None
    try:
        tokenizer = load_tokenizer(path, options)
    except NewsumError:
        return None
    return tokenizer if getattr(tokenizer, "chat_template", None) else None

"""Generation options: one object, defaults defined once, resolved against the model."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field, fields
from functools import cache
from importlib import resources
from typing import Any

from newsum.pipeline.core.errors import NewsumError
from newsum.pipeline.core.schema import check

from .backend import Decoding, plan_threads

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

BACKENDS = ("torch", "ct2", "openai")
DEVICES = ("auto", "cpu", "cuda", "mps")
DTYPES = ("auto", "float32", "bfloat16", "float16")

# Token budget of one batch (padded input tokens) when --batch-tokens is not given; for
# CTranslate2, of each replica's share of a batch (the engine's batch holds one per replica).
DEFAULT_BATCH_TOKENS = {"cpu": 4096, "mps": 8192, "cuda": 32768}
# When neither the flags, the presets file nor the model say otherwise.
FALLBACK_MAX_INPUT_TOKENS = 512
FALLBACK_MAX_NEW_TOKENS = 128


@dataclass(frozen=True)
class GenerationOptions:
    """What the user asked for; None means "from the model's published settings"."""

    backend: str = field(default="torch", metadata={"choices": BACKENDS})
    device: str = field(default="auto", metadata={"choices": DEVICES})
    dtype: str = field(default="auto", metadata={"choices": DTYPES})
    batch_tokens: int | None = field(default=None, metadata={"min": 1})
    max_batch_size: int = field(default=64, metadata={"min": 1})
    # CPU threads, all replicas together; None: OMP_NUM_THREADS, else the cores available.
    threads: int | None = field(default=None, metadata={"min": 1})
    # CTranslate2 replicas generating in parallel; None: min(threads, 4) on CPU, 1 on GPU.
    replicas: int | None = field(default=None, metadata={"min": 1})
    num_beams: int | None = field(default=None, metadata={"min": 1})
    max_new_tokens: int | None = field(default=None, metadata={"min": 1})
    min_new_tokens: int | None = field(default=None, metadata={"min": 0})
    max_input_tokens: int | None = field(default=None, metadata={"min": 16})
    length_penalty: float | None = None
    no_repeat_ngram_size: int | None = field(default=None, metadata={"min": 0})
    revision: str | None = None
    allow_pickle: bool = False
    trust_remote_code: bool = False
    languages: tuple[str, ...] | None = None  # source languages allowed; None: the model's
    # Instruct LLMs (models/llm.py): the prompts file (None: the packaged one), and one
    # request per article for its summary and the summary's translation together.
    prompts: str | None = None
    one_call: bool = False
    # --backend openai (models/server.py): where the server is, the variable that holds its
    # key (never the key itself), and how hard to try.
    base_url: str | None = None
    api_key_env: str | None = None
    max_concurrency: int = field(default=8, metadata={"min": 1})
    request_timeout: float = field(default=300.0, metadata={"min": 0.1})
    retries: int = field(default=5, metadata={"min": 0})

    def __post_init__(self) -> None:
        check(self)  # flags, config files and library callers alike (pipeline/schema.py)


@dataclass(frozen=True)
class Resolved:
    """The effective settings for one model, after flags, presets file and model config."""

    decoding: Decoding
    max_input_tokens: int
    batch_tokens: int
    max_batch_size: int
    languages: tuple[str, ...]  # ("*",) for any

    def as_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self.decoding, f.name) for f in fields(Decoding)}
        out.update(
            max_input_tokens=self.max_input_tokens,
            batch_tokens=self.batch_tokens,
            max_batch_size=self.max_batch_size,
            languages=",".join(self.languages),
        )
        return out


@cache
def _data() -> dict[str, Any]:
    return tomllib.loads(resources.files(__package__).joinpath("presets.toml").read_text())


def presets() -> dict[str, dict[str, Any]]:
    return _data()["presets"]


def preset(name: str) -> dict[str, Any]:
    try:
        return presets()[name]
    except KeyError:
        raise NewsumError(
            f"unknown preset {name!r}; presets: {', '.join(presets())} (see `newsum models list`)"
        ) from None


def published_settings(model_id: str) -> dict[str, Any]:
    """Settings the presets file records for a model id (empty for unknown models)."""
    return dict(_data()["models"].get(model_id, {}))


def default_batch_tokens(options: GenerationOptions, device: str) -> int:
    """The device's budget; with CTranslate2, times its replicas: the backend deals each
    batch out to them, and one of the device's budget each keeps them as efficient as a
    lone model (measured: 2 replicas of 2,048-token shares lose ~10% to 4,096-token ones)."""
    budget = DEFAULT_BATCH_TOKENS.get(device, 4096)
    if options.backend == "ct2":
        budget *= plan_threads(device, options.threads, options.replicas).replicas
    return budget


def resolve(
    options: GenerationOptions,
    model_id: str,
    model_config: dict[str, Any],
    model_limit: int | None,
    device: str,
) -> Resolved:
    """Flags first, then the presets file's entry for the model, then the model's own
    generation config, then newsum's fallbacks."""
    published = published_settings(model_id)

    def pick(name: str, fallback: Any) -> Any:
        for source in (getattr(options, name, None), published.get(name), model_config.get(name)):
            if source is not None:
                return source
        return fallback

    max_input = pick("max_input_tokens", model_limit or FALLBACK_MAX_INPUT_TOKENS)
    if model_limit and max_input > model_limit:
        raise NewsumError(
            f"--max-input-tokens {max_input} is over {model_id}'s limit of {model_limit} tokens"
        )
    decoding = Decoding(
        num_beams=int(pick("num_beams", 1)),
        max_new_tokens=int(pick("max_new_tokens", FALLBACK_MAX_NEW_TOKENS)),
        min_new_tokens=int(pick("min_new_tokens", 0)),
        length_penalty=float(pick("length_penalty", 1.0)),
        no_repeat_ngram_size=int(pick("no_repeat_ngram_size", 0)),
    )
    if decoding.min_new_tokens > decoding.max_new_tokens:
        raise NewsumError(
            f"--min-new-tokens ({decoding.min_new_tokens}) is over --max-new-tokens "
            f"({decoding.max_new_tokens})"
        )
    languages = options.languages or tuple(published.get("languages", ("fr",)))
    batch_tokens = options.batch_tokens or default_batch_tokens(options, device)
    return Resolved(
        decoding=decoding,
        max_input_tokens=int(max_input),
        batch_tokens=batch_tokens,
        max_batch_size=options.max_batch_size,
        languages=languages,
    )

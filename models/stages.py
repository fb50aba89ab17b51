"""The model stages, built in one place for `newsum summarize`/`translate` and `newsum run`.

A stage is the step that runs over records plus what identifies its outputs: the model
id, its revision, backend and device, the settings it resolved to and a fingerprint of
its weight files. The batch job keeps that in its manifest, so a resumed run can tell
whether the cached outputs came from the same model.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from newsum.pipeline.core.errors import NewsumError
from newsum.pipeline.core.step import Step

from .engine import Engine
from .load import Loaded, load_model, load_summarizer
from .options import GenerationOptions
from .summarize import Summarize
from .translate import TARGETS, Translate


@dataclass
class Stage:
    """A model stage: its step, its engine (None for an extractive summarizer), and what
    identifies its outputs (`info`) or shows its settings (`describe`, for --verbose)."""

    step: Step
    engine: Engine | None
    info: dict[str, Any]
    describe: dict[str, Any] = field(default_factory=dict)


def summarizer(model: str, generation: GenerationOptions | None = None) -> Stage:
    """The summarize stage for MODEL: lead-N / textrank, or a seq2seq model."""
    generation = generation or GenerationOptions()
    loaded = load_summarizer(model, generation)
    if isinstance(loaded, Loaded):
        if generation.one_call and loaded.one_call is None:
            raise NewsumError(
                f"--one-call needs an instruct LLM as summarizer; {model} is a seq2seq model"
            )
        step = Summarize(
            loaded.engine, loaded.resolved.languages, one_call=loaded.one_call, check=is_llm(loaded)
        )
        return Stage(step, loaded.engine, model_info(loaded), loaded.describe())
    info = {"id": loaded.name, "kind": "extractive"}
    return Stage(Summarize(loaded, generation.languages or ("fr",)), None, info, info)


def translator(
    model: str,
    generation: GenerationOptions | None = None,
    fields: tuple[str, ...] = ("summary",),
    hint: str = "",
) -> Stage:
    """The translate stage for MODEL (into English), adding `summary_en` / `text_en`.

    `hint` ends the message when the model cannot be loaded (what to do instead)."""
    if not fields or set(fields) - set(TARGETS):
        raise NewsumError(f"--fields takes summary and/or text, not {','.join(fields)!r}")
    try:
        loaded = load_model(model, generation or GenerationOptions(), target_lang="en")
    except NewsumError as exc:
        raise NewsumError(f"{exc} {hint}".strip()) from None
    step = Translate(
        loaded.engine,
        loaded.resolved.languages,
        fields,
        # In one-call mode the summarizer already wrote summary_en where it could.
        keep_existing=(generation or GenerationOptions()).one_call,
        check=is_llm(loaded),
    )
    return Stage(step, loaded.engine, model_info(loaded), loaded.describe())


def is_llm(loaded: Loaded) -> bool:
    """An instruct LLM (in-process or served): its answers' language is checked."""
    return "prompts" in loaded.info


def model_info(loaded: Loaded) -> dict[str, Any]:
    """What identifies a loaded model's outputs: id, revision, backend, device, settings."""
    path = Path(loaded.info["path"]) if loaded.info.get("path") else None
    # A hub snapshot lives in .../snapshots/<commit>: that commit is the resolved revision.
    snapshot = path is not None and path.parent.name == "snapshots"
    revision = path.name if snapshot else loaded.info.get("revision")
    return {
        "id": loaded.model_id,
        "revision": revision,
        "backend": loaded.info.get("backend"),
        "device": loaded.info.get("device"),
        "settings": loaded.resolved.as_dict(),
        "weights": weights_fingerprint(path) if path else "",
        # An LLM's outputs also depend on its prompts (by content) and where it is served.
        **{k: loaded.info[k] for k in ("prompts", "base_url") if k in loaded.info},
        **({"one_call": True} if loaded.one_call is not None else {}),
    }


def weights_fingerprint(path: Path) -> str:
    """Names and sizes of the model files: a local folder's stand-in for a revision."""
    if not path.is_dir():
        return ""
    files = sorted((p.name, p.stat().st_size) for p in path.iterdir() if p.is_file())
    return hashlib.sha256(json.dumps(files).encode()).hexdigest()[:16]

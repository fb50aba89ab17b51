"""The model stages of a run: which models (presets resolved), and what identifies their outputs.

The driver of a run loads them once (`load_models`): for their description in the manifest,
their fingerprint (what the cache keys its outputs with) and the tokenizers that cut shards
into units of work. The local executor then runs them in the driver; a Ray actor loads its
own copy, once, with the same options (see pipeline.job.ray_executor).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from typing import Any, ClassVar

from newsum.models.engine import Engine
from newsum.models.hub import fetch
from newsum.models.options import GenerationOptions, preset
from newsum.models.stages import Stage, summarizer, translator
from newsum.pipeline.core.errors import NewsumError
from newsum.pipeline.core.step import Step

from .jobdir import short_hash
from .options import RunOptions, plain


@dataclass
class Models:
    """The model stages of a run and what identifies their outputs."""

    stages: list[Stage]
    info: dict[str, Any]
    fingerprint: str
    notices: list[str] = field(default_factory=list)

    # How many times this process loaded model stages: what a Ray actor reports, so that
    # the manifest shows a reload if one ever happens.
    loads: ClassVar[int] = 0

    @property
    def steps(self) -> list[Step]:
        return [stage.step for stage in self.stages]

    @property
    def device(self) -> str:
        """Where the stages really run: the first neural stage's device, else the CPU."""
        neural = (stage.info.get("device") for stage in self.stages if stage.engine is not None)
        return next(neural, None) or "cpu"

    def engines(self) -> list[Engine]:
        """The generation engines of the neural stages, in stage order."""
        return [stage.engine for stage in self.stages if stage.engine is not None]

    def usage(self) -> dict[str, int]:
        """What the stages asked of a server (requests, retries, failures, tokens) and of
        the one-call mode (calls, fallbacks to two calls): empty for local models."""
        total: Counter[str] = Counter()
        seen: set[int] = set()
        for stage in self.stages:
            for source in (
                getattr(stage.engine, "client", None),
                getattr(stage.step, "one_call", None),
            ):
                if source is not None and id(source) not in seen:
                    seen.add(id(source))
                    total.update(source.usage())
        return dict(total)

    def planner(self) -> Engine | None:
        """The engine whose batches cut a shard into units of work (None: no neural stage)."""
        return next(iter(self.engines()), None)


def load_models(options: RunOptions) -> Models:
    """Load the summarizer and translator the options name (presets resolved here)."""
    notices: list[str] = []
    generation = options.generation or GenerationOptions()
    name = options.preset
    if name == "auto":
        name, notice = _auto_preset(options, generation)
        if notice:
            notices.append(notice)
    chosen = preset(name)
    if generation.num_beams is None and "num_beams" in chosen:
        generation = replace(generation, num_beams=chosen["num_beams"])
    summarizer_id = options.summarizer or chosen["summarizer"]
    translator_id = chosen["translator"] if options.translator is None else options.translator
    if options.preset == "auto" and name == "extractive" and options.translator is None:
        translator_id = ""
    stages = [summarizer(summarizer_id, generation)]
    info: dict[str, Any] = {"preset": name, "summarizer": stages[0].info}
    if translator_id:
        hint = "To summarize without translating, pass --no-translate."
        stages.append(translator(translator_id, generation, options.fields, hint))
        info["translator"] = stages[1].info
    info["generation"] = {k: plain(v) for k, v in asdict(generation).items() if v is not None}
    fingerprint = short_hash(json.dumps([info, list(options.fields)], sort_keys=True, default=str))
    Models.loads += 1
    return Models(stages, info, fingerprint, notices)


def _auto_preset(options: RunOptions, generation: GenerationOptions) -> tuple[str, str | None]:
    """`default` when its models are cached or the hub answers, else `extractive`."""
    default = preset("default")
    try:
        fetch(options.summarizer or default["summarizer"], generation.revision)
    except NewsumError:
        translator = default["translator"]
        return "extractive", (
            f"the default models are not cached and the hub cannot be reached: summarizing "
            f"with lead-3, translation skipped. To translate, run `newsum models download "
            f"{translator}` on a connected machine, or pass --translator PATH."
        )
    return "default", None

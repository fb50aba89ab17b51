"""newsum as a library: the three stages, the batch job and the evaluation, without the CLI.

Every stage takes records and yields records (`Record`, one type for all stages), lazily,
so stages chain as generators and a corpus streams through them. Each takes the options
object of its CLI command, with the same defaults:

    from newsum.pipeline import api

    records = api.clean(api.read(["examples/articles"]))
    for record in api.summarize(records, "lead-3"):  # or a hub id, or a model's folder
        print(record.id, record.status, record.summary)

    manifest = api.run(api.RunOptions(inputs=("examples/articles",), output="out/job",
                                      preset="extractive"))

The CLI commands build these same objects and call these same functions.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from newsum.eval.evaluate import EvalOptions
from newsum.eval.evaluate import evaluate as _evaluate
from newsum.models.options import GenerationOptions
from newsum.models.stages import Stage, summarizer, translator
from newsum.pipeline.clean import CleanOptions, clean
from newsum.pipeline.core.readers import ReadOptions, read_inputs
from newsum.pipeline.core.record import Record
from newsum.pipeline.core.step import Step
from newsum.pipeline.job.options import RunOptions
from newsum.pipeline.job.run import merge
from newsum.pipeline.job.run import run as _run

__all__ = [
    "CleanOptions",
    "EvalOptions",
    "GenerationOptions",
    "ReadOptions",
    "Record",
    "RunOptions",
    "Stage",
    "Step",
    "clean",
    "evaluate",
    "merge",
    "read",
    "run",
    "summarize",
    "summarizer",
    "translate",
    "translator",
]


def read(inputs: Sequence[str], options: ReadOptions | None = None) -> Iterator[Record]:
    """The records of files, folders, '-' (standard input) or hf:NAME:SPLIT, in order."""
    return read_inputs(list(inputs), options or ReadOptions())


def summarize(
    records: Iterable[Record], model: str, options: GenerationOptions | None = None
) -> Iterator[Record]:
    """`summary` for each record, by MODEL (lead-N, textrank, a hub id or a folder).

    Loads the model on each call: to summarize several batches, build the stage once
    with `summarizer(model, options)` and call its `step` on each."""
    return summarizer(model, options).step(records)


def translate(
    records: Iterable[Record],
    model: str,
    options: GenerationOptions | None = None,
    fields: tuple[str, ...] = ("summary",),
) -> Iterator[Record]:
    """`summary_en` (and `text_en` with fields=("summary", "text")) for each record."""
    return translator(model, options, fields).step(records)


def run(options: RunOptions, *, resume: bool = False, overwrite: bool = False) -> dict[str, Any]:
    """The batch job (`newsum run`); returns its manifest."""
    return _run(options, resume=resume, overwrite=overwrite)


def evaluate(predictions: str, options: EvalOptions) -> dict[str, Any]:
    """The evaluation report (`newsum eval`) of a run folder or a predictions file."""
    return _evaluate(predictions, options)

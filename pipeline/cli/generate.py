"""`newsum summarize` and `newsum translate`."""

from __future__ import annotations

from typing import Annotated

import typer

from .app import Debug, Output, Quiet, app, finish, start
from .genopts import (
    AllowPickle,
    Backend,
    BatchTokens,
    Device,
    Dtype,
    Languages,
    MaxBatchSize,
    MaxInputTokens,
    MaxNewTokens,
    MinNewTokens,
    NumBeams,
    Revision,
    TrustRemoteCode,
    Verbose,
    generation_options,
)

Input = Annotated[str, typer.Argument(help="Cleaned articles (JSONL from `newsum clean`), or '-'.")]
Model = Annotated[
    str,
    typer.Option("--model", "-m", help="Hub id, local folder, or lead-N / textrank."),
]


@app.command()
def summarize(
    input: Input,
    output: Output,
    model: Model,
    backend: Backend = "torch",
    device: Device = "auto",
    dtype: Dtype = "auto",
    batch_tokens: BatchTokens = None,
    max_batch_size: MaxBatchSize = 64,
    num_beams: NumBeams = None,
    max_new_tokens: MaxNewTokens = None,
    min_new_tokens: MinNewTokens = None,
    max_input_tokens: MaxInputTokens = None,
    revision: Revision = None,
    allow_pickle: AllowPickle = False,
    trust_remote_code: TrustRemoteCode = False,
    languages: Languages = None,
    verbose: Verbose = False,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Add `summary` (in the article's language) and `chunks` to each record."""
    start(quiet, debug)
    _check_output(output)
    from newsum.models.stages import summarizer

    stage = summarizer(model, generation_options(locals()))
    _show(stage.describe, verbose)
    _run(input, output, stage.step, "summarizing", quiet)


@app.command()
def translate(
    input: Input,
    output: Output,
    model: Annotated[str, typer.Option("--model", "-m", help="Hub id or local folder.")],
    fields: Annotated[
        str, typer.Option(help="What to translate, comma-separated: summary, text.")
    ] = "summary",
    backend: Backend = "torch",
    device: Device = "auto",
    dtype: Dtype = "auto",
    batch_tokens: BatchTokens = None,
    max_batch_size: MaxBatchSize = 64,
    num_beams: NumBeams = None,
    max_new_tokens: MaxNewTokens = None,
    min_new_tokens: MinNewTokens = None,
    max_input_tokens: MaxInputTokens = None,
    revision: Revision = None,
    allow_pickle: AllowPickle = False,
    trust_remote_code: TrustRemoteCode = False,
    languages: Languages = None,
    verbose: Verbose = False,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Add `summary_en` (and `text_en` with --fields summary,text) to each record."""
    start(quiet, debug)
    _check_output(output)
    from newsum.models.stages import translator

    chosen = tuple(f.strip() for f in fields.split(",") if f.strip())
    stage = translator(model, generation_options(locals()), chosen)
    _show(stage.describe, verbose)
    _run(input, output, stage.step, "translating", quiet)


def _show(settings: dict, verbose: bool) -> None:
    if verbose:
        for key, value in settings.items():
            typer.echo(f"{key:>22}: {value}", err=True)


def _check_output(output: str) -> None:
    """Refuse an output name of no known format before a model is loaded."""
    from newsum.pipeline.core.writers import output_format

    output_format(output)


def _run(input: str, output: str, step, description: str, quiet: bool) -> None:
    from newsum.pipeline.core.progress import progress_enabled, track
    from newsum.pipeline.core.readers import read_inputs
    from newsum.pipeline.core.writers import write_records

    records = step(read_inputs([input]))
    finish(write_records(track(records, description, progress_enabled(quiet)), output))

"""`newsum summarize` and `newsum translate`."""

from __future__ import annotations

from typing import Annotated

import typer

from newsum.pipeline.job.options import RunOptions

from .app import Debug, Output, Quiet, app, finish, start
from .options import GENERATION, Fields, Flags, Verbose, takes

Input = Annotated[str, typer.Argument(help="Cleaned articles (JSONL from `newsum clean`), or '-'.")]


@app.command()
@takes(GENERATION)
def summarize(
    input: Input,
    output: Output,
    model: Annotated[
        str, typer.Option("--model", "-m", help="Hub id, local folder, or lead-N / textrank.")
    ],
    flags: Flags,
    verbose: Verbose = False,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Add `summary` (in the article's language) and `chunks` to each record."""
    start(quiet, debug)
    _check_output(output)
    from newsum.models.options import GenerationOptions
    from newsum.models.stages import summarizer

    stage = summarizer(model, flags.build(GenerationOptions))
    _generate(stage, "summarizing", input, output, verbose, quiet)


@app.command()
@takes(GENERATION)
def translate(
    input: Input,
    output: Output,
    model: Annotated[str, typer.Option("--model", "-m", help="Hub id or local folder.")],
    flags: Flags,
    fields: Fields = RunOptions.fields,
    verbose: Verbose = False,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Add `summary_en` (and `text_en` with --fields summary,text) to each record."""
    start(quiet, debug)
    _check_output(output)
    from newsum.models.options import GenerationOptions
    from newsum.models.stages import translator

    stage = translator(model, flags.build(GenerationOptions), fields)
    _generate(stage, "translating", input, output, verbose, quiet)


def show_settings(settings: dict) -> None:
    """A model's effective settings on stderr, one a line (--verbose)."""
    for key, value in settings.items():
        typer.echo(f"{key:>22}: {value}", err=True)


def _check_output(output: str) -> None:
    """Refuse an output name of no known format before a model is loaded."""
    from newsum.pipeline.core.writers import output_format

    output_format(output)


def _generate(stage, doing: str, input: str, output: str, verbose: bool, quiet: bool) -> None:
    from newsum.pipeline.core.progress import progress_enabled, track
    from newsum.pipeline.core.readers import read_inputs
    from newsum.pipeline.core.writers import write_records

    if verbose:
        show_settings(stage.describe)
    records = stage.step(read_inputs([input]))
    finish(write_records(track(records, doing, progress_enabled(quiet)), output))

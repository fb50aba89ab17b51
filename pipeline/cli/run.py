"""`newsum run` (the batch job) and `newsum merge` (join the outputs of sharded runs)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from newsum.pipeline.core.errors import NewsumError

from .app import Debug, Quiet, app, finish, report, start
from .genopts import (
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
)

_R, _C = "Run", "Cleaning"


@app.command()
def run(
    ctx: typer.Context,
    inputs: Annotated[
        list[str] | None,
        typer.Argument(
            help="Inputs, as for `newsum clean` (or `inputs` in --config).", show_default=False
        ),
    ] = None,
    output: Annotated[str | None, typer.Option("--output", "-o", help="Output folder.")] = None,
    config: Annotated[
        Path | None, typer.Option(help="TOML file with the same keys; flags override it.")
    ] = None,
    print_config: Annotated[
        bool, typer.Option("--print-config", help="Print the effective config as TOML and stop.")
    ] = False,
    resume: Annotated[bool, typer.Option("--resume", help="Finish an interrupted run.")] = False,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Clear OUTDIR and start again.")
    ] = False,
    preset: Annotated[
        str | None,
        typer.Option(
            help="default, fast, multilingual, extractive, or auto (default when its "
            "models can be had, else extractive). [default: default]",
            rich_help_panel=_R,
        ),
    ] = None,
    summarizer: Annotated[
        str | None, typer.Option(help="Summarizer (overrides the preset).", rich_help_panel=_R)
    ] = None,
    translator: Annotated[
        str | None,
        typer.Option(help="Translator (overrides the preset); '' for none.", rich_help_panel=_R),
    ] = None,
    no_translate: Annotated[
        bool,
        typer.Option(
            "--no-translate", help="Summarize only (same as --translator '').", rich_help_panel=_R
        ),
    ] = False,
    reuse_duplicates: Annotated[
        bool | None,
        typer.Option(
            "--reuse-duplicates/--no-reuse-duplicates",
            help="A near-duplicate takes its original's summary and translation (same "
            "shard). [default: on]",
            rich_help_panel=_R,
        ),
    ] = None,
    fields_: Annotated[
        str | None,
        typer.Option(
            "--fields",
            help="What to translate: summary, text. [default: summary]",
            rich_help_panel=_R,
        ),
    ] = None,
    references: Annotated[
        str | None,
        typer.Option(help="References: evaluate the run, reports in OUTDIR.", rich_help_panel=_R),
    ] = None,
    format: Annotated[
        str | None,
        typer.Option(help="jsonl, or parquet (written beside the JSONL).", rich_help_panel=_R),
    ] = None,
    shard_size: Annotated[
        int | None, typer.Option(min=1, help="Records a shard. [default: 1000]", rich_help_panel=_R)
    ] = None,
    shard: Annotated[
        str | None,
        typer.Option(
            help="I/N: only the I-th (0-based) of N slices, for job arrays.", rich_help_panel=_R
        ),
    ] = None,
    executor: Annotated[
        str | None, typer.Option(help="local or ray. [default: local]", rich_help_panel=_R)
    ] = None,
    ray_address: Annotated[
        str | None,
        typer.Option(help="Ray cluster address (default: a local Ray).", rich_help_panel=_R),
    ] = None,
    text_field: Annotated[
        str | None, typer.Option(help="Input text column.", rich_help_panel=_C)
    ] = None,
    id_field: Annotated[
        str | None, typer.Option(help="Input id column.", rich_help_panel=_C)
    ] = None,
    title_field: Annotated[
        str | None, typer.Option(help="Input title column.", rich_help_panel=_C)
    ] = None,
    rules: Annotated[
        list[Path] | None,
        typer.Option("--rules", help="Extra boilerplate rules.", rich_help_panel=_C),
    ] = None,
    keep_boilerplate: Annotated[
        bool | None, typer.Option("--keep-boilerplate/--remove-boilerplate", rich_help_panel=_C)
    ] = None,
    dedup: Annotated[bool | None, typer.Option("--dedup/--no-dedup", rich_help_panel=_C)] = None,
    dedup_threshold: Annotated[
        float | None, typer.Option(min=0.0, max=1.0, rich_help_panel=_C)
    ] = None,
    max_chars: Annotated[int | None, typer.Option(min=1, rich_help_panel=_C)] = None,
    strict: Annotated[
        bool | None,
        typer.Option(
            "--strict",
            help="A record that cleaning warns about becomes an error.",
            rich_help_panel=_C,
        ),
    ] = None,
    backend: Backend = None,
    device: Device = None,
    dtype: Dtype = None,
    batch_tokens: BatchTokens = None,
    max_batch_size: MaxBatchSize = None,
    num_beams: NumBeams = None,
    max_new_tokens: MaxNewTokens = None,
    min_new_tokens: MinNewTokens = None,
    max_input_tokens: MaxInputTokens = None,
    revision: Revision = None,
    allow_pickle: Annotated[
        bool | None, typer.Option("--allow-pickle", rich_help_panel="Generation")
    ] = None,
    trust_remote_code: Annotated[
        bool | None, typer.Option("--trust-remote-code", rich_help_panel="Generation")
    ] = None,
    languages: Languages = None,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Clean, summarize and translate (and evaluate with --references): the batch job.

    Writes OUTDIR/shards/part-NNNNN.jsonl, OUTDIR/manifest.json and OUTDIR/errors.jsonl;
    rerun with --resume after any interruption."""
    start(quiet, debug)
    given = {k: v for k, v in locals().items() if k not in _NOT_OPTIONS and v is not None}
    if "fields_" in given:
        given["fields"] = given.pop("fields_")
    if "max_chars" in given:  # reading is bounded too, in bytes (see pipeline.core.readers)
        given["max_bytes"] = 8 * given["max_chars"]
    if given.pop("no_translate"):
        if given.get("translator"):
            raise NewsumError("--no-translate and --translator contradict each other: choose one")
        given["translator"] = ""
    from newsum.pipeline.job.options import build_options, to_toml

    options = build_options(config, given)
    if print_config:
        typer.echo(to_toml(options.as_config()), nl=False)
        return
    if not options.inputs:
        raise NewsumError("no input given: pass INPUT... or `inputs` in --config")
    if resume and overwrite:
        raise NewsumError("--resume and --overwrite contradict each other: choose one")
    from newsum.pipeline.job.jobdir import manifest_file
    from newsum.pipeline.job.run import run as run_job

    with _progress(quiet, options) as progress:
        manifest = run_job(options, resume=resume, overwrite=overwrite, progress=progress)
    for notice in manifest.get("notices", []):
        typer.echo(f"newsum: note: {notice}", err=True)
    report(f"manifest: {Path(options.output) / manifest_file(options.shard_slice())}")
    if manifest.get("report"):
        report(f"report: {Path(options.output) / manifest['report'][-1]}")
    finish(manifest["counts"])


_NOT_OPTIONS = {"ctx", "config", "print_config", "resume", "overwrite", "quiet", "debug"}


@app.command()
def merge(
    outdir: Annotated[Path, typer.Argument(help="The folder the sharded runs wrote to.")],
    references: Annotated[str | None, typer.Option(help="Evaluate the merged run.")] = None,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Join the shards of `newsum run --shard I/N` runs into one result with one manifest."""
    start(quiet, debug)
    from newsum.pipeline.job.run import merge as merge_runs

    manifest = merge_runs(outdir, references)
    report(f"manifest: {outdir / 'manifest.json'}")
    finish(manifest["counts"])


# ---- progress ------------------------------------------------------------------------------


@contextmanager
def _progress(quiet: bool, options) -> Iterator:
    """A callback driving one rich display, a bar per stage, on a terminal; else None."""
    from newsum.pipeline.core.progress import progress_enabled

    if not progress_enabled(quiet):
        yield None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from newsum.pipeline.core.progress import rate_column
    from newsum.pipeline.core.readers import read_inputs

    # Counting first makes bars and ETAs possible; reading is cheap next to the models.
    # Standard input can be read only once: no total then.
    total = (
        None if "-" in options.inputs else sum(1 for _ in read_inputs(options.inputs, options.read))
    )
    display = Progress(
        TextColumn("[bold]{task.description:<10}"),
        BarColumn(),
        MofNCompleteColumn(),
        rate_column(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    tasks: dict[str, int] = {}

    def update(stage: str, n: int) -> None:
        if stage not in tasks:
            tasks[stage] = display.add_task(stage, total=total)
        display.advance(tasks[stage], n)

    with display:
        yield update

"""`newsum run` (the batch job) and `newsum merge` (join the outputs of sharded runs)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from newsum.pipeline.core.errors import NewsumError

from .app import Debug, Quiet, app, finish, report, start
from .generate import show_settings
from .options import CLEANING, GENERATION, READING, RUNNING, Flags, Verbose, takes

# `run` takes every option of `clean`, `summarize` and `translate` (the groups READING,
# CLEANING and GENERATION, and --fields, --verbose, -o) but --model: it runs two models,
# named by --summarizer and --translator or by the preset.


@app.command()
@takes(READING, CLEANING, GENERATION, RUNNING)
def run(
    flags: Flags,
    inputs: Annotated[
        list[str] | None,
        typer.Argument(
            help="Inputs, as for `newsum clean` (or `inputs` in --config).", show_default=False
        ),
    ] = None,
    config: Annotated[
        Path | None, typer.Option(help="TOML file with the same keys; flags override it.")
    ] = None,
    print_config: Annotated[
        bool, typer.Option("--print-config", help="Print the effective config as TOML and stop.")
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="Print what would be read, the models and an estimate of the work (articles, "
            "input tokens); write nothing, load no model.",
        ),
    ] = False,
    resume: Annotated[bool, typer.Option("--resume", help="Finish an interrupted run.")] = False,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Clear OUTDIR and start again.")
    ] = False,
    no_translate: Annotated[
        bool,
        typer.Option(
            "--no-translate",
            help="Summarize only (same as --translator '').",
            rich_help_panel=RUNNING.heading,
        ),
    ] = False,
    verbose: Verbose = False,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Clean, summarize and translate (and evaluate with --references): the batch job.

    Writes OUTDIR/shards/part-NNNNN.jsonl, OUTDIR/manifest.json and OUTDIR/errors.jsonl;
    rerun with --resume after any interruption. The options given here override --config."""
    start(quiet, debug)
    given = flags.on_command_line()
    if inputs:
        given["inputs"] = inputs
    if "max_chars" in given:  # reading is bounded too, in bytes (see pipeline.core.readers)
        given["max_bytes"] = 8 * given["max_chars"]
    if no_translate:
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
    if dry_run:
        import json

        from newsum.pipeline.job.dry_run import dry_run as plan

        typer.echo(json.dumps(plan(options), indent=2, ensure_ascii=False))
        return
    if resume and overwrite:
        raise NewsumError("--resume and --overwrite contradict each other: choose one")
    from newsum.pipeline.job.jobdir import manifest_file
    from newsum.pipeline.job.run import run as run_job

    def show(models) -> None:  # what summarize/translate --verbose print, before the work
        for stage in models.stages:
            show_settings(stage.describe)

    with _progress(quiet, options) as progress:
        manifest = run_job(
            options, resume, overwrite, progress=progress, loaded=show if verbose else None
        )
    for notice in manifest.get("notices", []):
        typer.echo(f"newsum: note: {notice}", err=True)
    report(f"manifest: {Path(options.output) / manifest_file(options.shard_slice())}")
    if manifest.get("report"):
        report(f"report: {Path(options.output) / manifest['report'][-1]}")
    finish(manifest["counts"])


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
    from newsum.pipeline.core.readers import on_the_web, read_inputs

    # Counting first makes bars and ETAs possible; reading is cheap next to the models.
    # Standard input can be read only once: no total then.
    # Nor for web inputs: counting would fetch every page once more.
    local = not any(spec == "-" or on_the_web(spec) for spec in options.inputs)
    total = sum(1 for _ in read_inputs(options.inputs, options.read)) if local else None
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

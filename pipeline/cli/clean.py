"""`newsum clean`: read any inputs, clean them, write JSONL or Parquet."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .app import Debug, Output, Quiet, app, finish, start

Inputs = Annotated[
    list[str],
    typer.Argument(
        help="Files (.txt .html .jsonl .json .csv .parquet, optionally .gz), directories, "
        "'-' for JSONL on stdin, or hf:NAME[:CONFIG]:SPLIT.",
        metavar="INPUT",
        show_default=False,
    ),
]
TextField = Annotated[str, typer.Option(help="Input column holding the article text.")]
IdField = Annotated[str, typer.Option(help="Input column holding the article id.")]
TitleField = Annotated[str, typer.Option(help="Input column holding the title.")]


@app.command()
def clean(
    inputs: Inputs,
    output: Output,
    rules: Annotated[
        list[Path] | None,
        typer.Option("--rules", help="Extra boilerplate rules (TOML); may be repeated."),
    ] = None,
    keep_boilerplate: Annotated[
        bool,
        typer.Option(
            "--keep-boilerplate", help="Do not remove boilerplate (characters are still repaired)."
        ),
    ] = False,
    keep_html: Annotated[
        bool, typer.Option("--keep-html", help="Keep the raw HTML in the `html` field.")
    ] = False,
    dedup: Annotated[bool, typer.Option(help="Flag near-duplicates (`duplicate_of`).")] = True,
    dedup_threshold: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Jaccard similarity for a near-duplicate.")
    ] = 0.8,
    max_chars: Annotated[
        int, typer.Option(min=1, help="Longer texts are skipped with a reason.")
    ] = 500_000,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict",
            help="Make a record with warnings (body shrunk by cleaning, or short) an error.",
        ),
    ] = False,
    text_field: TextField = "text",
    id_field: IdField = "id",
    title_field: TitleField = "title",
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Clean French articles: fix characters, remove boilerplate, flag duplicates.

    Title, byline and date move out of the body into their fields; the language is
    detected; every removed span is listed in `removed` with the rule that took it. A body
    that kept less than half of its words, or fewer than 40, gets a `warnings` entry.
    """
    start(quiet, debug)
    from newsum.pipeline.clean import CleanOptions
    from newsum.pipeline.clean import clean as clean_records
    from newsum.pipeline.core.progress import progress_enabled, track
    from newsum.pipeline.core.readers import ReadOptions, read_inputs
    from newsum.pipeline.core.writers import output_format, write_records

    output_format(output)  # a wrong output name fails before any input is read

    read_options = ReadOptions(text_field, id_field, title_field, keep_html)
    options = CleanOptions(
        rules_files=tuple(rules or ()),
        keep_boilerplate=keep_boilerplate,
        max_chars=max_chars,
        dedup=dedup,
        dedup_threshold=dedup_threshold,
        strict=strict,
    )
    records = clean_records(read_inputs(inputs, read_options), options)
    finish(write_records(track(records, "cleaning", progress_enabled(quiet)), output))

"""`newsum clean`: read any inputs, clean them, write JSONL or Parquet."""

from __future__ import annotations

from typing import Annotated

import typer

from .app import Debug, Output, Quiet, app, finish, report, start
from .options import CLEANING, READING, Flags, takes

Inputs = Annotated[
    list[str],
    typer.Argument(
        help="Files (.txt .html .jsonl .json .csv .parquet, optionally .gz), directories, "
        "'-' for JSONL on stdin, or hf:NAME[:CONFIG]:SPLIT.",
        metavar="INPUT",
        show_default=False,
    ),
]


@app.command()
@takes(READING, CLEANING)
def clean(
    inputs: Inputs, output: Output, flags: Flags, quiet: Quiet = False, debug: Debug = False
) -> None:
    """Clean French articles: fix characters, remove boilerplate, flag duplicates.

    Title, byline and date move out of the body into their fields; the language is
    detected; every removed span is listed in `removed` with the rule that took it. A body
    that kept less than half of its words, or fewer than 40, gets a `warnings` entry.
    """
    start(quiet, debug)
    from dataclasses import replace

    from newsum.pipeline.clean import CleanOptions
    from newsum.pipeline.clean import clean as clean_records
    from newsum.pipeline.core.progress import progress_enabled, track
    from newsum.pipeline.core.readers import ReadOptions, read_inputs
    from newsum.pipeline.core.web import Web
    from newsum.pipeline.core.writers import output_format, write_records

    output_format(output)  # a wrong output name fails before any input is read
    read = flags.build(ReadOptions)
    if "max_chars" in flags.values:  # reading is bounded too, in bytes (as in `run`)
        read = replace(read, max_bytes=8 * flags.values["max_chars"])
    web = Web(read)  # what web and WARC inputs held, told after the tally
    try:
        records = read_inputs(inputs, read, web=web)
        cleaned = clean_records(records, flags.build(CleanOptions))
        counts = write_records(track(cleaned, "cleaning", progress_enabled(quiet)), output)
    finally:
        web.close()
    for name, stats in web.stats().items():
        report(f"{name}: " + ", ".join(f"{v:,} {k.replace('_', ' ')}" for k, v in stats.items()))
    finish(counts)

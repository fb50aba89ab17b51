"""`newsum bench`: the benchmarks of the source checkout, by name."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer

from newsum.pipeline.core.errors import NewsumError

from .app import app

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def bench(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="clean, generate, eval or run.")],
) -> None:
    """Run a benchmark from benchmarks/ (extra arguments go to it, e.g. --json)."""
    script = BENCHMARKS / f"bench_{name}.py"
    if not script.is_file():
        known = sorted(p.stem.removeprefix("bench_") for p in BENCHMARKS.glob("bench_*.py"))
        if not known:
            raise NewsumError("the benchmarks live in newsum's source checkout (benchmarks/)")
        raise NewsumError(f"no benchmark {name!r}; choose one of: {', '.join(known)}")
    raise typer.Exit(subprocess.call([sys.executable, str(script), *ctx.args]))

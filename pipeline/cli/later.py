"""Commands of the contract that later work fills in; each says so and exits non-zero."""

from __future__ import annotations

import typer

from ..errors import NewsumError
from .app import app

_PASS_THROUGH = {"allow_extra_args": True, "ignore_unknown_options": True}


def _not_yet(command: str) -> None:
    raise NewsumError(f"`newsum {command}` is not available yet in this version of newsum.")


@app.command(context_settings=_PASS_THROUGH, help="Throughput benchmarks (not yet available).")
def bench(ctx: typer.Context) -> None:
    _not_yet("bench")

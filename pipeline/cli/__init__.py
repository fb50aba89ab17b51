"""The `newsum` command line: thin commands that build an options object and call the library."""

from __future__ import annotations

# Commands register themselves on `app` when their module is imported, in this order
# in `newsum --help`: the data flow first, tools last.
# isort: off
from newsum.pipeline.cli import clean, generate, run, evaluate, models, bench  # noqa: F401

# isort: on
from .app import app


def main() -> None:
    app()


__all__ = ["app", "main"]

"""The `newsum` command line: thin commands that build an options object and call the library."""

from __future__ import annotations

# Commands register themselves on `app` when their module is imported.
from . import clean, evaluate, generate, later, models, run  # noqa: F401
from .app import app


def main() -> None:
    app()


__all__ = ["app", "main"]

"""The typer app, its error handling and the options every command shares."""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from typing import Annotated

import click
import typer
from typer.core import TyperGroup

from ..errors import NewsumError


@dataclass
class Session:
    """What the shared flags decided for this invocation."""

    quiet: bool = False
    debug: bool = False


session = Session()


class NewsumGroup(TyperGroup):
    """Turns errors into one clear paragraph on stderr and an exit code; no traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except NewsumError as exc:
            if session.debug:
                raise
            _fail(str(exc), exc.exit_code)
        except KeyboardInterrupt:
            _fail("interrupted", 130)
        except Exception as exc:
            if session.debug:
                raise
            _fail(
                f"unexpected {type(exc).__name__}: {exc}. This is a bug in newsum; rerun "
                "with --debug for the traceback and report it.",
                1,
            )


def _fail(message: str, code: int) -> None:
    typer.echo(f"newsum: error: {message}", err=True)
    raise typer.Exit(code)


app = typer.Typer(
    name="newsum",
    cls=NewsumGroup,
    help="French news articles → clean text, French summaries, English translations, scores.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

Quiet = Annotated[
    bool, typer.Option("--quiet", "-q", help="No progress display and no final tally.")
]
Debug = Annotated[bool, typer.Option("--debug", help="Show tracebacks and debug logs.")]


def start(quiet: bool, debug: bool) -> None:
    """Apply the shared flags; every command calls this first."""
    session.quiet, session.debug = quiet, debug
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        format="newsum: %(levelname)s: %(message)s",
        stream=sys.stderr,
    )


def report(line: str) -> None:
    """The final one-line tally, on stderr so stdout stays clean for data."""
    if not session.quiet:
        typer.echo(line, err=True)

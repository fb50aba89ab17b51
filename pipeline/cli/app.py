"""The typer app, its error handling and the options every command shares."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated

import typer
from typer.core import TyperGroup

from newsum.pipeline.core.errors import NewsumError
from newsum.pipeline.core.record import OK, STATUSES


@dataclass
class Session:
    """What the shared flags decided for this invocation."""

    quiet: bool = False
    debug: bool = False


session = Session()


class NewsumGroup(TyperGroup):
    """Turns errors into one clear paragraph on stderr and an exit code; no traceback."""

    def invoke(self, ctx: typer.Context):
        # One process may run several commands (tests, notebooks): start from the defaults.
        session.quiet = session.debug = False
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException):
            # Exits and usage errors, which typer reports itself. Typer bundles its own
            # click, so these are not the classes of an installed `click` package.
            raise
        except BrokenPipeError:
            # The reader of `-o -` went away (`| head`): stop quietly, like other tools.
            _silence_stdout()
            raise typer.Exit(141) from None
        except NewsumError as exc:
            if session.debug:
                raise
            _fail(str(exc), exc.exit_code)
        except KeyboardInterrupt:
            _fail("interrupted", 130)
        except OSError as exc:
            # A full disk, a read-only folder, a file that went away: the system's words
            # and the path say what to fix; a traceback would not.
            if session.debug:
                raise
            where = f" ({exc.filename})" if exc.filename else ""
            _fail(f"{exc.strerror or exc}{where}", 2)
        except Exception as exc:
            if session.debug:
                raise
            _fail(
                f"unexpected {type(exc).__name__}: {exc}. This is a bug in newsum; rerun "
                "with --debug for the traceback and report it.",
                1,
            )


def _silence_stdout() -> None:
    """Point stdout at /dev/null so flushing it at exit does not fail a second time."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # a captured stream has no descriptor
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)


def _fail(message: str, code: int) -> None:
    typer.echo(f"newsum: error: {message}", err=True)
    raise typer.Exit(code)


def _version(value: bool) -> None:
    if value:
        from newsum.pipeline import __version__

        typer.echo(f"newsum {__version__}")
        raise typer.Exit()


app = typer.Typer(
    name="newsum",
    cls=NewsumGroup,
    help="French news articles → clean text, French summaries, English translations, scores.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """French news articles → clean text, French summaries, English translations, scores."""


Output = Annotated[
    str,
    typer.Option(
        "--output",
        "-o",
        help="Output file, its format from its name: .jsonl or .ndjson (.gz to compress), "
        ".parquet; or '-' for JSONL on stdout.",
    ),
]
Quiet = Annotated[
    bool, typer.Option("--quiet", "-q", help="No progress display and no final tally.")
]
Debug = Annotated[bool, typer.Option("--debug", help="Show tracebacks and debug logs.")]


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever `sys.stderr` is when a message comes (tests swap it per run)."""

    @property  # type: ignore[override]
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


_handler = _StderrHandler()
_handler.setFormatter(logging.Formatter("newsum: %(levelname)s: %(message)s"))
# Takes third-party records, so that Python's last-resort handler does not print them.
_null = logging.NullHandler()


def start(quiet: bool, debug: bool) -> None:
    """Apply the shared flags; every command calls this first."""
    session.quiet, session.debug = quiet, debug
    log = logging.getLogger("newsum")
    log.setLevel(logging.DEBUG if debug else logging.WARNING)
    log.propagate = False
    if _handler not in log.handlers:
        log.addHandler(_handler)
    # Libraries warn about single documents ("discarding data: None" from trafilatura)
    # that newsum already reports as records; stderr in a pipe holds only the tally, so
    # their messages show only with --debug.
    root = logging.getLogger()
    for handler in (_handler, _null):
        if handler in root.handlers:
            root.removeHandler(handler)
    root.addHandler(_handler if debug else _null)


def report(line: str) -> None:
    """The final one-line tally, on stderr so stdout stays clean for data."""
    if not session.quiet:
        typer.echo(line, err=True)


def finish(counts: Mapping[str, int]) -> None:
    """Print the `N ok, N skipped, N error` tally; exit 1 when no record came out ok.

    A command that read nothing, or whose every record was skipped or failed, completed
    but produced nothing usable: scripts must not take that for success.
    """
    from newsum.pipeline.core.writers import tally_line

    report(tally_line(counts))
    if not counts.get(OK, 0):
        total = sum(counts.get(status, 0) for status in STATUSES)
        why = "no record was read" if not total else f"none of the {total} records is ok"
        typer.echo(f"newsum: {why}; see `status` and `reason` in the output", err=True)
        raise typer.Exit(1)

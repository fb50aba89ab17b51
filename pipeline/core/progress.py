"""Progress on a terminal, silence in pipes."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


def progress_enabled(quiet: bool) -> bool:
    return not quiet and sys.stderr.isatty()


def track(items: Iterable[T], description: str, enabled: bool) -> Iterator[T]:
    """Yield `items`, showing a live count and rate on stderr when `enabled`."""
    if not enabled:
        yield from items
        return
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    # Streams have no known length: a count, a rate and the elapsed time.
    columns = (
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        TextColumn("{task.completed:,} articles"),
        rate_column(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task(description, total=None)
        for item in items:
            yield item
            progress.advance(task)


def rate_column():
    """A rich column showing articles/s (rich's own shows "1.2×10³ it/s")."""
    from rich.progress import ProgressColumn
    from rich.text import Text

    class Rate(ProgressColumn):
        def render(self, task) -> Text:
            return Text(f"{task.speed:,.0f}/s" if task.speed else "", style="magenta")

    return Rate()

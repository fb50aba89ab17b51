"""Writers: JSONL out, atomically (a crash never leaves a half-written file under its name)."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from .errors import NewsumError
from .record import STATUSES, Record


class Tally(Counter):
    """Records counted by status, printed as the final `N ok, N skipped, N error` line."""

    def add(self, record: Record) -> None:
        self[record.status] += 1

    def line(self) -> str:
        return ", ".join(f"{self[status]} {status}" for status in STATUSES)


def dumps(record: Record) -> str:
    return json.dumps(record.to_dict(), ensure_ascii=False)


def write_jsonl(records: Iterable[Record], path: str | Path) -> Tally:
    """Write one JSON object a line to `path` ('-' for stdout) and count the statuses.

    A file is written under a temporary name beside its target and renamed when
    complete, so readers (and resumed runs) see either nothing or the whole file.
    """
    tally = Tally()
    if str(path) == "-":
        for record in records:
            sys.stdout.write(dumps(record) + "\n")
            tally.add(record)
        sys.stdout.flush()
        return tally
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise NewsumError(f"cannot write {target}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            for record in records:
                f.write(dumps(record) + "\n")
                tally.add(record)
        os.replace(tmp, target)
    except BaseException:
        os.unlink(tmp)
        raise
    return tally

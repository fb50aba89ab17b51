"""Writers: JSONL out, atomically (a crash never leaves a half-written file under its name)."""

from __future__ import annotations

import datetime
import json
import math
import os
import secrets
import sys
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson

from .errors import NewsumError
from .record import STATUSES, Record


class Tally(Counter):
    """Records counted by status, printed as the final `N ok, N skipped, N error` line."""

    def add(self, record: Record) -> None:
        self[record.status] += 1

    def line(self) -> str:
        return ", ".join(f"{self[status]} {status}" for status in STATUSES)


def _jsonable(value: Any) -> Any:
    """Values JSON has no type for, as Parquet and `datasets` rows hold them."""
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray)):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=str)
    return str(value)


def _finite(value: Any) -> Any:
    """NaN and infinities (pandas' missing values) as null: `NaN` is not JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    return value


def dumps(record: Record) -> str:
    """One JSON line, valid for any record a reader can produce."""
    data = record.to_dict()
    try:
        # orjson writes NaN as null and dates as ISO 8601, as the fallback below does.
        return orjson.dumps(data, default=_jsonable).decode()
    except (orjson.JSONEncodeError, TypeError):  # lone surrogates, integers over 64 bits
        pass
    try:
        line = json.dumps(data, ensure_ascii=False, allow_nan=False, default=_jsonable)
    except ValueError:
        line = json.dumps(_finite(data), ensure_ascii=False, allow_nan=False, default=_jsonable)
    # JSON input may hold a lone surrogate ("\ud800"), which UTF-8 cannot encode; written
    # as its \uXXXX escape (it can only sit inside a JSON string) it reads back the same.
    return line.encode("utf-8", "backslashreplace").decode("utf-8")


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
    if target.is_dir():
        raise NewsumError(f"cannot write {target}: it is a directory; give a file name")
    if target.exists() and not target.is_file():
        # /dev/null, a FIFO, a terminal: renaming a temp file over it would replace the
        # device with a plain file. Write to it directly.
        with open(target, "w", encoding="utf-8") as f:
            for record in records:
                f.write(dumps(record) + "\n")
                tally.add(record)
        return tally
    # Beside the target, so the rename stays on one file system; not mkstemp, whose
    # 0600 mode the finished file would keep.
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp.touch(exist_ok=False)
    except OSError as exc:
        raise NewsumError(f"cannot write {target}: {exc.strerror}") from None
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            for record in records:
                f.write(dumps(record) + "\n")
                tally.add(record)
        os.replace(tmp, target)
    except BaseException:
        os.unlink(tmp)
        raise
    return tally

"""Units of work, and the cache that keeps their model outputs while a shard is in progress.

A unit of work is one model batch: the driver plans a shard's units with the models'
tokenizers (`work_units`), so every executor hands the engine the same texts together.
A batch padded differently can change the floats and, now and then, a token: planning in
one place is what keeps the outputs of every executor, and of a resumed run, the same bytes.

.cache/part-N.jsonl keeps the model outputs of a shard in progress, a JSON line a record,
appended and fsync'ed as each unit is done; a resumed run restores the units it holds
whole and generates the others.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import Any

from newsum.pipeline.core.record import FIELD_NAMES, Record
from newsum.pipeline.core.writers import cannot_write

from .jobdir import OutDir, short_hash
from .models import Models

# Fields the model stages add: what the cache keeps and restores.
MODEL_FIELDS = ("summary", "chunks", "summary_en", "text_en", "warnings", "status", "reason")

# Records planned together: the engine sorts them by length before it cuts its batches.
WINDOW = 256


def batched(items: Iterable, size: int) -> Iterator[list]:
    it = iter(items)
    while batch := list(islice(it, size)):
        yield batch


def work_units(records: list[Record], models: Models) -> Iterator[list[Record]]:
    """The `ok` records of a shard, in groups that are each one model batch.

    Units are planned over windows of the shard alone, so a resumed run plans the same
    units, and regenerating a unit gives the same bytes as the first time."""
    engine = models.planner()
    for window in batched([r for r in records if r.ok], WINDOW):
        if engine is None:
            yield window
            continue
        for group in engine.plan([r.text for r in window]):
            yield [window[i] for i in sorted(group)]


def model_outputs(record: Record) -> dict[str, Any]:
    """What the model stages gave a record: what the cache keeps and an actor sends back."""
    return {name: getattr(record, name) for name in MODEL_FIELDS}


def record_key(record: Record, fingerprint: str) -> str:
    """What identifies a record's model outputs: its cleaned text and the model setup."""
    return short_hash(f"{fingerprint}\0{record.text}")


def cache_line(record: Record, fingerprint: str) -> str:
    data = {"key": record_key(record, fingerprint), **model_outputs(record)}
    return json.dumps(data, ensure_ascii=False)


class ShardCache:
    """.cache/part-N.jsonl: the model outputs of a shard in progress, one JSON line a record,
    appended and fsync'ed after every unit of work.

    A line that a crash or a power loss cut (even inside a UTF-8 character) is dropped, and
    its unit is generated again; `damaged` counts such lines."""

    def __init__(self, path: Path, fingerprint: str) -> None:
        self.path = path
        self.fingerprint = fingerprint
        self.entries: dict[str, dict] = {}
        self.damaged = 0
        if path.exists():
            for line in path.read_bytes().splitlines():
                try:
                    entry = json.loads(line.decode("utf-8"))
                    self.entries[entry.pop("key")] = entry
                except (UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError):
                    self.damaged += 1
        self.sink = None

    @classmethod
    def open(cls, folder: OutDir, name: str, fingerprint: str) -> ShardCache:
        """The cache of shard `name`; a notice in `folder.notices` when lines were dropped."""
        cache = cls(folder.cache(name), fingerprint)
        if cache.damaged:
            folder.notices.append(
                f"shard {name}: dropped {cache.damaged} damaged line(s) of its cache (cut by a "
                "crash); their records are generated again"
            )
        return cache

    def restore(self, unit: list[Record]) -> bool:
        """Fill a unit's model outputs from the cache: True when all of them are there."""
        entries = [self.entries.get(record_key(r, self.fingerprint)) for r in unit]
        if any(entry is None for entry in entries):
            return False
        for record, entry in zip(unit, entries, strict=True):
            for name, value in entry.items():
                if name in FIELD_NAMES:
                    setattr(record, name, value)
        return True

    def save(self, unit: list[Record]) -> None:
        lines = "".join(cache_line(record, self.fingerprint) + "\n" for record in unit)
        try:
            if self.sink is None:
                self.sink = open(self.path, "ab")  # noqa: SIM115 (closed by close())
            self.sink.write(lines.encode("utf-8", "backslashreplace"))
            self.sink.flush()
            os.fsync(self.sink.fileno())
        except OSError as exc:
            raise cannot_write(self.path, exc) from None

    def close(self) -> None:
        if self.sink is not None:
            self.sink.close()
            self.sink = None

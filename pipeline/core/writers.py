"""Writers: records out as JSONL (plain or gzipped) or Parquet, atomically.

A file is written under a temporary name beside its target, synced and renamed when
complete, so readers (and resumed runs) see either nothing or the whole file; on any
failure the temporary file is removed. A failure to write (full disk, read-only folder,
file too large) is a NewsumError naming the path, never a traceback.
"""

from __future__ import annotations

import datetime
import gzip
import io
import json
import math
import os
import secrets
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from contextlib import suppress
from pathlib import Path
from typing import Any, Protocol, TextIO, TypeVar

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from .errors import NewsumError
from .record import STATUSES, Record

T = TypeVar("T")


# The tally's count of records that carry warnings, whatever their status.
WARNED = "warnings"


class Tally(Counter):
    """Records counted by status (and those with warnings), printed as the final
    `N ok, N skipped, N error` line."""

    def add(self, record: Record) -> None:
        self[record.status] += 1
        if record.warnings:
            self[WARNED] += 1

    def line(self) -> str:
        return tally_line(self)


def tally_line(counts: Mapping[str, int]) -> str:
    line = ", ".join(f"{counts.get(status, 0)} {status}" for status in STATUSES)
    if counts.get(WARNED):
        line += f" ({counts[WARNED]} with warnings)"
    return line


# ---- JSON ------------------------------------------------------------------------------


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


def _encode(data: Any) -> str:
    """JSON text for any value a reader can produce, on one line."""
    try:
        # orjson writes NaN as null and dates as ISO 8601, as the fallback below does.
        return orjson.dumps(data, default=_jsonable).decode()
    except (orjson.JSONEncodeError, TypeError):  # lone surrogates, integers over 64 bits
        pass
    try:
        text = json.dumps(data, ensure_ascii=False, allow_nan=False, default=_jsonable)
    except ValueError:
        text = json.dumps(_finite(data), ensure_ascii=False, allow_nan=False, default=_jsonable)
    # JSON input may hold a lone surrogate ("\ud800"), which UTF-8 cannot encode; written
    # as its \uXXXX escape (it can only sit inside a JSON string) it reads back the same.
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def dumps(record: Record) -> str:
    """One JSON line, valid for any record a reader can produce."""
    return _encode(record.to_dict())


def _json_object(record: Record) -> dict[str, Any]:
    """The record as its JSONL line reads back: JSON types only (what `json.loads(dumps(r))`
    returns), so that JSONL and Parquet hold the same values."""
    data = record.to_dict()
    try:
        # What orjson can write it reads back exactly (no big integers, no lone surrogates).
        return orjson.loads(orjson.dumps(data, default=_jsonable))
    except (orjson.JSONEncodeError, TypeError):
        # json keeps integers of any size, where orjson.loads would turn them into floats.
        return json.loads(_encode(data))


# ---- choosing the format ---------------------------------------------------------------

# Output name endings and their formats; `write_records` dispatches on them.
OUTPUT_SUFFIXES = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".jsonl.gz": "jsonl.gz",
    ".ndjson.gz": "jsonl.gz",
    ".parquet": "parquet",
}


def output_format(path: str | Path) -> str:
    """'jsonl', 'jsonl.gz' or 'parquet', from the output's name; NewsumError for others.

    '-' (stdout) and an existing file that is not a regular file (/dev/null, a FIFO)
    take JSONL whatever their name: they are written as a stream, not renamed over.
    Commands call this first, so a wrong name fails before any model is loaded.
    """
    if str(path) == "-" or _is_special(Path(path)):
        return "jsonl"
    _refuse_folder(Path(path))
    name = Path(path).name.lower()
    for suffix, fmt in OUTPUT_SUFFIXES.items():
        if name.endswith(suffix):
            return fmt
    accepted = ", ".join(OUTPUT_SUFFIXES)
    raise NewsumError(
        f"cannot write {path}: unknown output format; name it with one of {accepted}, "
        "or give '-' for JSONL on stdout"
    )


def write_records(records: Iterable[Record], path: str | Path) -> Tally:
    """Write records in the format that `path` names (see `output_format`); count them."""
    fmt = output_format(path)
    if fmt == "parquet":
        return write_parquet(records, Path(path))
    return write_jsonl(records, path)


# ---- JSONL -----------------------------------------------------------------------------


class Sink(Protocol):
    """Where records go, one at a time; `close` completes the file, `discard` gives up."""

    def write(self, record: Record) -> None: ...
    def close(self) -> None: ...
    def discard(self) -> None: ...


class JsonlSink:
    """JSON lines into a text stream; closing closes the files it was opened on."""

    def __init__(self, stream: TextIO, files: tuple[Any, ...] = ()) -> None:
        self.stream = stream
        self.files = files  # closed in order; empty for stdout, which is only flushed

    @classmethod
    def open(cls, path: Path, compress: bool = False) -> JsonlSink:
        # The sink owns the files it opens: `close` or `discard` closes them.
        if not compress:
            f = open(path, "w", encoding="utf-8", newline="\n")  # noqa: SIM115
            return cls(f, (f,))
        raw = open(path, "wb")  # noqa: SIM115
        # No file name and no time in the gzip header: the same records give the same bytes.
        packed = gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0)
        text = io.TextIOWrapper(packed, encoding="utf-8", newline="\n")
        # Closing `text` closes `packed` (which writes the gzip trailer) but not `raw`.
        return cls(text, (text, raw))

    def write(self, record: Record) -> None:
        self.stream.write(dumps(record) + "\n")

    def close(self) -> None:
        self.stream.flush()
        for f in self.files:
            f.close()

    def discard(self) -> None:
        for f in self.files:
            with suppress(Exception):  # the error that made us give up may come again
                f.close()


def write_jsonl(records: Iterable[Record], path: str | Path) -> Tally:
    """Write one JSON object a line to `path` ('-' for stdout) and count the statuses.

    Gzipped when the name ends with `.gz`. An existing non-regular file (/dev/null, a
    FIFO) is written directly; anything else atomically (see the module docstring).
    """
    if str(path) == "-":
        return _drain(records, JsonlSink(sys.stdout), "stdout")
    target = Path(path)
    if _is_special(target):
        # Renaming a temporary file over /dev/null or a FIFO would replace the device with
        # a plain file. Write to it directly.
        return _drain(records, _guarded(target, JsonlSink.open, target), target)
    compress = target.name.lower().endswith(".gz")
    return _atomically(
        target,
        lambda tmp: _drain(records, _guarded(target, JsonlSink.open, tmp, compress), target),
    )


# ---- Parquet ---------------------------------------------------------------------------

# Every Record field in order, typed, then `extra`: every file newsum writes has this
# schema, so shards written apart read back as one table.
RECORD_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("text", pa.string()),
        ("html", pa.string()),
        ("title", pa.string()),
        ("author", pa.string()),
        ("date", pa.string()),
        ("url", pa.string()),
        ("source", pa.string()),
        ("lang", pa.string()),
        ("lang_score", pa.float64()),
        ("removed", pa.list_(pa.struct([("rule", pa.string()), ("text", pa.string())]))),
        ("duplicate_of", pa.string()),
        ("status", pa.string()),
        ("reason", pa.string()),
        ("summary", pa.string()),
        ("summary_en", pa.string()),
        ("text_en", pa.string()),
        ("chunks", pa.int64()),
        ("warnings", pa.list_(pa.struct([("code", pa.string()), ("message", pa.string())]))),
        ("extra", pa.string()),
    ]
)

_RECORD_FIELDS = RECORD_SCHEMA.names[:-1]  # all but `extra`
ROW_GROUP_SIZE = 1000


def _fit_string(value: Any) -> tuple[str | None, bool]:
    """(column value, whether it is the value itself) for a string column."""
    if value is None:
        return None, True
    if not isinstance(value, str):
        return _encode(value), False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: Parquet strings are valid UTF-8
        return value.encode("utf-8", "backslashreplace").decode("utf-8"), False
    return value, True


def _fit_float(value: Any) -> tuple[float | None, bool]:
    if value is None or isinstance(value, float):
        return value, True  # JSON form: NaN and infinities are already null
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            return float(value), float(value) == value  # exact up to 2**53
        except OverflowError:  # beyond float64
            pass
    return None, False


def _fit_int(value: Any) -> tuple[int | None, bool]:
    if value is None:
        return None, True
    if isinstance(value, int) and not isinstance(value, bool) and -(2**63) <= value < 2**63:
        return value, True
    return None, False


def _items(value: Any) -> tuple[list[Any], bool]:
    """A list field's items, and whether the value was a list (null counts as empty)."""
    if value is None:
        return [], True
    if isinstance(value, list):
        return value, True
    return [value], False


def _fit_structs(value: Any, keys: tuple[str, str]) -> tuple[list[dict[str, Any]], bool]:
    """A list of two-string structs ({rule, text}, {code, message}); an item that is not
    an object of strings is fitted, its second key taking a bare value."""
    items, exact = _items(value)
    out = []
    for item in items:
        if isinstance(item, dict):
            fitted = {key: _fit_string(item.get(key)) for key in keys}
            exact = exact and set(item) == set(keys) and all(ok for _, ok in fitted.values())
            out.append({key: text for key, (text, _) in fitted.items()})
        else:
            out.append({keys[0]: None, keys[1]: _fit_string(item)[0]})
            exact = False
    return out, exact


_FITS: dict[str, Callable[[Any], tuple[Any, bool]]] = {
    "lang_score": _fit_float,
    "chunks": _fit_int,
    "removed": lambda value: _fit_structs(value, ("rule", "text")),
    "warnings": lambda value: _fit_structs(value, ("code", "message")),
}


def to_row(record: Record) -> dict[str, Any]:
    """One row of RECORD_SCHEMA holding the same values as the record's JSONL line.

    Every column holds a value of its type or null, whatever the record holds:
    - a string column takes a non-string value as its JSON text (`42` → "42", a dict →
      '{"a":1}'), and a string with a lone surrogate with that surrogate as `\\udXXX`;
    - `lang_score` takes integers as floats; `chunks` takes 64-bit integers; any other
      value (a bool, a string, a float in `chunks`) leaves them null; NaN is null, as
      in JSONL;
    - `removed` items become {rule, text} of strings, `warnings` items {code, message};
    - `removed` and `warnings` are empty lists, never null.
    Nothing is lost: the original of every value that had to change is kept in `extra`,
    a JSON object (text, as `dumps` writes it) that also holds the input fields Record
    does not know; null when there are none. `from_row` rebuilds the JSONL object.
    """
    data = _json_object(record)
    row: dict[str, Any] = {}
    changed: dict[str, Any] = {}
    for name in _RECORD_FIELDS:
        # A null that JSONL writes (from a NaN: unset fields are left out) is kept in
        # `extra`, where `from_row` finds it: a null column reads back as no field.
        present = name in data
        value = data.pop(name, None)
        row[name], exact = _FITS.get(name, _fit_string)(value)
        if not exact or (present and value is None):
            changed[name] = value
    extra = {**data, **changed}  # `data` now holds only the fields Record does not know
    row["extra"] = _encode(extra) if extra else None
    return row


def from_row(row: dict[str, Any]) -> dict[str, Any]:
    """The JSON object of a RECORD_SCHEMA row, as `dumps` writes the record (the inverse
    of `to_row`, up to key order): set columns, then the values kept in `extra`."""
    data = {
        name: value
        for name, value in row.items()
        if name != "extra" and value is not None and value != []
    }
    if row.get("extra"):
        data.update(json.loads(row["extra"]))
    return data


class ParquetSink:
    """Records into one Parquet file of RECORD_SCHEMA, one row group per `row_group_size`
    records, so memory holds one row group however many records pass."""

    def __init__(self, path: Path, row_group_size: int = ROW_GROUP_SIZE) -> None:
        self.writer = pq.ParquetWriter(str(path), RECORD_SCHEMA)
        self.row_group_size = row_group_size
        self.rows: list[dict[str, Any]] = []

    def write(self, record: Record) -> None:
        self.rows.append(to_row(record))
        if len(self.rows) >= self.row_group_size:
            self._flush()

    def _flush(self) -> None:
        if self.rows:
            batch = pa.RecordBatch.from_pylist(self.rows, schema=RECORD_SCHEMA)
            self.rows = []
            self.writer.write_batch(batch)

    def close(self) -> None:
        self._flush()
        self.writer.close()

    def discard(self) -> None:
        self.rows = []
        with suppress(Exception):  # it writes the footer, which may fail as the rest did
            self.writer.close()


def write_parquet(records: Iterable[Record], path: Path) -> Tally:
    """Write records to one Parquet file of RECORD_SCHEMA, atomically; count the statuses.

    An existing non-regular `path` (/dev/null, a FIFO) gets JSONL, as in `write_records`.
    """
    target = Path(path)
    if _is_special(target):
        return write_jsonl(records, target)
    return _atomically(
        target, lambda tmp: _drain(records, _guarded(target, ParquetSink, tmp), target)
    )


# ---- files -----------------------------------------------------------------------------


def write_text_atomic(path: Path, text: str) -> None:
    """Write `text` (UTF-8) to `path` whole or not at all; NewsumError when it cannot.

    A lone surrogate (valid in JSON input, say in an id) cannot be UTF-8: it is written
    as its `\\udXXX` escape, which inside a JSON string reads back the same."""
    write_bytes_atomic(path, text.encode("utf-8", "backslashreplace"))


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write `data` to `path` whole or not at all; NewsumError when it cannot."""
    target = Path(path)
    _atomically(target, lambda tmp: _guarded(target, tmp.write_bytes, data))


def _refuse_folder(path: Path) -> None:
    if path.is_dir():
        raise NewsumError(f"cannot write {path}: it is a directory; give a file name")


def _is_special(path: Path) -> bool:
    """Whether `path` exists and is neither a regular file nor a folder (/dev/null, a FIFO)."""
    try:
        return path.exists() and not path.is_file() and not path.is_dir()
    except OSError:  # an unreadable parent: writing there will say why
        return False


def _drain(records: Iterable[Record], sink: Sink, target: Path | str) -> Tally:
    """Write every record to `sink` and close it; on any failure discard it and re-raise.

    Only the sink's own calls have their OSError turned into "cannot write": an OSError
    from reading the input must not be blamed on the output.
    """
    tally = Tally()
    try:
        for record in records:
            _guarded(target, sink.write, record)
            tally.add(record)
        _guarded(target, sink.close)
    except BaseException:
        sink.discard()
        raise
    return tally


def _atomically(target: Path, write: Callable[[Path], T]) -> T:
    """Run `write(tmp)` on a temporary file beside `target`, then rename it to `target`.

    The file is synced before the rename and the folder after, so that a completed file
    survives a power loss; on any failure the temporary file is removed.
    """
    _refuse_folder(target)
    # Beside the target, so the rename stays on one file system; not mkstemp, whose
    # 0600 mode the finished file would keep.
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    _guarded(target, target.parent.mkdir, parents=True, exist_ok=True)
    _guarded(target, tmp.touch, exist_ok=False)
    try:
        result = write(tmp)
        _guarded(target, _fsync, tmp)
        _guarded(target, os.replace, tmp, target)
    except BaseException:
        with suppress(OSError):
            tmp.unlink()
        raise
    with suppress(OSError):  # not every file system lets a folder be opened or synced
        _fsync(target.parent)
    return result


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _guarded(target: Path | str, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """`call(*args, **kwargs)`, its OSError as a NewsumError naming `target`."""
    try:
        return call(*args, **kwargs)
    except BrokenPipeError:
        raise  # the reader of stdout or a FIFO left: the CLI stops quietly
    except OSError as exc:
        raise cannot_write(target, exc) from None


def cannot_write(target: Path | str, exc: OSError) -> NewsumError:
    """The error for an output that cannot be written: the path and the system's words."""
    # pyarrow's messages bury the reason; the errno's own words are the clearest.
    why = os.strerror(exc.errno) if exc.errno else str(exc)
    return NewsumError(f"cannot write {target}: {why}")

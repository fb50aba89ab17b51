"""Readers: every input becomes records, one per article, in input order, lazily.

A problem with one article (an invalid JSONL line, a record without text, an HTML page
with no main text) yields a record with status `error` and a reason that says where;
only a problem with the run itself (a missing path, an unknown format, an unreachable
dataset) raises NewsumError, before any record is read.
"""

from __future__ import annotations

import csv
import datetime
import gzip
import hashlib
import json
import logging
import math
import sys
import zlib
from collections.abc import Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson

from .errors import NewsumError
from .record import ERROR, Record
from .schema import check

TEXT_FORMATS = (".txt",)
HTML_FORMATS = (".html", ".htm")
LINE_FORMATS = (".jsonl", ".ndjson")
# How much of each end of an input file its identity hashes.
_END_BLOCK = 1 << 16
FORMATS = (*TEXT_FORMATS, *HTML_FORMATS, *LINE_FORMATS, ".json", ".csv", ".parquet")


@dataclass(frozen=True)
class ReadOptions:
    """How input columns map to record fields; the defaults are the CLI's defaults."""

    text_field: str = "text"
    id_field: str = "id"
    title_field: str = "title"
    keep_html: bool = False

    def __post_init__(self) -> None:
        check(self)


@dataclass(frozen=True)
class Source:
    """One input: a file (with the name its ids derive from), stdin, or a dataset."""

    kind: str  # a format suffix, "-" for stdin, or "hf"
    location: str
    name: str
    dataset: Any = None  # for hf: the loaded split, so an unreachable one fails up front

    def identity(self) -> dict[str, Any]:
        """What tells this input from another one or from an edited copy of itself.

        A file: its absolute path, size and a hash of its first and last blocks (the
        modification time is left out: copying a file must not make it another input).
        Standard input has no identity: a resumed run checks it record by record."""
        if self.kind == "-":
            return {"input": "-"}
        if self.kind == "hf":
            fingerprint = getattr(self.dataset, "_fingerprint", None)
            return {"input": f"hf:{self.location}", "fingerprint": fingerprint}
        path = Path(self.location)
        try:
            size = path.stat().st_size
            with open(path, "rb") as f:
                ends = f.read(_END_BLOCK)
                if size > _END_BLOCK:
                    f.seek(max(_END_BLOCK, size - _END_BLOCK))
                    ends += f.read()
        except OSError as exc:
            raise NewsumError(f"cannot read {path}: {exc.strerror}") from None
        return {
            "input": str(path.resolve()),
            "bytes": size,
            "ends_sha256": hashlib.sha256(ends).hexdigest(),
        }

    def read(self, options: ReadOptions) -> Iterator[Record]:
        try:
            yield from _READERS[self.kind](self, options)
        except (OSError, EOFError, zlib.error) as exc:
            # The file went bad under us (truncated .gz, unreadable, removed): this input
            # ends with one error record and the others are still read.
            yield Record(id=self.name).mark(ERROR, f"{self.location}: cannot read: {exc}")


def resolve(specs: Sequence[str]) -> list[Source]:
    """Check every input spec up front, so a typo fails before any output is written."""
    if not specs:
        raise NewsumError("no input given: pass files, directories, '-' for stdin or hf:NAME:SPLIT")
    sources: list[Source] = []
    for spec in specs:
        if spec == "-":
            sources.append(Source("-", "-", "stdin"))
        elif spec.startswith("hf:"):
            name, config, split = _parse_hf(spec[3:])
            dataset = load_hf_dataset(name, config, split)
            # Ids from the dataset's own name, not the folder it was loaded from.
            short = name.rstrip("/").rsplit("/", 1)[-1]
            sources.append(Source("hf", spec[3:], f"{short}-{split}", dataset))
        else:
            sources.extend(_resolve_path(Path(spec)))
    return sources


def read_inputs(specs: Sequence[str], options: ReadOptions = ReadOptions()) -> Iterator[Record]:
    """All records of all inputs, in the order given (directories sorted, recursively).

    The inputs are checked now (a bad one raises NewsumError here, before the caller
    opens its output); the records are read lazily, as the caller iterates.
    """
    return read_sources(resolve(specs), options)


def read_sources(sources: Sequence[Source], options: ReadOptions) -> Iterator[Record]:
    return (record for source in sources for record in source.read(options))


def _format_of(path: Path) -> str:
    name = path.name.lower().removesuffix(".gz")
    return Path(name).suffix


def _stem(path: Path) -> str:
    """The file name less its format suffix: "le.monde.2024-03-14.txt.gz" -> "le.monde.2024-03-14".

    Only the format suffix goes, so files that differ after a dot keep distinct ids.
    """
    name = path.name
    if name.lower().endswith(".gz"):
        name = name[:-3]
    return Path(name).stem or path.name


def _resolve_path(path: Path) -> list[Source]:
    if not path.exists():
        raise NewsumError(f"input not found: {path}")
    if path.is_dir():
        files = sorted(
            p
            for p in path.rglob("*")
            if p.is_file()
            and _format_of(p) in FORMATS
            and not any(part.startswith(".") for part in p.relative_to(path).parts)
        )
        return [
            Source(_format_of(p), str(p), p.relative_to(path).with_name(_stem(p)).as_posix())
            for p in files
        ]
    fmt = _format_of(path)
    if fmt not in FORMATS:
        raise NewsumError(
            f"unknown input format {fmt or '(no extension)'!r} for {path}; newsum reads "
            f"{', '.join(FORMATS)} (optionally .gz), directories, '-' for JSONL on stdin, "
            "and hf:NAME[:CONFIG]:SPLIT"
        )
    return [Source(fmt, str(path), _stem(path))]


def _open_text(location: str) -> IO[str]:
    opener = gzip.open if location.endswith(".gz") else open
    return opener(location, "rt", encoding="utf-8-sig", errors="replace", newline="")


def _read_bytes(location: str) -> bytes:
    opener = gzip.open if location.endswith(".gz") else open
    with opener(location, "rb") as f:
        return f.read()


def _decode(data: bytes) -> str:
    """UTF-8 (with or without BOM), else Windows-1252: the legacy encoding of French text."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


# ---- one article a file -------------------------------------------------------------


def _read_txt(source: Source, options: ReadOptions) -> Iterator[Record]:
    from .clean.metadata import looks_like_title

    text = _decode(_read_bytes(source.location))
    lines = text.lstrip("\ufeff").split("\n")
    # A .txt file's first line is its title when it reads like one, after any site
    # furniture above it (breadcrumb, share or date lines, which the cleaner removes
    # later). Many files start straight with the body; their titles show up repeated
    # further down and the title step finds them.
    first = next((i for i, line in enumerate(lines) if not _is_furniture(line)), None)
    if first is not None and looks_like_title(lines[first]) and "".join(lines[first + 1 :]).strip():
        title = lines.pop(first).strip()
        yield Record(id=source.name, title=title, text="\n".join(lines))
    else:
        yield Record(id=source.name, text=text)


def _is_furniture(line: str) -> bool:
    from .clean.boilerplate import Rules, match_key
    from .clean.metadata import parse_byline

    key = match_key(line)
    return (
        not key or parse_byline(key) is not None or Rules.default().first_line_rule(key) is not None
    )


def _read_html(source: Source, options: ReadOptions) -> Iterator[Record]:
    record = Record(id=source.name, html=_decode(_read_bytes(source.location)))
    yield extract_html(record, options.keep_html)


def extract_html(record: Record, keep_html: bool = False) -> Record:
    """Main text and metadata of `record.html`, with trafilatura (comments left out)."""
    import trafilatura

    try:
        doc = trafilatura.bare_extraction(
            record.html, with_metadata=True, include_comments=False, include_tables=False
        )
    except Exception as exc:  # trafilatura raises many types on broken markup
        doc, error = None, f"{type(exc).__name__}: {exc}"
    else:
        error = "no main text found in the HTML"
    if doc is None or not doc.text:
        record.mark(ERROR, f"html: {error}")
        return record
    record.text = doc.text
    for name, value in (
        ("title", doc.title),
        ("author", doc.author),
        ("date", doc.date),
        ("url", doc.url),
        ("source", doc.sitename or doc.hostname),
    ):
        if value and not getattr(record, name):
            setattr(record, name, value)
    if not keep_html:
        record.html = None
    return record


# ---- one article a row ---------------------------------------------------------------


_METADATA = ("title", "author", "date", "url", "source")


def _metadata_value(value: Any) -> str | None:
    """Metadata as text: tables hold dates as timestamps and missing values as NaN."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    return str(value)


def _from_row(row: Any, default_id: str, where: str, options: ReadOptions) -> Record:
    """A record from one JSON object or table row, with the column mapping applied."""
    if not isinstance(row, dict):
        return Record(id=default_id).mark(
            ERROR, f"{where}: expected a JSON object, got {type(row).__name__}"
        )
    data = dict(row)
    for column, name in (
        (options.text_field, "text"),
        (options.id_field, "id"),
        (options.title_field, "title"),
    ):
        if column != name and column in data:
            data[name] = data.pop(column)
    record = Record.from_dict(data, default_id)
    for name in _METADATA:
        setattr(record, name, _metadata_value(getattr(record, name)))
    if record.text is None and isinstance(record.html, str) and record.html:
        return extract_html(record, options.keep_html)
    if record.ok and record.text is None and options.text_field in row:
        record.mark(ERROR, f"{where}: {options.text_field!r} is null")
    elif record.ok and record.text is None:
        columns = ", ".join(sorted(row)) or "none"
        record.mark(
            ERROR,
            f"{where}: no {options.text_field!r} field (fields: {columns}); "
            "choose the text column with --text-field",
        )
    elif record.ok and not isinstance(record.text, str):
        record.mark(
            ERROR, f"{where}: {options.text_field!r} is {type(record.text).__name__}, not a string"
        )
    return record


def _read_lines(stream: IO[bytes], source: Source, options: ReadOptions) -> Iterator[Record]:
    for lineno, raw in enumerate(stream, start=1):
        if not raw.strip():
            continue
        default_id = f"{source.name}-{lineno}"
        where = f"{source.location} line {lineno}"
        try:
            row = orjson.loads(raw)  # ~3x faster than json; it refuses what json takes below
        except orjson.JSONDecodeError:
            pass
        else:
            yield _from_row(row, default_id, where, options)
            continue
        try:
            # utf-8-sig: editors on Windows start a file with a BOM, which is not JSON.
            row = json.loads(raw.decode("utf-8-sig"))
        except UnicodeDecodeError:
            yield Record(id=default_id).mark(ERROR, f"{where}: not valid UTF-8")
        except json.JSONDecodeError as exc:
            yield Record(id=default_id).mark(ERROR, f"{where}: invalid JSON: {exc.msg}")
        else:
            yield _from_row(row, default_id, where, options)


def _read_jsonl(source: Source, options: ReadOptions) -> Iterator[Record]:
    opener = gzip.open if source.location.endswith(".gz") else open
    with opener(source.location, "rb") as f:
        yield from _read_lines(f, source, options)


def _read_stdin(source: Source, options: ReadOptions) -> Iterator[Record]:
    yield from _read_lines(sys.stdin.buffer, source, options)


def _read_json(source: Source, options: ReadOptions) -> Iterator[Record]:
    # A .json file is one document: it is read whole (use JSONL to stream large inputs).
    try:
        data = json.loads(_read_bytes(source.location).decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        yield Record(id=source.name).mark(ERROR, f"{source.location}: invalid JSON: {exc}")
        return
    rows = data if isinstance(data, list) else [data]
    for i, row in enumerate(rows, start=1):
        default_id = source.name if len(rows) == 1 else f"{source.name}-{i}"
        yield _from_row(row, default_id, f"{source.location} item {i}", options)


def _read_csv(source: Source, options: ReadOptions) -> Iterator[Record]:
    csv.field_size_limit(2**31 - 1)  # long articles are legitimate; the check step caps them
    with _open_text(source.location) as f:
        # NUL bytes make the csv module give up on the whole file; drop them instead.
        reader = csv.DictReader(line.replace("\0", "") for line in f)
        for i, row in enumerate(reader, start=1):
            row.pop(None, None)  # cells beyond the header
            yield _from_row(row, f"{source.name}-{i}", f"{source.location} row {i}", options)


def _read_parquet(source: Source, options: ReadOptions) -> Iterator[Record]:
    import pyarrow.parquet as pq

    try:
        table = pq.ParquetFile(source.location)
    except Exception as exc:  # pyarrow raises several types for a file that is not Parquet
        yield Record(id=source.name).mark(ERROR, f"{source.location}: not a Parquet file: {exc}")
        return
    from .writers import RECORD_SCHEMA, from_row

    # newsum's own Parquet (`-o x.parquet`, a run's shards) keeps unknown input fields
    # as JSON text in `extra`: read them back as the fields they were.
    ours = table.schema_arrow.equals(RECORD_SCHEMA)
    i = 0
    for batch in table.iter_batches(batch_size=1024):
        for row in batch.to_pylist():
            i += 1
            if ours:
                with suppress(ValueError):
                    row = from_row(row)
            yield _from_row(row, f"{source.name}-{i}", f"{source.location} row {i}", options)


def _read_hf(source: Source, options: ReadOptions) -> Iterator[Record]:
    for i, row in enumerate(source.dataset, start=1):
        yield _from_row(row, f"{source.name}-{i}", f"hf:{source.location} row {i}", options)


def _parse_hf(spec: str) -> tuple[str, str | None, str]:
    parts = spec.split(":")
    if len(parts) == 2 and all(parts):
        return parts[0], None, parts[1]
    if len(parts) == 3 and all(parts):
        return parts[0], parts[1], parts[2]
    raise NewsumError(f"bad dataset spec 'hf:{spec}': use hf:NAME:SPLIT or hf:NAME:CONFIG:SPLIT")


def load_hf_dataset(name: str, config: str | None, split: str):
    """A `datasets` split (memory-mapped, so iterating it does not fill memory)."""
    try:
        import datasets
    except ImportError:  # pragma: no cover - datasets is a dependency
        raise NewsumError("reading hf: inputs needs the `datasets` package") from None
    datasets.disable_progress_bars()
    if not logging.getLogger("newsum").isEnabledFor(logging.DEBUG):
        # Retries and cache notices would print beside the output; the error says enough.
        import huggingface_hub

        datasets.utils.logging.set_verbosity_error()
        huggingface_hub.utils.logging.set_verbosity_error()
    try:
        return datasets.load_dataset(name, config, split=split)
    except Exception as exc:
        raise NewsumError(
            f"cannot load dataset {name!r} ({f'config {config!r}, ' if config else ''}"
            f"split {split!r}): "
            f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}. "
            "If the hub is unreachable, load it once on a connected machine so it is in the "
            "Hugging Face cache (and set HF_DATASETS_OFFLINE=1), or pass a local folder."
        ) from None


_READERS = {
    ".txt": _read_txt,
    ".html": _read_html,
    ".htm": _read_html,
    ".jsonl": _read_jsonl,
    ".ndjson": _read_jsonl,
    ".json": _read_json,
    ".csv": _read_csv,
    ".parquet": _read_parquet,
    "-": _read_stdin,
    "hf": _read_hf,
}

__all__ = ["FORMATS", "ReadOptions", "Source", "extract_html", "read_inputs", "resolve"]

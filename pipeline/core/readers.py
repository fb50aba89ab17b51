"""Readers: every input becomes records, one per article, in input order, lazily.

A problem with one article (an invalid JSONL line, a malformed CSV row, a record without
text, an HTML page with no main text, an input over the size limit) yields a record with
status `error` and a reason that says where; only a problem with the run itself (a
missing path, an unknown format, an unreachable dataset) raises NewsumError, before any
record is read. Nothing is dropped: as many records come out as articles went in.

Ids (`read_inputs`, `read_sources`) are unique within a run and the same on every run of
the same inputs:

- an input's own id (the id column or key) is kept as its exact text (an integer of any
  size as its digits);
- otherwise a file's id is its path inside the input folder less its format suffix
  (`2024/brest.html` -> `2024/brest`), or its name less the suffix for a file given
  alone; files of one folder that differ only by that suffix (`a.txt`, `a.TXT`,
  `a.html`, `a.txt.gz`) keep all of their name (`a.txt`, `a.TXT`, ...); when several
  folders are given, each id starts with its folder's name (`in1/2024/brest`);
- a record of a JSONL, CSV, JSON, Parquet or hf: input without an id is `NAME-N`, N its
  line (JSONL), row (CSV, Parquet, hf:) or item (JSON);
- an id already used earlier in the run, in any input, becomes `ID~2` (then `ID~3`, ...,
  skipping any already used), in input order, with a `repeated-id` warning that names
  the original id and where it was first seen.
"""

from __future__ import annotations

import codecs
import csv
import datetime
import functools
import gzip
import hashlib
import io
import json
import logging
import math
import sys
import zlib
from collections import Counter, deque
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import IO, Any, AnyStr

import orjson

from .encodings import DEFAULT_MAX_BYTES, legacy_encoding, url_name
from .errors import NewsumError
from .html import extract_html
from .record import ERROR, Record
from .schema import check
from .web import WEB_KINDS, Web, check_url, pick, read_web

TEXT_FORMATS = (".txt",)
HTML_FORMATS = (".html", ".htm")
LINE_FORMATS = (".jsonl", ".ndjson")
# How much of each end of an input file its identity hashes.
_END_BLOCK = 1 << 16
FORMATS = (*TEXT_FORMATS, *HTML_FORMATS, *LINE_FORMATS, ".json", ".csv", ".parquet", ".warc")

# What is read past the limit to find the end of a line that is over it.
_BLOCK = 1 << 16
# Deeper JSON is refused: the writers (orjson, then json) cannot write it back.
_MAX_DEPTH = 500


@dataclass(frozen=True)
class ReadOptions:
    """How input columns map to record fields; the defaults are the CLI's defaults.

    `max_bytes` bounds what one record may take before it is parsed: a .txt, .html or
    .json file, a JSONL line, a CSV row, decompressed. A longer one becomes an error
    record, and reading never holds more than this plus a block in memory (a gzip bomb
    costs time, not memory)."""

    text_field: str = "text"
    id_field: str = "id"
    title_field: str = "title"
    keep_html: bool = False
    max_bytes: int = field(default=DEFAULT_MAX_BYTES, metadata={"min": 1})
    # A preview of each input: its first `limit` records, or `sample` of them at random
    # (for a feed, sitemap or URL list: of its links, and only those are fetched).
    limit: int | None = field(default=None, metadata={"min": 1})
    sample: int | None = field(default=None, metadata={"min": 1})
    seed: int = 0
    # Web inputs (pipeline.core.fetch): politeness and safety.
    robots: bool = True
    allow_private_hosts: bool = False
    fetch_concurrency: int = field(default=8, metadata={"min": 1})
    host_delay: float = field(default=1.0, metadata={"min": 0.0})
    fetch_timeout: float = field(default=20.0, metadata={"min": 0.1})
    fetch_retries: int = field(default=2, metadata={"min": 0})

    def __post_init__(self) -> None:
        check(self)

    def fetch_options(self):
        """The fetcher's options from these (pipeline.core.fetch.FetchOptions)."""
        from .fetch import FetchOptions

        return FetchOptions(
            timeout=self.fetch_timeout,
            retries=self.fetch_retries,
            max_bytes=self.max_bytes,
            concurrency=self.fetch_concurrency,
            host_delay=self.host_delay,
            robots=self.robots,
            allow_private_hosts=self.allow_private_hosts,
        )

    @property
    def columns(self) -> tuple[str, str, str]:
        """The input columns that must not be ambiguous."""
        return (self.text_field, self.id_field, self.title_field)


# What one position in an input is called, by input kind (None: one record a file).
_UNITS = {".jsonl": "line", ".ndjson": "line", "-": "line", ".json": "item"}
_UNITS.update({".csv": "row", ".parquet": "row", "hf": "row", ".warc": "record"})
_UNITS.update({kind: unit for kind, unit in WEB_KINDS.items() if unit})


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
        if self.kind in WEB_KINDS and self.kind != "urls":
            # What a URL serves changes; the job's fetch cache keeps what a run read.
            return {"input": f"{self.kind}:{self.location}"}
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

    def where(self, position: int = 0) -> str:
        """How a message names this input, or one line, row or item of it."""
        label = {"-": "standard input", "hf": f"hf:{self.location}"}.get(self.kind, self.location)
        unit = _UNITS.get(self.kind)
        return f"{label} {unit} {position}" if unit and position else label

    def read(self, options: ReadOptions, web: Web | None = None) -> Iterator[Record]:
        """The records of this input alone, ids as the input gives them."""
        return (record for _, record in self.numbered(options, web))

    def numbered(
        self, options: ReadOptions, web: Web | None = None
    ) -> Iterator[tuple[int, Record]]:
        """(position, record): the line, row or item each record comes from (0: the file).
        `--limit`/`--sample` apply here (a web list source picks its links itself)."""
        if self.kind in WEB_KINDS:
            own = web is None
            web = web or Web(options)
            try:
                yield from read_web(self, options, web)
            finally:
                if own:
                    web.close()
            return
        records = self._numbered(options, web)
        if options.sample is not None:
            records = iter(pick(list(records), options))
        elif options.limit is not None:
            records = islice(records, options.limit)
        yield from records

    def _numbered(self, options: ReadOptions, web: Web | None) -> Iterator[tuple[int, Record]]:
        if self.kind == ".warc":  # its counts go to the read's `web` (the manifest)
            yield from (web or Web(options)).read_warc(self, options)
            return
        try:
            yield from _READERS[self.kind](self, options)
        except (OSError, EOFError, zlib.error) as exc:
            # The file went bad under us (truncated .gz, unreadable, removed): this input
            # ends with one error record and the others are still read.
            yield 0, Record(id=self.name).mark(ERROR, f"{self.location}: cannot read: {exc}")


def resolve(specs: Sequence[str]) -> list[Source]:
    """Check every input spec up front, so a typo fails before any output is written."""
    if not specs:
        raise NewsumError(
            "no input given: pass files, directories, URLs, feed:URL, sitemap:URL, "
            "urls:FILE, '-' for stdin or hf:NAME:SPLIT"
        )
    # Two folders may hold the same relative path (`2024-10-02/index.html`): with more
    # than one folder, ids start with the folder's name.
    folders = [s for s in specs if _is_path(s) and Path(s).is_dir()]
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
        elif spec.startswith(("feed:", "sitemap:")):
            kind, url = spec.split(":", 1)
            sources.append(Source(kind, check_url(url, spec), url_name(url)))
        elif spec.startswith("urls:"):
            path = Path(spec[5:])
            if not path.is_file():
                raise NewsumError(f"{spec!r}: no such file of URLs")
            sources.append(Source("urls", str(path), _stem(path)))
        elif "://" in spec:
            sources.append(Source("url", check_url(spec, spec), url_name(spec)))
        else:
            sources.extend(_resolve_path(Path(spec), prefixed=len(folders) > 1))
    return sources


def _is_path(spec: str) -> bool:
    return spec != "-" and not spec.startswith("hf:") and not on_the_web(spec)


def on_the_web(spec: str) -> bool:
    """Whether an input spec is read from the web (a URL, feed:, sitemap:, urls:)."""
    return "://" in spec or spec.startswith(("feed:", "sitemap:", "urls:"))


def read_inputs(
    specs: Sequence[str],
    options: ReadOptions = ReadOptions(),
    *,
    unique_ids: bool = True,
    web: Web | None = None,
) -> Iterator[Record]:
    """All records of all inputs, in the order given (directories sorted, recursively).

    The inputs are checked now (a bad one raises NewsumError here, before the caller
    opens its output); the records are read lazily, as the caller iterates. With
    `unique_ids=False` a repeated id is passed on as it is (for a caller that reports
    repeated ids itself, like evaluation).
    """
    return read_sources(resolve(specs), options, unique_ids=unique_ids, web=web)


def read_sources(
    sources: Sequence[Source],
    options: ReadOptions,
    *,
    unique_ids: bool = True,
    web: Web | None = None,
) -> Iterator[Record]:
    """`web`: the fetcher web inputs share (one per read when not given, so the per-host
    limits hold across inputs)."""
    own = web is None
    web = web or Web(options)
    numbered = (
        (index, position, record)
        for index, source in enumerate(sources)
        for position, record in source.numbered(options, web)
    )
    records = (
        (record for _, _, record in numbered) if not unique_ids else _unique_ids(numbered, sources)
    )
    return _closing(records, web) if own else records


def _closing(records: Iterator[Record], web: Web) -> Iterator[Record]:
    try:
        yield from records
    finally:
        web.close()


def _unique_ids(
    numbered: Iterator[tuple[int, int, Record]], sources: Sequence[Source]
) -> Iterator[Record]:
    """Records with an id used earlier in the run renamed `ID~2`, `ID~3`, ... (warned).

    Every id of the run is remembered with where it was first seen: memory grows with
    the input (some 150 bytes an id, well under the near-duplicate index's 4 KB an
    article), the price of ids that are unique within a run."""
    seen: dict[str, tuple[int, int]] = {}
    next_suffix: dict[str, int] = {}  # for repeated ids only: where to look for a free one
    for index, position, record in numbered:
        first = seen.get(record.id)
        if first is not None:
            original = record.id
            n = next_suffix.get(original, 2)
            while f"{original}~{n}" in seen:
                n += 1
            next_suffix[original] = n + 1
            record.id = f"{original}~{n}"
            record.warn(
                "repeated-id",
                f"id {original!r} was first used by {sources[first[0]].where(first[1])}; "
                f"this record ({sources[index].where(position)}) is {record.id!r}",
            )
        seen[record.id] = (index, position)
        yield record


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


def _resolve_path(path: Path, prefixed: bool = False) -> list[Source]:
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
        ids = [p.relative_to(path).with_name(_stem(p)).as_posix() for p in files]
        # `a.txt`, `a.TXT`, `a.html` and `a.txt.gz` would all be `a`: those keep their
        # whole name, which the folder holds once.
        shared = {i for i, count in Counter(ids).items() if count > 1}
        top = f"{path.resolve().name}/" if prefixed else ""
        return [
            Source(
                _format_of(p), str(p), top + (p.relative_to(path).as_posix() if i in shared else i)
            )
            for p, i in zip(files, ids, strict=True)
        ]
    fmt = _format_of(path)
    if fmt not in FORMATS:
        raise NewsumError(
            f"unknown input format {fmt or '(no extension)'!r} for {path}; newsum reads "
            f"{', '.join(FORMATS)} (optionally .gz), directories, '-' for JSONL on stdin, "
            "and hf:NAME[:CONFIG]:SPLIT"
        )
    return [Source(fmt, str(path), _stem(path))]


# ---- bounded reading and decoding ----------------------------------------------------


def _open_binary(location: str) -> IO[bytes]:
    # gzip decompresses as it is read: what a read asks for is all it holds in memory.
    return gzip.open(location, "rb") if location.endswith(".gz") else open(location, "rb")


def _read_bounded(location: str, limit: int) -> bytes | None:
    """The whole file (decompressed), or None when it is over `limit` bytes."""
    with _open_binary(location) as f:
        data = f.read(limit + 1)
    return data if len(data) <= limit else None


def _bounded_lines(
    readline: Callable[[int], AnyStr], limit: int, newline: AnyStr
) -> Iterator[AnyStr | None]:
    """The lines `readline` gives, each at most `limit` long (its newline not counted);
    None for a longer one, which is skipped block by block: memory holds one line at
    most, never a whole file without newlines."""
    while line := readline(limit + 1):
        if len(line) > limit and not line.endswith(newline):
            while line and not line.endswith(newline):
                line = readline(_BLOCK)
            yield None
        else:
            yield line


def _over(limit: int) -> str:
    return f"over the {limit:,}-byte limit (max_bytes)"


_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16's: it starts with the same two bytes
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def _wide_encoding(head: bytes) -> str | None:
    """UTF-16 or UTF-32, by byte order mark or (without one) by charset-normalizer, which
    recognises the NUL bytes of their ASCII characters; None for other text."""
    for bom, encoding in _BOMS:
        if head.startswith(bom):
            return encoding
    if b"\0" not in head:  # ASCII-compatible text has no NUL: spare the detector
        return None
    import charset_normalizer

    best = charset_normalizer.from_bytes(head).best()
    if best is not None and best.encoding.startswith(("utf_16", "utf_32")):
        return best.encoding
    return None


def _decode(data: bytes) -> str:
    """UTF-8 (with or without BOM); UTF-16 or UTF-32; else a legacy 8-bit encoding."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    encoding = _wide_encoding(data[:_BLOCK]) or legacy_encoding(data)
    return data.decode(encoding, errors="replace")


def _text_lines(stream: IO[bytes], limit: int) -> Iterator[str | None]:
    """The lines of a text file, newlines kept (as csv wants them); None for one over
    `limit`. Each line is UTF-8 if it decodes as such, else in the file's legacy
    encoding (a UTF-8 file with a stray Windows-1252 line loses nothing)."""
    wide = _wide_encoding(stream.peek(_BLOCK)[:_BLOCK])  # type: ignore[attr-defined]
    if wide:
        text = io.TextIOWrapper(stream, encoding=wide, errors="replace", newline="")
        yield from _bounded_lines(text.readline, limit, "\n")  # characters here, not bytes
        return
    legacy = None
    for raw in _bounded_lines(stream.readline, limit, b"\n"):
        if raw is None:
            yield None
            continue
        try:
            yield raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            legacy = legacy or legacy_encoding(raw)
            yield raw.decode(legacy, errors="replace")


def _free_name(name: str, taken: Collection[str]) -> str:
    """`name~2`, or `name~3`, ...: the first not taken (the rule of repeated ids)."""
    n = 2
    while f"{name}~{n}" in taken:
        n += 1
    return f"{name}~{n}"


def _distinct(names: Sequence[str]) -> tuple[list[str], list[str]]:
    """Column names with repeats renamed `NAME~2`, ..., and the names that repeat."""
    out: list[str] = []
    repeated: list[str] = []
    for name in names:
        if name in out:
            repeated.append(name)
            name = _free_name(name, out)
        out.append(name)
    return out, repeated


# ---- one article a file -------------------------------------------------------------


def _read_file(source: Source, options: ReadOptions) -> str | Record:
    """The decoded text of a one-article file, or the error record when it is too big."""
    data = _read_bounded(source.location, options.max_bytes)
    if data is None:
        unpacked = " once decompressed" if source.location.endswith(".gz") else ""
        reason = f"{source.location}: {_over(options.max_bytes)}{unpacked}"
        return Record(id=source.name).mark(ERROR, reason)
    return _decode(data)


def _read_txt(source: Source, options: ReadOptions) -> Iterator[tuple[int, Record]]:
    # The file is all text: its title, when its first line is one, is the cleaner's to
    # find (pipeline.clean.metadata.ExtractTitle), as for any input with no title.
    text = _read_file(source, options)
    yield 0, text if isinstance(text, Record) else Record(id=source.name, text=text)


def _read_html(source: Source, options: ReadOptions) -> Iterator[tuple[int, Record]]:
    html = _read_file(source, options)
    if isinstance(html, Record):
        yield 0, html
        return
    yield 0, extract_html(Record(id=source.name, html=html), options.keep_html)


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


def _from_row(
    row: Any, default_id: str, where: str, options: ReadOptions, repeated: Collection[str] = ()
) -> Record:
    """A record from one JSON object or table row, with the column mapping applied.

    `repeated`: the columns the input holds more than once (the later ones are in `row`
    as `NAME~2`, ...); the text, id or title column among them makes the record an error."""
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
    ambiguous = [column for column in options.columns if column in repeated]
    if ambiguous and record.ok:
        # Which one is the article? A guess would lose the other in silence: the values
        # are all kept (`text`, `text~2`, ...) and the user renames the columns.
        column = ambiguous[0]
        count = list(repeated).count(column) + 1
        return record.mark(
            ERROR,
            f"{where}: the column {column!r} appears {count} times, so which one to read is "
            f"ambiguous; rename all but one (the others are kept as {column}~2, ...)",
        )
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


# ---- JSON ----------------------------------------------------------------------------


class _Unreadable(ValueError):
    """One line or document that cannot become a record; the message says why."""


# One C-fast pass (a regex is 10x slower) maps every digit to 0 and `{` to `[`, to find:
# - a run of 19 digits: orjson reads integers past 64 bits as floats (two ids 1 apart
#   become equal), so the line goes to json, which keeps integers exact;
# - many brackets: only then can the value be nested too deep, and it is walked.
_SCAN = bytes.maketrans(b"123456789{", b"000000000[")
_LONG_NUMBER = b"0" * 19


@functools.lru_cache(maxsize=16)
def _quoted(columns: tuple[str, ...]) -> tuple[bytes, ...]:
    return tuple(b'"' + column.encode() + b'"' for column in columns)


def _loads(raw: bytes, columns: tuple[str, ...]) -> tuple[Any, list[str]]:
    """The value of one JSON text, and the `columns` its top object holds more than once
    (renamed `NAME~2`, ...; other repeated keys keep JSON's usual last value).

    orjson first (~3x faster); json for what orjson refuses or would get wrong: a BOM,
    big integers, repeated keys (a byte count spots the few lines that may have them)."""
    scan = raw.translate(_SCAN)
    deep = scan.count(b"[") >= _MAX_DEPTH
    if _LONG_NUMBER not in scan and all(raw.count(key) < 2 for key in _quoted(columns)):
        with suppress(orjson.JSONDecodeError):
            value = orjson.loads(raw)
            return _shallow(value) if deep else value, []
    repeated: list[str] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        # json calls this for every object, the innermost first: the top object last.
        obj: dict[str, Any] = {}
        repeated.clear()
        for key, value in items:
            if key in obj and key in columns:
                repeated.append(key)
                key = _free_name(key, obj)
            obj[key] = value
        return obj

    try:
        # utf-8-sig: editors on Windows start a file with a BOM, which is not JSON.
        value = json.loads(raw.decode("utf-8-sig"), object_pairs_hook=pairs)
    except UnicodeDecodeError:
        raise _Unreadable("not valid UTF-8") from None
    except json.JSONDecodeError as exc:
        raise _Unreadable(f"invalid JSON: {exc.msg}") from None
    except RecursionError:
        raise _Unreadable(f"JSON nested more than {_MAX_DEPTH} levels deep") from None
    return _shallow(value) if deep else value, repeated if isinstance(value, dict) else []


def _shallow(value: Any) -> Any:
    """`value`, unless it is nested deeper than the writers can write back."""
    stack = [(value, 1)] if isinstance(value, (dict, list)) else []
    while stack:
        item, depth = stack.pop()
        if depth > _MAX_DEPTH:
            raise _Unreadable(f"JSON nested more than {_MAX_DEPTH} levels deep")
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return value


def _read_lines(
    stream: IO[bytes], source: Source, options: ReadOptions
) -> Iterator[tuple[int, Record]]:
    lines = _bounded_lines(stream.readline, options.max_bytes, b"\n")
    for lineno, raw in enumerate(lines, start=1):
        default_id = f"{source.name}-{lineno}"
        where = source.where(lineno)
        if raw is None:
            yield lineno, Record(id=default_id).mark(ERROR, f"{where}: {_over(options.max_bytes)}")
            continue
        if not raw.strip():
            continue
        try:
            row, repeated = _loads(raw, options.columns)
        except _Unreadable as exc:
            yield lineno, Record(id=default_id).mark(ERROR, f"{where}: {exc}")
        else:
            yield lineno, _from_row(row, default_id, where, options, repeated)


def _read_jsonl(source: Source, options: ReadOptions) -> Iterator[tuple[int, Record]]:
    with _open_binary(source.location) as f:
        yield from _read_lines(f, source, options)


def _read_stdin(source: Source, options: ReadOptions) -> Iterator[tuple[int, Record]]:
    yield from _read_lines(sys.stdin.buffer, source, options)


def _read_json(source: Source, options: ReadOptions) -> Iterator[tuple[int, Record]]:
    # A .json file is one document: it is read whole (use JSONL to stream large inputs).
    data = _read_bounded(source.location, options.max_bytes)
    if data is None:
        reason = f"{_over(options.max_bytes)}; a .json file is read whole: use JSONL for big inputs"
        yield 0, Record(id=source.name).mark(ERROR, f"{source.location}: {reason}")
        return
    try:
        document, _ = _loads(data, ())
    except _Unreadable as exc:
        yield 0, Record(id=source.name).mark(ERROR, f"{source.location}: {exc}")
        return
    rows = document if isinstance(document, list) else [document]
    for i, row in enumerate(rows, start=1):
        default_id = source.name if len(rows) == 1 else f"{source.name}-{i}"
        yield i, _from_row(row, default_id, source.where(i), options)


# ---- CSV -----------------------------------------------------------------------------


class _RowTooLong(Exception):
    pass


class _Feed:
    """The physical lines csv.reader reads, with the lines the current row took, so that a
    malformed row can give back all of them but its first."""

    def __init__(self, lines: Iterable[str | None], limit: int) -> None:
        self.lines = enumerate(lines, start=1)
        self.back: deque[tuple[int, str | None]] = deque()
        self.limit = limit
        self.taken: list[tuple[int, str | None]] = []
        self.size = 0

    def __iter__(self) -> _Feed:
        return self

    def __next__(self) -> str:
        item = self.back.popleft() if self.back else next(self.lines)
        self.taken.append(item)
        line = item[1]
        if line is None:
            raise _RowTooLong
        self.size += len(line)
        if self.size > self.limit:
            raise _RowTooLong
        # NUL bytes made older csv modules give up on the whole file; they are no text.
        return line.replace("\0", "")

    def next_row(self) -> None:
        self.taken, self.size = [], 0

    def give_back(self) -> None:
        self.back.extendleft(item for item in reversed(self.taken[1:]))


def _csv_rows(lines: Iterable[str | None], limit: int) -> Iterator[tuple[int, list[str] | str]]:
    """(first line number, cells) for each row, the header first; for a malformed row,
    what is wrong with it instead of its cells. Blank lines are skipped.

    A quoted cell may span lines. A row is malformed when its quote never closes (by
    the end of the file, or within `limit` characters), when a closing quote is followed
    by anything but a comma or the end of the line, or when a row that spans lines has
    another number of cells than the header. Then only its first line is lost (an error
    record), and reading starts again on the next line: a stray quote cannot swallow
    the rest of the file."""
    feed = _Feed(lines, limit)
    reader = csv.reader(feed, strict=True)
    width = None  # the header's number of cells
    while True:
        feed.next_row()
        try:
            cells = next(reader)
        except StopIteration:
            return
        except (csv.Error, _RowTooLong) as exc:
            problem = _csv_problem(exc, feed.taken, limit)
        else:
            if not cells:  # a blank line
                continue
            if width is None or len(feed.taken) == 1 or len(cells) == width:
                width = width or len(cells)
                yield feed.taken[0][0], cells
                continue
            problem = (
                f"a quoted cell runs from line {feed.taken[0][0]} over {len(feed.taken)} "
                f"lines into a row of {len(cells)} cells, where the header has {width}"
            )
        first = feed.taken[0][0]
        feed.give_back()
        reader = csv.reader(feed, strict=True)  # a fresh one: the last stopped mid-cell
        yield first, f"{problem}; reading goes on at line {first + 1}"


def _csv_problem(exc: Exception, taken: list[tuple[int, str | None]], limit: int) -> str:
    first = taken[0][0]
    if isinstance(exc, _RowTooLong) and len(taken) == 1:
        return f"line {first} is {_over(limit)}"
    if isinstance(exc, _RowTooLong):
        return f"a quoted cell opened on line {first} is still open after {limit:,} characters"
    if "unexpected end of data" in str(exc):
        return f"the quote opened on line {first} never closes"
    return f"malformed CSV from line {first} ({exc})"


def _read_csv(source: Source, options: ReadOptions) -> Iterator[tuple[int, Record]]:
    csv.field_size_limit(2**31 - 1)  # long articles are legitimate; max_bytes caps them
    with _open_binary(source.location) as f:
        rows = _csv_rows(_text_lines(f, options.max_bytes), options.max_bytes)
        header = next(rows, None)
        if header is None:
            return
        if isinstance(header[1], str):
            reason = f"{source.location}: the header row is malformed: {header[1]}"
            yield 0, Record(id=source.name).mark(ERROR, reason)
            return
        names, repeated = _distinct(header[1])
        for i, (lineno, cells) in enumerate(rows, start=1):
            default_id = f"{source.name}-{i}"
            where = f"{source.where(i)} (line {lineno})"
            if isinstance(cells, str):
                yield i, Record(id=default_id).mark(ERROR, f"{where}: {cells}")
                continue
            # Missing cells are null, as csv.DictReader has them.
            padded = cells + [None] * (len(names) - len(cells))
            row = dict(zip(names, padded[: len(names)], strict=True))
            record = _from_row(row, default_id, where, options, repeated)
            if len(cells) > len(names) and record.ok:
                record.mark(
                    ERROR,
                    f"{where}: {len(cells)} cells, but the header has {len(names)}: a comma in "
                    "a cell that is not quoted?",
                )
            yield i, record


# ---- tables --------------------------------------------------------------------------


def _read_parquet(source: Source, options: ReadOptions) -> Iterator[tuple[int, Record]]:
    import pyarrow.parquet as pq

    try:
        table = pq.ParquetFile(source.location)
    except Exception as exc:  # pyarrow raises several types for a file that is not Parquet
        yield 0, Record(id=source.name).mark(ERROR, f"{source.location}: not a Parquet file: {exc}")
        return
    from .writers import RECORD_SCHEMA, from_row

    # newsum's own Parquet (`-o x.parquet`, a run's shards) keeps unknown input fields
    # as JSON text in `extra`: read them back as the fields they were.
    ours = table.schema_arrow.equals(RECORD_SCHEMA)
    # pyarrow's rows keep only the last of two columns of one name: rows by position.
    names, repeated = _distinct(table.schema_arrow.names)
    i = 0
    for batch in table.iter_batches(batch_size=1024):
        columns = [column.to_pylist() for column in batch.columns]
        for values in zip(*columns, strict=True):
            i += 1
            row = dict(zip(names, values, strict=True))
            if ours:
                with suppress(ValueError):
                    row = from_row(row)
            where = source.where(i)
            yield i, _from_row(row, f"{source.name}-{i}", where, options, repeated)


def _read_hf(source: Source, options: ReadOptions) -> Iterator[tuple[int, Record]]:
    for i, row in enumerate(source.dataset, start=1):
        yield i, _from_row(row, f"{source.name}-{i}", source.where(i), options)


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

__all__ = [
    "DEFAULT_MAX_BYTES",
    "FORMATS",
    "ReadOptions",
    "Source",
    "extract_html",
    "on_the_web",
    "read_inputs",
    "read_sources",
    "resolve",
]

"""The batch job: clean → summarize → translate (→ eval), in shards, atomic, resumable.

OUTDIR (see pipeline.job.jobdir for how it is kept safe):

    shards/part-00000.jsonl   one file per `shard_size` input records, written under a
                              temporary name and renamed when complete
    parquet/part-00000.parquet  the same records with --format parquet (one typed schema)
    manifest.json             the job (inputs, models, settings), versions, times, counts,
                              and each complete shard's records, size and SHA-256
    errors.jsonl              every record that ended `error`: id, stage, reason
    .cache/part-00000.jsonl   model outputs of the shard in progress, saved after every
                              model batch (deleted once the shard is complete)

Resuming after any interruption (Ctrl-C, kill -9, power loss) redoes only what is
missing: the job must be the same one (inputs, models, settings: otherwise it is refused
with the differences named), every complete shard is checked against its checksum and
redone if it does not match, and inside an interrupted shard every model batch in the
cache is not generated again. Cleaning always runs over the whole input (it is cheap),
so near-duplicate flags are the same as in one pass, and each complete shard's cleaned
records are checked against the digest the manifest holds for them.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import suppress
from dataclasses import asdict, dataclass, field, replace
from itertools import islice
from pathlib import Path
from typing import Any

from newsum.models.engine import Engine
from newsum.models.hub import fetch
from newsum.models.options import GenerationOptions, preset
from newsum.models.stages import Stage, summarizer, translator
from newsum.pipeline import __version__
from newsum.pipeline.clean import build_steps
from newsum.pipeline.core.errors import NewsumError
from newsum.pipeline.core.layout import (
    CACHE_DIR,
    ERRORS,
    MANIFEST,
    PARQUET_DIR,
    SHARD_DIR,
    read_json,
    shard_name,
)
from newsum.pipeline.core.readers import Source, read_sources, resolve
from newsum.pipeline.core.record import ERROR, FIELD_NAMES, STATUSES, Record
from newsum.pipeline.core.step import Step, chain
from newsum.pipeline.core.writers import WARNED, Tally, cannot_write, dumps, write_parquet

from .jobdir import (
    OutDir,
    atomic_write,
    differences,
    digest,
    file_digest,
    now,
    owns,
    verify_shard,
    write_json,
)
from .options import RunOptions, plain

__all__ = [
    "CACHE_DIR",
    "ERRORS",
    "MANIFEST",
    "PARQUET_DIR",
    "SHARD_DIR",
    "RunOptions",
    "merge",
    "run",
]

# Fields the model stages add: what the cache keeps and restores.
MODEL_FIELDS = ("summary", "chunks", "summary_en", "text_en", "warnings", "status", "reason")


# ---- models ------------------------------------------------------------------------------


@dataclass
class Models:
    """The model stages of a run and what identifies their outputs."""

    stages: list[Stage]
    info: dict[str, Any]
    fingerprint: str
    notices: list[str] = field(default_factory=list)

    @property
    def steps(self) -> list[Step]:
        return [stage.step for stage in self.stages]

    def engines(self) -> list[Engine]:
        """The generation engines of the neural stages, in stage order."""
        return [stage.engine for stage in self.stages if stage.engine is not None]

    def planner(self) -> Engine | None:
        """The engine whose batches cut a shard into units of work (None: no neural stage)."""
        return next(iter(self.engines()), None)


def load_models(options: RunOptions) -> Models:
    """Load the summarizer and translator the options name (presets resolved here)."""
    notices: list[str] = []
    generation = options.generation or GenerationOptions()
    name = options.preset
    if name == "auto":
        name, notice = _auto_preset(options, generation)
        if notice:
            notices.append(notice)
    chosen = preset(name)
    if generation.num_beams is None and "num_beams" in chosen:
        generation = replace(generation, num_beams=chosen["num_beams"])
    summarizer_id = options.summarizer or chosen["summarizer"]
    translator_id = chosen["translator"] if options.translator is None else options.translator
    if options.preset == "auto" and name == "extractive" and options.translator is None:
        translator_id = ""
    stages = [summarizer(summarizer_id, generation)]
    info: dict[str, Any] = {"preset": name, "summarizer": stages[0].info}
    if translator_id:
        hint = "To summarize without translating, pass --no-translate."
        stages.append(translator(translator_id, generation, options.fields, hint))
        info["translator"] = stages[1].info
    info["generation"] = {k: plain(v) for k, v in asdict(generation).items() if v is not None}
    fingerprint = _hash(json.dumps([info, list(options.fields)], sort_keys=True, default=str))
    return Models(stages, info, fingerprint, notices)


def _auto_preset(options: RunOptions, generation) -> tuple[str, str | None]:
    """`default` when its models are cached or the hub answers, else `extractive`."""
    default = preset("default")
    try:
        fetch(options.summarizer or default["summarizer"], generation.revision)
    except NewsumError:
        translator = default["translator"]
        return "extractive", (
            f"the default models are not cached and the hub cannot be reached: summarizing "
            f"with lead-3, translation skipped. To translate, run `newsum models download "
            f"{translator}` on a connected machine, or pass --translator PATH."
        )
    return "default", None


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def record_key(record: Record, fingerprint: str) -> str:
    """What identifies a record's model outputs: its cleaned text and the model setup."""
    return _hash(f"{fingerprint}\0{record.text}")


def job_identity(options: RunOptions, sources: list[Source], models: Models) -> dict[str, Any]:
    """Everything that decides the shard files. A resumed run must have the same: a job
    whose inputs, models or settings changed is refused instead of mixed."""
    clean = {k: plain(v) for k, v in asdict(options.clean).items() if k != "rules_files"}
    # Rules files by content: an edited rules file cleans differently.
    clean["rules_files"] = [_file_identity(Path(path)) for path in options.clean.rules_files]
    generation = dict(models.info.get("generation", {}))
    for safety in ("allow_pickle", "trust_remote_code"):  # permissions, not settings
        generation.pop(safety, None)
    inputs = {}  # keyed by position and name, so that a changed input is named
    for n, source in enumerate(sources, 1):
        identity = source.identity()
        inputs[f"{n}: {identity.pop('input')}"] = identity
    return {
        "inputs": inputs,
        "read": {k: plain(v) for k, v in asdict(options.read).items()},
        "clean": clean,
        "shard_size": options.shard_size,
        "format": options.format,
        "fields": list(options.fields),
        "reuse_duplicates": options.reuse_duplicates,
        "models": {k: v for k, v in models.info.items() if k != "generation"},
        "generation": generation,
    }


def _file_identity(path: Path) -> dict[str, Any]:
    try:
        return {"path": str(path.resolve()), **digest(path.read_bytes())}
    except OSError as exc:
        raise NewsumError(f"cannot read {path}: {exc.strerror}") from None


# ---- the manifest --------------------------------------------------------------------------


class Manifest:
    """manifest.json: the job and its complete shards, rewritten atomically after each."""

    def __init__(self, path: Path, data: dict[str, Any]) -> None:
        self.path = path
        self.data = data

    @property
    def shards(self) -> dict[str, Any]:
        return self.data["shards"]

    @classmethod
    def start(cls, folder: OutDir, options: RunOptions, models: Models, job: dict, resume: bool):
        """A new manifest, or with --resume the earlier one's verified shards.

        An earlier manifest for another job is refused with the differences; one that is
        damaged is set aside and its shards are redone; a shard whose file is missing,
        truncated or altered is redone. Each of these is said in `folder.notices`."""
        previous: dict[str, Any] = {}
        if resume and not folder.manifest.exists() and any(folder.path.glob("shards/part-*")):
            folder.notices.append(f"{folder.manifest.name} is missing: every shard is redone")
        if resume and folder.manifest.exists():
            data, problem = read_json(folder.manifest)
            if problem is None and not _looks_like_manifest(data):
                problem = "not a manifest of this version of newsum"
            if problem:
                aside = folder.manifest.with_name(f"{folder.manifest.name}.damaged")
                os.replace(folder.manifest, aside)
                folder.notices.append(
                    f"{folder.manifest.name} was {problem}: kept as {aside.name}; every shard "
                    "is redone"
                )
            else:
                previous = data
        if previous:
            changed = differences(previous["job"], job)
            if changed:
                raise NewsumError(
                    f"{folder.path} holds a run of another job; --resume finishes only the "
                    f"same job. What changed: {'; '.join(changed[:12])}"
                    f"{f' (and {len(changed) - 12} more)' if len(changed) > 12 else ''}. "
                    "Start again with --overwrite, or use another -o folder."
                )
        shards = {}
        for name, entry in sorted(previous.get("shards", {}).items()):
            problem = verify_shard(folder, name, entry, options.format)
            if problem:
                folder.notices.append(f"shard {name}: {problem}: redoing it")
            else:
                shards[name] = entry
        data = {
            "newsum": __version__,
            "status": "running",
            "started": previous.get("started") or now(),
            "resumed": [*previous.get("resumed", []), now()] if previous else [],
            "ended": None,
            "fingerprint": _hash(json.dumps(job, sort_keys=True)),
            "job": job,
            "config": options.as_config(),
            "models": models.info,
            "libraries": _libraries(),
            "shard_size": options.shard_size,
            "shard": options.shard,
            "counts": {},
            "shards": shards,
        }
        return cls(folder.manifest, data)

    def complete(self, name: str, entry: dict[str, Any]) -> None:
        self.shards[name] = entry
        self.save()

    def finish(self, status: str) -> None:
        totals: Counter[str] = Counter()
        for shard in self.shards.values():
            totals.update(shard["counts"])
        self.data["counts"] = {s: totals[s] for s in (*STATUSES, WARNED)}
        self.data["reused"] = sum(shard.get("reused", 0) for shard in self.shards.values())
        self.data["status"] = status
        self.data["ended"] = now()
        self.save()

    def save(self) -> None:
        self.data["shards"] = dict(sorted(self.shards.items()))
        write_json(self.path, self.data)


def _looks_like_manifest(data: Any) -> bool:
    return (
        isinstance(data, dict)
        and isinstance(data.get("job"), dict)
        and isinstance(data.get("shards"), dict)
    )


def _libraries() -> dict[str, str]:
    from importlib import metadata

    out = {"python": sys.version.split()[0]}
    for name in ("torch", "transformers", "ctranslate2", "datasets", "trafilatura", "ray"):
        with suppress(metadata.PackageNotFoundError):
            out[name] = metadata.version(name)
    return out


# ---- running -------------------------------------------------------------------------------


class Interrupted(NewsumError):
    exit_code = 130


class Unverified(NewsumError):
    """The run went to its end, but its output does not hold every record exactly once."""

    exit_code = 1


def batched(items: Iterable, size: int) -> Iterator[list]:
    it = iter(items)
    while batch := list(islice(it, size)):
        yield batch


def run(options: RunOptions, resume: bool = False, overwrite: bool = False, progress=None) -> dict:
    """Run the job; returns the manifest data. `progress(stage, n)` is told what got done.

    Everything that can fail on the user's input (the folder, the inputs, the models) is
    checked before the folder is touched."""
    selected = options.shard_slice()
    folder = OutDir(Path(options.output), selected)
    folder.check(resume, overwrite)
    sources = resolve(options.inputs)
    models = load_models(options)
    job = job_identity(options, sources, models)
    with folder.open():
        if overwrite:
            folder.clear()
        folder.tidy()
        manifest = Manifest.start(folder, options, models, job, resume)
        folder.notices[:0] = models.notices
        manifest.data["notices"] = folder.notices  # the same list: later notices saved too
        manifest.save()
        executor = _executor(options, models)
        try:
            totals = _run_shards(folder, options, sources, models, manifest, executor, progress)
        except KeyboardInterrupt:
            manifest.finish("interrupted")
            raise Interrupted(
                f"interrupted: {len(manifest.shards)} shards complete in {folder.path}. "
                f"Finish the run with: {_resume_command()}"
            ) from None
        finally:
            executor.close()
        _finish(folder, manifest, totals, options)
    return manifest.data


def _run_shards(folder, options, sources, models, manifest, executor, progress) -> tuple[int, int]:
    """Clean the whole input and generate the shards this run owns; (shards, records)."""
    report = progress or (lambda stage, n: None)
    selected = folder.selected
    cleaned = chain(read_sources(sources, options.read), build_steps(options.clean))
    shards = records_read = 0
    for index, records in enumerate(batched(cleaned, options.shard_size)):
        shards, records_read = index + 1, records_read + len(records)
        report("cleaned", len(records))
        if not owns(selected, index):
            continue
        name = shard_name(index)
        source = _source_digest(records)
        entry = manifest.shards.get(name)
        if entry is not None:
            if entry.get("source") != source:
                raise NewsumError(
                    f"the input is not what it was when shard {name} was made: its records "
                    "now clean to something else (an edited input, or standard input that "
                    "differs). Start again with --overwrite, or use another -o folder."
                )
            report("generated", len(records))
            continue
        reused = generate_shard(executor, folder, name, records, models, options, report)
        counts = tally(records)
        entry = write_shard(folder, name, records, options.format)
        manifest.complete(name, {"records": len(records), "counts": dict(counts), "reused": reused,
                                 "source": source, **entry})  # fmt: skip
        folder.cache(name).unlink(missing_ok=True)
    return shards, records_read


def generate_shard(executor, folder, name, records, models, options, report) -> int:
    """Run the model stages over a shard; returns how many records reused a near-duplicate's
    outputs instead of being generated.

    A near-duplicate (`duplicate_of`) whose original is in the same shard and came out
    `ok` takes the original's summary and translation, with a `reused` warning. Only in
    the same shard: every run of the job (whole, resumed, a slice of a job array, on Ray)
    then decides alike, and nothing is held beyond the shard. A duplicate whose original
    did not come out ok is generated after all."""
    pending = records
    originals = {}
    if options.reuse_duplicates and models.engines():
        first = {}
        for record in records:
            original = first.get(record.duplicate_of) if record.ok else None
            if original is not None and original.ok:
                # A copy of a copy takes the outputs of the first, which is generated.
                originals[id(record)] = originals.get(id(original), original)
            first.setdefault(record.id, record)
        pending = [r for r in records if id(r) not in originals]
    executor.process_shard(folder, name, pending, models.fingerprint, report)
    retry = []
    for record in records:
        original = originals.get(id(record))
        if original is None:
            continue
        if not original.ok:
            retry.append(record)
            continue
        for field_name in ("summary", "chunks", "summary_en", "text_en"):
            setattr(record, field_name, getattr(original, field_name))
        record.warnings.extend(
            w for w in original.warnings if not (isinstance(w, dict) and w.get("code") == "reused")
        )
        record.warn(
            "reused",
            f"summary and translation reused from {original.id!r}, of which this article is "
            "a near-duplicate (--no-reuse-duplicates generates them anew)",
        )
    report("generated", len(originals) - len(retry))
    if retry:
        executor.process_shard(folder, name, retry, models.fingerprint, report)
    return len(originals) - len(retry)


def _source_digest(records: list[Record]) -> str:
    """Digest of a shard's cleaned records, before any model ran: what it was made from."""
    sha = hashlib.sha256()
    for record in records:
        sha.update(dumps(record).encode())
        sha.update(b"\n")
    return sha.hexdigest()


def _finish(folder: OutDir, manifest: Manifest, totals: tuple[int, int], options) -> None:
    """Check the whole output once more, then mark the run complete (or not)."""
    shards, records = totals
    selected = folder.selected
    if selected is None:
        folder.prune(shards)
    problems = []
    expected = [shard_name(i) for i in range(shards) if owns(selected, i)]
    for name in expected:
        entry = manifest.shards.get(name)
        problem = (
            "never written" if entry is None else verify_shard(folder, name, entry, options.format)
        )
        if problem:
            problems.append(f"{name}: {problem}")
    written = sum(manifest.shards[name]["records"] for name in expected if name in manifest.shards)
    if selected is None and not problems and written != records:
        problems.append(f"the shards hold {written:,} records, the input {records:,}")
    manifest.data.update(total_shards=shards, total_records=records)
    with suppress(OSError):  # left when other slices of a job array are still running
        (folder / CACHE_DIR).rmdir()
    write_errors(folder)
    if problems:
        manifest.finish("unverified")
        raise Unverified(
            f"the run ended but its output failed the final check: {'; '.join(problems[:10])}. "
            f"Rerun with --resume to redo those shards: {_resume_command()}"
        )
    manifest.finish("complete")
    if options.references and not selected:
        manifest.data["report"] = evaluate_run(folder.path, options.references)
        manifest.save()


def evaluate_run(outdir: Path, references: str) -> list[str]:
    """Score the run's summaries against references: report.json, .md and .html."""
    from newsum.eval.evaluate import EvalOptions, evaluate
    from newsum.eval.report import write

    report = evaluate(str(outdir / SHARD_DIR), EvalOptions(references=references))
    paths = [outdir / f"report{suffix}" for suffix in (".json", ".md", ".html")]
    for path in paths:
        write(report, path)
    return [path.name for path in paths]


def _resume_command() -> str:
    argv = ["newsum", *sys.argv[1:]]
    argv = [arg for arg in argv if arg != "--overwrite"]
    if "--resume" not in argv:
        argv.append("--resume")
    return shlex.join(argv)


def _executor(options: RunOptions, models: Models):
    if options.executor == "ray":
        from .ray_executor import RayExecutor

        return RayExecutor(options, models)
    return LocalExecutor(models)


# ---- model work and its cache --------------------------------------------------------------

# Records planned together: the engine sorts them by length before it cuts its batches.
WINDOW = 256


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


def cache_line(record: Record, fingerprint: str) -> str:
    data = {"key": record_key(record, fingerprint)}
    data.update({name: getattr(record, name) for name in MODEL_FIELDS})
    return json.dumps(data, ensure_ascii=False)


class LocalExecutor:
    """Model stages in this process, a unit (one model batch) at a time, each cached at once."""

    def __init__(self, models: Models) -> None:
        self.models = models

    def process_shard(self, folder: OutDir, name: str, records, fingerprint, report) -> Counter:
        cache = open_cache(folder, name, fingerprint)
        report("generated", sum(1 for r in records if not r.ok))
        try:
            for unit in work_units(records, self.models):
                if not cache.restore(unit):
                    self.generate(unit)
                    cache.save(unit)
                report("generated", len(unit))
        finally:
            cache.close()
        return tally(records)

    def generate(self, records: list[Record]) -> None:
        for _ in chain(records, self.models.steps):
            pass

    def close(self) -> None:
        pass


def tally(records: Iterable[Record]) -> Tally:
    counts = Tally()
    for record in records:
        counts.add(record)
    return counts


def open_cache(folder: OutDir, name: str, fingerprint: str) -> ShardCache:
    cache = ShardCache(folder.cache(name), fingerprint)
    if cache.damaged:
        folder.notices.append(
            f"shard {name}: dropped {cache.damaged} damaged line(s) of its cache (cut by a "
            "crash); their records are generated again"
        )
    return cache


# ---- shard files ---------------------------------------------------------------------------


def write_shard(folder: OutDir, name: str, records: list[Record], fmt: str) -> dict[str, Any]:
    """Write a shard's JSONL (and Parquet) atomically; their sizes and checksums."""
    data = "".join(dumps(r) + "\n" for r in records).encode("utf-8")
    entry = atomic_write(folder.shard(name), data)
    if fmt == "parquet":
        path = folder.parquet(name)
        try:
            path.parent.mkdir(exist_ok=True)
        except OSError as exc:
            raise cannot_write(path.parent, exc) from None
        write_parquet(records, path)
        entry["parquet"] = file_digest(path)
    return entry


def write_errors(folder: OutDir) -> None:
    """errors.jsonl from the shards: one line per `error` record, with its stage."""
    lines = []
    for path in sorted((folder / SHARD_DIR).glob("part-*.jsonl")):
        with open(path, encoding="utf-8") as f:
            for line in f:
                record = json.loads(line)
                if record.get("status") == ERROR:
                    reason = record.get("reason", "")
                    lines.append(json.dumps({"id": record["id"], "stage": _stage(reason),
                                             "reason": reason}, ensure_ascii=False))  # fmt: skip
    atomic_write(folder / ERRORS, "".join(line + "\n" for line in lines).encode("utf-8"))


_STAGES = ("check", "normalize", "title", "byline", "boilerplate", "check-body", "strict",
           "lang", "dedup", "summarize", "translate")  # fmt: skip


def _stage(reason: str) -> str:
    head = reason.split(":", 1)[0].split()[0] if reason else ""
    return head if head in _STAGES else "input"  # reader and check reasons have no prefix


# ---- merging the slices of a job array -----------------------------------------------------


def merge(outdir: Path, references: str | None = None) -> dict[str, Any]:
    """Join the runs of `--shard I/N` that wrote into `outdir` into one manifest.

    Every slice must have completed the same job, and every shard file must match the
    checksum its slice recorded; a shard that does not is named with the slice to rerun
    with --resume (merge has no models to redo it)."""
    folder = OutDir(outdir)
    if not folder.is_newsum():
        raise NewsumError(f"{outdir} was not written by `newsum run --shard I/N`: nothing to merge")
    with folder.open():
        return _merge(folder, references)


def _merge(folder: OutDir, references: str | None) -> dict[str, Any]:
    outdir = folder.path
    paths = sorted(outdir.glob("manifest-*-of-*.json"))
    if not paths:
        raise NewsumError(f"no manifest-I-of-N.json in {outdir}: nothing to merge")
    parts, problems = [], []
    for path in paths:
        data, problem = read_json(path)
        if problem is None and not (_looks_like_manifest(data) and data.get("shard")):
            problem = "not a slice manifest of this version of newsum"
        if problem:
            problems.append(f"{path.name} is {problem} (rerun that slice with --resume)")
        else:
            parts.append(data)
    if problems:
        raise NewsumError(f"cannot merge {outdir}: " + "; ".join(problems))
    count = int(parts[0]["shard"].split("/")[1])
    slices = {part["shard"] for part in parts}
    expected = {f"{i}/{count}" for i in range(count)}
    if slices != expected:
        problems.append(f"slices missing: {', '.join(sorted(expected - slices)) or '-'}")
    if len({part["fingerprint"] for part in parts}) > 1:
        problems.append("the slices ran with different configurations")
    unfinished = [part["shard"] for part in parts if part["status"] != "complete"]
    if unfinished:
        problems.append(f"unfinished: {', '.join(unfinished)} (rerun those with --resume)")
    if problems:
        raise NewsumError(f"cannot merge {outdir}: " + "; ".join(problems))
    fmt = parts[0]["job"]["format"]
    shards: dict[str, Any] = {}
    bad = []
    for part in parts:
        for name, entry in part["shards"].items():
            problem = verify_shard(folder, name, entry, fmt)
            if problem:
                bad.append(f"{name}: {problem} (rerun slice {part['shard']} with --resume)")
            shards[name] = entry
    total = max(part.get("total_shards", 0) for part in parts)
    absent = [shard_name(i) for i in range(total) if shard_name(i) not in shards]
    if absent:
        bad.append(f"shards missing from every slice: {', '.join(absent[:10])}")
    records = sum(entry["records"] for entry in shards.values())
    expected_records = max(part.get("total_records", 0) for part in parts)
    if not bad and records != expected_records:
        bad.append(f"the shards hold {records:,} records, the input {expected_records:,}")
    if bad:
        raise Unverified(f"cannot merge {outdir}, its shards failed the check: " + "; ".join(bad))
    folder.prune(total)
    merged = dict(parts[0])
    merged.update(
        shard=None,
        shards=shards,
        merged_from=[path.name for path in paths],
        started=min(part["started"] for part in parts),
    )
    manifest = Manifest(outdir / MANIFEST, merged)
    write_errors(folder)
    manifest.finish("complete")
    manifest.data["ended"] = max(part["ended"] for part in parts)
    if references:
        manifest.data["report"] = evaluate_run(outdir, references)
    manifest.save()
    return manifest.data

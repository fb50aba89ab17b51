"""The batch job: clean → summarize → translate (→ eval), in shards, atomic, resumable.

Layout of OUTDIR:

    shards/part-00000.jsonl   one file per `shard_size` input records, written under a
                              temporary name and renamed when complete
    manifest.json             config, models and revisions, versions, times, counts,
                              completed shards (rewritten atomically after each shard)
    errors.jsonl              every record that ended `error`: id, stage, reason
    .cache/part-00000.jsonl   model outputs of the shard in progress, one line per
                              record as soon as its batch is done (deleted with the shard)

Resuming after any interruption (Ctrl-C, kill -9, power loss) redoes only what is
missing: complete shards are kept when the run's fingerprint matches, and inside the
interrupted shard every record whose cache key (cleaned text + models, revisions and
generation settings) is in the cache is not generated again. Cleaning always runs over
the whole input (it is cheap), so near-duplicate flags are the same as in one pass.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import shutil
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import suppress
from dataclasses import asdict, dataclass, field, fields, replace
from itertools import islice
from pathlib import Path
from typing import Any

from . import __version__
from .clean import CleanOptions, build_steps
from .errors import NewsumError
from .readers import ReadOptions, read_inputs
from .record import ERROR, FIELD_NAMES, STATUSES, Record
from .step import Step, chain
from .writers import dumps

SHARD_DIR = "shards"
CACHE_DIR = ".cache"
MANIFEST = "manifest.json"
ERRORS = "errors.jsonl"
# Fields the model stages add: what the cache keeps and restores.
MODEL_FIELDS = ("summary", "chunks", "summary_en", "text_en", "warnings", "status", "reason")


@dataclass(frozen=True)
class RunOptions:
    """Everything `newsum run` does differently; the defaults are the CLI's."""

    inputs: tuple[str, ...] = ()
    output: str = "out/run"
    preset: str = "default"
    summarizer: str | None = None  # None: the preset's
    translator: str | None = None  # None: the preset's; "" for none
    fields: tuple[str, ...] = ("summary",)
    references: str | None = None
    format: str = "jsonl"
    shard_size: int = 1000
    shard: str | None = None  # "I/N": only the I-th of N slices (0-based)
    executor: str = "local"
    ray_address: str | None = None
    read: ReadOptions = field(default_factory=ReadOptions)
    clean: CleanOptions = field(default_factory=CleanOptions)
    generation: Any = None  # models.options.GenerationOptions (imported lazily)

    def shard_slice(self) -> tuple[int, int] | None:
        if not self.shard:
            return None
        try:
            index, count = (int(x) for x in self.shard.split("/"))
        except ValueError:
            raise NewsumError(f"--shard takes I/N (e.g. 0/4), not {self.shard!r}") from None
        if not 0 <= index < count:
            raise NewsumError(f"--shard {self.shard}: I must be between 0 and N-1")
        return index, count

    def as_config(self) -> dict[str, Any]:
        """The options as a TOML-able dict (what --print-config prints and the manifest keeps)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in ("read", "clean", "generation"):
                out[f.name] = {k: _plain(v) for k, v in asdict(value).items() if v is not None}
            elif value is not None:
                out[f.name] = _plain(value)
        return out


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


# ---- models ------------------------------------------------------------------------------


@dataclass
class Models:
    """The model stages of a run and what identifies their outputs."""

    steps: list[Step]
    info: dict[str, Any]
    fingerprint: str
    notices: list[str] = field(default_factory=list)


def load_models(options: RunOptions) -> Models:
    """Load the summarizer and translator the options name (presets resolved here)."""
    from models.extractive import Extractive
    from models.load import load_model, load_summarizer
    from models.options import GenerationOptions, preset
    from models.summarize import Summarize
    from models.translate import Translate

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
    summarizer = load_summarizer(summarizer_id, generation)
    steps: list[Step] = []
    info: dict[str, Any] = {"preset": name}
    if isinstance(summarizer, Extractive):
        steps.append(Summarize(summarizer, generation.languages or ("fr",)))
        info["summarizer"] = {"id": summarizer.name, "kind": "extractive"}
    else:
        steps.append(Summarize(summarizer.engine, summarizer.resolved.languages))
        info["summarizer"] = _model_info(summarizer)
    if translator_id:
        translator = load_model(translator_id, generation, target_lang="en")
        steps.append(Translate(translator.engine, translator.resolved.languages, options.fields))
        info["translator"] = _model_info(translator)
    info["generation"] = {k: _plain(v) for k, v in asdict(generation).items() if v is not None}
    fingerprint = _hash(json.dumps([info, list(options.fields)], sort_keys=True, default=str))
    return Models(steps, info, fingerprint, notices)


def _auto_preset(options: RunOptions, generation) -> tuple[str, str | None]:
    """`default` when its models are cached or the hub answers, else `extractive`."""
    from models.loading import fetch
    from models.options import preset

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


def _model_info(loaded) -> dict[str, Any]:
    path = Path(loaded.info.get("path", ""))
    # A hub snapshot lives in .../snapshots/<commit>: that commit is the resolved revision.
    revision = path.name if path.parent.name == "snapshots" else loaded.info.get("revision")
    return {
        "id": loaded.model_id,
        "revision": revision,
        "backend": loaded.info.get("backend"),
        "device": loaded.info.get("device"),
        "settings": loaded.resolved.as_dict(),
        "weights": _weights_fingerprint(path),
    }


def _weights_fingerprint(path: Path) -> str:
    """Names and sizes of the model files: a local folder's stand-in for a revision."""
    if not path.is_dir():
        return ""
    files = sorted((p.name, p.stat().st_size) for p in path.iterdir() if p.is_file())
    return _hash(json.dumps(files))


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def record_key(record: Record, fingerprint: str) -> str:
    """What identifies a record's model outputs: its cleaned text and the model setup."""
    return _hash(f"{fingerprint}\0{record.text}")


# ---- the output folder ---------------------------------------------------------------------


class Manifest:
    """manifest.json: written whole to a temporary file and renamed, after every shard."""

    def __init__(self, path: Path, data: dict[str, Any]) -> None:
        self.path = path
        self.data = data

    @classmethod
    def start(cls, outdir: Path, name: str, options: RunOptions, models: Models, resume: bool):
        path = outdir / name
        previous = json.loads(path.read_text(encoding="utf-8")) if resume and path.exists() else {}
        config = options.as_config()
        # What decides the shard files: models and settings, cleaning, reading, sharding.
        fingerprint = _hash(
            json.dumps(
                [models.fingerprint, config["clean"], config["read"], options.shard_size],
                sort_keys=True,
            )
        )

        shards = previous.get("shards", {}) if previous.get("fingerprint") == fingerprint else {}
        data = {
            "newsum": __version__,
            "status": "running",
            "started": previous.get("started") or _now(),
            "resumed": [*previous.get("resumed", []), _now()] if previous else [],
            "ended": None,
            "fingerprint": fingerprint,
            "config": config,
            "models": models.info,
            "libraries": _libraries(),
            "shard_size": options.shard_size,
            "shard": options.shard,
            "counts": {},
            "shards": shards,
        }
        return cls(path, data)

    def done(self, shard: str) -> bool:
        return shard in self.data["shards"]

    def complete(self, shard: str, counts: Counter) -> None:
        self.data["shards"][shard] = {"records": sum(counts.values()), "counts": dict(counts)}
        self.save()

    def finish(self, status: str) -> None:
        totals: Counter[str] = Counter()
        for shard in self.data["shards"].values():
            totals.update(shard["counts"])
        self.data["counts"] = {s: totals[s] for s in STATUSES}
        self.data["status"] = status
        self.data["ended"] = _now()
        self.save()

    def save(self) -> None:
        self.data["shards"] = dict(sorted(self.data["shards"].items()))
        _atomic_write(self.path, json.dumps(self.data, ensure_ascii=False, indent=2) + "\n")


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def _libraries() -> dict[str, str]:
    from importlib import metadata

    out = {"python": sys.version.split()[0]}
    for name in ("torch", "transformers", "ctranslate2", "datasets", "trafilatura", "ray"):
        with suppress(metadata.PackageNotFoundError):
            out[name] = metadata.version(name)
    return out


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def prepare_outdir(outdir: Path, resume: bool, overwrite: bool) -> None:
    """A new or empty folder; with --resume an earlier run's; with --overwrite, cleared."""
    if outdir.exists() and not outdir.is_dir():
        raise NewsumError(f"{outdir} exists and is not a folder")
    busy = outdir.exists() and any(outdir.iterdir())
    if busy and overwrite:
        for name in (SHARD_DIR, CACHE_DIR):
            shutil.rmtree(outdir / name, ignore_errors=True)
        for path in outdir.glob("manifest*.json"):
            path.unlink()
        (outdir / ERRORS).unlink(missing_ok=True)
    elif busy and not resume:
        raise NewsumError(
            f"{outdir} is not empty. Pass --resume to finish the run that wrote it, or "
            "--overwrite to start again from nothing."
        )
    (outdir / SHARD_DIR).mkdir(parents=True, exist_ok=True)
    (outdir / CACHE_DIR).mkdir(exist_ok=True)


def manifest_file(selected: tuple[int, int] | None) -> str:
    """manifest.json, or manifest-I-of-N.json for one slice of a job array."""
    return f"manifest-{selected[0]:05d}-of-{selected[1]:05d}.json" if selected else MANIFEST


def shard_name(index: int) -> str:
    return f"part-{index:05d}"


# ---- running -------------------------------------------------------------------------------


class Interrupted(NewsumError):
    exit_code = 130


def batched(items: Iterable, size: int) -> Iterator[list]:
    it = iter(items)
    while batch := list(islice(it, size)):
        yield batch


def run(options: RunOptions, resume: bool = False, overwrite: bool = False, progress=None) -> dict:
    """Run the job; returns the manifest data. `progress(stage, n)` is told what got done."""
    outdir = Path(options.output)
    selected = options.shard_slice()
    if options.format not in ("jsonl", "parquet"):
        raise NewsumError(f"--format must be jsonl or parquet, not {options.format!r}")
    prepare_outdir(outdir, resume, overwrite)
    models = load_models(options)
    manifest_name = manifest_file(selected)
    manifest = Manifest.start(outdir, manifest_name, options, models, resume)
    manifest.data["notices"] = models.notices
    manifest.save()
    report = progress or (lambda stage, n: None)
    cleaned = chain(read_inputs(options.inputs, options.read), build_steps(options.clean))
    executor = _executor(options, models)
    total = 0
    try:
        for index, records in enumerate(batched(cleaned, options.shard_size)):
            total = index + 1
            report("cleaned", len(records))
            name = shard_name(index)
            if (selected and index % selected[1] != selected[0]) or manifest.done(name):
                continue
            counts = executor.process_shard(outdir, name, records, models.fingerprint, report)
            write_shard(outdir, name, records, options.format)
            (outdir / CACHE_DIR / f"{name}.jsonl").unlink(missing_ok=True)
            manifest.complete(name, counts)
    except KeyboardInterrupt:
        manifest.finish("interrupted")
        raise Interrupted(
            f"interrupted: {len(manifest.data['shards'])} shards complete in {outdir}. "
            f"Finish the run with: {_resume_command()}"
        ) from None
    finally:
        executor.close()
    manifest.data["total_shards"] = total
    with suppress(OSError):  # left when other slices of a job array are still running
        (outdir / CACHE_DIR).rmdir()
    write_errors(outdir)
    manifest.finish("complete")
    if options.references and not selected:
        manifest.data["report"] = evaluate_run(outdir, options.references)
        manifest.save()
    return manifest.data


def evaluate_run(outdir: Path, references: str) -> list[str]:
    """Score the run's summaries against references: report.json, .md and .html."""
    from eval.evaluate import EvalOptions, evaluate
    from eval.report import write

    report = evaluate(str(outdir / SHARD_DIR), EvalOptions(references=references))
    paths = [outdir / f"report{suffix}" for suffix in (".json", ".md", ".html")]
    for path in paths:
        write(report, path)
    return [path.name for path in paths]


def _resume_command() -> str:
    argv = ["newsum", *sys.argv[1:]]
    if "--resume" not in argv:
        argv.append("--resume")
    return shlex.join(argv)


def _executor(options: RunOptions, models: Models):
    if options.executor == "ray":
        from .ray_executor import RayExecutor

        return RayExecutor(options, models)
    if options.executor != "local":
        raise NewsumError(f"--executor must be local or ray, not {options.executor!r}")
    return LocalExecutor(models)


class LocalExecutor:
    """Model stages in this process, batch by batch, each batch's outputs cached at once."""

    batch_size = 256

    def __init__(self, models: Models) -> None:
        self.models = models

    def process_shard(self, outdir, name, records, fingerprint, report) -> Counter:
        cache_path = outdir / CACHE_DIR / f"{name}.jsonl"
        cache = load_cache(cache_path)
        with open(cache_path, "a", encoding="utf-8") as sink:
            for batch in batched(records, self.batch_size):
                fresh = [r for r in batch if not restore(r, cache, fingerprint)]
                self.generate(fresh)
                for record in fresh:
                    sink.write(cache_line(record, fingerprint) + "\n")
                sink.flush()
                os.fsync(sink.fileno())
                report("generated", len(batch))
        return Counter(r.status for r in records)

    def generate(self, records: list[Record]) -> None:
        for _ in chain(records, self.models.steps):
            pass

    def close(self) -> None:
        pass


def cache_line(record: Record, fingerprint: str) -> str:
    data = {"key": record_key(record, fingerprint)}
    data.update({name: getattr(record, name) for name in MODEL_FIELDS})
    return json.dumps(data, ensure_ascii=False)


def load_cache(cache_path: Path) -> dict[str, dict]:
    """Model outputs already computed for this shard (a torn last line is ignored)."""
    cache: dict[str, dict] = {}
    if cache_path.exists():
        for line in cache_path.read_text(encoding="utf-8").splitlines():
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue  # the line a kill cut short
            cache[entry.pop("key")] = entry
    return cache


def restore(record: Record, cache: dict[str, dict], fingerprint: str) -> bool:
    """Fill a record's model outputs from the cache; False when it must be generated."""
    if not record.ok:
        return True  # nothing for the models to do
    entry = cache.get(record_key(record, fingerprint))
    if entry is None:
        return False
    for name, value in entry.items():
        if name in FIELD_NAMES:
            setattr(record, name, value)
    return True


def write_shard(outdir: Path, name: str, records: list[Record], fmt: str) -> None:
    path = outdir / SHARD_DIR / f"{name}.jsonl"
    _atomic_write(path, "".join(dumps(r) + "\n" for r in records))
    if fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pylist([json.loads(dumps(r)) for r in records])
        tmp = path.with_name(f".{name}.parquet.tmp")
        pq.write_table(table, tmp)
        os.replace(tmp, path.with_suffix(".parquet"))


def write_errors(outdir: Path) -> None:
    """errors.jsonl from the shards: one line per `error` record, with its stage."""
    lines = []
    for path in sorted((outdir / SHARD_DIR).glob("part-*.jsonl")):
        with open(path, encoding="utf-8") as f:
            for line in f:
                record = json.loads(line)
                if record.get("status") == ERROR:
                    reason = record.get("reason", "")
                    lines.append(json.dumps({"id": record["id"], "stage": _stage(reason),
                                             "reason": reason}, ensure_ascii=False))  # fmt: skip
    _atomic_write(outdir / ERRORS, "".join(line + "\n" for line in lines))


_STAGES = ("check", "normalize", "title", "byline", "boilerplate", "lang", "dedup",
           "summarize", "translate")  # fmt: skip


def _stage(reason: str) -> str:
    head = reason.split(":", 1)[0].split()[0] if reason else ""
    return head if head in _STAGES else "input"  # reader and check reasons have no prefix


def merge(outdir: Path, references: str | None = None) -> dict[str, Any]:
    """Join the runs of `--shard I/N` that wrote into `outdir` into one manifest.

    Every slice must have completed, with the same configuration; the shard files are
    already in place (each slice wrote its own), so this checks and joins manifests.
    """
    paths = sorted(outdir.glob("manifest-*-of-*.json"))
    if not paths:
        raise NewsumError(f"no manifest-I-of-N.json in {outdir}: nothing to merge")
    parts = [json.loads(path.read_text(encoding="utf-8")) for path in paths]
    slices = {part["shard"] for part in parts}
    count = int(parts[0]["shard"].split("/")[1])
    expected = {f"{i}/{count}" for i in range(count)}
    problems = []
    if slices != expected:
        problems.append(f"slices missing: {', '.join(sorted(expected - slices)) or '-'}")
    if len({part["fingerprint"] for part in parts}) > 1:
        problems.append("the slices ran with different configurations")
    unfinished = [
        p.name for p, part in zip(paths, parts, strict=True) if part["status"] != "complete"
    ]
    if unfinished:
        problems.append(f"unfinished: {', '.join(unfinished)} (rerun those with --resume)")
    shards: dict[str, Any] = {}
    for part in parts:
        shards.update(part["shards"])
    total = max(part.get("total_shards", 0) for part in parts)
    absent = [shard_name(i) for i in range(total) if shard_name(i) not in shards]
    if absent:
        problems.append(f"shards missing: {', '.join(absent[:10])}")
    if problems:
        raise NewsumError(f"cannot merge {outdir}: " + "; ".join(problems))
    merged = dict(parts[0])
    merged.update(
        shard=None,
        shards=shards,
        merged_from=[path.name for path in paths],
        started=min(part["started"] for part in parts),
    )
    manifest = Manifest(outdir / MANIFEST, merged)
    write_errors(outdir)
    manifest.finish("complete")
    manifest.data["ended"] = max(part["ended"] for part in parts)
    if references:
        manifest.data["report"] = evaluate_run(outdir, references)
    manifest.save()
    return manifest.data

"""The batch job: clean → summarize → translate (→ eval), in shards, atomic, resumable.

OUTDIR (see pipeline.job.jobdir for how it is kept safe):

    shards/part-00000.jsonl   one file per `shard_size` input records, written under a
                              temporary name and renamed when complete
    parquet/part-00000.parquet  the same records with --format parquet (one typed schema)
    manifest.json             the job (inputs, models, settings), versions, times, counts,
                              how the models ran (`model_loads`, `workers`: each copy of
                              the models, its device and loads), and each complete
                              shard's records, size and SHA-256
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

The modules of the job, each for one concern:

    models.py         the run's model stages and their fingerprint
    manifest.py       manifest.json: the job's identity and its complete shards
    cache.py          units of work (one model batch each) and the shard cache
    executor.py       the shard loop, and the local executor
    ray_executor.py   the Ray executor: actors that live for the whole run
    finish.py         the final check, errors.jsonl, the report, `newsum merge`
    jobdir.py         the folder: marker, lock, atomic writes, checksums
    run.py            this: the run, shard after shard

The input is read and cleaned as one stream, cut into shards (`Shards`). While the
executor waits for its models (Ray actors, or the local executor's worker threads, see
executor.py), the next shard is cleaned, a record at a time; with the local executor
run sequentially (`in_flight=1`) a shard is cleaned when the last is written.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from pathlib import Path

from newsum.pipeline.clean import build_steps
from newsum.pipeline.core.errors import NewsumError
from newsum.pipeline.core.layout import FETCH_DIR, shard_name
from newsum.pipeline.core.readers import Source, read_sources, resolve
from newsum.pipeline.core.record import Record
from newsum.pipeline.core.step import chain
from newsum.pipeline.core.web import Web
from newsum.pipeline.core.writers import dumps

from .executor import IN_FLIGHT, Executor, LocalExecutor, tally
from .finish import finish_run, merge, resume_command
from .jobdir import OutDir, owns, write_shard
from .manifest import Manifest, job_identity
from .models import Models, load_models
from .options import RunOptions
from .ray_executor import RayExecutor

__all__ = ["Interrupted", "RunOptions", "merge", "run"]


class Interrupted(NewsumError):
    """Ctrl-C: the complete shards and the cache are kept for --resume."""

    exit_code = 130


def run(
    options: RunOptions,
    resume: bool = False,
    overwrite: bool = False,
    progress=None,
    loaded=None,
    *,
    models: Models | None = None,
    in_flight: int | None = None,
) -> dict:
    """Run the job; returns the manifest data. `progress(stage, n)` is told what got done,
    `loaded(models)` what models the run loaded, before any work starts. `models`: model
    stages already built (a benchmark's own backend), instead of those the options name;
    `in_flight`: units the local executor runs at once (1: one after the other; None:
    IN_FLIGHT on an accelerator, 1 on the CPU, where the models already use every core
    and the CPU work has no idle device to hide behind).

    Everything that can fail on the user's input (the folder, the inputs, the models) is
    checked before the folder is touched."""
    selected = options.shard_slice()
    folder = OutDir(Path(options.output), selected)
    folder.check(resume, overwrite)
    sources = resolve(options.inputs)
    models = models or load_models(options)
    if loaded:
        loaded(models)
    job = job_identity(options, sources, models)
    with folder.open():
        if overwrite:
            folder.clear()
        folder.tidy()
        manifest = Manifest.start(folder, options, models, job, resume)
        folder.notices[:0] = models.notices
        manifest.data["notices"] = folder.notices  # the same list: later notices saved too
        manifest.save()
        # Web inputs keep what they fetched in the folder: a resumed run reads the same
        # feed items and fetches no page again.
        web = Web(options.read, folder.path / FETCH_DIR)
        shards = Shards(clean(sources, options, web), options.shard_size)
        if options.executor == "ray":
            executor: Executor = RayExecutor(options, models, idle=shards.clean_ahead)
        else:
            if in_flight is None:
                in_flight = 1 if models.device == "cpu" else IN_FLIGHT
            executor = LocalExecutor(options, models, shards.clean_ahead, in_flight)
        try:
            totals = _run_shards(folder, options, shards, manifest, executor, progress)
            manifest.data.update(executor.describe())
            manifest.data.update(web.stats())  # fetch: requests, bytes, errors; warc: counts
        except KeyboardInterrupt:
            manifest.finish("interrupted")
            raise Interrupted(
                f"interrupted: {len(manifest.shards)} shards complete in {folder.path}. "
                f"Finish the run with: {resume_command()}"
            ) from None
        finally:
            executor.close()
            web.close()
        finish_run(folder, manifest, totals, options)
    return manifest.data


def clean(sources: list[Source], options: RunOptions, web: Web | None = None) -> Iterator[Record]:
    """The whole input, read and cleaned, as one stream."""
    return chain(read_sources(sources, options.read, web=web), build_steps(options.clean))


class Shards:
    """The cleaned stream cut into shards of `size` records, the next shard cleaned ahead.

    `clean_ahead()` cleans one record of the next shard; an executor calls it while it
    waits for its models. Iterating cleans whatever the next shard still lacks, then
    gives it: the records, the shards and the cleaning are the same as in one pass."""

    def __init__(self, records: Iterable[Record], size: int) -> None:
        self.records = iter(records)
        self.size = size
        self.next: list[Record] = []
        self.ended = False

    def clean_ahead(self) -> bool:
        """Clean one more record of the next shard; False when there is none to clean now
        (the next shard is full, or the input has ended)."""
        if self.ended or len(self.next) >= self.size:
            return False
        record = next(self.records, None)
        if record is None:
            self.ended = True
            return False
        self.next.append(record)
        return True

    def __iter__(self) -> Iterator[list[Record]]:
        while self._fill():
            shard, self.next = self.next, []
            yield shard

    def _fill(self) -> bool:
        while self.clean_ahead():
            pass
        return bool(self.next)


def _run_shards(
    folder: OutDir,
    options: RunOptions,
    shards: Shards,
    manifest: Manifest,
    executor: Executor,
    progress,
) -> tuple[int, int]:
    """Clean the whole input and generate the shards this run owns; (shards, records)."""
    report = progress or (lambda stage, n: None)
    selected = folder.selected
    count = records_read = 0
    for index, records in enumerate(shards):
        count, records_read = index + 1, records_read + len(records)
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
        reused = executor.generate_shard(folder, name, records, report)
        counts = tally(records)
        entry = write_shard(folder, name, records, options.format)
        manifest.complete(name, {"records": len(records), "counts": dict(counts), "reused": reused,
                                 "source": source, **entry})  # fmt: skip
        folder.cache(name).unlink(missing_ok=True)
    return count, records_read


def _source_digest(records: list[Record]) -> str:
    """Digest of a shard's cleaned records, before any model ran: what it was made from."""
    sha = hashlib.sha256()
    for record in records:
        sha.update(dumps(record).encode())
        sha.update(b"\n")
    return sha.hexdigest()

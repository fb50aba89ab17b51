"""`newsum run --executor ray [--ray-address ADDR]`: the model stages on Ray Data.

The job is the same as with the local executor (see pipeline.job.run): the same shards, the
same manifest, the same cache, the same outputs. Only where the models run changes.

What runs where, and why:

- Reading and cleaning stay in the driver, with newsum's own readers, not Ray's
  (`ray.data.read_json` and the like). They give each input record its id and its place
  in the output; near-duplicate detection must see the whole stream in input order; and
  both are cheap next to the models. Ray's readers would split files into blocks by
  their own rules, and neither ids nor order nor duplicate flags would match a local run.
- The model stages run on Ray Data. For each shard, the units of work the cache does not
  hold (`pipeline.job.run.work_units`: one model batch each, planned by the driver with the
  models' tokenizers) become a dataset (`ray.data.from_items`) with one row per unit,
  exactly the batches the local executor runs. The engine then sees the same texts
  together; a batch padded differently can change the floats and, now and then, a
  token, and the outputs would no longer be the same bytes. Records travel as JSON
  text: Arrow would turn their free-form fields into typed columns and add nulls.
- `map_batches` runs `ModelWorker` on a pool of actors, each loading the model stages
  once, with one GPU each when the models run on GPU. Results come back tagged with their
  unit (in whatever order they finish) and go onto the driver's records by position,
  as ids may repeat; each unit is cached and reported as it arrives, so an interrupted
  shard resumes as with the local executor.

Sizing: on GPU, one actor per GPU of the cluster. On CPU, one actor per 2 CPUs, each
using its CPUs as torch threads (1 actor on a 2-CPU machine: each actor holds its own
copy of the models, and torch already uses several cores). A shard uses at most one
actor per unit of work (one model batch), so a shard should hold several times as many
records as the actors take in one batch each.
An actor pool lives as long as one dataset, which is one shard: each shard starts its
actors again, and they import torch and load the models (7 s a shard for the tiny test
models on 2 CPUs), so shards of thousands of records keep that cost small.

On a cluster (`--ray-address`), the nodes need newsum installed (`pip install
'newsum[ray]'`, the same version) and the models where the driver finds them (the
Hugging Face cache or the same path).
"""

from __future__ import annotations

import gc
import json
import logging
import sys
from collections import Counter
from dataclasses import replace
from typing import Any

from newsum.pipeline.core.errors import NewsumError
from newsum.pipeline.core.record import FIELD_NAMES, Record
from newsum.pipeline.core.step import chain

from .jobdir import OutDir
from .options import RunOptions
from .run import MODEL_FIELDS, Models, load_models, open_cache, tally, work_units

# What the workers get of a record: everything the stages may read but the raw page.
_SENT = tuple(sorted(FIELD_NAMES - {"html"}))


def _ray():
    try:
        import ray
        import ray.data
    except ImportError:
        raise NewsumError("--executor ray needs Ray: pip install 'newsum[ray]'") from None
    return ray


class ModelWorker:
    """One actor: loads the model stages once, then runs whole model batches through them."""

    def __init__(self, options: RunOptions) -> None:
        self.steps = load_models(options).steps

    def __call__(self, batch):  # a pyarrow Table: window (int), records (JSON list)
        import pyarrow as pa

        outputs = []
        for text in batch.column("records").to_pylist():  # one unit of work
            records = [Record.from_dict(data, data["id"]) for data in json.loads(text)]
            for _ in chain(records, self.steps):
                pass
            outputs.append(
                json.dumps([{name: getattr(r, name) for name in MODEL_FIELDS} for r in records])
            )
        return pa.table({"unit": batch.column("unit"), "outputs": outputs})


class RayExecutor:
    """Model stages on a Ray actor pool, shard by shard; same outputs as LocalExecutor."""

    def __init__(self, options: RunOptions, models: Models) -> None:
        ray = _ray()
        # Ray's notes on its own workings show with --debug only, as other libraries' do.
        level = (
            logging.INFO
            if logging.getLogger("newsum").isEnabledFor(logging.DEBUG)
            else logging.ERROR
        )
        self.started = not ray.is_initialized()
        if self.started:  # with no address (and no RAY_ADDRESS), a Ray on this machine
            try:
                ray.init(
                    address=options.ray_address or None,
                    include_dashboard=False,
                    log_to_driver=level < logging.ERROR,
                    logging_level=level,
                )
            except ConnectionError as exc:
                raise NewsumError(f"cannot reach Ray at {options.ray_address}: {exc}") from None
        logging.getLogger("ray.data").setLevel(level)
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False  # newsum draws its own
        context.print_on_execution_start = False
        # Actors resolve the preset as the driver did (`auto` probes the hub only once).
        self.options = replace(options, preset=models.info["preset"])
        self.actors, self.resources = _actors(options, models, ray.cluster_resources())
        # The driver loaded the models for their description, their fingerprint and the
        # tokenizers that plan the units of work, but never runs them: free the weights
        # (on a one-GPU machine they hold what the actor needs).
        for engine in models.engines():
            engine.backend = None
        self.models = models
        gc.collect()
        torch = sys.modules.get("torch")
        if torch is not None and torch.cuda.is_available():
            torch.cuda.empty_cache()

    def process_shard(self, folder: OutDir, name, records, fingerprint, report) -> Counter:
        cache = open_cache(folder, name, fingerprint)
        report("generated", sum(1 for r in records if not r.ok))
        units = []  # the units the cache does not hold, as the local executor cuts them
        for unit in work_units(records, self.models):
            if cache.restore(unit):
                report("generated", len(unit))
            else:
                units.append(unit)
        try:
            for index, outputs in self._generate(name, units):
                unit = units[index]
                for record, values in zip(unit, outputs, strict=True):
                    for field, value in values.items():
                        setattr(record, field, value)
                cache.save(unit)
                report("generated", len(unit))
        finally:
            cache.close()
        return tally(records)

    def _generate(self, name: str, units: list[list[Record]]):
        """(unit index, model outputs of its records) as each unit is done."""
        ray = _ray()
        rows = [
            {"unit": i, "records": json.dumps([_sent(r) for r in unit], default=str)}
            for i, unit in enumerate(units)
        ]
        if not rows:
            return
        dataset = ray.data.from_items(rows, override_num_blocks=len(rows)).map_batches(
            ModelWorker,
            fn_constructor_kwargs={"options": self.options},
            batch_size=1,  # one row is one model batch
            batch_format="pyarrow",
            compute=ray.data.ActorPoolStrategy(size=min(self.actors, len(rows))),
            **self.resources,
        )
        try:
            for row in dataset.iter_rows():
                yield row["unit"], json.loads(row["outputs"])
        except ray.exceptions.RayError as exc:
            cause = str(exc).strip().splitlines()[-1]  # Ray's text ends with the worker's error
            raise NewsumError(
                f"Ray could not run the model stages of {name}: {cause} (--debug shows where)"
            ) from exc

    def close(self) -> None:
        if self.started:
            _ray().shutdown()


def _sent(record: Record) -> dict[str, Any]:
    return {name: getattr(record, name) for name in _SENT}


def _actors(options: RunOptions, models: Models, cluster: dict) -> tuple[int, dict]:
    """How many actors, and what each asks Ray for: a GPU each, or a share of the CPUs."""
    gpus, cpus = int(cluster.get("GPU", 0)), int(cluster.get("CPU", 1))
    device = options.generation.device if options.generation else "auto"
    neural = any(
        models.info.get(stage, {}).get("kind") != "extractive"
        for stage in ("summarizer", "translator")
        if stage in models.info
    )
    if neural and (device == "cuda" or (device == "auto" and gpus)):
        if not gpus:
            raise NewsumError("--device cuda, but the Ray cluster has no GPU")
        return gpus, {"num_gpus": 1}
    actors = max(1, cpus // 2)
    return actors, {"num_gpus": 0, "num_cpus": max(1, cpus // actors)}

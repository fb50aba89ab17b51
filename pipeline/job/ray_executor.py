"""`newsum run --executor ray [--ray-address ADDR]`: the model stages on Ray actors.

The job is the same as with the local executor (see pipeline.job.run): the same shards, the
same manifest, the same cache, the same outputs, and the same shard loop
(pipeline.job.executor). Only where a unit of model work runs changes.

What runs where, and why:

- Reading and cleaning stay in the driver, with newsum's own readers, not Ray's
  (`ray.data.read_json` and the like). They give each input record its id and its place
  in the output; near-duplicate detection must see the whole stream in input order; and
  both are cheap next to the models. Ray's readers would split files into blocks by
  their own rules, and neither ids nor order nor duplicate flags would match a local run.
- The units of work are planned by the driver (pipeline.job.cache.work_units: one model
  batch each, cut with the models' tokenizers), exactly as the local executor plans
  them, so the engine sees the same texts together and the outputs are the same bytes.
- The model stages run on a pool of Ray actors (`ModelWorker`) created once, when the
  executor starts, and killed when the run ends. Each loads the model stages once, and
  the units of every shard stream through the same actors: a run loads the models as
  many times as it has actors, however many shards it has.

The stream: each actor has at most `IN_FLIGHT` units submitted at a time (one it runs,
one queued behind it, so it never waits for the driver), and as each unit comes back
(in whatever order they finish) the actor that ran it gets the next one. The driver puts
the outputs on its records by position (ids may repeat), caches and reports each unit
as it arrives, so an interrupted shard resumes as with the local executor.

The overlap: while no result is ready, the driver cleans the next shard, a record at a
time between two looks at the actors (`idle`, see pipeline.job.run.Shards), until that
shard is cleaned whole; then it waits. A shard is written once all its units are back,
and the next shard's units are submitted after it: a shard's last units leave actors
idle for the time of one unit at most, so shards should hold many units per actor.

Sizing: on GPU, one actor per GPU of the cluster. On CPU, one actor per 2 CPUs, each
using its CPUs as torch threads (1 actor on a 2-CPU machine: each actor holds its own
copy of the models, and torch already uses several cores).

The manifest's `workers` holds, for each actor, the device its loaded models really use
(not the driver's), its host and how many times it loaded the model stages; `model_loads`
is their sum. The driver's own load (for the models' description and fingerprint and
the tokenizers that plan units; its weights are freed at once) is not counted.

On a cluster (`--ray-address`), the nodes need newsum installed (`pip install
'newsum[ray]'`, the same version) and the models where the driver finds them (the
Hugging Face cache or the same path).
"""

from __future__ import annotations

import gc
import logging
import os
import socket
import sys
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

from newsum.pipeline.core.errors import NewsumError
from newsum.pipeline.core.record import Record

from .executor import Executor, Outputs, run_unit
from .models import Models, load_models
from .options import RunOptions

# Units submitted to an actor at a time: one it runs, one waiting behind it.
IN_FLIGHT = 2


def _ray():
    try:
        import ray
    except ImportError:
        raise NewsumError("--executor ray needs Ray: pip install 'newsum[ray]'") from None
    return ray


class ModelWorker:
    """One Ray actor: loads the model stages once, then runs units of work through them."""

    def __init__(self, options: RunOptions) -> None:
        self.models = load_models(options)

    def generate(self, unit: list[Record]) -> Outputs:
        return run_unit(self.models, unit)

    def describe(self) -> dict[str, Any]:
        return {
            "device": self.models.device,
            "model_loads": Models.loads,  # this actor's process: a reload would show
            "host": socket.gethostname(),
            "pid": os.getpid(),
        }


class RayExecutor(Executor):
    """Model stages on Ray actors that live for the whole run; same outputs as local."""

    def __init__(
        self, options: RunOptions, models: Models, idle: Callable[[], bool] | None = None
    ) -> None:
        super().__init__(options, models, idle)
        ray = _ray()
        self.started = not ray.is_initialized()
        if self.started:
            _start(ray, options.ray_address)
        count, resources = _actors(options, models, ray.cluster_resources())
        # Actors resolve the preset as the driver did (`auto` probes the hub only once).
        actor_options = replace(options, preset=models.info["preset"])
        # Created without waiting: they load the models while the driver cleans the first
        # shard, and a unit sent meanwhile waits for its actor to be ready.
        worker = ray.remote(ModelWorker).options(**resources)
        self.actors = [worker.remote(actor_options) for _ in range(count)]
        # The driver loaded the models for their description, their fingerprint and the
        # tokenizers that plan the units of work, but never runs them: free the weights
        # (on a one-GPU machine they hold what the actor needs).
        for engine in models.engines():
            engine.backend = None
        gc.collect()
        torch = sys.modules.get("torch")
        if torch is not None and torch.cuda.is_available():
            torch.cuda.empty_cache()

    def generate(self, name: str, units: list[list[Record]]) -> Iterator[tuple[int, Outputs]]:
        ray = _ray()
        waiting = deque(enumerate(units))
        running: dict[Any, tuple[int, Any]] = {}  # object ref: (unit index, its actor)

        def submit(actor) -> None:
            if waiting:
                index, unit = waiting.popleft()
                sent = [replace(record, html=None) for record in unit]  # the raw page stays
                running[actor.generate.remote(sent)] = (index, actor)

        for actor in self.actors * IN_FLIGHT:
            submit(actor)
        try:
            while running:  # each turn takes one unit back: as many turns as units
                ready, _ = ray.wait(list(running), timeout=0)
                while not ready and self.idle():
                    ready, _ = ray.wait(list(running), timeout=0)
                if not ready:
                    ready, _ = ray.wait(list(running))
                index, actor = running.pop(ready[0])
                outputs = ray.get(ready[0])
                submit(actor)
                yield index, outputs
        except ray.exceptions.RayError as exc:
            raise NewsumError(
                f"Ray could not run the model stages of shard {name}: {_cause(exc)} "
                "(--debug shows where)"
            ) from exc

    def workers(self) -> list[dict[str, Any]]:
        ray = _ray()
        try:
            return ray.get([actor.describe.remote() for actor in self.actors])
        except ray.exceptions.RayError as exc:
            raise NewsumError(f"Ray could not start the model stages: {_cause(exc)}") from exc

    def close(self) -> None:
        ray = _ray()
        for actor in self.actors:
            ray.kill(actor)  # frees their CPUs or GPUs in a Ray that outlives the run
        if self.started:
            ray.shutdown()


def _start(ray, address: str | None) -> None:
    """A Ray on this machine (no address and no RAY_ADDRESS), or the cluster at `address`.

    Ray's notes on its own workings show with --debug only, as other libraries' do; the
    progress shown is newsum's own."""
    debug = logging.getLogger("newsum").isEnabledFor(logging.DEBUG)
    level = logging.INFO if debug else logging.ERROR
    try:
        ray.init(
            address=address or None,
            include_dashboard=False,
            log_to_driver=debug,
            logging_level=level,
        )
    except ConnectionError as exc:
        raise NewsumError(f"cannot reach Ray at {address}: {exc}") from None


def _cause(exc: Exception) -> str:
    last = str(exc).strip().splitlines()[-1]  # Ray's text ends with the worker's error
    return last.removeprefix(f"{NewsumError.__module__}.{NewsumError.__name__}: ")


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

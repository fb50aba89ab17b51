"""The small interface every generation backend implements (torch, ctranslate2, fakes)."""

from __future__ import annotations

import math
import os
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Decoding:
    """Resolved decoding settings for one call (no None: defaults already applied)."""

    num_beams: int = 1
    max_new_tokens: int = 128
    min_new_tokens: int = 0
    length_penalty: float = 1.0
    no_repeat_ngram_size: int = 0
    forced_first_token: int | None = None  # a target-language code of multilingual models


class OutOfMemory(Exception):
    """A backend ran out of accelerator memory on a batch; the engine splits and retries."""


class Backend(ABC):
    """Turns batches of token ids into batches of generated token ids.

    Tokenization stays outside (the engine owns the Hugging Face tokenizer), so the
    batching, chunking and retry logic is the same for every backend.
    """

    #: Input length the model accepts, in tokens (its position limit).
    max_input_tokens: int
    #: Id that pads inputs; generated sequences never contain it.
    pad_token_id: int
    #: Where it generates: "cpu", "cuda" or "mps" (resolved, never "auto").
    device: str

    @abstractmethod
    def generate(self, inputs: list[list[int]], decoding: Decoding) -> list[list[int]]:
        """One generated id sequence per input, in the same order, special tokens included
        or not (the engine decodes with skip_special_tokens). Raises OutOfMemory when the
        batch does not fit."""

    def describe(self) -> dict[str, str]:
        """What --verbose prints about the backend (device, dtype, ...)."""
        return {}


# --- CPU threads ---------------------------------------------------------------------------

CGROUP_ROOT = Path("/sys/fs/cgroup")
SELF_CGROUP = Path("/proc/self/cgroup")
#: Most CTranslate2 replicas chosen on CPU when --replicas is not given: past about four,
#: the engine's batches split into sub-batches too small to use a core well.
MAX_AUTO_REPLICAS = 4


@dataclass(frozen=True)
class Threads:
    """How a backend uses the CPU: `replicas` models in parallel, each on `per_replica`
    threads (0: the library's own default, as on a GPU), out of `cores` available."""

    replicas: int
    per_replica: int
    cores: int

    def describe(self) -> dict[str, str]:
        return {
            "replicas": str(self.replicas),
            "threads_per_replica": str(self.per_replica or "default"),
            "cores_available": str(self.cores),
        }


def plan_threads(
    device: str, threads: int | None, replicas: int | None, cores: int | None = None
) -> Threads:
    """Replicas and threads per replica for `device`.

    On CPU the threads (--threads; else OMP_NUM_THREADS when set; else every core the
    process may use) go to min(threads, 4) replicas, each with an equal share (at least
    one): several small models in parallel keep the cores busier than one model on all
    of them. On a GPU: one replica (or --replicas, one CUDA stream each) and the
    library's default threads, unless --threads is given."""
    cores = cores or available_cores()
    if device != "cpu":
        return Threads(replicas or 1, threads or 0, cores)
    total = threads or _omp_threads() or cores
    replicas = replicas or min(total, MAX_AUTO_REPLICAS)
    return Threads(replicas, max(1, total // replicas), cores)


def _omp_threads() -> int | None:
    value = os.environ.get("OMP_NUM_THREADS", "").split(",")[0].strip()
    return int(value) if value.isdigit() and int(value) > 0 else None


def available_cores(cgroup_root: Path = CGROUP_ROOT, self_cgroup: Path = SELF_CGROUP) -> int:
    """CPU cores this process may use: its affinity mask (taskset, cpuset), capped by a
    cgroup CPU quota (`docker --cpus`, Kubernetes limits) rounded up; at least one."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        cores = os.cpu_count() or 1
    quota = cgroup_cpu_quota(cgroup_root, self_cgroup)
    if quota is not None:
        cores = min(cores, math.ceil(quota))
    return max(1, cores)


def cgroup_cpu_quota(cgroup_root: Path = CGROUP_ROOT, self_cgroup: Path = SELF_CGROUP):
    """The tightest CPU quota, in cores, of the process's cgroup and its ancestors (v2
    `cpu.max`, v1 `cpu.cfs_quota_us` / `cpu.cfs_period_us`); None when unlimited or
    unknown. A cgroup namespace shows the process's own cgroup at the root, so the root
    is always read too."""
    quotas = []
    for directory, version in _cgroup_dirs(cgroup_root, self_cgroup):
        try:
            if version == 2:
                quota, period = (directory / "cpu.max").read_text().split()[:2]
            else:
                quota = (directory / "cpu.cfs_quota_us").read_text().strip()
                period = (directory / "cpu.cfs_period_us").read_text().strip()
            if quota not in ("max", "-1") and int(period) > 0:
                quotas.append(int(quota) / int(period))
        except (OSError, ValueError):
            continue
    return min(quotas) if quotas else None


def _cgroup_dirs(root: Path, self_cgroup: Path) -> list[tuple[Path, int]]:
    """Directories that may hold the process's CPU limits, with their cgroup version."""
    paths: dict[int, str] = {}  # version: the process's cgroup path
    try:
        for line in self_cgroup.read_text().splitlines():
            hierarchy, controllers, path = line.split(":", 2)
            if hierarchy == "0" and not controllers:
                paths[2] = path
            elif "cpu" in controllers.split(","):
                paths[1] = path
    except (OSError, ValueError):
        pass
    bases = [(root, 2), (root / "unified", 2), (root / "cpu", 1), (root / "cpu,cpuacct", 1)]
    out = []
    for base, version in bases:
        own = base / paths.get(version, "/").lstrip("/")
        out += [(d, version) for d in (own, *own.parents) if d.is_relative_to(base)]
    return list(dict.fromkeys(out))

"""manifest.json: what the job is, and which of its shards are complete.

A job is identified by everything that decides its shard files (`job_identity`): the
inputs (by content), the reading, cleaning and model settings, the shard size and the
format. A resumed run must be the same job; the manifest also keeps, for each complete
shard, its record count, size and SHA-256, checked on every resume and at the end.

Besides, for the reader: the options as a config file, the library versions, and how the
models ran (`model_loads` and `workers`, see pipeline.job.executor).
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from contextlib import suppress
from dataclasses import asdict
from importlib import metadata
from pathlib import Path
from typing import Any

from newsum.pipeline import __version__
from newsum.pipeline.core.errors import NewsumError
from newsum.pipeline.core.layout import read_json
from newsum.pipeline.core.readers import Source
from newsum.pipeline.core.record import STATUSES
from newsum.pipeline.core.writers import WARNED

from .jobdir import OutDir, differences, digest, now, short_hash, verify_shard, write_json
from .models import Models
from .options import RunOptions, plain


def job_identity(options: RunOptions, sources: list[Source], models: Models) -> dict[str, Any]:
    """Everything that decides the shard files. A resumed run must have the same: a job
    whose inputs, models or settings changed is refused instead of mixed."""
    clean = {k: plain(v) for k, v in asdict(options.clean).items() if k != "rules_files"}
    # Rules files by content: an edited rules file cleans differently.
    clean["rules_files"] = [_file_identity(Path(path)) for path in options.clean.rules_files]
    generation = dict(models.info.get("generation", {}))
    # Permissions, and how hard to press a server: not what decides the outputs.
    for name in ("allow_pickle", "trust_remote_code", "api_key_env", "max_concurrency",
                 "request_timeout", "retries"):  # fmt: skip
        generation.pop(name, None)
    inputs = {}  # keyed by position and name, so that a changed input is named
    for n, source in enumerate(sources, 1):
        identity = source.identity()
        inputs[f"{n}: {identity.pop('input')}"] = identity
    read = {k: plain(v) for k, v in asdict(options.read).items()}
    # How politely to fetch, and whether private hosts may be: not what is read.
    for name in ("robots", "allow_private_hosts", "fetch_concurrency", "host_delay",
                 "fetch_timeout", "fetch_retries"):  # fmt: skip
        read.pop(name, None)
    return {
        "inputs": inputs,
        "read": read,
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
        previous = _previous(folder) if resume else {}
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
            "fingerprint": short_hash(json.dumps(job, sort_keys=True)),
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


def _previous(folder: OutDir) -> dict[str, Any]:
    """The earlier run's manifest, for --resume; {} when there is none or it is damaged."""
    if not folder.manifest.exists():
        if any(folder.path.glob("shards/part-*")):
            folder.notices.append(f"{folder.manifest.name} is missing: every shard is redone")
        return {}
    data, problem = read_json(folder.manifest)
    if problem is None and not looks_like_manifest(data):
        problem = "not a manifest of this version of newsum"
    if problem is None:
        return data
    aside = folder.manifest.with_name(f"{folder.manifest.name}.damaged")
    os.replace(folder.manifest, aside)
    folder.notices.append(
        f"{folder.manifest.name} was {problem}: kept as {aside.name}; every shard is redone"
    )
    return {}


def looks_like_manifest(data: Any) -> bool:
    return (
        isinstance(data, dict)
        and isinstance(data.get("job"), dict)
        and isinstance(data.get("shards"), dict)
    )


def _libraries() -> dict[str, str]:
    out = {"python": sys.version.split()[0]}
    for name in ("torch", "transformers", "ctranslate2", "datasets", "trafilatura", "ray"):
        with suppress(metadata.PackageNotFoundError):
            out[name] = metadata.version(name)
    return out

"""The output folder of `newsum run`, kept as carefully as a database keeps its data.

    OUTDIR/.newsum              marker: newsum made this folder
    OUTDIR/.newsum.lock         held (flock) by the run using the folder
    OUTDIR/shards/part-N.jsonl  the records, a shard a file
    OUTDIR/parquet/part-N.parquet   the same records with --format parquet
    OUTDIR/manifest.json        the job, and each complete shard's size, count, SHA-256
    OUTDIR/.cache/part-N.jsonl  model outputs of a shard in progress

Rules, each against a way that records were once lost while a run said `complete`:

- Only a folder that carries the marker is resumed, overwritten or merged, and
  --overwrite deletes only the files newsum names (never `-o ~` and its `.cache/`).
- One run at a time: an exclusive lock (flock, released by the kernel when the holder
  dies, so a stale lock is never in the way). The slices of a job array share it and
  each locks its own slice; the lock file names its holder (pid, host, command).
- Every file is written under a temporary name, fsync'ed and renamed, and the folder
  fsync'ed (pipeline.core.writers): after a power loss a file is there whole or not at all.
- Nothing is trusted on resume: each shard is checked against the size, record count and
  checksum the manifest recorded for it, and redone when it does not match.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import re
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from newsum.pipeline import __version__
from newsum.pipeline.core.errors import NewsumError
from newsum.pipeline.core.layout import (
    CACHE_DIR,
    ERRORS,
    FETCH_DIR,
    LOCK,
    MANIFEST,
    MARKER,
    PARQUET_DIR,
    REPORTS,
    SHARD_DIR,
    shard_index,
)
from newsum.pipeline.core.record import Record
from newsum.pipeline.core.writers import cannot_write, dumps, write_bytes_atomic, write_parquet

# Temporary files of an interrupted write: newsum's own names, safe to remove.
_TEMPORARY = re.compile(
    r"\.(?:part-\d{5,}\.(?:jsonl|parquet)|manifest(?:-\d+-of-\d+)?\.json|errors\.jsonl"
    r"|report\.(?:json|md|html)|\.newsum)\.\d+\.[0-9a-f]{8}\.tmp"
)  # pipeline.core.writers names them `.NAME.PID.RANDOM.tmp`


def manifest_file(selected: tuple[int, int] | None) -> str:
    """manifest.json, or manifest-I-of-N.json for one slice of a job array."""
    return f"manifest-{selected[0]:05d}-of-{selected[1]:05d}.json" if selected else MANIFEST


def owns(selected: tuple[int, int] | None, index: int) -> bool:
    """Whether a run of slice `selected` (None: the whole job) writes shard `index`."""
    return selected is None or index % selected[1] == selected[0]


# ---- writing -------------------------------------------------------------------------------


def digest(data: bytes) -> dict[str, Any]:
    return {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def short_hash(text: str) -> str:
    """16 hex digits of SHA-256: what names a job, a model setup or a cached record."""
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def file_digest(path: Path) -> dict[str, Any] | None:
    """Size and SHA-256 of a file, None when it cannot be read."""
    sha = hashlib.sha256()
    size = 0
    try:
        with open(path, "rb") as f:
            while block := f.read(1 << 20):
                sha.update(block)
                size += len(block)
    except OSError:
        return None
    return {"bytes": size, "sha256": sha.hexdigest()}


def atomic_write(path: Path, data: bytes) -> dict[str, Any]:
    """Write `data` whole or not at all (see pipeline.core.writers); its size and checksum."""
    write_bytes_atomic(path, data)
    return digest(data)


def write_json(path: Path, data: Any) -> None:
    atomic_write(path, (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode())


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


# ---- the folder ----------------------------------------------------------------------------


_FETCHED = re.compile(r"[0-9a-f]{64}")


class OutDir:
    """OUTDIR: its state, its marker, its lock, and newsum's own files in it."""

    def __init__(self, path: Path, selected: tuple[int, int] | None = None) -> None:
        self.path = path
        self.selected = selected
        self.created: list[Path] = []  # what this run made, undone if its start fails
        self.notices: list[str] = []

    def __truediv__(self, name: str) -> Path:
        return self.path / name

    @property
    def manifest(self) -> Path:
        return self.path / manifest_file(self.selected)

    def shard(self, name: str) -> Path:
        return self.path / SHARD_DIR / f"{name}.jsonl"

    def parquet(self, name: str) -> Path:
        return self.path / PARQUET_DIR / f"{name}.parquet"

    def cache(self, name: str) -> Path:
        return self.path / CACHE_DIR / f"{name}.jsonl"

    def is_newsum(self) -> bool:
        return (self.path / MARKER).is_file()

    def check(self, resume: bool, overwrite: bool) -> None:
        """Refuse, before anything is read or loaded, a folder this run may not use."""
        path = self.path
        if path.exists() and not path.is_dir():
            raise NewsumError(f"{path} exists and is not a folder")
        if not path.exists() or not any(path.iterdir()):
            return
        if not self.is_newsum():
            raise NewsumError(
                f"{path} is not empty and was not written by `newsum run` (it has no "
                f"{MARKER} marker). newsum never resumes, overwrites or deletes a folder it "
                "did not write: give -o a new or empty folder."
            )
        if not (resume or overwrite):
            raise NewsumError(
                f"{path} is not empty. Pass --resume to finish the run that wrote it, or "
                "--overwrite to start again from nothing."
            )

    @contextmanager
    def open(self) -> Iterator[OutDir]:
        """Create the folder and its marker, then hold its lock while the run lasts.

        If the run fails before it has written anything but its manifest, in a folder it
        found new or empty, what it created is removed again: the corrected command then
        finds the folder as it was, not a half-started run it must --resume."""
        try:
            self._create()
            with self._locked():
                yield self
        except NewsumError:
            self._undo()
            raise

    def _create(self) -> None:
        missing = [p for p in (self.path, *self.path.parents) if not p.exists()]
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            self.created.extend(reversed(missing))
            if not self.is_newsum():
                marker = {"newsum": __version__, "created": now(), "about": _ABOUT}
                write_json(self.path / MARKER, marker)
                self.created.append(self.path / MARKER)
            for path in (self.path / SHARD_DIR, self.path / CACHE_DIR, *self._lock_files()):
                if not path.exists():
                    self.created.append(path)
                    if path.name in (SHARD_DIR, CACHE_DIR):
                        path.mkdir()
        except OSError as exc:
            raise cannot_write(self.path, exc) from None

    def _undo(self) -> None:
        # Only a whole run's own new folder: an earlier run's is not this run's to tidy,
        # and the slices of a job array start side by side in a folder they all share.
        if self.selected is not None or self.path / MARKER not in self.created:
            return
        outputs = [
            p for name in (SHARD_DIR, CACHE_DIR, PARQUET_DIR) for p in (self / name).glob("*")
        ]
        if outputs:
            return  # generated work is kept for --resume
        with suppress(OSError):
            self.manifest.unlink(missing_ok=True)
            for path in reversed(self.created):
                if path.is_dir():
                    path.rmdir()
                else:
                    path.unlink(missing_ok=True)
        self.created.clear()

    def _lock_files(self) -> list[Path]:
        if self.selected is None:
            return [self.path / LOCK]
        index, count = self.selected
        return [self.path / LOCK, self.path / f".newsum-{index:05d}-of-{count:05d}.lock"]

    @contextmanager
    def _locked(self) -> Iterator[None]:
        # The whole job locks the folder alone; a slice shares it with the other slices
        # (not with a whole run, a merge or an --overwrite) and locks its own slice.
        folder, *slice_ = self._lock_files()
        locks = [Lock(folder, shared=bool(slice_)), *(Lock(path) for path in slice_)]
        held: list[Lock] = []
        try:
            for lock in locks:
                notice = lock.acquire(self.path)
                held.append(lock)
                if notice:
                    self.notices.append(notice)
            yield
        finally:
            for lock in reversed(held):
                lock.release()

    def tidy(self) -> None:
        """Remove the temporary files of an interrupted write (newsum's names only)."""
        for folder in (self.path, self.path / SHARD_DIR, self.path / PARQUET_DIR):
            if folder.is_dir():
                for child in folder.iterdir():
                    if _TEMPORARY.fullmatch(child.name) and child.is_file():
                        with suppress(OSError):
                            child.unlink()

    def clear(self) -> None:
        """--overwrite: delete newsum's files (the slice's only, for a slice), nothing else."""
        doomed = [
            path for index, path in self._shard_files(CACHE_DIR) if owns(self.selected, index)
        ]
        doomed.append(self.manifest)
        if self.selected is None:
            doomed += [*self.path.glob("manifest-*-of-*.json"), self.path / ERRORS]
            doomed += [self.path / name for name in REPORTS]
            # Fetched pages (pipeline.core.fetch names them by the URL's SHA-256): a new
            # run reads feeds afresh.
            doomed += [
                p for p in (self.path / FETCH_DIR).glob("??/*") if _FETCHED.fullmatch(p.name)
            ]
        try:
            for path in doomed:
                path.unlink(missing_ok=True)
            for folder in (self.path / FETCH_DIR).glob("??"):
                with suppress(OSError):
                    folder.rmdir()  # only when emptied
        except OSError as exc:
            raise cannot_write(path, exc) from None
        self.tidy()

    def prune(self, total: int) -> None:
        """After a whole run: remove shard files past the last shard (an earlier, longer
        input's), which would otherwise be read as part of this run."""
        for index, path in self._shard_files():
            if index >= total:
                path.unlink()
                self.notices.append(f"removed {path.parent.name}/{path.name}, past the last shard")

    def _shard_files(self, *more: str) -> Iterator[tuple[int, Path]]:
        """(index, path) of the shard files in shards/, parquet/ and the folders `more`."""
        suffixes = {SHARD_DIR: ".jsonl", PARQUET_DIR: ".parquet", CACHE_DIR: ".jsonl"}
        for folder in (SHARD_DIR, PARQUET_DIR, *more):
            suffix = suffixes[folder]
            for path in (self.path / folder).glob(f"part-*{suffix}"):
                index = shard_index(path.name.removesuffix(suffix))
                if index is not None:
                    yield index, path


_ABOUT = (
    "This folder was written by `newsum run`. newsum resumes, overwrites or merges only "
    "folders that carry this file, and deletes only the files it writes."
)


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


# ---- the lock ------------------------------------------------------------------------------


class Lock:
    """An flock on a file that names its holder. The kernel drops the lock when the holder
    dies (kill -9, power loss), so a lock left behind never blocks a later run."""

    def __init__(self, path: Path, shared: bool = False) -> None:
        self.path = path
        self.shared = shared
        self.fd: int | None = None

    def acquire(self, outdir: Path) -> str | None:
        """Take the lock, or raise NewsumError naming who holds it. Returns a notice
        when it took over from a run that is gone."""
        try:
            self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise cannot_write(self.path, exc) from None
        try:
            fcntl.flock(self.fd, (fcntl.LOCK_SH if self.shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = self._holder()
            self._close()
            who = (
                f"pid {holder['pid']} on {holder['host']} since {holder['since']}: "
                f"{holder['command']}"
                if holder
                else "the slices of a job array (--shard I/N)"
            )
            raise NewsumError(
                f"{outdir} is in use by another newsum run ({who}). Two runs in one folder "
                "would mix their outputs: wait for it to end, or stop it, then rerun."
            ) from None
        except OSError as exc:
            if exc.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS):
                raise
            return (
                f"the file system of {outdir} does not support locks: make sure no other "
                "run uses this folder at the same time"
            )
        previous = self._holder()
        # A shared holder writes nothing (there are several); an exclusive one signs.
        os.ftruncate(self.fd, 0)
        if not self.shared:
            me = {"pid": os.getpid(), "host": socket.gethostname(), "since": now(),
                  "command": " ".join(["newsum", *sys.argv[1:]])}  # fmt: skip
            os.pwrite(self.fd, json.dumps(me).encode(), 0)
        if previous and previous.get("pid") != os.getpid():
            return (
                f"took over the lock left by pid {previous['pid']} on {previous['host']} "
                f"(since {previous['since']}), a run that is no longer running"
            )
        return None

    def _holder(self) -> dict[str, Any] | None:
        try:
            data = json.loads(os.pread(self.fd, 4096, 0) or b"null")
        except (OSError, ValueError):
            return None
        keys = ("pid", "host", "since", "command")
        return data if isinstance(data, dict) and all(k in data for k in keys) else None

    def release(self) -> None:
        if self.fd is None:
            return
        with suppress(OSError):
            if not self.shared:
                os.ftruncate(self.fd, 0)  # a run that ended cleanly leaves no name behind
        self._close()

    def _close(self) -> None:
        os.close(self.fd)  # closing drops the flock, if this process held it
        self.fd = None


# ---- checking shards -----------------------------------------------------------------------


def verify_shard(folder: OutDir, name: str, entry: Any, fmt: str) -> str | None:
    """Why the files of a complete shard do not match the manifest, or None when they do."""
    if not isinstance(entry, dict) or "sha256" not in entry:
        return "no checksum in the manifest"
    if not isinstance(entry.get("records"), int) or not isinstance(entry.get("counts"), dict):
        return "no record count in the manifest"
    files = [("", folder.shard(name), entry)]
    if fmt == "parquet":
        files.append(("Parquet ", folder.parquet(name), entry.get("parquet")))
    for kind, path, expected in files:
        if not isinstance(expected, dict):
            return f"no {kind}checksum in the manifest"
        found = file_digest(path)
        if found is None:
            return f"{kind}file {path.name} is missing"
        if found["bytes"] != expected.get("bytes"):
            size = f"{found['bytes']:,} bytes where the manifest says {expected.get('bytes'):,}"
            return f"{kind}file {path.name} is truncated or altered ({size})"
        if found["sha256"] != expected.get("sha256"):
            return f"{kind}file {path.name} does not match its checksum"
    return None


def differences(old: Any, new: Any, prefix: str = "") -> list[str]:
    """What changed between two JSON values, one `key: old → new` line each."""
    if isinstance(old, dict) and isinstance(new, dict):
        if "id" in old and "id" in new and old["id"] != new["id"]:
            return differences(old["id"], new["id"], f"{prefix}.id")  # another model: say only that
        out = []
        for key in sorted(set(old) | set(new), key=str):
            out += differences(old.get(key), new.get(key), f"{prefix}.{key}" if prefix else key)
        return out
    if old == new:
        return []
    key = prefix or "value"
    if old is None or new is None:
        return [f"{key}: {'added' if old is None else 'removed'}"]
    return [f"{key}: {_short(old)} → {_short(new)}"]


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 120 else text[:117] + "..."

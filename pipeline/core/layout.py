"""The names of a job folder's files, shared by the job that writes them and the
evaluation that reads them (see pipeline.job.jobdir for how they are kept)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

MARKER = ".newsum"
LOCK = ".newsum.lock"
SHARD_DIR = "shards"
PARQUET_DIR = "parquet"
CACHE_DIR = ".cache"
FETCH_DIR = "fetch"  # web inputs' responses (pipeline.core.fetch), for --resume
MANIFEST = "manifest.json"
ERRORS = "errors.jsonl"
REPORTS = ("report.json", "report.md", "report.html")

_SHARD = re.compile(r"part-(\d{5,})")


def shard_name(index: int) -> str:
    return f"part-{index:05d}"


def shard_index(name: str) -> int | None:
    match = _SHARD.fullmatch(name)
    return int(match.group(1)) if match else None


def read_json(path: Path) -> tuple[Any, str | None]:
    """(data, None), or (None, why) for a file that is missing or damaged."""
    try:
        return json.loads(path.read_bytes().decode("utf-8")), None
    except FileNotFoundError:
        return None, "missing"
    except OSError as exc:
        return None, f"unreadable ({exc.strerror})"
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return None, f"damaged ({type(exc).__name__}: {exc})"

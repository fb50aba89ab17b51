"""The batch job's options, and their TOML form (`newsum run --config`, --print-config).

One schema for flags and config file: each options object checks its own values
(pipeline.core.schema), and a bad key or value is refused with its name.
"""

from __future__ import annotations

import sys
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from newsum.models.options import GenerationOptions
from newsum.pipeline.clean import CleanOptions
from newsum.pipeline.core.errors import NewsumError
from newsum.pipeline.core.readers import ReadOptions
from newsum.pipeline.core.schema import check

FORMATS = ("jsonl", "parquet")
EXECUTORS = ("local", "ray")


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
    format: str = field(default="jsonl", metadata={"choices": FORMATS})
    shard_size: int = field(default=1000, metadata={"min": 1})
    shard: str | None = None  # "I/N": only the I-th of N slices (0-based)
    executor: str = field(default="local", metadata={"choices": EXECUTORS})
    reuse_duplicates: bool = True
    ray_address: str | None = None
    read: ReadOptions = field(default_factory=ReadOptions)
    clean: CleanOptions = field(default_factory=CleanOptions)
    generation: GenerationOptions | None = None  # None: the preset's settings

    def __post_init__(self) -> None:
        check(self)
        unknown = set(self.fields) - {"summary", "text"}
        if not self.fields or unknown:
            raise NewsumError(f"fields takes summary and/or text, not {', '.join(self.fields)!r}")
        self.shard_slice()

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
            if value is None:  # unset: the default (for generation, the preset's settings)
                continue
            if f.name in ("read", "clean", "generation"):
                out[f.name] = {k: plain(v) for k, v in asdict(value).items() if v is not None}
            else:
                out[f.name] = plain(value)
        return out


def plain(value: Any) -> Any:
    """A value as TOML and JSON write it (tuples as lists, paths as text)."""
    if isinstance(value, tuple):
        return [plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


def build_options(config: Path | None, given: dict[str, Any]):
    """Defaults, then the config file, then the flags given on the command line."""
    data: dict[str, Any] = {}
    if config is not None:
        data = _read_toml(config)
    sections = {"read": ReadOptions, "clean": CleanOptions, "generation": GenerationOptions}
    valid = {f.name for f in fields(RunOptions)} - set(sections)
    for name in sections:
        if not isinstance(data.get(name, {}), dict):
            raise NewsumError(f"bad configuration in {config}: [{name}] must be a table")
    merged: dict[str, dict[str, Any]] = {name: dict(data.pop(name, {})) for name in sections}
    top = dict(data)
    unknown = set(top) - valid
    for name, cls in sections.items():
        unknown |= {f"{name}.{k}" for k in merged[name] if k not in {f.name for f in fields(cls)}}
    if unknown:
        raise NewsumError(f"unknown keys in {config}: {', '.join(sorted(unknown))}")
    for key, value in given.items():
        owner = next(
            (n for n, cls in sections.items() if key in {f.name for f in fields(cls)}), None
        )
        if owner:
            merged[owner][key] = value
        else:
            top[key] = value
    if isinstance(merged["generation"].get("languages"), str):
        merged["generation"]["languages"] = merged["generation"]["languages"].split(",")
    for key in ("inputs", "fields"):
        if isinstance(top.get(key), str):
            top[key] = [x.strip() for x in top[key].split(",") if x.strip()]
    built = {name: _build(cls, merged[name], name, config) for name, cls in sections.items()}
    return _build(RunOptions, {**top, **built}, None, config)


def _build(cls, values: dict[str, Any], section: str | None, config: Path | None):
    """One options object; a bad value is refused with its key (one schema for the
    config file and the flags: the options' own checks)."""
    try:
        return cls(**values)
    except (TypeError, NewsumError) as exc:
        where = f" in {config}" if config else ""
        key = f"[{section}] " if section else ""
        raise NewsumError(f"bad configuration{where}: {key}{exc}") from None


def _read_toml(path: Path) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise NewsumError(f"cannot read {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise NewsumError(f"{path} is not valid TOML: {exc}") from None


def to_toml(config: dict[str, Any]) -> str:
    import tomli_w

    return tomli_w.dumps(config)

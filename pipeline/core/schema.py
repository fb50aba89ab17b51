"""One validation schema for options, whether they come from flags or a config file.

typer checks the command-line flags, but a TOML config file (`newsum run --config`)
and library callers build the option dataclasses directly, so a wrong value there
(`shard_size = "many"`, `max_chars = -5`) used to reach the job and fail deep inside
it, or not at all. The dataclass itself is the schema: each field's type annotation
says what it holds, and its `metadata` adds bounds:

    max_chars: int = field(default=500_000, metadata={"min": 1})
    backend: str = field(default="torch", metadata={"choices": ("torch", "ct2")})

`check(self)` in `__post_init__` then refuses a bad value with a NewsumError that
names the field, whichever way it came in.
"""

from __future__ import annotations

import types
import typing
from dataclasses import fields
from pathlib import Path
from typing import Any

from .errors import NewsumError


def check(obj: Any) -> None:
    """Validate every field of dataclass instance `obj` against its annotation and
    metadata; coerce the harmless cases in place (int to float, list to tuple)."""
    hints = typing.get_type_hints(type(obj))
    for f in fields(obj):
        value = getattr(obj, f.name)
        coerced = _check(f.name, value, hints[f.name], f.metadata)
        if coerced is not value:
            # Frozen dataclasses too: this runs in __post_init__, before anyone sees obj.
            object.__setattr__(obj, f.name, coerced)


def _check(key: str, value: Any, hint: Any, meta: typing.Mapping[str, Any]) -> Any:
    if hint is Any:
        return value
    args = typing.get_args(hint)
    if _is_union(hint):
        if value is None and type(None) in args:
            return None
        (hint,) = [a for a in args if a is not type(None)]  # only `X | None` is used
        return _check(key, value, hint, meta)
    if typing.get_origin(hint) is tuple:
        item = args[0]  # only `tuple[X, ...]` is used
        if not isinstance(value, (tuple, list)):  # TOML arrays are lists
            _fail(key, value, f"a list of {_NAMES.get(item, item.__name__)}s")
        return tuple(_check(f"{key}[{n}]", v, item, {}) for n, v in enumerate(value))
    # TOML has no path type, and a whole number is a fine float.
    if hint is Path and isinstance(value, str):
        value = Path(value)
    if hint is float and _is(value, int):
        value = float(value)
    if not _is(value, hint):
        _fail(key, value, _describe(hint, meta))
    if "choices" in meta and value not in meta["choices"]:
        choices = ", ".join(map(str, meta["choices"]))
        raise NewsumError(f"{key} must be one of {choices}, not {value!r}")
    # Written as `not >=` so that NaN, which compares false with everything, fails too.
    if ("min" in meta and not value >= meta["min"]) or ("max" in meta and not value <= meta["max"]):
        _fail(key, value, _describe(hint, meta))
    return value


def _is_union(hint: Any) -> bool:
    return typing.get_origin(hint) in (typing.Union, getattr(types, "UnionType", None))


def _is(value: Any, hint: type) -> bool:
    # bool is a subclass of int, but `max_chars = true` is a mistake, not 1.
    if hint in (int, float) and isinstance(value, bool):
        return False
    if hint is bool:
        return isinstance(value, bool)
    return isinstance(value, hint)


_NAMES = {int: "integer", float: "number", bool: "boolean", str: "string", Path: "path"}


def _describe(hint: type, meta: typing.Mapping[str, Any]) -> str:
    name = _NAMES.get(hint, hint.__name__)
    what = f"an {name}" if name[0] in "aeiou" else f"a {name}"
    if "min" in meta and "max" in meta:
        return f"{what} between {meta['min']} and {meta['max']}"
    if "min" in meta:
        return f"{what} >= {meta['min']}"
    if "max" in meta:
        return f"{what} <= {meta['max']}"
    return what


def _fail(key: str, value: Any, expected: str) -> typing.NoReturn:
    raise NewsumError(f"{key} must be {expected}, not {value!r}")

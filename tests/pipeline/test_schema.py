"""One schema for options: bad values are refused with the key named, however they come."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from newsum.models.options import GenerationOptions
from newsum.pipeline.clean import CleanOptions
from newsum.pipeline.core.errors import NewsumError
from newsum.pipeline.core.schema import check

BAD = [
    # (options class, key, bad value, words the message must hold)
    (CleanOptions, "max_chars", -5, "max_chars must be an integer >= 1, not -5"),
    (CleanOptions, "max_chars", 0, "max_chars must be an integer >= 1, not 0"),
    (CleanOptions, "max_chars", "many", "max_chars must be an integer >= 1, not 'many'"),
    (CleanOptions, "max_chars", True, "max_chars must be an integer >= 1, not True"),
    (CleanOptions, "max_chars", 1.5, "max_chars must be an integer"),
    (CleanOptions, "dedup_threshold", 1.5, "dedup_threshold must be a number between 0 and 1"),
    (CleanOptions, "dedup_threshold", -0.1, "dedup_threshold must be a number between 0 and 1"),
    (CleanOptions, "dedup_threshold", float("nan"), "dedup_threshold must be a number"),
    (CleanOptions, "dedup_threshold", "0.8", "dedup_threshold must be a number"),
    (CleanOptions, "dedup_threshold", False, "dedup_threshold must be a number"),
    (CleanOptions, "dedup", 1, "dedup must be a boolean, not 1"),
    (CleanOptions, "dedup", "yes", "dedup must be a boolean"),
    (CleanOptions, "keep_boilerplate", None, "keep_boilerplate must be a boolean, not None"),
    (CleanOptions, "rules_files", "a.toml", "rules_files must be a list of paths"),
    (CleanOptions, "rules_files", [3], "rules_files[0] must be a path, not 3"),
    (GenerationOptions, "backend", "tensorflow", "backend must be one of torch, ct2"),
    (GenerationOptions, "device", "tpu", "device must be one of auto, cpu, cuda, mps"),
    (GenerationOptions, "dtype", "int4", "dtype must be one of auto, float32"),
    (GenerationOptions, "backend", None, "backend must be a string, not None"),
    (GenerationOptions, "batch_tokens", 0, "batch_tokens must be an integer >= 1, not 0"),
    (GenerationOptions, "max_batch_size", -1, "max_batch_size must be an integer >= 1"),
    (GenerationOptions, "max_batch_size", None, "max_batch_size must be an integer"),
    (GenerationOptions, "num_beams", "four", "num_beams must be an integer >= 1, not 'four'"),
    (GenerationOptions, "num_beams", True, "num_beams must be an integer >= 1, not True"),
    (GenerationOptions, "max_new_tokens", 0, "max_new_tokens must be an integer >= 1"),
    (GenerationOptions, "min_new_tokens", -1, "min_new_tokens must be an integer >= 0"),
    (GenerationOptions, "max_input_tokens", 4, "max_input_tokens must be an integer >= 16"),
    (GenerationOptions, "length_penalty", "long", "length_penalty must be a number"),
    (GenerationOptions, "no_repeat_ngram_size", -2, "no_repeat_ngram_size must be an integer"),
    (GenerationOptions, "revision", 3, "revision must be a string, not 3"),
    (GenerationOptions, "allow_pickle", "true", "allow_pickle must be a boolean"),
    (GenerationOptions, "trust_remote_code", 1, "trust_remote_code must be a boolean"),
    (GenerationOptions, "languages", "fr", "languages must be a list of strings, not 'fr'"),
    (GenerationOptions, "languages", ["fr", 2], "languages[1] must be a string, not 2"),
]


@pytest.mark.parametrize(("cls", "key", "value", "message"), BAD)
def test_bad_values_are_refused_naming_the_key(cls, key, value, message):
    with pytest.raises(NewsumError) as caught:
        cls(**{key: value})
    assert message in str(caught.value)
    assert str(caught.value).startswith(key)


def test_good_values_are_kept_and_coerced():
    clean = CleanOptions(max_chars=10, dedup_threshold=1, rules_files=["a.toml", Path("b")])
    # TOML gives whole numbers for floats, lists for arrays and strings for paths.
    assert clean.dedup_threshold == 1.0 and isinstance(clean.dedup_threshold, float)
    assert clean.rules_files == (Path("a.toml"), Path("b"))
    assert CleanOptions(dedup_threshold=0).dedup_threshold == 0.0
    generation = GenerationOptions(
        backend="ct2",
        num_beams=4,
        min_new_tokens=0,
        max_input_tokens=16,
        length_penalty=-1,
        languages=["fr", "en"],
    )
    assert generation.backend == "ct2" and generation.num_beams == 4
    assert generation.length_penalty == -1.0 and isinstance(generation.length_penalty, float)
    assert generation.languages == ("fr", "en")
    assert GenerationOptions().max_new_tokens is None  # None: from the model's settings
    assert CleanOptions() == CleanOptions(max_chars=500_000, dedup_threshold=0.8)


@dataclass(frozen=True)
class Nested:
    """The other annotation forms: another dataclass, Any, optional tuples, paths."""

    clean: CleanOptions = field(default_factory=CleanOptions)
    anything: Any = None
    fields: tuple[str, ...] | None = None
    path: Path | None = None
    ratio: float = field(default=0.5, metadata={"max": 1})

    def __post_init__(self) -> None:
        check(self)


def test_other_annotation_forms():
    assert Nested(anything=object(), fields=["summary"]).fields == ("summary",)
    assert Nested(path="out").path == Path("out")
    assert Nested(ratio=1).ratio == 1.0
    with pytest.raises(NewsumError, match="clean must be a CleanOptions"):
        Nested(clean={"max_chars": 3})
    with pytest.raises(NewsumError, match=r"ratio must be a number <= 1, not 2"):
        Nested(ratio=2)
    with pytest.raises(NewsumError, match="fields must be a list of strings"):
        Nested(fields="summary")


def test_a_config_file_is_checked_like_the_flags(tmp_path):
    from typer.testing import CliRunner

    from newsum.pipeline.cli import app

    (tmp_path / "a.jsonl").write_text('{"id": "a", "text": "Une phrase."}\n', encoding="utf-8")
    config = tmp_path / "run.toml"
    config.write_text(
        f'inputs = ["{tmp_path / "a.jsonl"}"]\nsummarizer = "lead-3"\ntranslator = ""\n'
        "[clean]\nmax_chars = -5\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, ["run", "--config", str(config), "-o", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "max_chars must be an integer >= 1, not -5" in result.output

"""A model that ships its own code is refused unless --trust-remote-code."""

from __future__ import annotations

import json
import shutil

import pytest
from typer.testing import CliRunner

from newsum.pipeline.cli import app

REFUSAL = "ships its own code"


def summarize(tmp_path, model: str, *flags: str):
    source = tmp_path / "a.jsonl"
    source.write_text('{"id": "a", "text": "Le maire a inauguré la ligne."}\n', encoding="utf-8")
    args = ["summarize", str(source), "-o", str(tmp_path / "s.jsonl"), "-m", model]
    return CliRunner().invoke(app, [*args, "--max-new-tokens", "5", "-q", *flags])


def with_auto_map(tiny_models, tmp_path, model: str, config: str) -> str:
    folder = tmp_path / "custom"
    shutil.copytree(tiny_models[model], folder)
    path = folder / config
    data = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    data["auto_map"] = {"AutoModelForSeq2SeqLM": "modeling_custom.Model"}
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(folder)


@pytest.mark.parametrize(
    ("model", "backend", "config"),
    [
        ("marian", "torch", "config.json"),
        ("t5", "torch", "tokenizer_config.json"),
        ("marian-ct2", "ct2", "config.json"),
    ],
)
def test_custom_code_is_refused_without_trust_remote_code(
    tiny_models, tmp_path, model, backend, config
):
    folder = with_auto_map(tiny_models, tmp_path, model, config)
    result = summarize(tmp_path, folder, "--backend", backend)
    assert result.exit_code == 2
    assert REFUSAL in result.output and "--trust-remote-code" in result.output
    assert config in result.output
    assert not (tmp_path / "s.jsonl").exists()


def test_trust_remote_code_passes_the_check(tiny_models, tmp_path):
    folder = with_auto_map(tiny_models, tmp_path, "marian", "config.json")
    result = summarize(tmp_path, folder, "--trust-remote-code")
    # The folder has no modeling_custom.py, so loading may still fail: past the check.
    assert REFUSAL not in result.output


def test_a_plain_model_is_not_refused(tiny_models, tmp_path):
    result = summarize(tmp_path, tiny_models["marian"])
    assert result.exit_code == 0, result.output

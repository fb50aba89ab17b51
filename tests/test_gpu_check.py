"""benchmarks/gpu_check.py: what runs without a GPU (the skip, the JSON, the sizes, each
step at tiny scale on CPU)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))
import gpu_check


def test_without_cuda_it_skips_in_one_line_and_exits_0(capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a CUDA device is here: the check runs instead")
    result = gpu_check.main([])
    out, err = capsys.readouterr()
    assert set(result) == {"skipped"} and "no CUDA" in result["skipped"]
    assert json.loads(out) == result
    assert err.strip().count("\n") == 0 and err.startswith("gpu_check: skipped")


@pytest.mark.parametrize(("name", "millions"), [("opus-mt-fr-en", 75), ("mT5-base", 580)])
def test_the_random_models_have_the_real_models_size(name, millions):
    import torch
    import transformers

    from newsum.models.tiny import _BASE_DIMS, _config_class

    arch, dims = gpu_check.SIZES[name]
    model_class = {"marian": transformers.MarianMTModel,
                   "t5": transformers.T5ForConditionalGeneration}[arch]  # fmt: skip
    config = _config_class(arch)(**{**_BASE_DIMS[arch], **dims})  # as build_tiny makes it
    with torch.device("meta"):
        model = model_class(config)
    parameters = sum(p.numel() for p in model.parameters()) / 1e6
    if arch == "t5" and model.lm_head.weight is model.shared.weight:
        # mT5's output layer is a matrix of its own, which transformers 5 ties to the
        # embedding whatever the config says: the same shapes, the same work a token.
        parameters += model.lm_head.weight.numel() / 1e6
    assert abs(parameters - millions) / millions < 0.05, parameters


def test_steps_record_errors_and_skip_past_the_budget():
    steps = gpu_check.Steps(budget_s=60)
    assert steps.run("fine", lambda: {"x": 1})["x"] == 1
    steps.run("broken", lambda: 1 / 0)
    assert steps.call(lambda: {"x": 2}, needs_s=120) == {"skipped": "out of the time budget"}
    result = steps.done()
    assert result["broken"]["error"].startswith("ZeroDivisionError")
    assert result["skipped"] is None and result["seconds"] >= 0


@pytest.mark.slow
def test_every_step_runs_at_tiny_scale_on_cpu(tmp_path, capsys):
    out = tmp_path / "check.json"
    argv = ["--tiny", "--device", "cpu", "--articles", "24", "--out", str(out)]
    result = gpu_check.main(argv)
    assert json.loads(out.read_text()) == result == json.loads(capsys.readouterr().out)
    assert result["skipped"] is None and result["dtype"]["ok"]
    runs = result["throughput"]
    assert [(r["model"], r["backend"]) for r in runs] == [
        (model, backend) for model in gpu_check.SIZES for backend in ("torch", "ct2", "ct2")
    ]
    assert all(r["tokens_per_s"] > 0 and r["errors"] == 0 for r in runs), runs
    assert all(r["input_tokens"] <= 512 for r in runs)
    oom = result["oom"]
    assert oom["ok"] and oom["simulated"] and oom["generated"] == oom["inputs"]
    llm = result["llm"]
    # Random weights: an answer may clean down to nothing (a stray <think>), an error.
    assert llm["padded"]["tokens_per_s"] > 0 and llm["padded"]["errors"] < llm["inputs"], llm
    assert "continuous" in llm  # measured, or skipped with the reason
    job = result["job"]
    assert job["identical_shards"]
    for arm in ("overlapped", "sequential"):
        assert 0 < job[arm]["busy"] <= 1 and job[arm]["most_batches_at_once"] == 1
        assert job[arm]["ok"] > 0

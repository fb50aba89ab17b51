"""The README's Python API example runs as written, and the API is the CLI's library."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def readme_example() -> str:
    section = (ROOT / "README.md").read_text(encoding="utf-8").split("## Python API", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


@pytest.mark.slow
def test_readme_example_runs_and_matches_the_cli(tmp_path):
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    proc = subprocess.run(
        [sys.executable, "-c", readme_example()],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    articles = [line for line in lines if " ok " in line and "->" in line]
    assert len(articles) == 5  # every bundled article summarized
    assert any(line.startswith("complete ") for line in lines)
    assert re.search(r"^5 pairs, ROUGE-L \d+\.\d+$", lines[-1], re.M)
    # The job wrote what `newsum run` writes, and its summaries are the stage's.
    shards = (tmp_path / "out/api/shards/part-00000.jsonl").read_text(encoding="utf-8")
    summaries = {r["id"]: r["summary"] for r in map(json.loads, shards.splitlines())}
    assert len(summaries) == 5 and all(summaries.values())
    for line in articles:
        record_id = line.split(" ", 1)[0]
        assert line.split("-> ", 1)[1] == summaries[record_id][:60]


def test_no_bare_top_level_packages_installed(tmp_path):
    """`pipeline`, `models` and `eval` install only as newsum.*; from elsewhere than the
    checkout (where the folders themselves are on the path) the bare names are absent."""
    code = (
        "import importlib.util as u, newsum.pipeline, newsum.models, newsum.eval;"
        "print([n for n in ('pipeline', 'models', 'eval') if u.find_spec(n)])"
    )
    proc = subprocess.run(
        [sys.executable, "-I", "-c", code], cwd=tmp_path, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


@pytest.mark.slow
def test_a_user_project_with_its_own_models_and_pipeline_does_not_shadow_newsum(tmp_path):
    (tmp_path / "models.py").write_text("raise ImportError('the user project models.py')\n")
    (tmp_path / "pipeline").mkdir()
    (tmp_path / "pipeline" / "__init__.py").write_text("raise ImportError('user pipeline')\n")
    (tmp_path / "eval.py").write_text("raise ImportError('the user project eval.py')\n")
    code = "import newsum.pipeline.api, newsum.pipeline.cli; print('ok')"
    proc = subprocess.run(  # the script's folder (here the project) comes first on sys.path
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"

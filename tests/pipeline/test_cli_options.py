"""The commands' options: declared once, defaults from the options dataclasses, every
option of `clean`, `summarize` and `translate` accepted by `run`."""

from __future__ import annotations

import json
import re
from dataclasses import fields
from pathlib import Path

import pytest
import typer.main
from typer.testing import CliRunner

from newsum.models.options import GenerationOptions
from newsum.pipeline.clean import CleanOptions
from newsum.pipeline.cli import app
from newsum.pipeline.cli.options import CLEANING, GENERATION, READING, RUNNING
from newsum.pipeline.core.readers import ReadOptions
from newsum.pipeline.job.options import RunOptions, to_toml
from tests.fixtures.jobs import articles, shard_lines, write_jsonl
from tests.fixtures.texts import BODY2

COMMANDS = typer.main.get_command(app).commands
GROUPS = (READING, CLEANING, GENERATION, RUNNING)

# Options of clean, summarize or translate that `run` does not take, and why.
NOT_FOR_RUN = {
    # run loads two models, named by --summarizer and --translator (or by the preset)
    "--model",
    "-m",
}


def options(command: str) -> dict[str, object]:
    """A command's options (click parameters) by every name they answer to."""
    params = [p for p in COMMANDS[command].params if p.param_type_name == "option"]
    return {name: p for p in params for name in (*p.opts, *p.secondary_opts)}


def invoke(*args: str | Path):
    return CliRunner().invoke(app, [str(a) for a in args])


def test_every_run_option_has_help():
    for name, param in options("run").items():
        assert param.help and param.help.strip(), f"{name} has no help"


@pytest.mark.parametrize("command", ["clean", "summarize", "translate"])
def test_run_accepts_every_option_of_the_stage_commands(command):
    missing = set(options(command)) - set(options("run")) - NOT_FOR_RUN
    assert not missing, f"run lacks {', '.join(sorted(missing))} of {command}"


@pytest.mark.parametrize("command", ["clean", "summarize", "translate"])
def test_a_shared_option_is_the_same_option_in_run(command):
    run = options("run")
    for name, param in options(command).items():
        if name in NOT_FOR_RUN or name in ("--output", "-o"):  # a file there, a folder in run
            continue
        assert (run[name].opts, run[name].secondary_opts) == (param.opts, param.secondary_opts)
        assert (run[name].help, run[name].default) == (param.help, param.default), name


def test_group_defaults_are_the_dataclass_defaults():
    checked = 0
    for group in GROUPS:
        defaults = {f.name: f.default for f in fields(group.options)}
        for command in COMMANDS.values():
            for param in command.params:
                if param.rich_help_panel == group.heading and param.name in group.flags:
                    assert param.default == defaults[param.name], f"{command.name} {param.name}"
                    checked += 1
    # READING and CLEANING in clean and run, GENERATION in summarize, translate and run
    reading_cleaning = len(READING.flags) + len(CLEANING.flags)
    assert checked == 2 * reading_cleaning + 3 * len(GENERATION.flags) + len(RUNNING.flags)
    assert options("translate")["--fields"].default == RunOptions.fields


def help_text(command: str) -> str:
    """`newsum COMMAND --help` as one line: wrapped lines joined, the table's borders out."""
    return re.sub(r"[\s│]+", " ", invoke(command, "--help").stdout)


def test_help_shows_the_dataclass_defaults():
    clean = help_text("clean")
    assert f"[default: {CleanOptions.max_chars}]" in clean
    assert f"[default: {ReadOptions.text_field}]" in clean
    summarize = help_text("summarize")
    assert f"[default: {GenerationOptions.max_batch_size}]" in summarize
    run = help_text("run")
    assert f"[default: {RunOptions.shard_size}]" in run
    assert f"[default: {RunOptions.executor}]" in run


def test_bounds_come_from_the_dataclass():
    run = options("run")
    assert run["--max-chars"].min == 1
    assert (run["--dedup-threshold"].min, run["--dedup-threshold"].max) == (0, 1)
    assert run["--max-input-tokens"].min == 16
    result = invoke("clean", "-", "-o", "-", "--max-chars", "0")
    assert result.exit_code == 2 and "--max-chars" in result.stderr


def test_commands_without_flags_use_the_dataclass_defaults(tmp_path, monkeypatch):
    seen = {}

    def read_inputs(inputs, options, **_):
        seen["read"] = options
        return iter(())

    def clean(records, options):
        seen["clean"] = options
        return iter(())

    monkeypatch.setattr("newsum.pipeline.core.readers.read_inputs", read_inputs)
    monkeypatch.setattr("newsum.pipeline.clean.clean", clean)
    invoke("clean", "a.jsonl", "-o", tmp_path / "c.jsonl")
    assert seen == {"read": ReadOptions(), "clean": CleanOptions()}

    class Stop(Exception):
        pass

    def summarizer(model, generation):
        seen["generation"] = generation
        raise Stop

    monkeypatch.setattr("newsum.models.stages.summarizer", summarizer)
    result = invoke("summarize", "a.jsonl", "-o", tmp_path / "s.jsonl", "-m", "x", "--debug")
    assert isinstance(result.exception, Stop)
    assert seen["generation"] == GenerationOptions()

    printed = invoke("run", "a.jsonl", "--print-config").stdout
    expected = RunOptions(inputs=("a.jsonl",), generation=GenerationOptions())
    assert printed == to_toml(expected.as_config())


def test_a_flag_overrides_the_config_even_with_the_default_value(tmp_path):
    config = tmp_path / "job.toml"
    config.write_text(
        'shard_size = 7\nexecutor = "ray"\n[clean]\ndedup = false\nstrict = true\n'
        '[generation]\nlanguages = ["fr", "de"]\n'
    )
    args = ("run", "a.jsonl", "--config", config, "--print-config")
    printed = invoke(*args, "--shard-size", "1000", "--dedup", "--languages", "fr,en").stdout
    assert "shard_size = 1000" in printed and 'executor = "ray"' in printed
    assert "dedup = true" in printed and "strict = true" in printed
    assert 'languages = [\n    "fr",\n    "en",\n]' in printed
    kept = invoke(*args).stdout  # no flag: the config's values
    assert "shard_size = 7" in kept and "dedup = false" in kept and '"de"' in kept


def test_run_keep_html_keeps_the_html_as_clean_does(tmp_path):
    page = tmp_path / "page.html"
    page.write_text(
        f"<html lang='fr'><body><article><h1>Titre</h1><p>{BODY2}</p></article></body></html>",
        encoding="utf-8",
    )
    lead = ("--summarizer", "lead-2", "--translator", "", "-q")
    assert invoke("run", page, "-o", tmp_path / "plain", *lead).exit_code == 0
    assert "html" not in json.loads(shard_lines(tmp_path / "plain")[0])
    result = invoke("run", page, "-o", tmp_path / "kept", "--keep-html", *lead)
    assert result.exit_code == 0, result.output
    kept = json.loads(shard_lines(tmp_path / "kept")[0])
    assert kept["html"] == page.read_text(encoding="utf-8")
    assert invoke("clean", page, "-o", tmp_path / "c.jsonl", "--keep-html", "-q").exit_code == 0
    cleaned = json.loads((tmp_path / "c.jsonl").read_text(encoding="utf-8"))
    assert kept["html"] == cleaned["html"] and kept["text"] == cleaned["text"]


def test_run_verbose_prints_the_model_settings(tmp_path):
    source = write_jsonl(tmp_path / "in.jsonl", articles(3))
    lead = ("--summarizer", "lead-2", "--translator", "")
    result = invoke("run", source, "-o", tmp_path / "out", *lead, "--verbose")
    assert result.exit_code == 0, result.output
    shown = invoke("summarize", source, "-o", tmp_path / "s.jsonl", "-m", "lead-2", "-v", "-q")
    assert shown.stderr and "lead-2" in shown.stderr
    assert result.stderr.startswith(shown.stderr)  # the same lines, before the run's own
    quiet = invoke("run", source, "-o", tmp_path / "again", *lead)
    assert "lead-2" not in quiet.stderr

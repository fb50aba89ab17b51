"""The `newsum` command line: inputs to JSONL, bad input, errors, what goes to stdout/stderr.

Typer bundles its own click; its CliRunner keeps stdout and stderr apart (result.stdout,
result.stderr), and stderr is not a terminal there, as in a pipe.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from newsum.pipeline.cli import app
from newsum.pipeline.core import progress, writers
from tests.fixtures.texts import BODY, BODY2, BODY3

HTML = f"""<html lang="fr"><head><title>Sécheresse dans le Sud-Ouest</title></head>
<body><article><h1>Sécheresse dans le Sud-Ouest</h1><p>{BODY2}</p>
<p>Les irrigants demandent des aides à l'État pour compenser les pertes de récoltes
attendues cet été dans les vallées de la Garonne et de l'Adour.</p></article></body></html>
"""

runner = CliRunner()


def invoke(*args: str | Path, input: bytes | None = None):
    return runner.invoke(app, [str(a) for a in args], input=input)


def jsonl(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


def assert_usage_error(result, *fragments: str) -> None:
    """Non-zero, a clear message on stderr, no traceback, nothing on stdout."""
    assert result.exit_code != 0, result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)
    for fragment in fragments:
        assert fragment in result.stderr


# ---- the main command ----------------------------------------------------------------


def test_clean_reads_every_input_kind_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    datasets = pytest.importorskip("datasets")
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "hf-cache")
    (tmp_path / "ds").mkdir()
    (tmp_path / "ds" / "train.jsonl").write_text(json.dumps({"id": "hf1", "text": BODY3}) + "\n")
    (tmp_path / "a.txt").write_text(f"Budget voté à Rennes\n{BODY}\n")
    (tmp_path / "b.html").write_text(HTML)
    (tmp_path / "c.jsonl").write_text(
        json.dumps({"id": "j1", "text": BODY}) + "\n" + json.dumps({"id": "j2", "text": BODY3})
    )
    (tmp_path / "d.csv").write_text(f'guid,corps,titre\nc1,"{BODY2}",Sécheresse\n')
    pq.write_table(pa.table({"guid": ["p1"], "corps": [BODY3]}), tmp_path / "e.parquet")
    (tmp_path / "f.json").write_text(json.dumps([{"guid": "js1", "corps": BODY}]))
    (tmp_path / "sub" / "deep").mkdir(parents=True)
    (tmp_path / "sub" / "deep" / "z.txt").write_text(BODY2)
    (tmp_path / "sub" / "a.txt").write_text(BODY3)
    out = tmp_path / "out" / "clean.jsonl"
    stdin = json.dumps({"guid": "in1", "corps": BODY2}).encode() + b"\n"

    result = invoke(
        "clean",
        tmp_path / "e.parquet",
        tmp_path / "a.txt",
        "-",
        tmp_path / "b.html",
        f"hf:{tmp_path / 'ds'}:train",
        tmp_path / "sub",
        tmp_path / "d.csv",
        tmp_path / "f.json",
        "-o",
        out,
        "--text-field",
        "corps",
        "--id-field",
        "guid",
        "--title-field",
        "titre",
        input=stdin,
    )

    assert result.exit_code == 0, result.stderr
    records = jsonl(out.read_text())
    assert [r["id"] for r in records] == [
        "p1",
        "a",
        "in1",
        "b",
        "hf1",  # the column mapping only applies where the column exists
        "a~2",  # sub/a.txt: `a` is taken by a.txt, given alone; ids are unique in a run
        "deep/z",
        "c1",
        "js1",
    ]
    assert [r["status"] for r in records] == ["ok"] * 9, records
    assert records[1]["title"] == "Budget voté à Rennes"
    assert records[3]["title"] == "Sécheresse dans le Sud-Ouest"
    assert records[7]["title"] == "Sécheresse"
    assert all(r["lang"] == "fr" for r in records)
    assert result.stdout == ""
    warned = sum(1 for r in records if r.get("warnings"))  # short test bodies: body-short
    assert warned == 8 and result.stderr == f"9 ok, 0 skipped, 0 error ({warned} with warnings)\n"


def test_stdout_output_holds_only_jsonl(tmp_path: Path) -> None:
    (tmp_path / "c.jsonl").write_text(
        "".join(json.dumps({"id": f"r{i}", "text": b}) + "\n" for i, b in enumerate([BODY, BODY2]))
    )
    result = invoke("clean", tmp_path / "c.jsonl", "-o", "-")
    assert result.exit_code == 0, result.stderr
    assert [r["id"] for r in jsonl(result.stdout)] == ["r0", "r1"]
    assert all(r["warnings"][0]["code"] == "body-short" for r in jsonl(result.stdout))
    assert result.stderr == "2 ok, 0 skipped, 0 error (2 with warnings)\n"


def test_quiet_removes_the_tally(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text(BODY)
    result = invoke("clean", tmp_path / "a.txt", "-o", "-", "--quiet")
    assert result.exit_code == 0
    assert len(jsonl(result.stdout)) == 1
    assert result.stderr == ""


def test_stdin_to_stdout() -> None:
    result = invoke("clean", "-", "-o", "-", input=json.dumps({"text": BODY}).encode())
    assert result.exit_code == 0, result.stderr
    [record] = jsonl(result.stdout)
    assert (record["id"], record["status"]) == ("stdin-1", "ok")


# ---- bad input: one record each, exit 0 ---------------------------------------------


def test_bad_input_gives_one_record_each_and_the_run_succeeds(tmp_path: Path) -> None:
    lines = [
        json.dumps({"id": "avant", "text": BODY}).encode(),
        b'{"id": "casse", "text": "pas fini',
        json.dumps({"id": "sans-texte", "title": "Rien"}).encode(),
        json.dumps({"id": "nombre", "text": 3.14}).encode(),
        json.dumps({"id": "vide", "text": ""}).encode(),
        json.dumps({"id": "blanc", "text": " \n\t\u00a0 "}).encode(),
        b'{"id": "latin1", "text": "march\xe9 de No\xebl"}',
        json.dumps({"id": "long-ligne", "text": "mot " * 500_000}).encode(),
        json.dumps({"id": "apres", "text": BODY2}).encode(),
    ]
    (tmp_path / "1-lot.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    garbage = bytes(range(256)) * 4 + os.urandom(4096) + b"\x00" * 16
    (tmp_path / "2-binaire.txt").write_bytes(garbage)
    (tmp_path / "3-enorme.txt").write_text("a" * 2_000_000)  # 2 MB, one line
    (tmp_path / "4-bon.txt").write_text(BODY3)
    out = tmp_path / "out.jsonl"

    result = invoke("clean", tmp_path, "-o", out)

    assert result.exit_code == 0, result.stderr
    records = {r["id"]: r for r in jsonl(out.read_text())}
    expected = {
        "avant": "ok",
        "1-lot-2": "error",
        "sans-texte": "error",
        "nombre": "error",
        "vide": "skipped",
        "blanc": "skipped",
        "1-lot-7": "error",
        "long-ligne": "skipped",
        "apres": "ok",
        "2-binaire": "error",
        "3-enorme": "skipped",
        "4-bon": "ok",
    }
    assert {i: r["status"] for i, r in records.items()} == expected
    assert list(records) == list(expected)  # input order, one record per input record
    for record in records.values():
        assert (record["status"] == "ok") == ("reason" not in record)
        assert record.get("reason", "x").strip()
    lot = tmp_path / "1-lot.jsonl"
    assert records["1-lot-2"]["reason"].startswith(f"{lot} line 2: invalid JSON")
    assert records["sans-texte"]["reason"].startswith(f"{lot} line 3: no 'text' field")
    assert records["nombre"]["reason"].startswith(f"{lot} line 4:")
    assert records["1-lot-7"]["reason"] == f"{lot} line 7: not valid UTF-8"
    assert "too long" in records["long-ligne"]["reason"]
    assert "binary" in records["2-binaire"]["reason"]
    assert "too long" in records["3-enorme"]["reason"]
    warned = sum(1 for r in records.values() if r.get("warnings"))
    assert result.stderr == f"3 ok, 4 skipped, 5 error ({warned} with warnings)\n"


def test_ids_are_never_used_as_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    ids = ["../../etc/passwd", "../../evil.jsonl", str(tmp_path / "absolu"), "/tmp/x", "~/y"]
    texts = [BODY, BODY2, BODY3, BODY + " Suite.", BODY2 + " Fin."]
    lines = [json.dumps({"id": i, "text": t}) for i, t in zip(ids, texts, strict=True)]
    Path("in.jsonl").write_text("\n".join(lines) + "\n")
    before = set(tmp_path.rglob("*"))
    existed = Path("/tmp/x").exists()

    result = invoke("clean", "in.jsonl", "-o", "out.jsonl")

    assert result.exit_code == 0, result.stderr
    assert [r["id"] for r in jsonl(Path("out.jsonl").read_text())] == ids
    assert set(tmp_path.rglob("*")) - before == {work / "out.jsonl"}
    assert Path("/tmp/x").exists() == existed


# ---- run errors: usage, non-zero, no traceback ---------------------------------------


def test_missing_input_is_a_usage_error_and_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text(BODY)
    out = tmp_path / "new" / "out.jsonl"
    result = invoke("clean", tmp_path / "a.txt", tmp_path / "absent.jsonl", "-o", out)
    assert_usage_error(result, "input not found", "absent.jsonl")
    assert result.stderr.count("\n") == 1  # one paragraph
    assert not out.parent.exists()


@pytest.mark.parametrize(
    ("name", "fragments"),
    [
        ("notes.md", ("unknown input format '.md'", ".jsonl", "hf:NAME")),
        ("README", ("unknown input format '(no extension)'",)),
    ],
)
def test_unknown_format_is_a_usage_error(tmp_path: Path, name: str, fragments: tuple) -> None:
    (tmp_path / name).write_text(BODY)
    result = invoke("clean", tmp_path / name, "-o", tmp_path / "out.jsonl")
    assert_usage_error(result, *fragments)
    assert not (tmp_path / "out.jsonl").exists()


def test_bad_dataset_spec_is_a_usage_error(tmp_path: Path) -> None:
    result = invoke("clean", "hf:nom-seul", "-o", tmp_path / "out.jsonl")
    assert_usage_error(result, "hf:NAME:SPLIT")


def test_output_that_is_a_directory_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text(BODY)
    result = invoke("clean", tmp_path / "a.txt", "-o", tmp_path)
    assert_usage_error(result, "is a directory")


def test_missing_option_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text(BODY)
    result = invoke("clean", tmp_path / "a.txt")
    assert result.exit_code == 2
    assert_usage_error(result, "--output")


def test_debug_lets_the_exception_through(tmp_path: Path) -> None:
    result = invoke("clean", tmp_path / "absent.txt", "-o", "-", "--debug")
    assert result.exit_code != 0
    assert type(result.exception).__name__ == "NewsumError"
    # The flag does not stick to later runs in the same process.
    assert_usage_error(invoke("clean", tmp_path / "absent.txt", "-o", "-"), "input not found")


def test_an_unexpected_failure_is_reported_as_a_bug_and_leaves_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(record):
        raise RuntimeError("disque plein")

    monkeypatch.setattr(writers, "dumps", broken)
    (tmp_path / "a.txt").write_text(BODY)

    result = invoke("clean", tmp_path / "a.txt", "-o", tmp_path / "out.jsonl")

    assert result.exit_code == 1
    assert_usage_error(result, "RuntimeError: disque plein", "--debug")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


# ---- the other commands --------------------------------------------------------------


def test_help_lists_every_command() -> None:
    result = invoke("--help")
    assert result.exit_code == 0
    for command in ("clean", "summarize", "translate", "run", "eval", "models", "bench"):
        assert f" {command} " in result.stdout


def test_bench_names_the_benchmarks() -> None:
    result = invoke("bench", "nope")
    assert_usage_error(result, "no benchmark 'nope'")
    assert "clean" in result.stderr and "generate" in result.stderr


# ---- progress ------------------------------------------------------------------------


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_only_on_a_terminal_and_not_when_quiet(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert not progress.progress_enabled(quiet=False)
    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert progress.progress_enabled(quiet=False)
    assert not progress.progress_enabled(quiet=True)

    items = list(progress.track(iter(range(5)), "cleaning", enabled=True))

    assert items == [0, 1, 2, 3, 4]
    assert "cleaning" in terminal.getvalue()


def test_no_progress_when_disabled(monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert list(progress.track(iter("abc"), "cleaning", enabled=False)) == ["a", "b", "c"]
    assert terminal.getvalue() == ""


# ---- the installed console script ----------------------------------------------------


def newsum_script() -> str:
    script = Path(sys.executable).with_name("newsum")
    if not script.exists():
        pytest.skip("the newsum console script is not installed next to this Python")
    return str(script)


def run_newsum(*args: str | Path, env: dict[str, str] | None = None, cwd: Path | None = None):
    return subprocess.run(
        [newsum_script(), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
        cwd=cwd,
    )


@pytest.mark.slow
def test_console_script_usage_error(tmp_path: Path) -> None:
    proc = run_newsum("clean", tmp_path / "absent.jsonl", "-o", tmp_path / "out.jsonl")
    assert proc.returncode == 2
    assert proc.stderr == f"newsum: error: input not found: {tmp_path / 'absent.jsonl'}\n"
    assert proc.stdout == ""


@pytest.mark.slow
def test_console_script_stderr_holds_only_the_tally(tmp_path: Path) -> None:
    # trafilatura logs a warning for a page with no text; the record already says so.
    (tmp_path / "vide.html").write_text("<html><body></body></html>")
    (tmp_path / "a.txt").write_text(BODY)
    proc = run_newsum("clean", tmp_path / "vide.html", tmp_path / "a.txt", "-o", "-")
    assert proc.returncode == 0, proc.stderr
    assert [r["status"] for r in jsonl(proc.stdout)] == ["error", "ok"]
    assert proc.stderr == "1 ok, 0 skipped, 1 error (1 with warnings)\n"  # a short body


@pytest.mark.slow
def test_console_script_unknown_dataset_offline(tmp_path: Path) -> None:
    offline = {
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "HF_HOME": str(tmp_path / "hf-home"),
    }
    proc = run_newsum(
        "clean", "hf:newsum-tests/no-such-dataset:train", "-o", tmp_path / "o.jsonl", env=offline
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith("newsum: error: cannot load dataset")
    assert "newsum-tests/no-such-dataset" in proc.stderr
    assert proc.stderr.count("\n") == 1
    assert not (tmp_path / "o.jsonl").exists()


@pytest.mark.slow
def test_console_script_stops_quietly_when_the_reader_goes_away(tmp_path: Path) -> None:
    rows = "".join(json.dumps({"id": f"r{i}", "text": BODY}) + "\n" for i in range(20_000))
    (tmp_path / "gros.jsonl").write_text(rows)
    proc = subprocess.Popen(
        [newsum_script(), "clean", str(tmp_path / "gros.jsonl"), "-o", "-"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    proc.stdout.close()  # like `| head -1`
    stderr = proc.stderr.read().decode()
    proc.wait(timeout=120)
    assert json.loads(first)["id"] == "r0"
    assert proc.returncode == 141
    assert stderr == ""

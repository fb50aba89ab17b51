"""The report dict a person acts on: names, stdout, the run's problems, lead-3, per record."""

from __future__ import annotations

import json
import subprocess

import pytest
from typer.testing import CliRunner

from newsum.eval.evaluate import EvalOptions, evaluate, lead
from newsum.eval.rouge import RougeOptions, compare_rouge, rouge_pairs
from newsum.models.extractive import Lead
from newsum.pipeline.cli import app
from tests.fixtures.jobs import NEWSUM, write_jsonl

ARTICLES = {
    f"a{i}": " ".join(
        f"Le conseil de la ville numéro {i} a voté la mesure {j} après {j + 3} heures de débat."
        for j in range(5)
    )
    for i in range(4)
}
REFERENCES = {i: f"Le conseil numéro {k} a voté cinq mesures." for k, i in enumerate(ARTICLES)}


def run_eval(*args):
    return CliRunner().invoke(app, ["eval", *map(str, args)])


@pytest.fixture
def run(tmp_path):
    """A real `newsum run` with lead-3: an article, its wire copy, an empty one, a bad one."""
    rows = [{"id": i, "text": t} for i, t in ARTICLES.items()]
    rows += [{"id": "copie", "text": ARTICLES["a0"]}, {"id": "vide", "text": ""}]
    rows += [{"id": "nombre", "text": 42}]
    source = write_jsonl(tmp_path / "in.jsonl", rows)
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app,
        ["run", str(source), "-o", str(out), "--summarizer", "lead-3", "--translator", "", "-q"],
    )
    assert result.exit_code == 0, result.output
    refs = [{"id": i, "summary": s} for i, s in REFERENCES.items()]
    refs += [{"id": i, "summary": "Une référence."} for i in ("copie", "vide", "nombre")]
    return out, write_jsonl(tmp_path / "refs.jsonl", refs)


@pytest.mark.parametrize("where", ["outdir", "shards", "shard file"])
def test_a_run_is_named_by_its_models_and_its_problems_listed(run, where):
    out, refs = run
    predictions = {
        "outdir": out,
        "shards": out / "shards",
        "shard file": out / "shards" / "part-00000.jsonl",
    }[where]
    report = evaluate(str(predictions), EvalOptions(references=str(refs), n_resamples=50))
    assert report["systems"] == {"name": "lead-3", "compare_name": None}
    manifest = json.loads((out / "manifest.json").read_text())
    info = report["run"]
    assert info["outdir"] == str(out) and info["models"] == manifest["models"]
    assert info["counts"] == manifest["counts"] and info["reused"] == manifest["reused"]
    assert info["started"] == manifest["started"] and info["ended"] == manifest["ended"]
    problems = info["problems"]
    assert "copie" in problems["duplicates"]["ids"]
    assert problems["skipped"] == {"count": 1, "items": [{"id": "vide", "reason": "empty text"}]}
    assert problems["error"]["count"] == 1
    assert problems["error"]["items"][0]["id"] == "nombre"
    # unscored reasons say which side lacked text in which field, and why
    reasons = {u["id"]: u["reason"] for u in report["counts"]["unscored_ids"]}
    assert reasons["vide"] == "prediction has no text in 'summary' (status skipped: empty text)"
    assert reasons["nombre"].startswith("prediction has no text in 'summary' (status error: ")


def test_lead3_is_compared_with_the_system_by_paired_bootstrap(tmp_path):
    # a system that says the same thing as the references beats lead-3 on every pair
    ids = list(ARTICLES)
    preds = write_jsonl(
        tmp_path / "good.jsonl",
        [{"id": i, "text": ARTICLES[i], "summary": REFERENCES[i]} for i in ids],
    )
    refs = write_jsonl(tmp_path / "r.jsonl", [{"id": i, "summary": REFERENCES[i]} for i in ids])
    report = evaluate(str(preds), EvalOptions(references=str(refs)))  # sources: own `text`
    baseline = report["baseline"]["lead-3"]
    assert baseline["pairs"] == 4
    options = RougeOptions(split_sentences=True)
    summaries = [Lead(3).summarize(ARTICLES[i]) for i in ids]
    gold = [REFERENCES[i] for i in ids]
    expected = compare_rouge(
        rouge_pairs(gold, gold, options), rouge_pairs(summaries, gold, options), options
    )
    assert baseline["compare"] == expected
    assert baseline["compare"]["rouge1"]["diff"] > 0
    assert baseline["compare"]["rouge1"]["p_value"] < 0.05


@pytest.mark.parametrize("n", [1, 3, 5])
def test_the_lead_baseline_is_the_lead_summarizer(n):
    # eval writes lead-N itself (it does not import models): the two must agree
    texts = [*ARTICLES.values(), "Une phrase.", "Une phrase. Deux phrases !", ""]
    for text in texts:
        assert lead(text, n) == Lead(n).summarize(text)


def test_names_from_flags_and_file_names(tmp_path):
    ids = list(ARTICLES)
    refs = write_jsonl(tmp_path / "r.jsonl", [{"id": i, "summary": REFERENCES[i]} for i in ids])
    mine = write_jsonl(tmp_path / "mt5.jsonl", [{"id": i, "summary": REFERENCES[i]} for i in ids])
    other = write_jsonl(
        tmp_path / "barthez.jsonl",
        [{"id": i, "summary": "Rien à voir."} for i in ids],
    )
    report = evaluate(str(mine), EvalOptions(references=str(refs), compare=str(other)))
    assert report["systems"] == {"name": "mt5", "compare_name": "barthez"}
    assert report["compare"]["name"] == "barthez" and report["run"] is None
    result = run_eval(mine, "--references", refs, "--compare", other, "--name", "A",
                      "--compare-name", "B", "-o", tmp_path / "n.json")  # fmt: skip
    assert result.exit_code == 0, result.output
    named = json.loads((tmp_path / "n.json").read_text())
    assert named["systems"] == {"name": "A", "compare_name": "B"}


@pytest.mark.slow
def test_dash_output_is_the_json_report_alone_on_stdout(tmp_path):
    ids = list(ARTICLES)
    refs = write_jsonl(tmp_path / "r.jsonl", [{"id": i, "summary": REFERENCES[i]} for i in ids])
    preds = write_jsonl(tmp_path / "p.jsonl", [{"id": i, "summary": ARTICLES[i][:80]} for i in ids])
    done = subprocess.run(
        [*NEWSUM, "eval", str(preds), "--references", str(refs), "-o", "-"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)  # nothing but the report
    assert report["counts"]["matched"] == 4 and report["newsum"]
    assert "rouge1" in done.stderr  # the summary goes to stderr


def test_per_record_holds_what_a_reader_needs(tmp_path):
    pred = {
        "id": "a",
        "text": "Le chômage a baissé à 9,5 % en 2023, selon l'Insee.",
        "summary": "Le chômage a baissé à 9,5 % en 2023.",
        "summary_en": "Unemployment fell to 8.5% in 2023.",
        "removed": [{"rule": "boilerplate", "text": "Lire aussi"}],
        "warnings": [{"code": "body-shrunk", "message": "the body lost 40 %"}],
    }
    preds = write_jsonl(tmp_path / "p.jsonl", [pred, {"id": "b", "summary": "Autre."}])
    refs = write_jsonl(
        tmp_path / "r.jsonl",
        [{"id": "a", "summary": "Le chômage baisse."}, {"id": "b", "summary": "  "}],
    )
    report = evaluate(str(preds), EvalOptions(references=str(refs), n_resamples=20))
    (row,) = report["per_record"]
    assert row["prediction"] == pred["summary"] and row["reference"] == "Le chômage baisse."
    assert row["source"] == pred["text"] and row["translation"] == pred["summary_en"]
    assert row["removed"] == pred["removed"] and row["warnings"] == pred["warnings"]
    assert row["unsupported_numbers"] == []
    assert row["number_mismatches"] == {"missing_in_en": ["9,5 %"], "extra_in_en": ["8.5%"]}
    assert set(row) >= {"rouge1", "rouge2", "rougeL", "rougeLsum", "checks"}
    assert report["counts"]["unscored_ids"] == [
        {"id": "b", "reason": "reference has no text in 'summary'"}
    ]
    assert report["rouge_tokenizer"] == "fr" and report["scored_field"] == "summary"

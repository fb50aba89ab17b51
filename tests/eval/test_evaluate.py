"""`newsum eval` end to end: matching by id, the three report formats, the browser view."""

from __future__ import annotations

import json

import pytest
from rouge_score import rouge_scorer
from typer.testing import CliRunner

from newsum.eval.rouge import FrenchTokenizer, sentences_per_line
from newsum.pipeline.cli import app
from tests.fixtures.browser import CHROMIUM, chromium
from tests.fixtures.jobs import write_jsonl

SOURCES = {
    "a": "La Bourgogne s'attend à une récolte en baisse de 30 % cette année. Le gel a frappé "
    "en avril. Les prix pourraient monter. Les stocks de 2023 limiteront les ruptures.",
    "b": "Le vélo représente 11,2 % des déplacements à Paris. La voiture recule à 4,3 %. "
    "L'étude a été menée auprès de 3 337 habitants.",
    "c": "Le festival d'Avignon a vendu 115 000 billets. Le public était plus jeune. "
    "La prochaine édition aura lieu en juillet.",
}
REFERENCES = {
    "a": (
        "La récolte de Bourgogne baissera de 30 % après le gel.",
        "Burgundy's harvest will fall 30% after frost.",
    ),
    "b": (
        "À Paris, le vélo fait 11,2 % des trajets, devant la voiture.",
        "In Paris, cycling makes 11.2% of trips, ahead of cars.",
    ),
    "c": (
        "Avignon a vendu un record de 115 000 billets.",
        "Avignon sold a record 115,000 tickets.",
    ),
    "d": ("Une référence sans prédiction.", "A reference without a prediction."),
}
PREDICTIONS = {
    "a": ("La récolte baissera de 80 % en Bourgogne.", "The harvest will fall 80% in Burgundy."),
    "b": (
        "Le vélo représente 11,2 % des déplacements à Paris.",
        "Cycling is 11.2% of trips in Paris.",
    ),
    "c": (
        "Le festival d'Avignon a vendu 115 000 billets.",
        "The Avignon festival sold 115,000 tickets.",
    ),
    "z": ("Une prédiction sans référence.", "A prediction without a reference."),
}


@pytest.fixture
def files(tmp_path):
    preds = write_jsonl(
        tmp_path / "pred.jsonl",
        [
            {"id": i, "summary": fr, "summary_en": en, "status": "ok"}
            for i, (fr, en) in PREDICTIONS.items()
        ]
        + [{"id": "e", "status": "error", "reason": "summarize: out of memory"}],
    )
    refs = write_jsonl(
        tmp_path / "ref.jsonl",
        [{"id": i, "summary": fr, "summary_en": en} for i, (fr, en) in REFERENCES.items()]
        + [{"id": "e", "summary": "Référence d'un article en erreur."}],
    )
    sources = write_jsonl(
        tmp_path / "src.jsonl", [{"id": i, "text": t} for i, t in SOURCES.items()]
    )
    return preds, refs, sources


def run_eval(*args):
    return CliRunner().invoke(app, ["eval", *map(str, args)])


@pytest.mark.slow  # charts of several reports (matplotlib)
def test_three_formats_and_exact_scores(files, tmp_path):
    preds, refs, sources = files
    out = [tmp_path / "r.json", tmp_path / "r.md", tmp_path / "r.html"]
    result = run_eval(
        preds, "--references", refs, "--sources", sources, "-o", out[0], "-o", out[1], "-o", out[2]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(out[0].read_text())
    counts = report["counts"]
    assert (counts["matched"], counts["missing_ids"], counts["extra_ids"]) == (3, ["d"], ["z"])
    reason = "prediction has no text in 'summary' (status error: summarize: out of memory)"
    assert counts["unscored_ids"] == [{"id": "e", "reason": reason}]

    # The system score is the mean of per-pair F from rouge-score with the French tokenizer.
    scorer = rouge_scorer.RougeScorer(["rouge1", "rougeLsum"], tokenizer=FrenchTokenizer())
    ids = ["a", "b", "c"]
    per_pair = [
        scorer.score(sentences_per_line(REFERENCES[i][0]), sentences_per_line(PREDICTIONS[i][0]))
        for i in ids
    ]
    for metric in ("rouge1", "rougeLsum"):
        expected = 100 * sum(p[metric].fmeasure for p in per_pair) / 3
        assert report["rouge"][metric]["fmeasure"] == pytest.approx(expected)
        assert report["rouge"][metric]["ci_low"] <= expected <= report["rouge"][metric]["ci_high"]
    assert [r["id"] for r in report["per_record"]] == ids

    # Faithfulness: the invented 80 % is flagged, the others are supported.
    by_id = {r["id"]: r for r in report["per_record"]}
    assert by_id["a"]["unsupported_numbers"] == ["80 %"]
    assert by_id["b"]["unsupported_numbers"] == [] and by_id["c"]["unsupported_numbers"] == []

    # Translation metrics are sacrebleu's on the same lists.
    import sacrebleu

    hyps = [PREDICTIONS[i][1] for i in ids]
    gold = [REFERENCES[i][1] for i in ids]
    assert report["translation"]["bleu"]["score"] == pytest.approx(
        sacrebleu.corpus_bleu(hyps, [gold]).score
    )
    assert report["translation"]["chrf"]["score"] == pytest.approx(
        sacrebleu.corpus_chrf(hyps, [gold]).score
    )

    assert "lead-3" in report["baseline"]
    signature = report["signature"]
    for part in (
        "newsum=",
        "tok=fr",
        "stem=snowball-fr",
        "n=3",
        "boot=1000",
        "seed=12345",
        "refs=sha256:",
    ):
        assert part in signature
    markdown = out[1].read_text()
    # the table layout is the renderer's; the signature, the system and the unmatched ids show
    assert signature in markdown and "| pred |" in markdown and "`d`" in markdown
    page = out[2].read_text()
    assert "<svg" in page and "http" not in page.replace("http-equiv", "")  # self-contained


def test_same_seed_same_report_other_seed_other_interval(tmp_path):
    words = "le conseil municipal a voté le budget de la ville pour l'année prochaine".split()
    refs = write_jsonl(
        tmp_path / "ref.jsonl", [{"id": str(i), "summary": " ".join(words)} for i in range(30)]
    )
    # prediction i keeps the first i % 12 + 1 words: per-pair scores spread out
    preds = write_jsonl(
        tmp_path / "pred.jsonl",
        [{"id": str(i), "summary": " ".join(words[: i % 12 + 1])} for i in range(30)],
    )
    reports = []
    for seed, name in ((1, "a"), (1, "b"), (2, "c")):
        run_eval(preds, "--references", refs, "--seed", seed, "-o", tmp_path / f"{name}.json")
        reports.append(json.loads((tmp_path / f"{name}.json").read_text()))
    assert reports[0]["rouge"] == reports[1]["rouge"]
    assert reports[0]["rouge"]["rouge1"]["fmeasure"] == reports[2]["rouge"]["rouge1"]["fmeasure"]
    assert reports[0]["rouge"]["rouge1"]["ci_low"] != reports[2]["rouge"]["rouge1"]["ci_low"]


def test_compat_mode_mangles_french_as_rouge_score_does(files, tmp_path):
    preds, refs, _ = files
    run_eval(preds, "--references", refs, "--rouge-tokenizer", "compat", "-o", tmp_path / "c.json")
    report = json.loads((tmp_path / "c.json").read_text())
    scorer = rouge_scorer.RougeScorer(["rouge1"], use_stemmer=True)
    expected = (
        100
        * sum(scorer.score(REFERENCES[i][0], PREDICTIONS[i][0])["rouge1"].fmeasure for i in "abc")
        / 3
    )
    assert report["rouge"]["rouge1"]["fmeasure"] == pytest.approx(expected)
    assert "tok=compat" in report["signature"]


def test_compare_two_systems(files, tmp_path):
    preds, refs, _ = files
    worse = write_jsonl(
        tmp_path / "worse.jsonl", [{"id": i, "summary": "Rien à voir."} for i in "abc"]
    )
    result = run_eval(preds, "--references", refs, "--compare", worse, "-o", tmp_path / "c.json")
    assert result.exit_code == 0, result.output
    compare = json.loads((tmp_path / "c.json").read_text())["compare"]
    assert compare["pairs"] == 3
    assert compare["metrics"]["rouge1"]["diff"] > 0


def test_nothing_matches_is_a_clear_error(files, tmp_path):
    preds, _, _ = files
    other = write_jsonl(tmp_path / "other.jsonl", [{"id": "x1", "summary": "Autre."}])
    result = run_eval(preds, "--references", other, "-o", tmp_path / "r.json")
    assert result.exit_code == 2 and "no prediction matched" in result.stderr
    result = run_eval(preds, "--references", other, "-o", tmp_path / "r.pdf")
    assert result.exit_code == 2 and ".pdf" in result.stderr


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
def test_html_report_renders_in_a_real_browser(files, tmp_path):
    preds, refs, sources = files
    page = tmp_path / "r.html"
    run_eval(
        preds, "--references", refs, "--sources", sources, "-o", page, "-o", tmp_path / "r.json"
    )
    report = json.loads((tmp_path / "r.json").read_text())
    dom = chromium(tmp_path, "--dump-dom", page.as_uri()).stdout
    assert "newsum evaluation" in dom
    assert f"{report['rouge']['rouge1']['fmeasure']:.2f}" in dom
    assert dom.count("<svg") == 2 and "<path" in dom
    shot = tmp_path / "r.png"
    chromium(tmp_path, f"--screenshot={shot}", "--window-size=1000,1200", page.as_uri())
    assert shot.is_file() and shot.stat().st_size > 10_000


def test_hf_references_use_the_dataset_column_preset(tmp_path):
    """A local `datasets` folder named like MLSUM: rows have text and summary, no id."""
    folder = tmp_path / "mlsum"
    folder.mkdir()
    rows = [{"text": SOURCES[i], "summary": REFERENCES[i][0], "topic": "x"} for i in "abc"]
    write_jsonl(folder / "test.jsonl", rows)
    # ids of rows read through `datasets` are NAME-SPLIT-ROW, as `newsum clean` gives them
    preds = write_jsonl(
        tmp_path / "pred.jsonl",
        [{"id": f"mlsum-test-{k}", "summary": PREDICTIONS[i][0]} for k, i in enumerate("abc", 1)],
    )
    result = run_eval(preds, "--references", f"hf:{folder}:test", "-o", tmp_path / "r.json")
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["counts"]["matched"] == 3 and report["inputs"]["ref_field"] == "summary"


def test_an_id_with_a_lone_surrogate_is_reported_not_a_crash(tmp_path):
    # Valid JSON ("\ud800" escaped) that UTF-8 cannot hold: the D6 reproduction.
    text = "Le gouvernement a annoncé mardi une réforme. Les syndicats ont réagi."
    pred = tmp_path / "p.jsonl"
    lone = json.dumps({"id": "s\ud800", "summary": text})  # json escapes it: valid JSON
    pred.write_text(lone + "\n" + json.dumps({"id": "r", "summary": text}) + "\n")
    refs = write_jsonl(tmp_path / "refs.jsonl", [{"id": "r", "summary": text}])
    for name in ("rep.json", "rep.md", "rep.html"):
        result = run_eval(pred, "--references", refs, "-o", tmp_path / name)
        assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "rep.json").read_text(encoding="utf-8"))
    assert report["counts"]["extra_ids"] == ["s\ud800"]  # reads back as the same id
    assert report["counts"]["matched"] == 1

"""English fields: ROUGE as rouge-score computes it, BLEU/chrF/TER as sacrebleu does."""

from __future__ import annotations

import json

import pytest
import sacrebleu
from rouge_score import rouge_scorer
from typer.testing import CliRunner

from newsum.eval.rouge import (
    METRICS,
    RougeOptions,
    rouge_pairs,
    rouge_signature,
    sentences_per_line,
)
from newsum.pipeline.cli import app
from tests.fixtures.jobs import write_jsonl

PAIRS = {
    "a": (
        "The harvest will fall 80% in Burgundy.",
        "Burgundy's harvest will fall 30% after frost.",
    ),
    "b": ("Cycling is 11.2% of trips in Paris.", "In Paris, cycling makes 11.2% of trips."),
    "c": (
        "The Avignon festival sold 115,000 tickets. Audiences were younger.",
        "Avignon sold a record 115,000 tickets. The public was younger than ever.",
    ),
    "d": ("Running runners ran quickly.", "The runner runs quick races."),
}


def run_eval(*args):
    return CliRunner().invoke(app, ["eval", *map(str, args)])


@pytest.mark.parametrize("stem", [True, False])
def test_en_mode_equals_rouge_score(stem):
    predictions = [p for p, _ in PAIRS.values()]
    references = [r for _, r in PAIRS.values()]
    pairs = rouge_pairs(predictions, references, RougeOptions(tokenizer="en", stem=stem))
    scorer = rouge_scorer.RougeScorer(list(METRICS), use_stemmer=stem)
    for i, (prediction, reference) in enumerate(PAIRS.values()):
        expected = scorer.score(reference, prediction)
        for metric in METRICS:
            assert tuple(pairs[metric][i]) == tuple(expected[metric]), (i, metric)


def test_en_signature_names_porter_and_english_sentences():
    signature = rouge_signature(RougeOptions(tokenizer="en", split_sentences=True), 4)
    assert signature.startswith("rouge:tok=en|stem=porter|sent=split-en|n=4|")
    assert "nltk=" in signature


@pytest.fixture
def translation_only(tmp_path):
    preds = write_jsonl(
        tmp_path / "opus-mt.jsonl", [{"id": i, "summary_en": p} for i, (p, _) in PAIRS.items()]
    )
    refs = write_jsonl(
        tmp_path / "refs.jsonl", [{"id": i, "summary_en": r} for i, (_, r) in PAIRS.items()]
    )
    return preds, refs


def expected_rouge(metric: str) -> float:
    # evaluate splits sentences (English here) before rougeLsum, then rouge-score scores
    scorer = rouge_scorer.RougeScorer([metric], use_stemmer=True)
    scores = [
        scorer.score(sentences_per_line(r, "en"), sentences_per_line(p, "en"))[metric].fmeasure
        for p, r in PAIRS.values()
    ]
    return 100 * sum(scores) / len(scores)


def test_translation_only_file_is_scored_like_sacrebleu(translation_only, tmp_path):
    preds, refs = translation_only
    result = run_eval(preds, "--references", refs, "-o", tmp_path / "r.json")
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["scored_field"] == "summary_en"
    assert report["notes"] and "summary_en" in report["notes"][0]
    hyps = [p for p, _ in PAIRS.values()]
    gold = [r for _, r in PAIRS.values()]
    translation = report["translation"]
    assert translation["pairs"] == 4 and translation["field"] == "summary_en"
    assert translation["bleu"]["score"] == sacrebleu.corpus_bleu(hyps, [gold]).score
    assert translation["chrf"]["score"] == sacrebleu.corpus_chrf(hyps, [gold]).score
    assert translation["ter"]["score"] == sacrebleu.corpus_ter(hyps, [gold]).score
    # ROUGE of the English text, with rouge-score's own tokenizer and stemmer
    assert report["rouge_tokenizer"] == "en" and "tok=en|stem=porter" in report["signature"]
    for metric in METRICS:
        assert report["rouge"][metric]["fmeasure"] == pytest.approx(expected_rouge(metric))
    assert report["systems"] == {"name": "opus-mt", "compare_name": None}
    assert "baseline" not in report  # lead-3 of French text is no English summary


def test_text_en_only_file(tmp_path):
    preds = write_jsonl(tmp_path / "p.jsonl", [{"id": "a", "text_en": PAIRS["a"][0]}])
    refs = write_jsonl(tmp_path / "r.jsonl", [{"id": "a", "text_en": PAIRS["a"][1]}])
    result = run_eval(preds, "--references", refs, "-o", tmp_path / "r.json")
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["scored_field"] == "text_en"
    assert report["translation"]["bleu"]["score"] == (
        sacrebleu.corpus_bleu([PAIRS["a"][0]], [[PAIRS["a"][1]]]).score
    )


def test_pred_field_summary_en_uses_english_rouge_and_gives_bleu(tmp_path):
    rows = [
        {"id": i, "summary": "Résumé en français.", "summary_en": p} for i, (p, _) in PAIRS.items()
    ]
    preds = write_jsonl(tmp_path / "p.jsonl", rows)
    refs = write_jsonl(
        tmp_path / "r.jsonl",
        [{"id": i, "summary": "Réf.", "summary_en": r} for i, (_, r) in PAIRS.items()],
    )
    out = tmp_path / "r.json"
    result = run_eval(preds, "--references", refs, "--pred-field", "summary_en", "-o", out)
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["scored_field"] == "summary_en" and report["inputs"]["ref_field"] == "summary_en"
    assert report["rouge_tokenizer"] == "en" and report["notes"] == []
    assert report["rouge"]["rouge1"]["fmeasure"] == pytest.approx(expected_rouge("rouge1"))
    hyps, gold = [p for p, _ in PAIRS.values()], [r for _, r in PAIRS.values()]
    assert report["translation"]["bleu"]["score"] == sacrebleu.corpus_bleu(hyps, [gold]).score

    # the tokenizer can still be forced, and the signature follows
    out = tmp_path / "fr.json"
    run_eval(preds, "--references", refs, "--pred-field", "summary_en", "--rouge-tokenizer", "fr",
             "-o", out)  # fmt: skip
    forced = json.loads(out.read_text())
    assert forced["rouge_tokenizer"] == "fr" and "tok=fr|" in forced["signature"]


def test_unknown_tokenizer_is_refused(translation_only, tmp_path):
    preds, refs = translation_only
    result = run_eval(
        preds, "--references", refs, "--rouge-tokenizer", "de", "-o", tmp_path / "x.json"
    )
    assert result.exit_code == 2 and "fr, en or compat" in result.stderr

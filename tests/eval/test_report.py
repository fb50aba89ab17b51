"""The report renderer: the same facts, escaped, in JSON, Markdown and HTML; the review
rows, the problems of a run, the charts; fast on 10,000 records; a real browser's view."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from newsum.eval import report as rep
from newsum.pipeline.cli import app
from tests.fixtures.browser import CHROMIUM, chromium
from tests.fixtures.jobs import write_jsonl

EVIL = "x` <img src=x onerror=alert(1)> `y"
EVIL_NEWLINE = "a\n| b | <script>alert(2)</script>"
SCORES = {"precision": 30.0, "recall": 60.0, "fmeasure": 40.0, "ci_low": 35.0, "ci_high": 45.0}


def record(i: int, rouge_l: float, **extra) -> dict:
    return {
        "id": f"art-{i:05d}",
        "rouge1": rouge_l + 5,
        "rouge2": rouge_l / 2,
        "rougeL": rouge_l,
        "rougeLsum": rouge_l + 1,
        "prediction": f"Le budget {i} augmente de 12 %.",
        "reference": "Le budget augmente.",
        "source": "Le conseil a voté le budget. Il augmente de 2 %.",
        "translation": "The budget rises by 12%.",
        "removed": [{"rule": "share-buttons", "text": "Partager sur Facebook"}],
        "unsupported_numbers": ["12 %"],
        "number_mismatches": {"missing_in_en": [], "extra_in_en": []},
        "warnings": [],
        "checks": {"summary_words": 6, "unsupported_numbers": ["12 %"]},
        **extra,
    }


def full_report(n: int = 3) -> dict:
    """A report with every key the evaluation can give, problems of a run included."""
    records = [record(i, 100 * i / max(n, 1)) for i in range(n)]
    records[0]["id"] = EVIL
    records[0]["prediction"] = "La récolte baissera de 80 % en Bourgogne."
    records[0]["unsupported_numbers"] = ["80 %"]
    records[0]["translation"] = "The harvest will fall 60% in Burgundy."
    records[0]["number_mismatches"] = {"missing_in_en": ["80 %"], "extra_in_en": ["60%"]}
    records[0]["warnings"] = [{"code": "translation-truncated", "message": "cut"}]
    records[0]["source"] = "Le gel <b>a frappé</b> la Bourgogne."
    return {
        "newsum": "0.1.0",
        "signature": "newsum=0.1.0|rouge:tok=fr|n=3|refs=sha256:abc",
        "systems": {"name": "mt5-small-fr", "compare_name": "lead-3-rival"},
        "rouge_tokenizer": "fr",
        "scored_field": "summary",
        "inputs": {
            "predictions": "out/shards",
            "references": "refs.jsonl",
            "sources": None,
            "pred_field": "summary",
            "ref_field": "summary",
        },
        "counts": {
            "matched": n,
            "missing": 1,
            "extra": 1,
            "unscored": 1,
            "missing_ids": ["ref-only"],
            "extra_ids": [EVIL_NEWLINE],
            "unscored_ids": [{"id": "e1", "reason": "prediction: summarize: out of memory"}],
            "repeated_reference_ids": ["dup-ref"],
            "repeated_prediction_ids": ["dup-pred"],
        },
        "rouge": {m: dict(SCORES) for m in rep.ROUGE_METRICS},
        "baseline": {
            "lead-3": {
                "pairs": n,
                "rouge": {
                    m: {**SCORES, "fmeasure": 30.0, "ci_low": 26.0, "ci_high": 34.0}
                    for m in rep.ROUGE_METRICS
                },
                "compare": {m: {"diff": 10.0, "p_value": 0.01} for m in rep.ROUGE_METRICS},
            }
        },
        "translation": {
            "field": "summary_en",
            "pairs": n,
            "bleu": {
                "score": 21.5,
                "ci_low": 18.0,
                "ci_high": 25.0,
                "signature": "nrefs:1|bs:1000|v:2.6.0",
            },
            "chrf": {"score": 48.2, "ci_low": 45.0, "ci_high": 51.0, "signature": "nrefs:1|c:6"},
            "ter": {
                "score": 66.0,
                "ci_low": 60.0,
                "ci_high": 70.0,
                "signature": "nrefs:1|t:tercom",
            },
        },
        "compare": {
            "other": "rival.jsonl",
            "name": "lead-3-rival",
            "pairs": n,
            "metrics": {m: {"diff": 2.5, "p_value": 0.2} for m in rep.ROUGE_METRICS},
        },
        "faithfulness": {
            "records": n,
            "mean_compression": 2.5,
            "share_with_unsupported_numbers": 1.0,
            "share_with_number_mismatches": None,
            "mean_novel_2gram": 0.25,
        },
        "run": {
            "outdir": "out",
            "models": {  # as pipeline.job.models.load_models writes them in the manifest
                "preset": "default",
                "summarizer": {
                    "id": "newsum/mt5-small-fr",
                    "revision": "a1b2c3d",
                    "backend": "torch",
                    "device": "cuda",
                },
                "translator": {"id": "Helsinki-NLP/opus-mt-fr-en", "revision": "e4f5"},
                "generation": {"num_beams": 4},
            },
            "started": "2024-05-02T10:00:00Z",
            "ended": "2024-05-02T10:30:00Z",
            "counts": {"ok": n, "skipped": 1, "error": 1},
            "reused": 0,
            "problems": {
                "warnings": {
                    "body-shrunk": {"count": 2, "ids": ["w-shrunk-1", "w-shrunk-2"]},
                    "translation-truncated": {"count": 1, "ids": [EVIL]},
                },
                "duplicates": {"count": 1, "ids": ["near-dup-7"]},
                "skipped": {"count": 1, "items": [{"id": "sk-1", "reason": "not French (en)"}]},
                "error": {
                    "count": 1,
                    "items": [{"id": "err-1", "reason": "summarize: CUDA out of memory"}],
                },
            },
        },
        "per_record": records,
    }


def rendered(report: dict) -> dict[str, str]:
    return {"json": rep.to_json(report), "md": rep.to_markdown(report), "html": rep.to_html(report)}


@pytest.mark.slow  # charts of several reports (matplotlib)
def test_d16_ids_cannot_break_out_in_any_format():
    out = rendered(full_report())
    for kind in ("md", "html"):
        text = out[kind]
        assert "<img" not in text and "<script>alert" not in text, kind
        assert "onerror=alert(1)" not in text.replace("&#61;", "=") or kind == "html"
    # Markdown: no code span can be ended by the id's own backtick, no cell by its pipe
    md = out["md"]
    assert "`x`" not in md and "`y`" not in md
    assert "&#96;" in md and "&#60;img" in md
    for line in md.splitlines():
        if line.startswith("| ") and "art-" in line:
            assert line.count("|") == 9  # the review table's 8 columns, no extra cell
    # HTML: autoescaped
    assert "x` &lt;img src=x onerror=alert(1)&gt; `y" in out["html"]
    assert "&lt;b&gt;a frappé&lt;/b&gt;" in out["html"]  # source text too
    assert json.loads(out["json"])["per_record"][0]["id"] == EVIL


@pytest.mark.parametrize(
    "value, expected",
    [
        ("a<b>&c", "a&lt;b&gt;&amp;c"),
        ("x`y", "x&#96;y"),
        ("a|b", "a&#124;b"),
        ("l1\nl2", "l1<br>l2"),
        ("*gras* _it_ [lien](u)", "\\*gras\\* \\_it\\_ \\[lien\\](u)"),
        (None, "–"),
    ],
)
def test_markdown_text_escaping(value, expected):
    assert rep.md_text(value) == expected


def test_d17_repeated_and_unscored_ids_in_every_format():
    out = rendered(full_report())
    for kind, text in out.items():
        for needle in ("dup-ref", "dup-pred", "ref-only", "e1", "out of memory"):
            assert needle in text, (kind, needle)
    for kind in ("md", "html"):
        assert "repeated reference ids" in out[kind] and "repeated prediction ids" in out[kind]


def test_no_none_text_anywhere():
    report = full_report()
    report["per_record"][1].update(prediction=None, translation=None, rouge2=None)
    for kind in ("md", "html"):
        text = rep.to_markdown(report) if kind == "md" else rep.to_html(report)
        assert not re.search(r"\bNone\b", text), kind
        assert "– (no record has an English summary)" in text  # the share that is None


def review_ids(html: str) -> list[str]:
    return re.findall(r'<tbody class="article" data-k0="([^"]*)"', html)


@pytest.mark.slow  # charts of several reports (matplotlib)
def test_review_rows_all_for_a_small_report_worst_and_best_for_a_big_one():
    small = rep.to_html(full_report(5))
    assert len(review_ids(small)) == 5
    big_report = full_report(100)
    big = rep.to_html(big_report)
    ids = review_ids(big)
    assert len(ids) == 40
    by_score = sorted(big_report["per_record"], key=lambda r: r["rougeL"])
    expected = [r["id"] for r in by_score[:20] + by_score[-20:]]
    assert [i.replace("&#39;", "'") for i in ids[1:]] == expected[1:]  # worst first
    assert "the 20 worst and the 20 best" in big and "art-00050" not in big
    md = rep.to_markdown(big_report)
    assert "the 20 worst and the 20 best" in md and md.count("\n### ") == 40
    assert len(json.loads(rep.to_json(big_report))["per_record"]) == 100  # JSON keeps all


def test_unsupported_numbers_and_mismatches_are_marked():
    out = rendered(full_report())
    assert "La récolte baissera de <mark>80 %</mark> en Bourgogne." in out["html"]
    assert "The harvest will fall <mark>60%</mark> in Burgundy." in out["html"]
    assert "<mark>80 %</mark>" in out["md"]
    assert "<details><summary>cleaned text" in out["html"]
    assert "share-buttons" in out["html"] and "Partager sur Facebook" in out["md"]


def test_problems_section_counts_and_ids():
    out = rendered(full_report())
    for kind in ("md", "html"):
        text = out[kind]
        section = text[text.index("Problems") :]
        for needle in (
            "warning: body-shrunk",
            "w-shrunk-2",
            "warning: translation-truncated",
            "near-duplicates",
            "near-dup-7",
            "skipped records",
            "sk-1",
            "not French (en)",
            "error records",
            "err-1",
            "CUDA out of memory",
        ):
            assert needle in section, (kind, needle)
    assert '<tr><td>warning: body-shrunk</td><td class="n">2</td>' in out["html"]
    assert "| warning: body-shrunk | 2 |" in out["md"]


def test_header_names_systems_models_dates_and_version():
    for kind, text in rendered(full_report()).items():
        for needle in (
            "mt5-small-fr",
            "lead-3-rival",
            "a1b2c3d",
            "opus-mt-fr-en",
            "2024-05-02T10:00:00Z",
            "0.1.0",
            "refs=sha256:abc",
        ):
            assert needle in text, (kind, needle)


@pytest.mark.slow  # charts of several reports (matplotlib)
def test_scales_are_stated():
    for text in (rep.to_markdown(full_report()), rep.to_html(full_report())):
        assert "F (0–100)" in text and "p-value (0–1)" in text and "100.0 %" in text
        assert "lower is better" in text  # TER


@pytest.mark.slow  # charts of several reports (matplotlib)
def test_charts_are_inline_svg_with_axis_labels_and_reproducible():
    html = rep.to_html(full_report(50))
    assert html.count("<svg") == 2  # the bar chart, then one histogram panel per metric
    svgs = html[html.index("<svg") :]
    assert "F (0–100)" in svgs and "articles" in svgs and "ROUGE-Lsum (n=50)" in svgs
    assert "mt5-small-fr" in html[html.index("<svg") :] and "lead-3" in html[html.index("<svg") :]
    assert "<?xml" not in html and "http" not in html  # self-contained: no URL at all
    assert rep.to_html(full_report(50)) == html  # same bytes every time
    assert "Charts of this section are in the HTML report." in rep.to_markdown(full_report(50))


@pytest.mark.slow
def test_ten_thousand_records_make_a_page_of_forty_articles():
    # What keeps a big report fast to render and to open: the page shows 40 articles,
    # whatever the run's size; the JSON keeps every record. (Speed is not timed here.)
    report = full_report(10_000)
    html = rep.to_html(report)
    assert html.count('<tbody class="article"') == 40
    assert len(html) < len(rep.to_html(full_report(100))) * 2
    assert len(json.loads(rep.to_json(report))["per_record"]) == 10_000


def test_write_stays_atomic(tmp_path, monkeypatch):
    from newsum.pipeline.core import writers

    calls = []
    monkeypatch.setattr(writers, "write_text_atomic", lambda p, t: calls.append(p))
    for name in ("r.json", "r.md", "r.html"):
        rep.write(full_report(), tmp_path / name)
    assert [p.name for p in calls] == ["r.json", "r.md", "r.html"]


@pytest.mark.slow  # charts of several reports (matplotlib)
def test_end_to_end_with_todays_keys(tmp_path):
    text = "Le vélo représente 11,2 % des déplacements à Paris. La voiture recule."
    preds = write_jsonl(
        tmp_path / "p.jsonl",
        [
            {"id": EVIL, "summary": "Le vélo fait 15 % des trajets."},
            {"id": "b", "summary": "La voiture recule."},
            {"id": "b", "summary": "Répété."},
        ],
    )
    refs = write_jsonl(
        tmp_path / "r.jsonl",
        [
            {"id": EVIL, "summary": "Le vélo fait 11,2 % des trajets."},
            {"id": "b", "summary": "La voiture recule à Paris."},
            {"id": "gone", "summary": "Sans prédiction."},
        ],
    )
    src = write_jsonl(tmp_path / "s.jsonl", [{"id": EVIL, "text": text}, {"id": "b", "text": text}])
    outs = [tmp_path / f"rep.{k}" for k in ("json", "md", "html")]
    args = ["eval", str(preds), "--references", str(refs), "--sources", str(src), "-q"]
    result = CliRunner().invoke(app, [*args, *[a for o in outs for a in ("-o", str(o))]])
    assert result.exit_code == 0, result.output
    md, html = outs[1].read_text(), outs[2].read_text()
    for text_ in (md, html):
        assert "<img" not in text_ and not re.search(r"\bNone\b", text_)
        assert "gone" in text_ and "repeated prediction ids" in text_
        assert "Articles to review" in text_ and "15 %" in text_
    assert "<svg" in html and "lead-3" in html


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
def test_report_with_problems_renders_in_a_real_browser(tmp_path):
    page = tmp_path / "r.html"
    page.write_text(rep.to_html(full_report(60)), "utf-8")
    dom = chromium(tmp_path, "--dump-dom", page.as_uri()).stdout
    assert dom.count('<tbody class="article"') == 40
    assert "<mark>80 %</mark>" in dom
    assert 'id="problems"' in dom and "CUDA out of memory" in dom and "near-dup-7" in dom
    assert "mt5-small-fr" in dom and "lead-3-rival" in dom
    assert "<img" not in dom and dom.count("<svg") == 2
    shot = tmp_path / "r.png"
    chromium(tmp_path, f"--screenshot={shot}", "--window-size=1280,2400", page.as_uri())
    assert shot.is_file() and shot.stat().st_size > 10_000


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
def test_the_report_of_a_real_run_with_problems_in_a_real_browser(tmp_path):
    body = (
        "Le conseil municipal de Rennes a voté mardi soir le budget de 2025, en hausse de "
        "3 %. Les élus de l'opposition ont dénoncé une hausse des impôts locaux. La maire a "
        "défendu des investissements dans les écoles et les transports."
    )
    rows = [
        {"id": "budget", "text": body},
        {"id": "copie", "text": body},  # a near-duplicate
        {"id": "nombre", "text": 42},  # an error record
        {"id": "court", "text": "Trois mots seulement."},  # a body-short warning
    ]
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    refs = tmp_path / "refs.jsonl"
    ref = "Rennes vote un budget 2025 en hausse de 3 %, l'opposition dénonce les impôts."
    refs.write_text(
        "".join(json.dumps({"id": i, "summary": ref}) + "\n" for i in ("budget", "copie"))
    )
    out = tmp_path / "job"
    args = ["run", str(source), "-o", str(out), "--summarizer", "lead-1", "--no-translate", "-q"]
    assert CliRunner().invoke(app, args).exit_code == 0
    # A summary that states a number its article does not: what a model may invent.
    shard = out / "shards" / "part-00000.jsonl"
    lines = [json.loads(line) for line in shard.read_text("utf-8").splitlines()]
    lines[0]["summary"] = "Rennes vote un budget 2025 en hausse de 7 %."
    shard.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in lines), "utf-8")
    page = tmp_path / "report.html"
    result = CliRunner().invoke(app, ["eval", str(out), "--references", str(refs), "-o", str(page)])
    assert result.exit_code == 0, result.output
    dom = chromium(tmp_path, "--dump-dom", page.as_uri()).stdout
    assert dom.count('<tbody class="article"') == 2  # the review rows
    assert "<mark>7 %</mark>" in dom  # the unsupported number, highlighted
    problems = dom[dom.index('id="problems"') :]
    for needle in ("body-short", "court", "copie", "nombre", "not a string"):
        assert needle in problems, needle
    assert "lead-1" in dom  # the system is named from the run's models

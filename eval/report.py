"""Reports from one evaluation dict: JSON for machines, Markdown for a PR, HTML to read.

The sections are described once, in Python (`sections`), and rendered by two Jinja2
templates (eval/templates/), so the Markdown and the HTML say the same things. The HTML
page is self-contained (inline CSS and matplotlib SVG, no network, a tiny optional
script for click-to-sort), so it can be attached to a ticket or opened from a CI
artifact as is.

Every value is escaped on its way out: Jinja's autoescape in HTML, `md_text`/`md_code`
in Markdown (a `finalize` hook applies them to every `{{ }}`, so a template cannot forget).
"""

from __future__ import annotations

import io
import json
import re
from functools import cache
from importlib import resources
from typing import Any

from markupsafe import Markup, escape

from newsum.pipeline.core.errors import NewsumError

FORMATS = (".json", ".md", ".html")
ROUGE_METRICS = ("rouge1", "rouge2", "rougeL", "rougeLsum")
ROUGE_LABELS = {
    "rouge1": "ROUGE-1",
    "rouge2": "ROUGE-2",
    "rougeL": "ROUGE-L",
    "rougeLsum": "ROUGE-Lsum",
}
REVIEW_EACH_END = 20  # a large run shows this many worst and best articles; JSON has all
IDS_SHOWN = 200  # ids listed per problem; the JSON report keeps every one
DASH = "–"

WARNING_MEANINGS = {
    "body-shrunk": "cleaning removed much of the page's text: check the body is whole",
    "body-short": "the cleaned body is very short: maybe not an article",
    "translation-truncated": "the English translation hit the length limit and was cut",
    "repeated-id": "another record has the same id",
    "reused": "output reused from an earlier run",
}
# key: (label, kind, meaning); kind picks the scale. One row a key, as a table reads.
# fmt: off
FAITHFULNESS = {
    "records": ("records checked", "count", "pairs whose source text was available"),
    "mean_summary_words": ("summary length", "words", "mean words per summary"),
    "mean_source_words": ("source length", "words", "mean words per cleaned source"),
    "mean_compression": ("compression", "ratio", "source words ÷ summary words (higher: shorter summary)"),
    "mean_novel_1gram": ("novel words", "share", "summary words absent from the source (higher: more abstractive)"),
    "mean_novel_2gram": ("novel bigrams", "share", "summary word pairs absent from the source"),
    "mean_novel_3gram": ("novel trigrams", "share", "summary word triples absent from the source"),
    "mean_summary_numbers": ("numbers per summary", "number", "mean number mentions per summary"),
    "unsupported_numbers": ("unsupported numbers", "count", "numbers in summaries that their source does not contain (likely invented)"),
    "summary_numbers": ("numbers in summaries", "count", "all number mentions in the summaries"),
    "share_with_unsupported_numbers": ("summaries with an unsupported number", "share", "should be close to 0 %"),
    "records_with_en": ("records with an English summary", "count", "pairs checked for FR/EN number agreement"),
    "number_mismatches": ("FR/EN number mismatches", "count", "numbers that differ between the French summary and its translation"),
    "share_with_number_mismatches": ("translations with a number mismatch", "share", "should be 0 %"),
}
# fmt: on


def write(report: dict[str, Any], path) -> None:
    from newsum.pipeline.core.writers import write_text_atomic

    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise NewsumError(f"report format {suffix or '(none)'!r} unknown: use .json, .md or .html")
    render = {".json": to_json, ".md": to_markdown, ".html": to_html}[suffix]
    # Whole or not at all: a full disk or a read-only folder is a NewsumError naming the
    # path, and leaves no partial or empty report behind.
    write_text_atomic(path, render(report))


def to_json(report: dict[str, Any]) -> str:
    return json.dumps(report, ensure_ascii=False, indent=2) + "\n"


def to_markdown(report: dict[str, Any]) -> str:
    return _environment("md").get_template("report.md.j2").render(**sections(report, "md"))


def to_html(report: dict[str, Any]) -> str:
    return _environment("html").get_template("report.html.j2").render(**sections(report, "html"))


# ---- escaping ---------------------------------------------------------------------------

_MD_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "`": "&#96;", "|": "&#124;"}
_MD_BACKSLASHED = set("\\*_[]~")


def md_text(value: Any) -> Markup:
    """Plain text safe anywhere in Markdown, table cells included: no raw HTML, no code
    span or cell to break out of, no emphasis or link, and newlines as <br>."""
    text = _show(value)
    out = []
    for ch in text.replace("\r\n", "\n"):
        if ch in _MD_ENTITIES:
            out.append(_MD_ENTITIES[ch])
        elif ch in _MD_BACKSLASHED:
            out.append("\\" + ch)
        elif ch in "\n\r":
            out.append("<br>")
        else:
            out.append(ch)
    return Markup("".join(out))


def md_code(value: Any, pipes: bool = False) -> Markup:
    """An id as code: a code span when nothing in it can end the span or the table cell
    early, else <code> with every ASCII punctuation mark as an entity. `pipes`: outside
    a table a pipe is harmless (the signature keeps its pipes verbatim)."""
    text = _show(value)
    unsafe = "`\n\r" if pipes else "`\n\r|"
    if not any(ch in unsafe for ch in text) and text == text.strip():
        return Markup(f"`{text}`")
    body = "".join(
        f"&#{ord(ch)};" if (ch.isascii() and not ch.isalnum() and ch not in " -.:/") else ch
        for ch in text
    )
    return Markup(f"<code>{body}</code>")


def html_code(value: Any) -> Markup:
    return Markup("<code>{}</code>").format(_show(value))


def _show(value: Any) -> str:
    """Text of a value; None (or nothing) is a dash, never the word None."""
    if value is None or value == "":
        return DASH
    return str(value)


def _finalizer(escaper):
    # Applied to every {{ }} output: a Markup value was escaped by the code that made it.
    def finalize(value: Any) -> Any:
        if isinstance(value, Markup):
            return value
        return escaper(value)

    return finalize


@cache
def _environment(kind: str):
    import jinja2

    def load(name: str) -> str:
        return (resources.files(__package__) / "templates" / name).read_text(encoding="utf-8")

    if kind == "html":
        env = jinja2.Environment(
            loader=jinja2.FunctionLoader(load),
            autoescape=True,
            finalize=_finalizer(lambda v: escape(_show(v))),
            trim_blocks=True,
            lstrip_blocks=True,
        )
    else:
        env = jinja2.Environment(
            loader=jinja2.FunctionLoader(load),
            autoescape=False,
            finalize=_finalizer(md_text),
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        env.filters["code_pipes"] = lambda v: md_code(v, pipes=True)
    return env


# ---- the sections, described once ---------------------------------------------------------


def sections(report: dict[str, Any], kind: str) -> dict[str, Any]:
    """What both templates render: a header and a list of sections made of blocks.

    Blocks: {"type": "text", "text"}, {"type": "table", "headers", "rows", "note"},
    {"type": "ids", "label", "count", "ids", "meaning"}, {"type": "chart", "svg", "alt"}
    (HTML only; Markdown says where to see it) and {"type": "review", ...}.
    Cells are plain values (escaped by the template) or Markup made here (code, marks).
    """
    code = html_code if kind == "html" else md_code
    esc = (lambda s: escape(s)) if kind == "html" else md_text
    body = [
        _scores(report, code),
        _translation(report, code),
        _compare(report),
        _faithfulness(report),
        _problems(report, code),
        _review(report, code, esc),
    ]
    return {"header": _header(report, code), "sections": [s for s in body if s]}


def _num(value: Any, digits: int = 2, why: str = "not computed") -> str:
    if value is None:
        return f"{DASH} ({why})"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return _show(value)
    if isinstance(value, int):
        return str(value)
    return f"{value:.{digits}f}"


def _share(value: Any, why: str = "nothing to count") -> str:
    return f"{DASH} ({why})" if value is None else f"{100 * value:.1f} %"


def _system_name(report: dict[str, Any]) -> str:
    return (report.get("systems") or {}).get("name") or "system"


def _header(report: dict[str, Any], code) -> dict[str, Any]:
    counts = report.get("counts", {})
    version = report.get("newsum") or _from_signature(report.get("signature", ""), "newsum")
    systems = report.get("systems") or {}
    facts = [("system", _system_name(report))]
    if systems.get("compare_name") or report.get("compare"):
        other = report.get("compare") or {}
        facts.append(
            (
                "compared with",
                systems.get("compare_name") or other.get("name") or other.get("other"),
            )
        )
    run = report.get("run") or {}
    for label, model in _models(run.get("models")):
        facts.append((label, model))
    if run:
        facts.append(("run started", run.get("started")))
        facts.append(("run ended", run.get("ended")))
        facts.append(("run folder", run.get("outdir")))
    inputs = report.get("inputs") or {}
    facts += [
        ("predictions", inputs.get("predictions")),
        ("references", inputs.get("references")),
        (
            "sources",
            inputs.get("sources")
            or (
                f"{DASH} (the run's own texts)"
                if report.get("baseline")
                else f"{DASH} (none given: no lead-3 baseline)"
            ),
        ),
        (
            "fields scored",
            f"{inputs.get('pred_field', report.get('scored_field', 'summary'))} against {inputs.get('ref_field', 'summary')}",
        ),
        (
            "ROUGE tokenizer",
            report.get("rouge_tokenizer")
            or _from_signature(report.get("signature", ""), "rouge:tok"),
        ),
        ("newsum version", version),
        ("pairs scored", counts.get("matched")),
    ]
    summary = (
        f"{counts.get('matched', 0)} pairs scored; {counts.get('missing', 0)} references without a "
        f"prediction, {counts.get('extra', 0)} predictions without a reference, "
        f"{counts.get('unscored', 0)} unscored."
    )
    return {
        "title": "newsum evaluation",
        "facts": [(k, v if v not in (None, "") else f"{DASH} (not recorded)") for k, v in facts],
        "signature": report.get("signature"),
        "summary": summary,
    }


def _models(models: Any) -> list[tuple[str, str]]:
    """(role, "id @ revision") for the summarizer and translator of a run's manifest
    (pipeline.job.models.load_models writes {"preset", "summarizer", "translator", "generation"})."""
    if not isinstance(models, dict):
        return []
    out = []
    if models.get("preset"):
        out.append(("preset", str(models["preset"])))
    for role in ("summarizer", "translator"):
        m = models.get(role)
        if not isinstance(m, dict):
            continue
        name = m.get("id") or DASH
        if m.get("kind") == "extractive":
            out.append((role, f"{name} (extractive: no model weights)"))
        else:
            revision = m.get("revision")
            where = ", ".join(str(m[k]) for k in ("backend", "device") if m.get(k))
            shown = f"{name} @ {revision}" if revision else f"{name} (revision not recorded)"
            out.append((role, f"{shown} ({where})" if where else shown))
    return out


def _from_signature(signature: str, key: str) -> str | None:
    for part in signature.split("|"):
        if part.startswith(key + "="):
            return part.split("=", 1)[1]
    return None


def _scores(report: dict[str, Any], code) -> dict | None:
    rouge = report.get("rouge") or {}
    if not rouge:
        return None
    rows = []
    systems = [(_system_name(report), rouge)]
    for name, baseline in (report.get("baseline") or {}).items():
        systems.append((f"{name} (baseline)", baseline.get("rouge") or {}))
    for metric in ROUGE_METRICS:
        for name, scores in systems:
            s = scores.get(metric)
            if s is None:
                rows.append([name, metric, *[f"{DASH} (no pairs)"] * 4])
                continue
            rows.append(
                [
                    name,
                    metric,
                    _num(s.get("precision")),
                    _num(s.get("recall")),
                    _num(s.get("fmeasure")),
                    f"{_num(s.get('ci_low'))}–{_num(s.get('ci_high'))}",
                ]
            )
    blocks: list[dict] = [
        {
            "type": "table",
            "id": "rouge",
            "headers": ["system", "metric", "P (0–100)", "R (0–100)", "F (0–100)", "95 % CI of F"],
            "numeric": [2, 3, 4, 5],
            "rows": rows,
            "note": "ROUGE: word overlap with the reference summary, 0–100, higher is better; "
            "mean over pairs of precision (P), recall (R) and F-measure (F), with a 95 % bootstrap interval. "
            "rouge1: single words, rouge2: word pairs, rougeL: longest common subsequence, rougeLsum: the same per sentence.",
        }
    ]
    diffs = []
    for name, baseline in (report.get("baseline") or {}).items():
        for metric, r in (baseline.get("compare") or {}).items():
            diffs.append(
                [
                    f"{_system_name(report)} − {name}",
                    metric,
                    f"{r['diff']:+.2f}",
                    _num(r.get("p_value"), 4),
                ]
            )
    if diffs:
        blocks.append(
            {
                "type": "table",
                "id": "baseline-compare",
                "headers": [
                    "difference",
                    "metric",
                    "F difference (points, 0–100 scale)",
                    "p-value (0–1)",
                ],
                "numeric": [2, 3],
                "rows": diffs,
                "note": "Paired bootstrap: a positive difference favours the system; p below 0.05 means the difference is unlikely to be chance.",
            }
        )
    charts = _score_charts(report)
    if charts:
        blocks += charts
    return {"id": "scores", "title": "ROUGE", "blocks": blocks}


def _translation(report: dict[str, Any], code) -> dict | None:
    t = report.get("translation")
    if not t:
        return None
    meanings = {
        "bleu": ("BLEU", "n-gram precision with a brevity penalty, 0–100, higher is better"),
        "chrf": ("chrF", "character n-gram F-score, 0–100, higher is better"),
        "ter": ("TER", "edits needed per reference word, × 100, lower is better"),
    }
    rows = []
    for key, (label, meaning) in meanings.items():
        if key not in t:
            continue
        m = t[key]
        ci = (
            f"{_num(m.get('ci_low'))}–{_num(m.get('ci_high'))}"
            if "ci_low" in m
            else f"{DASH} (no bootstrap)"
        )
        rows.append([label, _num(m.get("score")), ci, meaning, code(m.get("signature"))])
    return {
        "id": "translation",
        "title": f"Translation ({t.get('field', 'summary_en')})",
        "blocks": [
            {
                "type": "table",
                "id": "translation-scores",
                "headers": ["metric", "score", "95 % CI", "meaning", "sacrebleu signature"],
                "numeric": [1, 2],
                "rows": rows,
                "note": f"Corpus scores from sacrebleu over {t.get('pairs', DASH)} pairs with an English reference.",
            }
        ],
    }


def _compare(report: dict[str, Any]) -> dict | None:
    c = report.get("compare")
    if not c:
        return None
    other = c.get("name") or (report.get("systems") or {}).get("compare_name") or c.get("other")
    rows = [
        [metric, f"{r['diff']:+.2f}", _num(r.get("p_value"), 4)]
        for metric, r in (c.get("metrics") or {}).items()
    ]
    return {
        "id": "compare",
        "title": f"Paired comparison with {other}",
        "blocks": [
            {
                "type": "table",
                "id": "compare-table",
                "headers": [
                    "metric",
                    f"{_system_name(report)} − {other} (F, points on 0–100)",
                    "p-value (0–1)",
                ],
                "numeric": [1, 2],
                "rows": rows,
                "note": f"Paired bootstrap over the {c.get('pairs', DASH)} ids both systems have: a positive difference favours "
                f"{_system_name(report)}; p below 0.05 means the difference is unlikely to be chance.",
            }
        ],
    }


def _faithfulness(report: dict[str, Any]) -> dict | None:
    f = report.get("faithfulness")
    if not f:
        return None
    rows = []
    for key, value in f.items():
        label, kind, meaning = FAITHFULNESS.get(key, (key.replace("_", " "), "number", ""))
        if kind == "share":
            why = "no record has an English summary" if "mismatch" in key else "no record to count"
            shown = _share(value, why)
        elif kind == "words":
            shown = f"{_num(value, 1)} words" if value is not None else _num(value)
        elif kind == "ratio":
            shown = (
                f"{_num(value, 1)} ×"
                if value is not None
                else _num(value, why="no summary has words")
            )
        elif kind == "number":
            shown = _num(value, 2)
        else:
            shown = _num(value)
        rows.append([label, shown, meaning])
    return {
        "id": "faithfulness",
        "title": "Faithfulness and shape",
        "blocks": [
            {
                "type": "table",
                "id": "faithfulness-table",
                "headers": ["check", "value", "meaning"],
                "numeric": [1],
                "rows": rows,
            }
        ],
    }


def _problems(report: dict[str, Any], code) -> dict | None:
    counts = report.get("counts") or {}
    items = []

    def add(label: str, entries: list, meaning: str, count: int | None = None) -> None:
        """A problem row: its count and the first entries, ids (shown as code) or
        {id, reason} rows (shown with their reasons)."""
        entries = list(entries or [])
        n = len(entries) if count is None else count
        if not n:
            return
        shown = entries[:IDS_SHOWN]
        item = {"label": label, "count": n, "meaning": meaning,
                "more": max(0, len(entries) - IDS_SHOWN)}  # fmt: skip
        if shown and isinstance(shown[0], dict):
            item["reasons"] = [
                (code(r.get("id")), r.get("reason") or f"{DASH} (no reason recorded)")
                for r in shown
            ]
        else:
            item["ids"] = [code(i) for i in shown]
        items.append(item)

    run = report.get("run") or {}
    problems = run.get("problems") or {}
    for warn_code, w in sorted((problems.get("warnings") or {}).items()):
        add(
            f"warning: {warn_code}",
            w.get("ids"),
            WARNING_MEANINGS.get(warn_code, "a doubt noted by the pipeline"),
            w.get("count"),
        )
    dup = problems.get("duplicates") or {}
    add(
        "near-duplicates",
        dup.get("ids"),
        "articles almost identical to an earlier one",
        dup.get("count"),
    )
    for key, label, meaning in (
        ("skipped", "skipped records", "not summarized, on purpose"),
        ("error", "error records", "failed; the reason says where"),
    ):
        entry = problems.get(key) or {}
        add(label, entry.get("items"), meaning, entry.get("count"))
    add(
        "references without a prediction",
        counts.get("missing_ids"),
        "not scored: no prediction has this id",
    )
    add(
        "predictions without a reference",
        counts.get("extra_ids"),
        "not scored: no reference has this id",
    )
    add("unscored pairs", counts.get("unscored_ids"), "matched, but no text to score on one side")
    add(
        "repeated reference ids",
        counts.get("repeated_reference_ids"),
        "the references hold this id more than once; the first one is used",
    )
    add(
        "repeated prediction ids",
        counts.get("repeated_prediction_ids"),
        "the predictions hold this id more than once; the first one is used",
    )
    if not items:
        return {
            "id": "problems",
            "title": "Problems",
            "blocks": [
                {
                    "type": "text",
                    "text": "None found: every reference and prediction was matched and scored.",
                }
            ],
        }
    rows = [[i["label"], i["count"], i["meaning"]] for i in items]
    blocks: list[dict] = [
        {
            "type": "table",
            "id": "problems-table",
            "headers": ["problem", "records", "meaning"],
            "numeric": [1],
            "rows": rows,
        }
    ]
    blocks += [{"type": "ids", **i} for i in items]
    return {"id": "problems", "title": "Problems", "blocks": blocks}


# ---- review ------------------------------------------------------------------------------


def _review(report: dict[str, Any], code, esc) -> dict | None:
    records = report.get("per_record") or []
    if not records:
        return None

    def key(r: dict) -> float:
        value = r.get("rougeL")
        return -1.0 if value is None else value

    ordered = sorted(records, key=key)
    if len(ordered) > 2 * REVIEW_EACH_END:
        shown = ordered[:REVIEW_EACH_END] + ordered[-REVIEW_EACH_END:]
        intro = (
            f"{len(records)} articles: the {REVIEW_EACH_END} worst and the {REVIEW_EACH_END} best by ROUGE-L F; "
            "the JSON report lists them all."
        )
    else:
        shown = ordered
        intro = f"All {len(records)} articles, worst ROUGE-L F first."
    intro += (
        " Highlighted: numbers the source does not contain (in the prediction) and numbers "
        "that differ between the French summary and its translation."
    )
    rows = [_review_row(r, code, esc) for r in shown]
    return {
        "id": "review",
        "title": "Articles to review",
        "blocks": [
            {"type": "text", "text": intro},
            {"type": "review", "metrics": [ROUGE_LABELS[m] for m in ROUGE_METRICS], "rows": rows},
        ],
    }


def _review_row(r: dict, code, esc) -> dict:
    checks = r.get("checks") or {}
    unsupported = r.get("unsupported_numbers", checks.get("unsupported_numbers")) or []
    mismatches = r.get("number_mismatches", checks.get("number_mismatches")) or {}
    if isinstance(mismatches, list):  # a flat list: mark it on both sides
        missing_en = extra_en = mismatches
    else:
        missing_en, extra_en = (
            mismatches.get("missing_in_en", []),
            mismatches.get("extra_in_en", []),
        )
    warnings = [
        w.get("code", DASH) if isinstance(w, dict) else str(w) for w in r.get("warnings") or []
    ]
    removed = [
        (x.get("rule", DASH), x.get("text", "")) if isinstance(x, dict) else (DASH, str(x))
        for x in r.get("removed") or []
    ]
    missing_text = f"{DASH} (not in this report)"
    scores = [(r.get(m), _num(r.get(m), 1, why="not scored")) for m in ROUGE_METRICS]
    return {
        "id": code(r.get("id")),
        "sort_id": _show(r.get("id")),
        "scores": scores,
        "unsupported": unsupported,
        "mismatches": [*missing_en, *[x for x in extra_en if x not in missing_en]],
        "warnings": warnings,
        "prediction": _marked(r.get("prediction"), [*unsupported, *missing_en], esc)
        if r.get("prediction")
        else missing_text,
        "reference": r.get("reference") or missing_text,
        "translation": _marked(r.get("translation"), extra_en, esc)
        if r.get("translation")
        else None,
        "source": r.get("source"),
        "removed": removed,
    }


def _marked(text: str, needles: list[str], esc) -> Markup:
    """`text` escaped, with every occurrence of `needles` in <mark>."""
    needles = sorted({n for n in needles if n}, key=len, reverse=True)
    if not needles:
        return Markup(esc(text))
    pattern = re.compile("|".join(re.escape(n) for n in needles))
    out, last = [], 0
    for m in pattern.finditer(text):
        out += [esc(text[last : m.start()]), Markup("<mark>"), esc(m.group(0)), Markup("</mark>")]
        last = m.end()
    out.append(esc(text[last:]))
    return Markup("").join(out)


# ---- charts ------------------------------------------------------------------------------

_SYSTEM_COLORS = ("#3b6fb6", "#e08a2c", "#4f9a5a", "#8c5bb0")


def _score_charts(report: dict[str, Any]) -> list[dict]:
    charts = []
    rouge = report.get("rouge") or {}
    bars = [(_system_name(report), rouge)]
    bars += [
        (f"{name} (baseline)", b.get("rouge") or {})
        for name, b in (report.get("baseline") or {}).items()
        if b.get("rouge")
    ]
    if any(rouge.get(m) for m in ROUGE_METRICS):
        charts.append(
            {
                "type": "chart",
                "alt": "ROUGE F by metric, system beside baseline, with 95 % intervals",
                "svg": _svg(_bar_chart, bars),
            }
        )
    records = report.get("per_record") or []
    per_metric = {m: [r[m] for r in records if r.get(m) is not None] for m in ROUGE_METRICS}
    if any(per_metric.values()):
        # Small multiples, one panel per metric on the same axes, not overlapping outlines.
        charts.append(
            {
                "type": "chart",
                "alt": "ROUGE F per article, one panel per metric",
                "svg": _svg(_histograms, per_metric),
            }
        )
    return charts


def _svg(draw, *args) -> Markup:
    """A matplotlib figure as inline SVG text, byte-for-byte the same on every run."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    style = {
        "svg.hashsalt": "newsum",  # element ids stable across runs
        "svg.fonttype": "none",  # text stays text: no embedded glyphs, readable, searchable
        "font.family": "sans-serif",
        "font.size": 9,
        "axes.spines.top": False,
        "axes.spines.right": False,
    }
    with plt.rc_context(style):
        fig = draw(plt, *args)
        buffer = io.StringIO()
        fig.savefig(buffer, format="svg", metadata={"Date": None}, bbox_inches="tight")
        plt.close(fig)
    text = buffer.getvalue()
    # Inline in HTML: the XML prolog, DOCTYPE, RDF metadata and namespace declarations are
    # for a standalone file (the HTML parser knows svg and xlink); without them the page
    # holds no URL at all, so nothing can look like a network fetch.
    text = text[text.index("<svg") :]
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.S)
    text = re.sub(r'\s+xmlns(:\w+)?="[^"]*"', "", text)
    return Markup(text)


def _bar_chart(plt, systems: list[tuple[str, dict]]):
    import numpy as np

    fig, ax = plt.subplots(figsize=(6.4, 2.8))
    x = np.arange(len(ROUGE_METRICS))
    width = 0.8 / len(systems)
    for k, (name, scores) in enumerate(systems):
        f = [scores.get(m, {}).get("fmeasure", np.nan) for m in ROUGE_METRICS]
        # max(0, …): a whisker is drawn only where the interval holds the mean, as it should
        low = [
            max(0.0, f[i] - scores.get(m, {}).get("ci_low", f[i]))
            for i, m in enumerate(ROUGE_METRICS)
        ]
        high = [
            max(0.0, scores.get(m, {}).get("ci_high", f[i]) - f[i])
            for i, m in enumerate(ROUGE_METRICS)
        ]
        pos = x - 0.4 + width * (k + 0.5)
        ax.bar(
            pos,
            f,
            width * 0.9,
            yerr=[low, high],
            capsize=3,
            label=name,
            color=_SYSTEM_COLORS[k % len(_SYSTEM_COLORS)],
        )
        # the value sits above the whisker, where the interval cannot hide it
        for px, value, up in zip(pos, f, high, strict=True):
            if not np.isnan(value):
                ax.annotate(
                    f"{value:.1f}",
                    (px, value + up),
                    ha="center",
                    va="bottom",
                    fontsize=7,
                    xytext=(0, 2),
                    textcoords="offset points",
                )
    ax.set_xticks(x, [ROUGE_LABELS[m] for m in ROUGE_METRICS])
    ax.set_ylim(0, 100)
    ax.set_ylabel("F (0–100)")
    ax.set_xlabel("metric (bars: mean F; whiskers: 95 % CI)")
    ax.set_title("ROUGE F, system beside baseline", loc="left")
    ax.legend(frameon=False, fontsize=8, loc="upper right")
    ax.grid(axis="y", alpha=0.3)
    return fig


def _histograms(plt, per_metric: dict[str, list[float]]):
    fig, axes = plt.subplots(1, len(per_metric), figsize=(9.6, 2.4), sharey=True)
    for ax, (metric, values) in zip(axes, per_metric.items(), strict=True):
        ax.hist(values, bins=20, range=(0, 100), color=_SYSTEM_COLORS[0], edgecolor="white")
        ax.set_xlim(0, 100)
        ax.set_xticks([0, 25, 50, 75, 100])
        ax.set_xlabel("F per article (0–100)")
        ax.set_title(f"{ROUGE_LABELS[metric]} (n={len(values)})", loc="left")
        ax.grid(axis="y", alpha=0.3)
    axes[0].set_ylabel("articles")
    fig.tight_layout()
    return fig

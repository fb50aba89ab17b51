"""Reports from one evaluation dict: JSON for machines, Markdown for a PR, HTML to read.

The HTML page is self-contained (inline CSS and SVG, no script, no network), so it can
be attached to a ticket or opened from a CI artifact as is.
"""

from __future__ import annotations

import html
import json
import math
from pathlib import Path
from typing import Any

from pipeline.errors import NewsumError

FORMATS = (".json", ".md", ".html")
ROUGE_METRICS = ("rouge1", "rouge2", "rougeL", "rougeLsum")


def write(report: dict[str, Any], path: Path) -> None:
    from pipeline.writers import write_text_atomic

    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise NewsumError(f"report format {suffix or '(none)'!r} unknown: use .json, .md or .html")
    render = {".json": to_json, ".md": to_markdown, ".html": to_html}[suffix]
    # Whole or not at all: a full disk or a read-only folder is a NewsumError naming the
    # path, and leaves no partial or empty report behind.
    write_text_atomic(path, render(report))


def to_json(report: dict[str, Any]) -> str:
    return json.dumps(report, ensure_ascii=False, indent=2) + "\n"


# ---- Markdown ---------------------------------------------------------------------------


def _score_rows(report: dict[str, Any]) -> list[tuple[str, str, dict]]:
    """(system, metric, scores) rows: the system, then the lead-3 baseline if any."""
    rows = [("system", m, report["rouge"][m]) for m in ROUGE_METRICS if m in report["rouge"]]
    for name, baseline in report.get("baseline", {}).items():
        rows += [(name, m, baseline["rouge"][m]) for m in ROUGE_METRICS if m in baseline["rouge"]]
    return rows


def to_markdown(report: dict[str, Any]) -> str:
    counts = report["counts"]
    lines = [
        "# newsum evaluation",
        "",
        f"`{report['signature']}`",
        "",
        f"{counts['matched']} pairs scored; {counts['missing']} references without a "
        f"prediction, {counts['extra']} predictions without a reference, "
        f"{counts['unscored']} unscored.",
        "",
        "| system | metric | P | R | F | 95 % CI (F) |",
        "|---|---|---:|---:|---:|---|",
    ]
    for system, metric, s in _score_rows(report):
        lines.append(
            f"| {system} | {metric} | {s['precision']:.2f} | {s['recall']:.2f} | "
            f"{s['fmeasure']:.2f} | {s['ci_low']:.2f}–{s['ci_high']:.2f} |"
        )
    if "translation" in report:
        t = report["translation"]
        lines += [
            "",
            f"## Translation ({t['field']})",
            "",
            "| metric | score | signature |",
            "|---|---:|---|",
        ]
        for name in ("bleu", "chrf", "ter"):
            lines.append(f"| {name} | {t[name]['score']:.2f} | `{t[name]['signature']}` |")
    if "compare" in report:
        c = report["compare"]
        lines += ["", f"## Paired comparison with {c['other']}", "",
                  "| metric | system − other (F) | p-value |", "|---|---:|---:|"]  # fmt: skip
        for metric, r in c["metrics"].items():
            lines.append(f"| {metric} | {r['diff']:+.2f} | {r['p_value']:.4f} |")
    f = report.get("faithfulness")
    if f:
        lines += ["", "## Faithfulness and shape", ""]
        lines += [f"- {_label(k)}: {_fmt(v)}" for k, v in f.items()]
    for key, title in (("missing_ids", "Missing predictions"), ("extra_ids", "Extra predictions")):
        if counts.get(key):
            lines += ["", f"## {title}", "", ", ".join(f"`{i}`" for i in counts[key][:200])]
    if counts.get("unscored_ids"):
        lines += ["", "## Unscored", ""]
        lines += [f"- `{u['id']}`: {u['reason']}" for u in counts["unscored_ids"][:200]]
    return "\n".join(lines) + "\n"


def _label(key: str) -> str:
    return key.replace("_", " ")


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


# ---- HTML -------------------------------------------------------------------------------

_CSS = """
body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5rem 0}td,th{padding:.25rem .6rem;border-bottom:1px solid #eee}
th{text-align:left;background:#f6f6f6}td.n{text-align:right;font-variant-numeric:tabular-nums}
code{font-size:.85em;background:#f3f3f3;padding:.1em .3em;border-radius:3px;word-break:break-all}
figure{margin:0}.charts{display:flex;flex-wrap:wrap;gap:1.5rem}.legend span{margin-right:1rem}
.sw{display:inline-block;width:.8em;height:.8em;margin-right:.3em;vertical-align:middle}
"""
_COLORS = ("#3b6fb6", "#e08a2c", "#4f9a5a", "#b04a4a")


def to_html(report: dict[str, Any]) -> str:
    e = html.escape
    counts = report["counts"]
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<title>newsum evaluation</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>newsum evaluation</h1>",
        f"<p><code id='signature'>{e(report['signature'])}</code></p>",
        f"<p>{counts['matched']} pairs scored · {counts['missing']} references without a "
        f"prediction · {counts['extra']} predictions without a reference · "
        f"{counts['unscored']} unscored</p>",
        "<h2>ROUGE (0–100, mean over pairs, 95 % bootstrap CI)</h2>",
        "<table id='rouge'><tr><th>system</th><th>metric</th><th>P</th><th>R</th><th>F</th>"
        "<th>95 % CI (F)</th></tr>",
    ]
    for system, metric, s in _score_rows(report):
        parts.append(
            f"<tr><td>{e(system)}</td><td>{metric}</td><td class='n'>{s['precision']:.2f}</td>"
            f"<td class='n'>{s['recall']:.2f}</td><td class='n'><b>{s['fmeasure']:.2f}</b></td>"
            f"<td class='n'>{s['ci_low']:.2f}–{s['ci_high']:.2f}</td></tr>"
        )
    parts.append("</table>")
    if "translation" in report:
        t = report["translation"]
        parts.append(f"<h2>Translation ({e(t['field'])})</h2><table id='translation'>")
        parts.append("<tr><th>metric</th><th>score</th><th>signature</th></tr>")
        for name in ("bleu", "chrf", "ter"):
            parts.append(
                f"<tr><td>{name}</td><td class='n'>{t[name]['score']:.2f}</td>"
                f"<td><code>{e(t[name]['signature'])}</code></td></tr>"
            )
        parts.append("</table>")
    if "compare" in report:
        c = report["compare"]
        parts.append(f"<h2>Paired comparison with {e(c['other'])}</h2><table id='compare'>")
        parts.append("<tr><th>metric</th><th>system − other (F)</th><th>p-value</th></tr>")
        for metric, r in c["metrics"].items():
            parts.append(
                f"<tr><td>{metric}</td><td class='n'>{r['diff']:+.2f}</td>"
                f"<td class='n'>{r['p_value']:.4f}</td></tr>"
            )
        parts.append("</table>")
    parts += _charts(report)
    f = report.get("faithfulness")
    if f:
        parts.append("<h2>Faithfulness and shape</h2><table id='faithfulness'>")
        parts += [
            f"<tr><td>{e(_label(k))}</td><td class='n'>{e(_fmt(v))}</td></tr>" for k, v in f.items()
        ]
        parts.append("</table>")
    parts += _unmatched(counts)
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _charts(report: dict[str, Any]) -> list[str]:
    records = report.get("per_record", [])
    if not records:
        return []
    scores = [
        (metric, [r[metric] for r in records if r.get(metric) is not None])
        for metric in ("rouge1", "rouge2", "rougeL")
    ]
    lengths = [
        ("prediction", [r["prediction_words"] for r in records]),
        ("reference", [r["reference_words"] for r in records]),
    ]
    return [
        "<h2>Per-article distributions</h2><div class='charts'>",
        histogram(scores, "ROUGE F per article", "F (0–100)", lo=0, hi=100),
        histogram(lengths, "Summary length", "words"),
        "</div>",
    ]


def histogram(
    series: list[tuple[str, list[float]]],
    title: str,
    xlabel: str,
    bins: int = 20,
    lo: float | None = None,
    hi: float | None = None,
) -> str:
    """An inline SVG histogram of one or more overlaid series (outlined steps)."""
    values = [v for _, vs in series for v in vs]
    if not values:
        return ""
    lo = min(values) if lo is None else lo
    hi = max(values) if hi is None else hi
    if hi <= lo:
        hi = lo + 1
    width, height, pad = 420, 220, 36
    counts = []
    for _, vs in series:
        c = [0] * bins
        for v in vs:
            c[min(bins - 1, max(0, int((v - lo) / (hi - lo) * bins)))] += 1
        counts.append(c)
    top = max(max(c) for c in counts) or 1
    x = lambda i: pad + i * (width - 2 * pad) / bins  # noqa: E731
    y = lambda n: height - pad - n * (height - 2 * pad) / top  # noqa: E731
    out = [
        f"<figure><svg width='{width}' height='{height}' role='img' aria-label='{html.escape(title)}'>"
    ]
    out.append(
        f"<text x='{pad}' y='16' font-size='13' font-weight='bold'>{html.escape(title)}</text>"
    )
    out.append(
        f"<line x1='{pad}' y1='{height - pad}' x2='{width - pad}' y2='{height - pad}' stroke='#999'/>"
    )
    for k, c in enumerate(counts):
        color = _COLORS[k % len(_COLORS)]
        points = [f"{x(0):.1f},{y(0):.1f}"]
        for i, n in enumerate(c):
            points += [f"{x(i):.1f},{y(n):.1f}", f"{x(i + 1):.1f},{y(n):.1f}"]
        points.append(f"{x(bins):.1f},{y(0):.1f}")
        out.append(
            f"<polyline fill='{color}' fill-opacity='0.15' stroke='{color}' points='{' '.join(points)}'/>"
        )
    for value, anchor in ((lo, "start"), (hi, "end")):
        px = pad if anchor == "start" else width - pad
        out.append(
            f"<text x='{px}' y='{height - pad + 14}' font-size='11' text-anchor='{anchor}'>{_tick(value)}</text>"
        )
    out.append(
        f"<text x='{width / 2}' y='{height - 6}' font-size='11' text-anchor='middle'>{html.escape(xlabel)}</text>"
    )
    out.append(f"<text x='4' y='{pad}' font-size='11'>{top}</text></svg>")
    legend = "".join(
        f"<span><i class='sw' style='background:{_COLORS[k % len(_COLORS)]}'></i>{html.escape(name)} (n={len(vs)})</span>"
        for k, (name, vs) in enumerate(series)
    )
    out.append(f"<figcaption class='legend'>{legend}</figcaption></figure>")
    return "".join(out)


def _tick(value: float) -> str:
    return f"{value:.0f}" if math.isclose(value, round(value)) else f"{value:.1f}"


def _unmatched(counts: dict[str, Any]) -> list[str]:
    e = html.escape
    parts = []
    for key, title in (("missing_ids", "Missing predictions"), ("extra_ids", "Extra predictions")):
        if counts.get(key):
            ids = ", ".join(f"<code>{e(i)}</code>" for i in counts[key][:200])
            parts.append(f"<h2>{title} ({len(counts[key])})</h2><p>{ids}</p>")
    if counts.get("unscored_ids"):
        parts.append(f"<h2>Unscored ({len(counts['unscored_ids'])})</h2><ul>")
        parts += [
            f"<li><code>{e(u['id'])}</code>: {e(u['reason'])}</li>"
            for u in counts["unscored_ids"][:200]
        ]
        parts.append("</ul>")
    return parts

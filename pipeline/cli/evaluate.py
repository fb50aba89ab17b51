"""`newsum eval`: score predictions against references and write reports."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .app import Debug, Quiet, app, session, start


@app.command(name="eval")
def eval_(
    predictions: Annotated[str, typer.Argument(help="Predictions (JSONL with `id`, `summary`).")],
    references: Annotated[
        str,
        typer.Option(
            help="References: JSONL by `id`, or hf:NAME[:CONFIG]:SPLIT (MLSUM, "
            "OrangeSum and XL-Sum columns are known)."
        ),
    ],
    output: Annotated[
        list[Path],
        typer.Option(
            "--output",
            "-o",
            help="Report file: .json, .md or .html, or '-' for the JSON report on stdout; "
            "may be repeated.",
        ),
    ],
    sources: Annotated[
        str | None,
        typer.Option(
            help="Articles by `id`: numbers are checked against them and a lead-3 "
            "baseline is scored (default: the predictions' own `text`)."
        ),
    ] = None,
    compare: Annotated[
        str | None, typer.Option(help="Another system's predictions: paired bootstrap test.")
    ] = None,
    pred_field: Annotated[
        str,
        typer.Option(
            help="Prediction field to score. A file with only `summary_en` or `text_en` "
            "is scored on that field."
        ),
    ] = "summary",
    ref_field: Annotated[
        str | None,
        typer.Option(help="Reference field (default: the scored field if English, else summary)."),
    ] = None,
    rouge_tokenizer: Annotated[
        str | None,
        typer.Option(
            help="fr (Unicode words, Snowball French stems), en (rouge-score's tokenizer "
            "and Porter stems) or compat (rouge-score's on French, to compare with "
            "published numbers). Default: en for an *_en field, else fr."
        ),
    ] = None,
    name: Annotated[
        str | None,
        typer.Option(help="Name of the system (default: the run's models, else the file name)."),
    ] = None,
    compare_name: Annotated[
        str | None, typer.Option(help="Name of the --compare system (default: as --name).")
    ] = None,
    stem: Annotated[bool, typer.Option(help="Stem words before matching.")] = True,
    bootstrap: Annotated[int, typer.Option(min=1, help="Bootstrap resamples.")] = 1000,
    seed: Annotated[int, typer.Option(help="Bootstrap seed.")] = 12345,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Score summaries (ROUGE with CIs), translations (BLEU, chrF, TER) and faithfulness."""
    start(quiet, debug)
    from newsum.eval.evaluate import EvalOptions, evaluate
    from newsum.eval.report import FORMATS, to_json, write
    from newsum.pipeline.core.errors import NewsumError

    if rouge_tokenizer is not None and rouge_tokenizer not in ("fr", "en", "compat"):
        raise NewsumError("--rouge-tokenizer must be fr, en or compat")
    bad = [str(p) for p in output if str(p) != "-" and p.suffix.lower() not in FORMATS]
    if bad:
        raise NewsumError(f"report format unknown for {', '.join(bad)}: use .json, .md or .html")
    options = EvalOptions(
        references=references,
        sources=sources,
        compare=compare,
        pred_field=pred_field,
        ref_field=ref_field,
        rouge_tokenizer=rouge_tokenizer,
        stem=stem,
        n_resamples=bootstrap,
        seed=seed,
        name=name,
        compare_name=compare_name,
    )
    report = evaluate(predictions, options)
    for path in output:
        if str(path) == "-":
            # The report is the only thing on stdout, so `| jq` works; the summary is on stderr.
            typer.echo(to_json(report), nl=False)
        else:
            write(report, path)
    if not session.quiet:
        _summary(report, output)


def _summary(report: dict, outputs: list[Path]) -> None:
    counts = report["counts"]
    typer.echo(
        f"{counts['matched']} pairs; {counts['missing']} missing, {counts['extra']} extra, "
        f"{counts['unscored']} unscored",
        err=True,
    )
    typer.echo(f"{report['systems']['name']}: {report['scored_field']}", err=True)
    for note in report.get("notes", []):
        typer.echo(f"note: {note}", err=True)
    for metric, s in report.get("rouge", {}).items():
        typer.echo(
            f"{metric:>9} F {s['fmeasure']:6.2f}  [{s['ci_low']:.2f}, {s['ci_high']:.2f}]", err=True
        )
    lead = report.get("baseline", {}).get("lead-3", {}).get("compare", {}).get("rouge1")
    if lead:
        typer.echo(f"vs lead-3: rouge1 F {lead['diff']:+.2f} (p = {lead['p_value']:.3f})", err=True)
    typer.echo(report["signature"], err=True)
    typer.echo(
        "wrote " + ", ".join(str(p) if str(p) != "-" else "stdout" for p in outputs), err=True
    )

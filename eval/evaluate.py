"""One evaluation: predictions against references (and sources), as a report dict."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import metadata
from typing import Any

from pipeline import __version__
from pipeline.errors import NewsumError
from pipeline.readers import ReadOptions
from pipeline.record import Record

from .bootstrap import BootstrapOptions
from .data import Matched, match, preset_for, read_by_id, references_hash, value
from .faithfulness import aggregate, record_checks
from .rouge import RougeOptions, aggregate_rouge, compare_rouge, rouge_pairs, rouge_signature
from .translation import translation_scores


@dataclass(frozen=True)
class EvalOptions:
    """Everything that changes a report; the defaults are the CLI's."""

    references: str
    sources: str | None = None
    compare: str | None = None
    pred_field: str = "summary"
    ref_field: str | None = None  # None: the reference preset's, else "summary"
    rouge_tokenizer: str = "fr"
    stem: bool = True
    n_resamples: int = 1000
    seed: int = 12345
    lang: str = "fr"

    def rouge(self) -> RougeOptions:
        return RougeOptions(
            tokenizer=self.rouge_tokenizer,  # type: ignore[arg-type]
            stem=self.stem,
            split_sentences=True,  # rougeLsum needs one sentence a line
            bootstrap=BootstrapOptions(self.n_resamples, self.seed),
        )


def evaluate(predictions: str, options: EvalOptions) -> dict[str, Any]:
    preset = preset_for(options.references)
    ref_field = options.ref_field or preset.get("ref_field", "summary")
    read = ReadOptions(
        text_field=preset.get("text_field", "text"), id_field=preset.get("id_field", "id")
    )
    references, repeated_refs = read_by_id(options.references, read)
    preds, repeated_preds = read_by_id(predictions)
    matched = match(preds, references, options.pred_field, ref_field)
    if not matched.ids:
        raise NewsumError(
            f"no prediction matched a reference by id with text in {options.pred_field!r} "
            f"(predictions) and {ref_field!r} (references); ids look like "
            f"{_sample(preds)} and {_sample(references)}. Check --pred-field/--ref-field."
        )
    rouge_options = options.rouge()
    pairs = rouge_pairs(matched.predictions, matched.references, rouge_options)
    counts = {
        "references": len(references),
        "predictions": len(preds),
        **matched.counts(),
        "repeated_reference_ids": repeated_refs,
        "repeated_prediction_ids": repeated_preds,
    }
    report: dict[str, Any] = {
        "signature": _signature(options, rouge_options, matched),
        "inputs": {
            "predictions": predictions,
            "references": options.references,
            "sources": options.sources,
            "pred_field": options.pred_field,
            "ref_field": ref_field,
        },
        "counts": counts,
        "rouge": aggregate_rouge(pairs, rouge_options),
    }
    sources = _sources(options.sources, preds, matched.ids)
    if options.sources:
        report["baseline"] = {"lead-3": _lead3(sources, matched, rouge_options)}
    translation = _translation(preds, references, matched.ids, options)
    if translation:
        report["translation"] = translation
    per_record = _per_record(matched, pairs, preds, sources, options)
    checks = [r["checks"] for r in per_record if "checks" in r]
    if checks:
        report["faithfulness"] = aggregate(checks)
    if options.compare:
        report["compare"] = _compare(options, references, ref_field, rouge_options, matched, pairs)
    report["per_record"] = per_record
    return report


def _signature(options: EvalOptions, rouge_options: RougeOptions, matched: Matched) -> str:
    """One line to reproduce the report: versions, tokenizer, stemming, pairs, resampling,
    and a hash of the references."""
    parts = [
        f"newsum={__version__}",
        rouge_signature(rouge_options, len(matched.ids)),
        f"sacrebleu={metadata.version('sacrebleu')}",
        f"refs=sha256:{references_hash(matched.references, matched.ids)}",
    ]
    return "|".join(parts)


def _sources(path: str | None, preds: dict[str, Record], ids: list[str]) -> dict[str, str]:
    """Source text per id: from --sources, else the prediction record's own `text`."""
    given = read_by_id(path)[0] if path else {}
    out = {}
    for id_ in ids:
        record = given.get(id_) or preds.get(id_)
        if record is not None and isinstance(record.text, str) and record.text.strip():
            out[id_] = record.text
    return out


def _lead3(sources: dict[str, str], matched: Matched, rouge_options: RougeOptions) -> dict:
    from models.extractive import Lead

    lead = Lead(3)
    rows = [
        (id_, ref)
        for id_, ref in zip(matched.ids, matched.references, strict=True)
        if id_ in sources
    ]
    if not rows:
        return {"pairs": 0}
    summaries = [lead.summarize(sources[id_]) for id_, _ in rows]
    pairs = rouge_pairs(summaries, [ref for _, ref in rows], rouge_options)
    return {"pairs": len(rows), "rouge": aggregate_rouge(pairs, rouge_options)}


def _translation(
    preds: dict[str, Record], references: dict[str, Record], ids: list[str], options: EvalOptions
) -> dict | None:
    """BLEU/chrF/TER when predictions and references both carry the English field."""
    field = f"{options.pred_field}_en" if options.pred_field in ("summary", "text") else None
    if field is None:
        return None
    hyps, refs = [], []
    for id_ in ids:
        hyp, ref = value(preds[id_], field), value(references[id_], field)
        if isinstance(hyp, str) and isinstance(ref, str) and ref.strip():
            hyps.append(hyp)
            refs.append(ref)
    if not hyps:
        return None
    scores = translation_scores(hyps, refs, BootstrapOptions(options.n_resamples, options.seed))
    return {"field": field, "pairs": len(hyps), **scores}


def _per_record(matched, pairs, preds, sources, options) -> list[dict[str, Any]]:
    rows = []
    for i, id_ in enumerate(matched.ids):
        prediction, reference = matched.predictions[i], matched.references[i]
        row: dict[str, Any] = {"id": id_}
        row.update({metric: round(100 * float(pairs[metric][i, 2]), 4) for metric in pairs})
        row["prediction_words"] = len(prediction.split())
        row["reference_words"] = len(reference.split())
        source = sources.get(id_)
        if source:
            summary_en = value(preds[id_], f"{options.pred_field}_en")
            checks = record_checks(prediction, source, summary_en, options.lang)
            row["checks"] = checks
            row["unsupported_numbers"] = checks["unsupported_numbers"]
        rows.append(row)
    return rows


def _compare(options, references, ref_field, rouge_options, matched, pairs) -> dict[str, Any]:
    """Paired bootstrap against another system, on the ids both systems can be scored on."""
    other, _ = read_by_id(options.compare)
    theirs = match(other, references, options.pred_field, ref_field)
    common = [i for i in matched.ids if i in set(theirs.ids)]
    if not common:
        raise NewsumError(f"--compare: no id of {options.compare} matches the scored ids")
    mine_rows = [matched.ids.index(i) for i in common]
    their_text = dict(zip(theirs.ids, theirs.predictions, strict=True))
    refs = [matched.references[k] for k in mine_rows]
    their_pairs = rouge_pairs([their_text[i] for i in common], refs, rouge_options)
    my_pairs = {metric: values[mine_rows] for metric, values in pairs.items()}
    return {
        "other": options.compare,
        "pairs": len(common),
        "metrics": compare_rouge(my_pairs, their_pairs, rouge_options),
    }


def _sample(records: dict[str, Record]) -> str:
    ids = list(records)[:3]
    return ", ".join(repr(i) for i in ids) if ids else "(none)"

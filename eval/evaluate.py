"""One evaluation: predictions against references (and sources), as a report dict.

`evaluate(predictions, options)` returns the dict every report format renders
(eval.report). Its keys, the contract with the renderer:

- newsum: the version of newsum that scored.
- signature: one line to reproduce the numbers (versions, `rouge:tok=...`, stemming,
  sentence splitting, pairs, resampling, sacrebleu, a hash of the scored references).
- systems: {"name": the scored system, "compare_name": the --compare one or None}.
  Names come from --name/--compare-name, else the run's models when the predictions are
  a run's output ("lead-3", "csebuetnlp/mT5_multilingual_XLSum + Helsinki-NLP/opus-mt-fr-en"),
  else the file or folder name without its extension.
- rouge_tokenizer: "fr", "en" or "compat" (from the scored field's language unless given).
- scored_field: the prediction field actually scored ("summary", "summary_en", ...).
- notes: sentences about choices made for the user (e.g. a translation-only file scored
  on `summary_en`); [] when none.
- inputs: {"predictions", "references", "sources", "pred_field" (as asked), "ref_field"}.
- counts: references, predictions, matched, missing, extra, unscored, missing_ids,
  extra_ids, unscored_ids ([{"id", "reason"}], the reason says which side lacks text in
  which field, and the prediction's status and reason), repeated_reference_ids,
  repeated_prediction_ids.
- rouge: {metric: {"precision", "recall", "fmeasure", "ci_low", "ci_high"}}, 0-100, over
  the matched pairs. English fields (translation-only files too) are scored with the
  English tokenizer.
- translation: (when English hypotheses and references exist) {"field", "ref_field",
  "pairs", "bleu"|"chrf"|"ter": {"score", "ci_low", "ci_high", "signature", "bootstrap"}}.
- faithfulness: (when sources exist) eval.faithfulness.aggregate over per-record checks.
- baseline: (when sources exist and the scored field is French) {"lead-3": {"pairs",
  "rouge", "compare": {metric: {"diff", "p_value", "ci_low", "ci_high"}}}}: lead-3 of the
  same sources scored on the same references; `compare` is the paired bootstrap of the
  system against lead-3 on those pairs, diff = system - lead-3 (positive: the system wins).
- compare: (with --compare) {"other": path, "name", "pairs", "metrics": {metric: {"diff",
  "p_value", "ci_low", "ci_high"}}}, diff = system - other, on the ids both can be scored on.
- run: None, or when the predictions are a run's output (OUTDIR, OUTDIR/shards or a file
  in it): {"outdir", "models", "started", "ended", "counts", "reused", "problems": {
  "warnings": {code: {"count": records, "ids": first 200}}, "duplicates": {"count", "ids"},
  "skipped": {"count", "items": [{"id", "reason"}]}, "error": {"count", "items"}}}, over
  the prediction records read (the first record of a repeated id).
- per_record: one row per matched pair, in reference order: id; rouge1, rouge2, rougeL,
  rougeLsum (F, 0-100); prediction_words, reference_words; prediction, reference (the
  scored texts); source (the cleaned article, or None); translation (the prediction's
  English field, `summary_en`/`text_en`, or None); removed (the cleaner's [{rule, text}]);
  warnings (the record's [{code, message}]); unsupported_numbers (numbers of the summary
  the source lacks; [] without a source); number_mismatches ({"missing_in_en",
  "extra_in_en"} between the French summary and its translation, or None without both);
  checks (eval.faithfulness.record_checks; only when a source exists; for an English-only
  prediction: words, numbers and its numbers missing from the French source).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from newsum.pipeline import __version__
from newsum.pipeline.core.errors import NewsumError
from newsum.pipeline.core.layout import MANIFEST, PARQUET_DIR, SHARD_DIR, read_json
from newsum.pipeline.core.readers import ReadOptions
from newsum.pipeline.core.record import ERROR, SKIPPED, Record
from newsum.pipeline.core.sentences import split_sentences

from .bootstrap import BootstrapOptions
from .data import Matched, has_text, match, preset_for, read_by_id, references_hash, value
from .faithfulness import aggregate, extract_numbers, number_mismatches, record_checks, word_count
from .rouge import RougeOptions, aggregate_rouge, compare_rouge, rouge_pairs, rouge_signature
from .translation import translation_scores

# Ids listed per problem kind in `run.problems`: enough to act on, bounded for big runs.
LIST_LIMIT = 200


@dataclass(frozen=True)
class EvalOptions:
    """Everything that changes a report; the defaults are the CLI's."""

    references: str
    sources: str | None = None
    compare: str | None = None
    pred_field: str = "summary"
    ref_field: str | None = None  # None: the scored field when English, else the preset's
    rouge_tokenizer: str | None = None  # None: "en" for an English field, else "fr"
    stem: bool = True
    n_resamples: int = 1000
    seed: int = 12345
    lang: str = "fr"
    name: str | None = None
    compare_name: str | None = None

    def rouge(self, field: str) -> RougeOptions:
        tokenizer = self.rouge_tokenizer or ("en" if is_english(field) else "fr")
        return RougeOptions(
            tokenizer=tokenizer,  # type: ignore[arg-type]
            stem=self.stem,
            split_sentences=True,  # rougeLsum needs one sentence a line
            bootstrap=BootstrapOptions(self.n_resamples, self.seed),
        )


def is_english(field: str) -> bool:
    """`summary_en`, `text_en`: newsum names its English fields this way."""
    return field.endswith("_en")


def evaluate(predictions: str, options: EvalOptions) -> dict[str, Any]:
    preset = preset_for(options.references)
    outdir, pred_spec = run_folder(predictions)
    references, repeated_refs = read_by_id(
        options.references,
        ReadOptions(
            text_field=preset.get("text_field", "text"), id_field=preset.get("id_field", "id")
        ),
    )
    preds, repeated_preds = read_by_id(pred_spec)
    field, notes = scored_field(preds, options.pred_field)
    # English is scored against English: a French reference would make every number moot.
    ref_field = options.ref_field or (
        field if is_english(field) else preset.get("ref_field", "summary")
    )
    matched = match(preds, references, field, ref_field)
    if not matched.ids:
        raise NewsumError(
            f"no prediction matched a reference by id with text in {field!r} "
            f"(predictions) and {ref_field!r} (references); ids look like "
            f"{_sample(preds)} and {_sample(references)}. Check --pred-field/--ref-field."
        )
    rouge_options = options.rouge(field)
    pairs = rouge_pairs(matched.predictions, matched.references, rouge_options)
    counts = {
        "references": len(references),
        "predictions": len(preds),
        **matched.counts(),
        "repeated_reference_ids": repeated_refs,
        "repeated_prediction_ids": repeated_preds,
    }
    manifest = _manifest(outdir)
    report: dict[str, Any] = {
        "newsum": __version__,
        "signature": _signature(rouge_options, matched, manifest),
        "systems": {
            "name": options.name or system_name(predictions, outdir, manifest),
            "compare_name": None,
        },
        "rouge_tokenizer": rouge_options.tokenizer,
        "scored_field": field,
        "notes": notes,
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
    if sources and not is_english(field):
        report["baseline"] = {"lead-3": _lead3(sources, matched, pairs, rouge_options)}
    translation = _translation(preds, references, matched.ids, field, ref_field, options)
    if translation:
        report["translation"] = translation
    per_record = _per_record(matched, pairs, preds, sources, field, options.lang)
    checks = [r["checks"] for r in per_record if "checks" in r]
    if checks:
        report["faithfulness"] = aggregate(checks)
    if options.compare:
        compare = _compare(options, references, field, ref_field, rouge_options, matched, pairs)
        report["compare"] = compare
        report["systems"]["compare_name"] = compare["name"]
    report["run"] = _run(outdir, manifest, preds) if outdir else None
    report["per_record"] = per_record
    return report


# ---- what is scored, and under which name ---------------------------------------------------


def run_folder(spec: str) -> tuple[Path | None, str]:
    """(OUTDIR, what to read) when `spec` is a run's output, else (None, spec).

    A run's output is OUTDIR (read through its shards: the folder also holds the manifest,
    errors.jsonl and reports), OUTDIR/shards or OUTDIR/parquet, or one file in those.
    """
    if spec == "-" or spec.startswith("hf:"):
        return None, spec
    path = Path(spec)
    if path.is_dir() and (path / MANIFEST).is_file():
        return path, str(path / SHARD_DIR)
    folder = path if path.is_dir() else path.parent
    if folder.name in (SHARD_DIR, PARQUET_DIR) and (folder.parent / MANIFEST).is_file():
        return folder.parent, spec
    return None, spec


def _manifest(outdir: Path | None) -> dict[str, Any]:
    if outdir is None:
        return {}
    data, _ = read_json(outdir / MANIFEST)
    # A damaged manifest costs the run's details, not the scores.
    return data if isinstance(data, dict) else {}


def system_name(spec: str, outdir: Path | None, manifest: dict[str, Any]) -> str:
    """The run's model ids ("summarizer + translator"), else the input's name."""
    models = manifest.get("models") or {}
    ids = [
        (models.get(stage) or {}).get("id")
        for stage in ("summarizer", "translator")
        if isinstance(models.get(stage), dict)
    ]
    ids = [i for i in ids if i]
    if ids:
        return " + ".join(ids)
    if spec == "-":
        return "stdin"
    path = outdir or Path(spec.removeprefix("hf:"))
    name = path.name.removesuffix(".gz")
    return Path(name).stem or name


def scored_field(preds: dict[str, Record], pred_field: str) -> tuple[str, list[str]]:
    """The field to score and a note when it is not the one asked for.

    A translation-only file (`id` and `summary_en` or `text_en`, no `summary`) is scored
    on its English field rather than refused.
    """
    if pred_field != "summary" or any(has_text(value(r, pred_field)) for r in preds.values()):
        return pred_field, []
    for english in ("summary_en", "text_en"):
        if any(has_text(value(r, english)) for r in preds.values()):
            note = (
                f"translation-only predictions: no record has text in {pred_field!r}, so "
                f"{english!r} is scored (BLEU, chrF, TER, and ROUGE with the English tokenizer)"
            )
            return english, [note]
    return pred_field, []


# ---- the parts of the report ---------------------------------------------------------------


def _signature(rouge_options: RougeOptions, matched: Matched, manifest: dict[str, Any]) -> str:
    """One line to reproduce the report: versions, tokenizer, stemming, pairs, resampling,
    a hash of the references, and for a run of instruct LLMs the hash of its prompts."""
    parts = [
        f"newsum={__version__}",
        rouge_signature(rouge_options, len(matched.ids)),
        f"sacrebleu={metadata.version('sacrebleu')}",
        f"refs=sha256:{references_hash(matched.references, matched.ids)}",
    ]
    models = manifest.get("models") or {}
    prompts = {
        stage["prompts"]["sha256"]
        for stage in models.values()
        if isinstance(stage, dict) and isinstance(stage.get("prompts"), dict)
    }
    parts += [f"prompts=sha256:{digest}" for digest in sorted(prompts)]
    return "|".join(parts)


def _sources(path: str | None, preds: dict[str, Record], ids: list[str]) -> dict[str, str]:
    """Source text per id: from --sources, else the prediction record's own `text`."""
    given = read_by_id(path)[0] if path else {}
    out = {}
    for id_ in ids:
        record = given.get(id_) or preds.get(id_)
        if record is not None and has_text(record.text):
            out[id_] = record.text
    return out


def lead(text: str, n: int = 3, lang: str = "fr") -> str:
    """The first `n` sentences of `text`: what `newsum summarize -m lead-N` writes (eval
    does not import models, so the baseline is written here; a test keeps them equal)."""
    return " ".join(split_sentences(text, lang)[:n])


def _lead3(sources: dict[str, str], matched: Matched, pairs, rouge_options: RougeOptions) -> dict:
    """Lead-3 on the pairs that have a source, and the system against it on those pairs."""
    rows = [i for i, id_ in enumerate(matched.ids) if id_ in sources]
    if not rows:
        return {"pairs": 0}
    summaries = [lead(sources[matched.ids[i]]) for i in rows]
    lead_pairs = rouge_pairs(summaries, [matched.references[i] for i in rows], rouge_options)
    system = {metric: values[rows] for metric, values in pairs.items()}
    return {
        "pairs": len(rows),
        "rouge": aggregate_rouge(lead_pairs, rouge_options),
        "compare": compare_rouge(system, lead_pairs, rouge_options),
    }


def _translation(
    preds: dict[str, Record],
    references: dict[str, Record],
    ids: list[str],
    field: str,
    ref_field: str,
    options: EvalOptions,
) -> dict | None:
    """BLEU/chrF/TER when predictions and references both carry English text."""
    if is_english(field):
        hyp_field, gold_field = field, ref_field
    elif field in ("summary", "text"):
        hyp_field = gold_field = f"{field}_en"
    else:
        return None
    hyps, refs = [], []
    for id_ in ids:
        hyp, ref = value(preds[id_], hyp_field), value(references[id_], gold_field)
        if isinstance(hyp, str) and has_text(ref):
            hyps.append(hyp)
            refs.append(ref)
    if not hyps:
        return None
    scores = translation_scores(hyps, refs, BootstrapOptions(options.n_resamples, options.seed))
    return {"field": hyp_field, "ref_field": gold_field, "pairs": len(hyps), **scores}


def _per_record(matched, pairs, preds, sources, field, lang) -> list[dict[str, Any]]:
    english_field = field if is_english(field) else f"{field}_en"
    french_field = field.removesuffix("_en")
    rows = []
    for i, id_ in enumerate(matched.ids):
        record = preds[id_]
        prediction, reference = matched.predictions[i], matched.references[i]
        english = value(record, english_field)
        english = english if has_text(english) else None
        french = value(record, french_field)
        french = french if has_text(french) else None
        row: dict[str, Any] = {"id": id_}
        row.update({metric: round(100 * float(pairs[metric][i, 2]), 4) for metric in pairs})
        row["prediction_words"] = len(prediction.split())
        row["reference_words"] = len(reference.split())
        row["prediction"] = prediction
        row["reference"] = reference
        row["source"] = sources.get(id_)
        row["translation"] = english
        row["removed"] = record.removed
        row["warnings"] = record.warnings
        row["unsupported_numbers"] = []
        row["number_mismatches"] = (
            number_mismatches(french, english, lang) if french and english else None
        )
        source = sources.get(id_)
        if source:
            checks = (
                record_checks(french, source, english, lang)
                if french
                else _english_checks(english or prediction, source, lang)
            )
            row["checks"] = checks
            row["unsupported_numbers"] = checks["unsupported_numbers"]
        rows.append(row)
    return rows


def _english_checks(english: str, source: str, lang: str) -> dict[str, Any]:
    """Checks of a translation with no French summary beside it: the cross-language part
    only (novel n-grams against a French source would say nothing)."""
    return {
        "summary_words": word_count(english),
        "source_words": word_count(source),
        "summary_numbers": len(extract_numbers(english, "en")),
        # numbers of the English text with no counterpart in the source
        "unsupported_numbers": number_mismatches(source, english, lang)["extra_in_en"],
    }


def _compare(options, references, field, ref_field, rouge_options, matched, pairs) -> dict:
    """Paired bootstrap against another system, on the ids both systems can be scored on."""
    outdir, spec = run_folder(options.compare)
    other, _ = read_by_id(spec)
    theirs = match(other, references, field, ref_field)
    their_ids = set(theirs.ids)
    common = [i for i in matched.ids if i in their_ids]
    if not common:
        raise NewsumError(
            f"--compare: no id of {options.compare} has text in {field!r} and matches the "
            "scored ids"
        )
    position = {id_: k for k, id_ in enumerate(matched.ids)}
    mine_rows = [position[i] for i in common]
    their_text = dict(zip(theirs.ids, theirs.predictions, strict=True))
    refs = [matched.references[k] for k in mine_rows]
    their_pairs = rouge_pairs([their_text[i] for i in common], refs, rouge_options)
    my_pairs = {metric: values[mine_rows] for metric, values in pairs.items()}
    name = options.compare_name or system_name(options.compare, outdir, _manifest(outdir))
    return {
        "other": options.compare,
        "name": name,
        "pairs": len(common),
        "metrics": compare_rouge(my_pairs, their_pairs, rouge_options),
    }


def _run(outdir: Path, manifest: dict[str, Any], preds: dict[str, Record]) -> dict[str, Any]:
    """What the run says about itself, and what went wrong in the records scored."""
    return {
        "outdir": str(outdir),
        "models": manifest.get("models"),
        "started": manifest.get("started"),
        "ended": manifest.get("ended"),
        "counts": manifest.get("counts"),
        "reused": manifest.get("reused", 0),
        "problems": problems(preds.values()),
    }


def problems(records) -> dict[str, Any]:
    """Warnings by code, duplicates, skipped and error records, each counted and listed."""
    warnings: dict[str, dict[str, Any]] = {}
    duplicates: list[str] = []
    skipped: list[dict[str, str]] = []
    errors: list[dict[str, str]] = []
    for record in records:
        codes = {w.get("code") or "?" for w in record.warnings if isinstance(w, dict)}
        for code in sorted(codes):  # a record counts once per code
            entry = warnings.setdefault(code, {"count": 0, "ids": []})
            entry["count"] += 1
            if len(entry["ids"]) < LIST_LIMIT:
                entry["ids"].append(record.id)
        if record.duplicate_of:
            duplicates.append(record.id)
        if record.status == SKIPPED:
            skipped.append({"id": record.id, "reason": record.reason})
        elif record.status == ERROR:
            errors.append({"id": record.id, "reason": record.reason})
    return {
        "warnings": dict(sorted(warnings.items())),
        "duplicates": {"count": len(duplicates), "ids": duplicates[:LIST_LIMIT]},
        "skipped": {"count": len(skipped), "items": skipped[:LIST_LIMIT]},
        "error": {"count": len(errors), "items": errors[:LIST_LIMIT]},
    }


def _sample(records: dict[str, Record]) -> str:
    ids = list(records)[:3]
    return ", ".join(repr(i) for i in ids) if ids else "(none)"

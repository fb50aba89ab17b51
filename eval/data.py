"""Predictions, references and sources: read, matched by id, nothing silently dropped."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from newsum.pipeline.core.readers import ReadOptions, read_inputs
from newsum.pipeline.core.record import FIELD_NAMES, Record

# Column layouts of the reference sets users compare with (`datasets` names).
REFERENCE_PRESETS: dict[str, dict[str, str]] = {
    "mlsum": {"ref_field": "summary", "text_field": "text"},  # rows have no id column
    "orange_sum": {"ref_field": "summary", "text_field": "text"},
    "orangesum": {"ref_field": "summary", "text_field": "text"},
    "xlsum": {"ref_field": "summary", "text_field": "text", "id_field": "id"},
}


def value(record: Record, name: str) -> Any:
    """A record field by name, known field or extra input column."""
    return getattr(record, name) if name in FIELD_NAMES else record.extra.get(name)


def has_text(text: Any) -> bool:
    """A string with something besides whitespace: what a field needs to be scored."""
    return isinstance(text, str) and bool(text.strip())


def preset_for(spec: str) -> dict[str, str]:
    """The column preset of an hf: reference spec, by the dataset's name."""
    if not spec.startswith("hf:"):
        return {}
    name = spec[3:].split(":")[0].rstrip("/").rsplit("/", 1)[-1].lower()
    return REFERENCE_PRESETS.get(name, {})


def read_by_id(
    spec: str, options: ReadOptions | None = None
) -> tuple[dict[str, Record], list[str]]:
    """Records of an input keyed by id, and the ids that appeared more than once (the
    first record of a repeated id is kept)."""
    out: dict[str, Record] = {}
    repeated: list[str] = []
    # Evaluation counts repeated ids itself (they are reported, not renamed).
    for record in read_inputs([spec], options or ReadOptions(), unique_ids=False):
        if record.id in out:
            repeated.append(record.id)
        else:
            out[record.id] = record
    return out, repeated


@dataclass
class Matched:
    """Ids in reference order, with what each side holds, and what could not be paired."""

    ids: list[str] = field(default_factory=list)
    predictions: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # references without a prediction
    extra: list[str] = field(default_factory=list)  # predictions without a reference
    unscored: list[dict[str, str]] = field(default_factory=list)  # present, but no text

    def counts(self) -> dict[str, Any]:
        return {
            "matched": len(self.ids),
            "missing": len(self.missing),
            "extra": len(self.extra),
            "unscored": len(self.unscored),
            "missing_ids": self.missing,
            "extra_ids": self.extra,
            "unscored_ids": self.unscored,
        }


def match(
    predictions: dict[str, Record], references: dict[str, Record], pred_field: str, ref_field: str
) -> Matched:
    """Pair predictions with references by id.

    A prediction record that exists but has no usable text in `pred_field` (an error or
    a skipped record) is listed as unscored with its reason; a reference without text
    likewise. Only pairs with text on both sides are scored.
    """
    out = Matched()
    for id_, ref in references.items():
        pred = predictions.get(id_)
        if pred is None:
            out.missing.append(id_)
            continue
        pred_text, ref_text = value(pred, pred_field), value(ref, ref_field)
        if not has_text(pred_text):
            reason = f"prediction has no text in {pred_field!r}"
            if not pred.ok:  # the run said why: an error or a skipped article
                reason += f" (status {pred.status}: {pred.reason})"
            out.unscored.append({"id": id_, "reason": reason})
        elif not has_text(ref_text):
            out.unscored.append({"id": id_, "reason": f"reference has no text in {ref_field!r}"})
        else:
            out.ids.append(id_)
            out.predictions.append(pred_text)
            out.references.append(ref_text)
    out.extra = [id_ for id_ in predictions if id_ not in references]
    return out


def references_hash(references: list[str], ids: list[str]) -> str:
    """A short fingerprint of the scored references, for the signature."""
    digest = hashlib.sha256()
    for id_, text in zip(ids, references, strict=True):
        digest.update(id_.encode() + b"\0" + text.encode() + b"\0")
    return digest.hexdigest()[:12]

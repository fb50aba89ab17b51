"""The one record type that flows through every stage."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

OK = "ok"
SKIPPED = "skipped"
ERROR = "error"
STATUSES = (OK, SKIPPED, ERROR)


@dataclass(slots=True)
class Record:
    """One article. Stages add fields; none drops a record.

    `text` is usually a string, but a record read from bad input keeps whatever value the
    input held (so nothing is lost) and carries `status` error with a `reason`.
    Input fields newsum does not know are kept in `extra` and written back unchanged.
    """

    id: str
    text: Any = None
    html: str | None = None
    title: str | None = None
    author: str | None = None
    date: str | None = None
    url: str | None = None
    source: str | None = None
    lang: str | None = None
    lang_score: float | None = None
    removed: list[dict[str, str]] = field(default_factory=list)
    duplicate_of: str | None = None
    status: str = OK
    reason: str | None = None
    summary: str | None = None
    summary_en: str | None = None
    text_en: str | None = None
    chunks: int | None = None
    warnings: list[dict[str, str]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == OK

    def mark(self, status: str, reason: str) -> Record:
        """Set a non-ok status; the reason is required so a user always learns why."""
        if status not in (SKIPPED, ERROR) or not reason:
            raise ValueError(f"mark() needs 'skipped' or 'error' and a reason, got {status!r}")
        self.status, self.reason = status, reason
        return self

    def warn(self, code: str, message: str) -> None:
        """Note a doubt about the record that does not stop it: `code` names the kind
        (`body-shrunk`, `translation-truncated`, ...) for tallies and filters."""
        self.warnings.append({"code": code, "message": message})

    def remove(self, rule: str, text: str) -> None:
        """Note a span the cleaner took out of the body, and the rule that took it."""
        self.removed.append({"rule": rule, "text": text})

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of this record: fields that are set, then the extra input fields."""
        out: dict[str, Any] = {}
        for name in _FIELD_NAMES:
            value = getattr(self, name)
            if value is None or (name in ("removed", "warnings") and not value):
                continue
            out[name] = value
        for key, value in self.extra.items():
            out.setdefault(key, value)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any], default_id: str) -> Record:
        """Rebuild a record from a JSON object: known fields by name, the rest into `extra`."""
        known = {k: v for k, v in data.items() if k in _FIELD_NAMES}
        # An input field called "extra" is an input field like any other.
        extra = {k: v for k, v in data.items() if k not in _FIELD_NAMES}
        raw_id = known.pop("id", None)
        record = cls(id=default_id if raw_id in (None, "") else str(raw_id), extra=extra)
        for name, value in known.items():
            setattr(record, name, value)
        if not isinstance(record.removed, list):
            record.removed = []
        if not isinstance(record.warnings, list):
            record.warnings = []
        # A status from the input is kept (a record an earlier stage refused stays refused),
        # but the invariant holds: a reason exactly when the record is not ok.
        if record.status not in STATUSES:
            record.status = OK
        if record.status == OK:
            record.reason = None
        elif not record.reason:
            record.reason = f"marked {record.status} in the input"
        return record


_FIELD_NAMES = tuple(f.name for f in fields(Record) if f.name != "extra")
FIELD_NAMES = frozenset(_FIELD_NAMES)

"""Which languages a stage takes: the rule every model stage applies to a record's `lang`."""

from __future__ import annotations

from newsum.pipeline.core.record import Record


def language_refusal(lang: str | None, languages: tuple[str, ...], who: str = "this stage"):
    """Why `who` skips a record in language `lang`, or None when it takes it.

    `languages` lists ISO 639-1 codes, or "*" for any; a record with no detected
    language is taken (the user gave it on purpose).
    """
    if "*" in languages or not lang or lang in languages:
        return None
    return (
        f"language is {lang!r}; {who} takes {', '.join(languages)} (allow others with --languages)"
    )


def by_language(records: list[Record], default: str = "fr") -> dict[str, list[Record]]:
    """Records grouped by `lang` (in order), for stages that tell the model the language."""
    groups: dict[str, list[Record]] = {}
    for record in records:
        groups.setdefault(record.lang or default, []).append(record)
    return groups

"""Steps: title and byline/date lines move out of the body into metadata."""

from __future__ import annotations

import datetime
import re
from collections import Counter

from ..record import Record
from ..step import Step
from .boilerplate import match_key

# ---- dates -------------------------------------------------------------------------

MONTHS = {
    "janvier": 1, "janv": 1, "février": 2, "fevrier": 2, "févr": 2, "fév": 2, "mars": 3,
    "avril": 4, "avr": 4, "mai": 5, "juin": 6, "juillet": 7, "juil": 7, "août": 8,
    "aout": 8, "septembre": 9, "sept": 9, "octobre": 10, "oct": 10, "novembre": 11,
    "nov": 11, "décembre": 12, "decembre": 12, "déc": 12, "dec": 12,
}  # fmt: skip
_TIME = r"(?:\s*(?:,|à|-)?\s*(?P<hour>\d{1,2})\s*[h:]\s*(?P<minute>\d{2})?(?:\s*min)?)?"
_DATE_FORMS = [
    re.compile(
        r"(?:(?:lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche)\s+)?"
        r"(?P<day>\d{1,2})(?:er)?\s+(?P<month>[a-zéû]+)\.?\s+(?P<year>\d{4})" + _TIME,
        re.IGNORECASE,
    ),
    re.compile(r"(?P<day>\d{1,2})[/.](?P<month>\d{1,2})[/.](?P<year>\d{4})" + _TIME),
    re.compile(
        r"(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})"
        r"(?:[T ](?P<hour>\d{2}):(?P<minute>\d{2}))?"
    ),
]  # fmt: skip


def parse_french_date(text: str) -> str | None:
    """ISO 8601 for "14 mars 2024", "1er mars 2024 à 10h05", "14/03/2024", "2024-03-14".

    Returns None when no valid date is found; a time is kept when one is given.
    """
    for form in _DATE_FORMS:
        m = form.search(text)
        if not m:
            continue
        month = m["month"]
        month_num = int(month) if month.isdigit() else MONTHS.get(month.lower())
        try:
            iso = datetime.date(int(m["year"]), month_num or 0, int(m["day"])).isoformat()
        except ValueError:  # "31 février", month 13, unknown month name
            continue
        hour = m.groupdict().get("hour")
        if hour is not None and int(hour) < 24:
            iso += f"T{int(hour):02d}:{int(m['minute'] or 0):02d}"
        return iso
    return None


# ---- bylines -----------------------------------------------------------------------

# A name: a capitalised first word, then up to seven words (particles like "le", "de"
# allowed), no digits and no sentence punctuation, so "Par la suite, ..." is no byline.
_NAME = r"(?P<author>[A-ZÀ-Ý][\w'’.-]*(?:\s+(?:[\w'’.-]+|&)){0,7}?)(?:\s*\((?:avec )?[A-Z]{2,5}\))?"
_BYLINES = [
    # "Le 14 mars 2024, par Jean Martin" and the empty "Le , par Jean Martin"
    re.compile(r"le\s*(?P<date>[^,]{0,60}?)\s*,\s*par\s+" + _NAME, re.IGNORECASE),
    # "Par Jean Martin, publié le 14 mars 2024 à 10h05" and "Par Jean Martin"
    re.compile(
        r"par\s+" + _NAME + r"(?:\s*[,|–—-]\s*(?:(?:publié|mis en ligne|mis à jour)\s+)?"
        r"(?:le\s+)?(?P<date>.{4,80}))?",
        re.IGNORECASE,
    ),
    # "Publié le 14 mars 2024 à 10h05 (modifié le ...)", optionally "... par Jean Martin"
    re.compile(
        r"(?:publié|mis en ligne)\s+le\s+(?P<date>\d.{3,60}?)(?:\s*,?\s+par\s+" + _NAME + ")?"
        r"(?:\s*[,.(-]?\s*(?:modifié|mis à jour)\s+le\s+.*)?\)?",
        re.IGNORECASE,
    ),
]
BYLINE_MAX_CHARS = 150


def parse_byline(line: str) -> tuple[str | None, str | None] | None:
    """(author, date) when the whole line is a byline, else None; the date is ISO 8601."""
    if len(line) > BYLINE_MAX_CHARS:
        return None
    key = match_key(line)
    for form in _BYLINES:
        m = form.fullmatch(key)
        if not m:
            continue
        author = (m.groupdict().get("author") or "").strip() or None
        if author and not author[0].isupper():
            continue  # re.IGNORECASE lets a lowercase word through; names are capitalised
        raw_date = (m.groupdict().get("date") or "").strip(" ,.")
        date = parse_french_date(raw_date) if raw_date else None
        if raw_date and not date:
            continue  # "Le président, par ..." or "Par Jean, qui ..." is a sentence
        return author, date
    return None


class ExtractByline(Step):
    """Byline and date lines ("Le 14 mars 2024, par Jean Martin") become `author`/`date`."""

    name = "byline"

    def process(self, record: Record) -> None:
        kept = []
        for line in record.text.split("\n"):
            found = parse_byline(line)
            if found is None:
                kept.append(line)
                continue
            author, date = found
            record.author = record.author or author
            record.date = record.date or date
            record.remove(self.name, line)
        record.text = "\n".join(kept)


# ---- titles ------------------------------------------------------------------------

TITLE_MAX_CHARS = 250
_TITLE_WORDS = 3


def _title_key(line: str) -> str:
    return match_key(line).casefold().rstrip(" .")


def looks_like_title(line: str) -> bool:
    """A short line that does not end like a sentence of body text."""
    line = line.strip()
    return 0 < len(line) <= TITLE_MAX_CHARS and not line.endswith((".", ",", ";", ":"))


class ExtractTitle(Step):
    """Title lines repeated in the body are kept once, as `title`.

    A known title (from the input or the HTML) is removed wherever it recurs in the body.
    With no title, lines that recur verbatim (news sites repeat title and subtitle in
    headers, footers and share blocks) are the candidates: the first is the title, the
    others (subtitles) are kept in `extra["subtitle"]`; every copy leaves the body.
    """

    name = "title"

    def process(self, record: Record) -> None:
        lines = record.text.split("\n")
        keys = [_title_key(line) if looks_like_title(line) else None for line in lines]
        counts = Counter(key for key in keys if key and len(key.split()) >= _TITLE_WORDS)
        drop = {key for key, n in counts.items() if n > 1}
        if record.title:
            drop.add(_title_key(record.title))
        elif drop:
            first_lines: dict[str, str] = {}  # in order of first appearance
            for line, key in zip(lines, keys, strict=True):
                if key in drop:
                    first_lines.setdefault(key, line)
            record.title, *subtitles = first_lines.values()
            if subtitles:
                record.extra.setdefault("subtitle", "\n".join(subtitles))
        kept = []
        for line, key in zip(lines, keys, strict=True):
            if key in drop:
                record.remove(self.name, line)
            else:
                kept.append(line)
        record.text = "\n".join(kept)

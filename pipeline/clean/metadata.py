"""Steps: title and byline/date lines move out of the body into metadata."""

from __future__ import annotations

import datetime
import re
from collections import Counter
from functools import lru_cache

from newsum.pipeline.core.record import Record
from newsum.pipeline.core.step import Step

from .boilerplate import Rules, match_key

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
    """ISO 8601 for "14 mars 2024", "1er mars 2024 à 10h05", "14/03/2024", "2024-03-14",
    "12/02/24 à 10h47" (day first).

    Returns None when no valid date is found; a time is kept when one is given. The three
    common forms above are read here in microseconds; anything else goes to dateparser.
    """
    return _parse_common_form(text) or _parse_with_dateparser(text)


def _parse_common_form(text: str) -> str | None:
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


# Day first ("02/10/2024" is 2 October), a full date required ("mardi 1er octobre" gives no
# year, "hier" is no date), absolute dates only.
_DATEPARSER_SETTINGS = {
    "DATE_ORDER": "DMY",
    "REQUIRE_PARTS": ["day", "month", "year"],
    "PARSERS": ["absolute-time"],
    "RETURN_AS_TIMEZONE_AWARE": False,
}
# Short dates as French sites print them ("12/02/24 à 10h47"): dateparser tries these
# strptime formats first, in 0.1 ms, before its general parser (about 1 ms).
_SHORT_DATE_FORMATS = [
    f"%d{sep}%m{sep}%y{time}" for sep in "/.-" for time in (" à %Hh%M", " %Hh%M", "")
]


@lru_cache(maxsize=4096)
def _parse_with_dateparser(text: str) -> str | None:
    """dateparser for the forms _DATE_FORMS does not know (two-digit years, ...).

    It takes 0.1 to 1 ms a call (the common forms: microseconds), so it only ever sees
    the date part of a byline line, never body text; a site's repeated dates are cached.
    """
    import dateparser  # loads its French data on first use: only when a date needs it

    try:
        parsed = dateparser.parse(
            text,
            date_formats=_SHORT_DATE_FORMATS,
            languages=["fr"],
            settings=_DATEPARSER_SETTINGS,
        )
    except Exception:  # a byline must never fail an article
        return None
    if parsed is None:
        return None
    # dateparser gives midnight when no time is written: "à 00h00" reads as no time.
    if parsed.hour or parsed.minute:
        return parsed.strftime("%Y-%m-%dT%H:%M")
    return parsed.date().isoformat()


# ---- bylines -----------------------------------------------------------------------

# A name: a capitalised first word, then up to seven words (particles like "le", "de"
# allowed), no digits and no sentence punctuation, so "Par la suite, ..." is no byline.
_NAME = r"(?P<author>[A-ZÀ-Ý][\w'’.-]*(?:\s+(?:[\w'’.-]+|&)){0,7}?)(?:\s*\((?:avec )?[A-Z]{2,5}\))?"
_PUBLISHED = r"(?:publié|mis en ligne)\s+le\s+(?P<date>\d.{3,60}?)"
_MODIFIED = r"(?:\s*[,.(|–—-]?\s*(?:modifié|mis à jour)\s+le\s+.*)?\)?"
# A signed name: a capitalised given name, particles, a capitalised surname ("Yann Le Berre",
# "Marie de La Tour", "Anne-Sophie L'Héritier"); several joined by "et". Whatever comes
# before it on the line (up to three capitalised words) is the site: "Ouest-France".
_CAPITALISED = r"(?-i:[A-ZÀ-Ý])[\w'’-]+"
_PERSON = _CAPITALISED + r"(?:\s+(?:de|du|des|d'|le|la|les|van|von|der|di|da))*\s+" + _CAPITALISED
_AUTHORS = rf"(?P<author>{_PERSON}(?:\s+(?:et|&)\s+{_PERSON})*)"
_SITE = r"(?:(?-i:[A-ZÀ-Ý0-9])[\w'’.-]*\s+){0,3}?"
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
    re.compile(_PUBLISHED + r"(?:\s*,?\s+par\s+" + _NAME + ")?" + _MODIFIED, re.IGNORECASE),
    # "Ouest-France Yann Le Berre. Publié le 02/10/2024 à 18h12 Modifié le ...": a signature
    # (the site's name, then the authors) on the date line
    re.compile(_SITE + _AUTHORS + r"\s*[.,|–—-]\s*" + _PUBLISHED + _MODIFIED, re.IGNORECASE),
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
# A kicker (surtitre) names the section above a headline: "SECURITE ROUTIERE", "Emploi".
KICKER_MAX_WORDS = 3


def _title_key(line: str) -> str:
    return match_key(line).casefold().rstrip(" .")


def looks_like_title(line: str) -> bool:
    """A short line that does not end like a sentence of body text."""
    line = line.strip()
    return 0 < len(line) <= TITLE_MAX_CHARS and not line.endswith((".", ",", ";", ":"))


def looks_like_kicker(line: str) -> bool:
    """A section name: one to three words, no digits, no punctuation at the end."""
    line = line.strip()
    return (
        0 < len(line.split()) <= KICKER_MAX_WORDS
        and looks_like_title(line)
        and not line.endswith(("?", "!"))
        and not any(c.isdigit() for c in line)
    )


def looks_like_headline(line: str) -> bool:
    return looks_like_title(line) and len(line.split()) > KICKER_MAX_WORDS


class ExtractTitle(Step):
    """Title lines repeated in the body are kept once, as `title`.

    A known title (from the input or the HTML) is removed wherever it recurs in the body.
    With no title, lines that recur verbatim (news sites repeat title and subtitle in
    headers, footers and share blocks) are the candidates: the first is the title, the
    others (subtitles) are kept in `extra["subtitle"]`; every copy leaves the body.
    Repeated toolbar lines ("Offrir cet article") are boilerplate, not subtitles: lines
    a boilerplate line rule takes are no candidates.

    A kicker above the headline is no title: when the title found is a kicker (a .txt
    file's first line) and the body starts with a headline, the headline is the title;
    a kicker line right above the title in the body leaves it (rule `kicker`).
    """

    name = "title"

    def __init__(self, rules: Rules | None = None) -> None:
        super().__init__()
        self.rules = rules or Rules.default()

    def process(self, record: Record) -> None:
        taken = not record.title  # a title the input gave (a feed's, a column) is kept
        if taken:
            self._take_first_line(record)
        self._drop_kicker(record, taken)
        lines = record.text.split("\n")
        keys = [_title_key(line) if looks_like_title(line) else None for line in lines]
        counts = Counter(key for key in keys if key and len(key.split()) >= _TITLE_WORDS)
        drop = {key for key, n in counts.items() if n > 1 and not self.rules.first_line_rule(key)}
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

    def _take_first_line(self, record: Record) -> None:
        """A text's first line is its title when it reads like one and body follows, after
        any site furniture above it (breadcrumb, share or date lines, which the
        boilerplate step removes later). Plain-text files start so, or straight with the
        body; their titles then show up repeated further down (see process)."""
        lines = record.text.lstrip("\ufeff").split("\n")
        first = next((i for i, line in enumerate(lines) if not self._is_furniture(line)), None)
        if first is None or not looks_like_title(lines[first]):
            return
        if "".join(lines[first + 1 :]).strip():
            record.title = lines.pop(first).strip()
            record.text = "\n".join(lines)

    def _is_furniture(self, line: str) -> bool:
        key = match_key(line)
        return (
            not key or parse_byline(key) is not None or self.rules.first_line_rule(key) is not None
        )

    def _drop_kicker(self, record: Record, taken: bool) -> None:
        if not record.title:
            return
        top = record.text.split("\n", 2)  # only the first two lines matter
        if taken and looks_like_kicker(record.title) and looks_like_headline(top[0]):
            # A .txt file's first line was the kicker: the headline under it is the title
            # (and leaves the body below with the other copies of the title).
            record.remove("kicker", record.title)
            record.title = top[0].strip()
        elif (
            len(top) > 1
            and looks_like_kicker(top[0])
            and _title_key(top[1]) == _title_key(record.title)
        ):
            record.remove("kicker", top[0])
            record.text = "\n".join(top[1:])

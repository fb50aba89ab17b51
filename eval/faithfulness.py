"""Faithfulness and shape checks of summaries, per record and aggregated.

Numbers are where summarizers hallucinate most visibly ("80 %" for "70 %"), so every
number, percentage, amount and date of a summary is normalised to a canonical value
and looked up in the source under any spelling:

    "9,5 millions d'euros" = "€9.5 million" = "9,5 M€"      -> amount 9_500_000
    "1 000" (space, NBSP U+00A0, NNBSP U+202F) = "1.000"     -> number 1000 (French)
    "1,5 milliard" = "1.5 billion"                           -> number 1.5e9
    "70 %" = "70%" = "70 pour cent" = "70 percent"           -> percent 70
    "22 février 2014" = "22/02/2014" = "February 22, 2014"   -> date "2014-02-22"

Reading rules (per language, `lang` is "fr" or "en"):
- French: comma is the decimal mark; space, NBSP, NNBSP or dot separate thousands
  ("1.000.000"); a dot not followed by groups of three digits is read as a decimal
  ("3.2 %", common in web text). English: dot is the decimal mark; comma (or a space)
  separates thousands only before groups of three digits ("1,5" reads as 1).
- Scale words multiply and may follow each other ("deux cent mille" = 200 000):
  FR mille, cent(s), million(s), milliard(s), billion(s) = 10^12 (the French
  billion!); EN hundred, thousand, million(s), billion(s) = 10^9, trillion(s).
  Abbreviations (FR k, M, Md, Mds, Mrd; EN k, m, mn, bn, tn) count only next to a
  currency ("9,5 M€", "€9.5m", "$2bn"), where they cannot be metres or minutes.
- Number words: FR deux..dix-neuf, vingt..soixante, cent, mille; EN two..nineteen,
  twenty..ninety. "un", "une", "a", "one" (articles) and French "neuf" (also "new")
  count only before a scale word ("un million", "a million", "neuf millions").
  Compounds such as "vingt-deux", "soixante-dix" or "twenty-two" are not read.
- Amounts: a currency before (€, $, £) or after (euros, dollars, livres sterling,
  pounds, EUR, USD, GBP, "d'euros", "de dollars"). The currency is noted on the
  mention ("EUR", "USD", "GBP"; every dollar is "USD") but matching is by value.
- Dates: day month year, day month, month year, in words ("1er mars", "22 février
  2014", "February 22nd, 2014", "22 February 2014", "Feb. 2014") or numeric day first
  ("22/02/2014", "22.02.2014", "22-02-2014"; in English "02/22/2014" is read month
  first only when the second field cannot be a month) or ISO "2014-02-22". English
  month names must be capitalised ("may" is a verb). A bare month is not a date.
  Values are ISO strings, partial dates included: "2014-02", "--02-22".
- Years: a four-digit integer from 1800 to 2100 without separators.
- Not covered: ordinals ("1er", "3e", "XXe siècle", "21st" are skipped, not
  numbers), Roman numerals, fractions ("un tiers"), signs ("-3 %" is 3 %), times
  ("14h30"), two-digit years, vague quantities ("des milliers", "dozens").

Support rules (the same for summary vs source and French vs English):
- equal values, no rounding tolerance ("86 %" is not supported by "85,6 %");
- a percent is supported only by a percent of that value;
- a plain number is supported by any number, year, amount or percent of that value
  (the summary may drop a unit: "70" in "70 %" is not invented);
- an amount by a number, year or amount of that value (not by a percent);
- a year by a year or number of that value, or by a date in that year;
- a date by a date agreeing on every part the summary gives: "22 février" is
  supported by "samedi 22 février 2014", "février 2014" by "22 février 2014", and
  "22 février 2014" by "22 février" when 2014 also appears in the source.

Shape: words are lowercase Unicode word runs (`\\w+`, so "l'État" is two words);
novel n-gram ratio is the share of the summary's n-gram occurrences absent from the
source; compression is source words / summary words. Ratios that are undefined (no
summary n-gram, empty summary) are None, and `aggregate` skips them.
"""

from __future__ import annotations

import calendar
import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "Mention",
    "aggregate",
    "compression_ratio",
    "extract_numbers",
    "novel_ngram_ratio",
    "number_mismatches",
    "record_checks",
    "unsupported_numbers",
    "word_count",
]

Kind = Literal["number", "percent", "amount", "date", "year"]


@dataclass(frozen=True, slots=True)
class Mention:
    """One number mention: surface text, kind, canonical value.

    `value` is a float for number, percent, amount and year, and an ISO string for a
    date ("2014-02-22", "2014-02" or "--02-22"). `start`/`end` are offsets into the
    NFC-normalised text (the same as the input for cleaned text, which is NFC).
    """

    text: str
    kind: Kind
    value: float | str
    start: int
    end: int
    currency: str | None = None


# --- word lists --------------------------------------------------------------------

_SP = "[ \u00a0\u202f]"  # space, no-break space, narrow no-break space (French typography)

_WORDS = {
    "fr": dict(
        zip(
            "deux trois quatre cinq six sept huit dix onze douze treize quatorze quinze "
            "seize dix-sept dix-huit dix-neuf vingt trente quarante cinquante soixante "
            "cent mille".split(),
            [*range(2, 9), *range(10, 21), 30, 40, 50, 60, 100, 1000],
            strict=True,
        )
    ),
    "en": dict(
        zip(
            "two three four five six seven eight nine ten eleven twelve thirteen fourteen "
            "fifteen sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty "
            "seventy eighty ninety".split(),
            [*range(2, 21), 30, 40, 50, 60, 70, 80, 90],
            strict=True,
        )
    ),
}
# Words that are articles or homographs alone; numbers only before a scale word.
_SCALE_ONLY = {"fr": {"un": 1, "une": 1, "neuf": 9}, "en": {"a": 1, "one": 1}}
_SCALES = {
    "fr": {
        "cent": 1e2,
        "cents": 1e2,
        "mille": 1e3,
        "million": 1e6,
        "millions": 1e6,
        "milliard": 1e9,
        "milliards": 1e9,
        "billion": 1e12,
        "billions": 1e12,
    },
    "en": {
        "hundred": 1e2,
        "thousand": 1e3,
        "million": 1e6,
        "millions": 1e6,
        "billion": 1e9,
        "billions": 1e9,
        "trillion": 1e12,
        "trillions": 1e12,
    },
}
_ABBREVIATIONS = {  # lowercase; only next to a currency
    "fr": {"k": 1e3, "m": 1e6, "md": 1e9, "mds": 1e9, "mrd": 1e9, "mrds": 1e9},
    "en": {"k": 1e3, "m": 1e6, "mn": 1e6, "bn": 1e9, "tn": 1e12},
}
_PERCENT = {"fr": r"%|pour" + _SP + r"?cent|pourcents?", "en": r"%|per" + _SP + r"?cent|percent"}
_CURRENCY_AFTER = {
    "fr": r"(?:d['’]|de" + _SP + r")?(?:euros?|dollars?|livres?" + _SP + r"sterling)|€|\$|£"
    r"|EUR|USD|GBP",
    "en": r"euros?|dollars?|pounds?(?:" + _SP + r"sterling)?|€|\$|£|EUR|USD|GBP",
}
_MONTHS = {
    "fr": {
        **dict.fromkeys(["janvier", "janv"], 1),
        **dict.fromkeys(["février", "fevrier", "févr", "fév"], 2),
        "mars": 3,
        **dict.fromkeys(["avril", "avr"], 4),
        "mai": 5,
        "juin": 6,
        **dict.fromkeys(["juillet", "juil"], 7),
        **dict.fromkeys(["août", "aout"], 8),
        **dict.fromkeys(["septembre", "sept"], 9),
        **dict.fromkeys(["octobre", "oct"], 10),
        **dict.fromkeys(["novembre", "nov"], 11),
        **dict.fromkeys(["décembre", "decembre", "déc"], 12),
    },
    "en": {
        **dict.fromkeys(["january", "jan"], 1),
        **dict.fromkeys(["february", "feb"], 2),
        **dict.fromkeys(["march", "mar"], 3),
        **dict.fromkeys(["april", "apr"], 4),
        "may": 5,
        **dict.fromkeys(["june", "jun"], 6),
        **dict.fromkeys(["july", "jul"], 7),
        **dict.fromkeys(["august", "aug"], 8),
        **dict.fromkeys(["september", "sept", "sep"], 9),
        **dict.fromkeys(["october", "oct"], 10),
        **dict.fromkeys(["november", "nov"], 11),
        **dict.fromkeys(["december", "dec"], 12),
    },
}


def _alternation(words: Iterable[str]) -> str:
    """Regex alternation, longest first so "dix-sept" is tried before "dix"."""
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


# --- regexes -----------------------------------------------------------------------

# Digits. FR: "1 000", "1.000.000" (groups of exactly three) with an optional ",5";
# otherwise plain digits with an optional decimal part after "," or ".".
# EN: "1,000" / "1 000" groups with an optional ".5"; otherwise digits with ".5".
# (?!\d) after the groups keeps "1 0001" from being read as "1 000" + "1".
_DIGITS = {
    "fr": r"\d{1,3}(?:[ \u00a0\u202f.]\d{3})+(?!\d)(?:,\d+)?|\d+(?:[,.]\d+)?",
    "en": r"\d{1,3}(?:[, \u00a0\u202f]\d{3})+(?!\d)(?:\.\d+)?|\d+(?:\.\d+)?",
}
# Ordinal suffixes right after digits: "1er", "3e", "XIXe", "2nd", "21st"; skipped.
_ORDINAL = r"(?:er|re|e|es|ème|èmes|eme|emes|è|nd|st|rd|th)(?![^\W\d_])"
_NOT_LETTER = r"(?![^\W\d_])"  # [^\W\d_] is "a letter"


def _quantity_regex(lang: str) -> re.Pattern[str]:
    words = _alternation([*_WORDS[lang], *_SCALE_ONLY[lang]])
    scales = _alternation(_SCALES[lang])
    abbr = _alternation(_ABBREVIATIONS[lang])
    # not inside a word or a number, not after "COVID-" (but after "2013-")
    boundary = r"(?<![\w.,])(?<![^\W\d_]-)"
    prefix = r"(?:(?P<pre>[€$£])" + _SP + "?)?"
    # digits not followed by more digits or an ordinal suffix, or a whole number word
    number = (
        rf"(?P<num>(?:{_DIGITS[lang]})(?!\d|{_ORDINAL})"
        rf"|(?<![\w-])(?:{words})(?![\w-]))"
    )
    # scale words, possibly several: "deux cent mille", "a hundred thousand"
    scale_words = rf"(?P<scales>(?:{_SP}?(?:{scales}){_NOT_LETTER})*)"
    # an abbreviated scale, only after a currency symbol (conditional on group "pre")
    # or right before one: "€9.5m", "9,5 M€"
    scale_abbr = rf"(?:{_SP}?(?P<abbr>(?(pre)(?:{abbr}){_NOT_LETTER}|(?:{abbr})(?={_SP}?[€$£]))))?"
    unit = rf"(?:{_SP}?(?P<unit>{_PERCENT[lang]}|{_CURRENCY_AFTER[lang]}){_NOT_LETTER})?"
    return re.compile(boundary + prefix + number + scale_words + scale_abbr + unit, re.IGNORECASE)


_DAY = r"1er|premier|[12]\d|3[01]|0?[1-9]"
_YEAR = r"\d{4}(?!\d)"


def _word_date_regex(lang: str) -> re.Pattern[str]:
    months = _alternation(_MONTHS[lang])
    if lang == "fr":  # [day] month [year]: "1er mars", "22 février 2014", "févr. 2014"
        pattern = (
            r"(?<!\w)(?:(?P<d1>" + _DAY + r")" + _SP + r")?(?P<m1>" + months + r")\.?"
            r"(?:" + _SP + r"(?P<y1>" + _YEAR + r"))?(?!\w)"
        )
    else:  # "22nd (of) February 2014" | "February 22, 2014" | "February 2014"
        suffix = r"(?:st|nd|rd|th)?"
        pattern = (
            r"(?<!\w)(?:(?P<d1>" + _DAY + r")" + suffix + r"\s(?:of\s)?(?P<m1>" + months + r")\.?"
            r"(?:,?\s(?P<y1>" + _YEAR + r"))?"
            r"|(?P<m2>" + months + r")\.?(?:\s(?P<d2>" + _DAY + r")" + suffix + r"(?!\d)"
            r"(?:,?\s(?P<y2>" + _YEAR + r"))?|\s(?P<y3>" + _YEAR + r"))?)(?!\w)"
        )
    return re.compile(pattern, re.IGNORECASE)


# "22/02/2014", "22.02.2014", "22-02-2014" (same separator twice) and ISO "2014-02-22";
# not glued to other digits or separators ("1.22.02.2014" is not a date).
_NUMERIC_DATE = re.compile(
    r"(?<!\d)(?<!\d[/.-])(?:(?P<d>\d{1,2})(?P<sep>[/.-])(?P<m>\d{1,2})(?P=sep)(?P<y>\d{4})"
    r"|(?P<iy>\d{4})-(?P<im>\d{2})-(?P<id>\d{2}))(?!\d|[/.-]\d)"
)

_QUANTITY = {lang: _quantity_regex(lang) for lang in ("fr", "en")}
_WORD_DATE = {lang: _word_date_regex(lang) for lang in ("fr", "en")}
_TOKEN = re.compile(r"\w+")


# --- extraction --------------------------------------------------------------------


def _check_lang(lang: str) -> str:
    code = lang.lower()[:2]
    if code not in ("fr", "en"):
        raise ValueError(f"number extraction knows French and English, not {lang!r}")
    return code


def _date_value(year: int | None, month: int, day: int | None) -> str | None:
    """ISO (partial) date, or None when the parts are not a real date."""
    if not 1 <= month <= 12 or (year is not None and not 1000 <= year <= 2999):
        return None
    if day is not None:
        # 2000 is a leap year, so "29 février" without a year is accepted
        if not 1 <= day <= calendar.monthrange(year or 2000, month)[1]:
            return None
        return f"{year:04d}-{month:02d}-{day:02d}" if year else f"--{month:02d}-{day:02d}"
    return f"{year:04d}-{month:02d}" if year else None


def _date_parts(value: str) -> tuple[int | None, int, int | None]:
    """Inverse of `_date_value`: (year, month, day) with None for missing parts."""
    if value.startswith("--"):
        return None, int(value[2:4]), int(value[5:7])
    parts = [int(p) for p in value.split("-")]
    return parts[0], parts[1], parts[2] if len(parts) == 3 else None


def _int_or_none(text: str | None) -> int | None:
    if text is None:
        return None
    return 1 if text.lower() in ("1er", "premier") else int(text)


def _dates(text: str, lang: str) -> list[Mention]:
    found = []
    for m in _WORD_DATE[lang].finditer(text):
        g = m.groupdict()
        month_word = g["m1"] or g["m2"]
        if lang == "en" and not month_word[0].isupper():
            continue  # "may", "march" as verbs
        day = _int_or_none(g["d1"] or g.get("d2"))
        year = _int_or_none(g.get("y1") or g.get("y2") or g.get("y3"))
        if day is None and year is None:
            continue  # a bare month is not a date
        value = _date_value(year, _MONTHS[lang][month_word.lower()], day)
        if value:
            surface = m.group().rstrip(".")  # "févr." keeps its dot in the text only
            found.append(Mention(surface, "date", value, m.start(), m.start() + len(surface)))
    for m in _NUMERIC_DATE.finditer(text):
        if m["iy"]:
            year, month, day = int(m["iy"]), int(m["im"]), int(m["id"])
        else:
            year, month, day = int(m["y"]), int(m["m"]), int(m["d"])
            if lang == "en" and day <= 12 < month:  # US order, unambiguous only
                day, month = month, day
        value = _date_value(year, month, day)
        if value:
            found.append(Mention(m.group(), "date", value, m.start(), m.end()))
    return found


def _parse_digits(digits: str, lang: str) -> float:
    digits = re.sub(r"[ \u00a0\u202f]", "", digits)
    if lang == "fr":
        if re.fullmatch(r"\d{1,3}(?:\.\d{3})+(?:,\d+)?", digits):
            digits = digits.replace(".", "")  # "1.000.000": dots group thousands
        return float(digits.replace(",", "."))
    return float(digits.replace(",", ""))


def _currency(symbol_or_word: str) -> str:
    s = symbol_or_word.lower()
    if "€" in s or "eur" in s:
        return "EUR"
    if "£" in s or "livre" in s or "pound" in s or "gbp" in s:
        return "GBP"
    return "USD"


def _quantity(m: re.Match[str], lang: str) -> Mention | None:
    num, scales, abbr, unit = m["num"], m["scales"], m["abbr"], m["unit"]
    word = num.lower()
    if word in _SCALE_ONLY[lang] and not (scales or abbr):
        return None  # "un", "a", "neuf" alone are not numbers
    if word[0].isdigit():
        value = _parse_digits(num, lang)
    else:
        value = float(_WORDS[lang].get(word) or _SCALE_ONLY[lang][word])
    for scale in re.findall(r"[^\W\d_]+", scales):
        value *= _SCALES[lang][scale.lower()]
    if abbr:
        value *= _ABBREVIATIONS[lang][abbr.lower()]
    currency = None
    if unit and re.fullmatch(_PERCENT[lang], unit, re.IGNORECASE):
        kind: Kind = "percent"
    elif m["pre"] or unit:
        kind, currency = "amount", _currency(m["pre"] or unit)
    elif re.fullmatch(r"\d{4}", num) and not scales and 1800 <= value <= 2100:
        kind = "year"
    else:
        kind = "number"
    return Mention(m.group(), kind, value, m.start(), m.end(), currency)


def extract_numbers(text: str, lang: str = "fr") -> list[Mention]:
    """Number, percent, amount, date and year mentions of `text`, in text order.

    Dates are read first and masked, so "22" in "22 février 2014" is not also a
    number. See the module docstring for what is read and how.
    """
    lang = _check_lang(lang)
    text = unicodedata.normalize("NFC", text or "")
    dates: list[Mention] = []
    for mention in sorted(_dates(text, lang), key=lambda d: (d.start, d.start - d.end)):
        if not dates or mention.start >= dates[-1].end:  # first, longest wins
            dates.append(mention)
    masked = list(text)
    for d in dates:  # "\0" is neither a digit, a letter nor a separator
        masked[d.start : d.end] = "\0" * (d.end - d.start)
    quantities = [_quantity(m, lang) for m in _QUANTITY[lang].finditer("".join(masked))]
    return sorted([*dates, *(q for q in quantities if q)], key=lambda x: x.start)


# --- support -----------------------------------------------------------------------


def _same(a: float | str, b: float | str) -> bool:
    return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)


def _supported(mention: Mention, pool: Sequence[Mention]) -> bool:
    """Whether `mention` is backed by a mention of `pool` (rules in the module docstring)."""
    if mention.kind == "date":
        year, month, day = _date_parts(str(mention.value))
        years = {int(float(p.value)) for p in pool if p.kind in ("year", "number")}
        years |= {y for p in pool if p.kind == "date" for y in [_date_parts(str(p.value))[0]]}
        for p in pool:
            if p.kind != "date":
                continue
            p_year, p_month, p_day = _date_parts(str(p.value))
            if p_month != month or (day is not None and p_day != day):
                continue
            if year is None or p_year == year or (p_year is None and year in years):
                return True
        return False
    accepted: set[str] = {
        "percent": {"percent"},
        "amount": {"number", "year", "amount"},
        "year": {"number", "year"},
        "number": {"number", "year", "amount", "percent"},
    }[mention.kind]
    for p in pool:
        if p.kind == "date":
            if mention.kind == "year" and _date_parts(str(p.value))[0] == mention.value:
                return True
        elif p.kind in accepted and _same(p.value, mention.value):
            return True
    return False


def _unsupported(mentions: Sequence[Mention], pool: Sequence[Mention]) -> list[str]:
    """Surface forms of `mentions` not backed by `pool`, each once, in text order."""
    out: list[str] = []
    for m in mentions:
        if m.text not in out and not _supported(m, pool):
            out.append(m.text)
    return out


def unsupported_numbers(summary: str, source: str, lang: str = "fr") -> list[str]:
    """Number mentions of `summary` whose value does not appear in `source`.

    Both texts are in `lang`. Returns surface forms, each once, in summary order.
    """
    return _unsupported(extract_numbers(summary, lang), extract_numbers(source, lang))


def number_mismatches(summary_fr: str, summary_en: str, lang: str = "fr") -> dict[str, list[str]]:
    """Numbers of a summary and of its English translation that do not correspond.

    `summary_fr` is in `lang` (French by default). Returns
    {"missing_in_en": surface forms of the original with no English counterpart,
     "extra_in_en": English surface forms with no counterpart in the original}.
    """
    original, english = extract_numbers(summary_fr, lang), extract_numbers(summary_en, "en")
    return {
        "missing_in_en": _unsupported(original, english),
        "extra_in_en": _unsupported(english, original),
    }


# --- shape -------------------------------------------------------------------------


def _tokens(text: str | None) -> list[str]:
    return _TOKEN.findall(unicodedata.normalize("NFC", text or "").lower())


def word_count(text: str | None) -> int:
    """Number of words: lowercase Unicode word runs ("l'État" is two)."""
    return len(_tokens(text))


def _ngrams(tokens: Sequence[str], n: int) -> list[tuple[str, ...]]:
    return [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]


def novel_ngram_ratio(summary: str | None, source: str | None, n: int = 2) -> float | None:
    """Share of the summary's n-gram occurrences absent from the source.

    0.0 is fully extractive, 1.0 fully novel; None when the summary has no n-gram.
    """
    if n < 1:
        raise ValueError(f"n must be at least 1, not {n}")
    grams = _ngrams(_tokens(summary), n)
    if not grams:
        return None
    seen = set(_ngrams(_tokens(source), n))
    return sum(g not in seen for g in grams) / len(grams)


def compression_ratio(summary: str | None, source: str | None) -> float | None:
    """Source words / summary words; None for an empty summary."""
    words = word_count(summary)
    return word_count(source) / words if words else None


# --- records -----------------------------------------------------------------------


def record_checks(
    summary: str | None,
    source: str | None,
    summary_en: str | None = None,
    lang: str = "fr",
) -> dict[str, Any]:
    """All faithfulness and shape fields of one record (JSON-ready).

    Keys: summary_words, source_words, compression, novel_1gram, novel_2gram,
    novel_3gram, summary_numbers (count of number mentions in the summary),
    unsupported_numbers (list) and, when `summary_en` is given, number_mismatches
    ({"missing_in_en": [...], "extra_in_en": [...]}).
    """
    summary, source = summary or "", source or ""
    mentions = extract_numbers(summary, lang)
    checks: dict[str, Any] = {
        "summary_words": word_count(summary),
        "source_words": word_count(source),
        "compression": compression_ratio(summary, source),
        **{f"novel_{n}gram": novel_ngram_ratio(summary, source, n) for n in (1, 2, 3)},
        "summary_numbers": len(mentions),
        "unsupported_numbers": _unsupported(mentions, extract_numbers(source, lang)),
    }
    if summary_en is not None:
        checks["number_mismatches"] = number_mismatches(summary, summary_en, lang)
    return checks


def aggregate(checks: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Corpus view of `record_checks` results.

    Keys: records; mean_<field> for every numeric field (over records where it is
    not None; None when no record has it); unsupported_numbers (total),
    summary_numbers (total), share_with_unsupported_numbers (share of records with at
    least one); records_with_en, number_mismatches (total of both lists) and
    share_with_number_mismatches (over records_with_en; None when there are none).
    """
    fields = ["summary_words", "source_words", "compression"]
    fields += ["novel_1gram", "novel_2gram", "novel_3gram", "summary_numbers"]
    out: dict[str, Any] = {"records": len(checks)}
    for field in fields:
        values = [c[field] for c in checks if c.get(field) is not None]
        out[f"mean_{field}"] = sum(values) / len(values) if values else None
    unsupported = [len(c.get("unsupported_numbers", [])) for c in checks]
    out["unsupported_numbers"] = sum(unsupported)
    out["summary_numbers"] = sum(c.get("summary_numbers", 0) for c in checks)
    out["share_with_unsupported_numbers"] = (
        sum(u > 0 for u in unsupported) / len(checks) if checks else None
    )
    mismatches = [
        len(c["number_mismatches"]["missing_in_en"]) + len(c["number_mismatches"]["extra_in_en"])
        for c in checks
        if c.get("number_mismatches") is not None
    ]
    out["records_with_en"] = len(mismatches)
    out["number_mismatches"] = sum(mismatches)
    out["share_with_number_mismatches"] = (
        sum(m > 0 for m in mismatches) / len(mismatches) if mismatches else None
    )
    return out

"""Step 1: repair the characters (mojibake, NFC, controls, whitespace), keep French typography."""

from __future__ import annotations

import re
import unicodedata

import ftfy

from newsum.pipeline.core.record import ERROR, SKIPPED, Record
from newsum.pipeline.core.step import Step

# ftfy is thorough but costs about a millisecond per article. Text garbled by a wrong
# decoding shows a UTF-8 lead byte read as Latin-1 or Windows-1252 followed by a
# character that stands for a continuation byte: "Ã©" for "é". The leads checked are
# those of Latin-1 and Latin Extended-A (all European Latin-script text: Â Ã Ä Å),
# Cyrillic, Greek, Hebrew and Arabic, and of punctuation and symbols (â: ’ « € …);
# not É Ç Ê Ô, which are French capitals and lead only rare scripts. HTML entities,
# escapes, full-width and ligature forms are the other things ftfy repairs. Only lines
# that show one of these go through ftfy, and only texts holding one of the lead
# characters (a C-speed test) are searched.
_LEADS = "ÂÃÄÅÐÑÎÏ×ØÙâãï"
_CONTINUATION = (
    "\u0080-\u00bf\u20ac\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039"
    "\u0152\u017d\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a"
    "\u0153\u017e\u0178"
)
_NEEDS_FTFY = re.compile(
    f"[{_LEADS}][{_CONTINUATION}]|&#?\\w+;|\x1b|[\ud800-\udfff\uff01-\uff5e\ufb00-\ufb06]"
)


def _may_need_ftfy(text: str) -> bool:
    return (
        any(lead in text for lead in _LEADS)
        or "&" in text
        or "\x1b" in text
        or max(text, default="") >= "\ud800"
    )


# Curly quotes and apostrophes are correct French typography: keep them.
_FTFY = ftfy.TextFixerConfig(uncurl_quotes=False, normalization="NFC", explain=False)

# Non-breaking spaces (U+00A0, U+202F) are French typography (« », before ? ! : ;) and
# stay; every other space-like character becomes a plain space.
# (A lone plain space is left alone: matching every one would cost more than the rest.)
_SPACE_CHARS = "\t\u000b\u000c\u0085\u1680\u2000-\u200a\u205f\u3000"
_SPACES = re.compile(f"[{_SPACE_CHARS} ]{{2,}}|[{_SPACE_CHARS}]")
# Spaces around line breaks and blank lines: one newline between paragraphs.
_LINE_BREAKS = re.compile(" *\n[ \n]*")
# Control and format characters (zero-width marks, BOM, soft hyphens, bidi marks); tabs
# and newlines are whitespace and handled below.
_INVISIBLE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e"
    "\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000e0000-\U000e007f]+"
)
# What a binary file decoded as text is full of: control and replacement characters.
_NOT_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffd]")


def fix_text(text: str) -> str:
    """Repair mojibake, normalise to NFC, drop invisible characters, tidy whitespace.

    Paragraphs come out one a line with no blank lines; leading and trailing spaces of a
    line go; non-breaking spaces stay where they are.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n")
    if _may_need_ftfy(text) and _NEEDS_FTFY.search(text):
        text = "\n".join(
            ftfy.fix_text(line, _FTFY) if _NEEDS_FTFY.search(line) else line
            for line in text.split("\n")
        )
    text = unicodedata.normalize("NFC", text)
    # Regex passes cost ~30 µs each on an article; C-speed string tests skip them when
    # there is nothing to do (isprintable() is False for controls and exotic spaces).
    if not text.replace("\n", "").replace("\u00a0", "").replace("\u202f", "").isprintable():
        text = _SPACES.sub(" ", _INVISIBLE.sub("", text))
    elif "  " in text:
        text = _SPACES.sub(" ", text)
    if " \n" in text or "\n " in text or "\n\n" in text:
        text = _LINE_BREAKS.sub("\n", text)
    return text.strip(" \n")


def count_words(text: str) -> int:
    """The words of a text fix_text has tidied (single spaces, one paragraph a line; a
    non-breaking space joins, as in "10 %"). Counting separators runs at C speed:
    len(text.split()) would cost 7 % of the whole cleaning."""
    return text.count(" ") + text.count("\n") + 1 if text else 0


def looks_binary(text: str) -> bool:
    """True for data that is not text: NUL bytes, or many control or replacement characters."""
    if "\x00" in text:
        return True
    sample = text[:1000]
    return len(_NOT_TEXT.findall(sample)) > max(8, len(sample) // 20)


class CheckText(Step):
    """Refuse what cannot be an article before any work is spent on it."""

    name = "check"

    def __init__(self, max_chars: int) -> None:
        super().__init__()
        self.max_chars = max_chars

    def process(self, record: Record) -> None:
        text = record.text
        if text is None:
            record.mark(ERROR, "no text")
        elif not isinstance(text, str):
            record.mark(ERROR, f"text is {type(text).__name__}, not a string")
        elif not text.strip():
            record.mark(SKIPPED, "empty text")
        elif len(text) > self.max_chars:
            record.mark(
                SKIPPED,
                f"text too long: {len(text):,} characters, limit {self.max_chars:,} "
                "(raise it with --max-chars)",
            )
        elif looks_binary(text):
            record.mark(ERROR, "binary data, not text")


class NormalizeText(Step):
    """ftfy, NFC, invisible characters out, whitespace normalised: on text and metadata."""

    name = "normalize"

    def process(self, record: Record) -> None:
        record.text = fix_text(record.text)
        for name in ("title", "author"):
            value = getattr(record, name)
            if isinstance(value, str):
                setattr(record, name, fix_text(value).replace("\n", " ") or None)

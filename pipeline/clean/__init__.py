"""The cleaning stage: raw articles in, clean French text and metadata out.

Order matters and is deliberate:
1. check        refuse what cannot be an article (empty, binary, absurdly long)
2. normalize    ftfy (mojibake), NFC, invisible characters out, whitespace
   count-words  the body's words before anything is removed (for HTML, the reader's text)
3. title        repeated title/subtitle lines become `title`; a kicker is no title
4. byline       "Le 14 mars 2024, par Jean Martin" becomes `author` and `date`
5. boilerplate  section tails (where the cut is safe) and boilerplate lines by named
                rules (rules.toml)
6. check-body   an article with nothing left is skipped, with the reason; one that kept
                less than half of its words, or fewer than 40, gets a warning
7. lang         `lang`, `lang_score`
8. strict       (with `strict`) a record with warnings becomes an error, before dedup so
                that no record is marked a duplicate of one that failed
9. dedup        `duplicate_of` for near-duplicates of an earlier article

Title and byline run before boilerplate because sites put them inside the blocks that
section rules cut (the repeated title and the byline after "Et vous ?" in forum pages).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from newsum.pipeline.core.record import ERROR, SKIPPED, Record
from newsum.pipeline.core.schema import check
from newsum.pipeline.core.step import Step, chain

from .boilerplate import MIN_WORDS_BEFORE, RemoveBoilerplate, Rules
from .dedup import FlagNearDuplicates
from .language import DetectLanguage
from .metadata import ExtractByline, ExtractTitle
from .normalize import CheckText, NormalizeText, count_words


@dataclass(frozen=True)
class CleanOptions:
    """Everything that changes what `clean` does; the defaults are the CLI's defaults."""

    rules_files: tuple[Path, ...] = ()
    keep_boilerplate: bool = False
    max_chars: int = field(default=500_000, metadata={"min": 1})
    dedup: bool = True
    dedup_threshold: float = field(default=0.8, metadata={"min": 0, "max": 1})
    strict: bool = False  # a record with warnings becomes an error

    def __post_init__(self) -> None:
        check(self)  # flags, config files and library callers alike (pipeline/schema.py)


# A body that keeps less than this share of its words, or fewer than this many words,
# gets a warning: cleaning may have cut the article. The short body is the section
# guard's minimum (boilerplate.MIN_WORDS_BEFORE), so a section cut never causes one.
MIN_KEPT_SHARE = 0.5
MIN_BODY_WORDS = MIN_WORDS_BEFORE


class CountWords(Step):
    """Counts each body's words before any line is removed, for CheckBody's warning."""

    name = "count-words"

    def __init__(self) -> None:
        super().__init__()
        self.words: dict[int, int] = {}  # id(record) -> words; CheckBody pops the entry

    def process(self, record: Record) -> None:
        self.words[id(record)] = count_words(record.text)


class CheckBody(Step):
    """Skips an article with nothing left; warns when cleaning kept little of it."""

    name = "check-body"

    def __init__(self, counted: CountWords) -> None:
        super().__init__()
        self.input_words = counted.words

    def __call__(self, records: Iterable[Record]) -> Iterator[Record]:
        for record in super().__call__(records):
            self.input_words.pop(id(record), None)  # ok or not, so no entry outlives its record
            yield record

    def process(self, record: Record) -> None:
        if not record.text.strip():
            record.mark(SKIPPED, "no text left after cleaning: every line was boilerplate")
            return
        words = count_words(record.text)
        before = self.input_words.get(id(record), words)
        if words < MIN_KEPT_SHARE * before:
            record.warn(
                "body-shrunk",
                f"cleaning kept {words} of the body's {before} words ({words / before:.0%});"
                " see `removed` for what went and which rule took it",
            )
        if words < MIN_BODY_WORDS:
            record.warn("body-short", f"the cleaned body has {words} words (< {MIN_BODY_WORDS})")


class Strict(Step):
    """`--strict`: a record with warnings becomes an error, the reason listing the codes."""

    name = "strict"

    def process(self, record: Record) -> None:
        if record.warnings:
            codes = dict.fromkeys(
                str(w.get("code")) if isinstance(w, dict) else str(w) for w in record.warnings
            )
            record.mark(ERROR, f"strict: the record has warnings: {', '.join(codes)}")


def build_steps(options: CleanOptions) -> list[Step]:
    rules = Rules.load(options.rules_files)
    counted = CountWords()
    steps: list[Step] = [CheckText(options.max_chars), NormalizeText(), counted]
    steps += [ExtractTitle(rules), ExtractByline()]
    if not options.keep_boilerplate:
        steps.append(RemoveBoilerplate(rules))
    steps += [CheckBody(counted), DetectLanguage()]
    if options.strict:
        steps.append(Strict())
    if options.dedup:
        steps.append(FlagNearDuplicates(options.dedup_threshold))
    return steps


def clean(records: Iterable[Record], options: CleanOptions = CleanOptions()) -> Iterator[Record]:
    """Clean a stream of records lazily, in order, one output record per input record."""
    return chain(records, build_steps(options))

"""The cleaning stage: raw articles in, clean French text and metadata out.

Order matters and is deliberate:
1. check        refuse what cannot be an article (empty, binary, absurdly long)
2. normalize    ftfy (mojibake), NFC, invisible characters out, whitespace
3. title        repeated title/subtitle lines become `title`
4. byline       "Le 14 mars 2024, par Jean Martin" becomes `author` and `date`
5. boilerplate  section tails and boilerplate lines by named rules (rules.toml)
6. check-body   an article with nothing left is skipped, with the reason
7. lang         `lang`, `lang_score`
8. dedup        `duplicate_of` for near-duplicates of an earlier article

Title and byline run before boilerplate because sites put them inside the blocks that
section rules cut (the repeated title and the byline after "Et vous ?" in forum pages).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..record import SKIPPED, Record
from ..schema import check
from ..step import Step, chain
from .boilerplate import RemoveBoilerplate, Rules
from .dedup import FlagNearDuplicates
from .language import DetectLanguage
from .metadata import ExtractByline, ExtractTitle
from .normalize import CheckText, NormalizeText


@dataclass(frozen=True)
class CleanOptions:
    """Everything that changes what `clean` does; the defaults are the CLI's defaults."""

    rules_files: tuple[Path, ...] = ()
    keep_boilerplate: bool = False
    max_chars: int = field(default=500_000, metadata={"min": 1})
    dedup: bool = True
    dedup_threshold: float = field(default=0.8, metadata={"min": 0, "max": 1})

    def __post_init__(self) -> None:
        check(self)  # flags, config files and library callers alike (pipeline/schema.py)


class CheckBody(Step):
    name = "check-body"

    def process(self, record: Record) -> None:
        if not record.text.strip():
            record.mark(SKIPPED, "no text left after cleaning: every line was boilerplate")


def build_steps(options: CleanOptions) -> list[Step]:
    steps: list[Step] = [CheckText(options.max_chars), NormalizeText(), ExtractTitle()]
    steps.append(ExtractByline())
    if not options.keep_boilerplate:
        steps.append(RemoveBoilerplate(Rules.load(options.rules_files)))
    steps += [CheckBody(), DetectLanguage()]
    if options.dedup:
        steps.append(FlagNearDuplicates(options.dedup_threshold))
    return steps


def clean(records: Iterable[Record], options: CleanOptions = CleanOptions()) -> Iterator[Record]:
    """Clean a stream of records lazily, in order, one output record per input record."""
    return chain(records, build_steps(options))

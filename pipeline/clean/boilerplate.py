"""Step: remove boilerplate by named rules kept as data (rules.toml), recording each removal.

Line rules drop one line. Section rules drop a marker line and everything after it, which
is where cleaning can lose an article: on a free daily's page the comment counter under
the standfirst ("0 commentaire") matched the comments-section marker and the cut took the
whole body. So a section cut must be safe (`cut_is_safe`); if not, the marker cuts nothing
(a line rule may still take the marker line itself) and later markers are tried.

The guard was measured on the site fixtures, the examples and the pages in
tests/fixtures/repro/, counting the words of lines that no line rule takes (title and
byline already out):

    marker                                  words before  words after  longest line after
    forum, "Et vous ?"                               236           35            14 words
    magazine, "Commentaires (2)"                     216           20            11 words
    paywall, "Il vous reste 64 %"                    231            0             0 words
    regional, "Sur le même sujet"                    175           18             9 words
    dispatch, "Qu'en pensez-vous ?"                  120            0             0 words
    national daily, "Il vous reste 61.42%"           229            5             5 words
    regional daily, "Les plus lus"                   206           25             8 words
    free daily, "Sur le même sujet"                  127           24            13 words
    free daily, "0 commentaire" (must not cut)        16      111-135            49 words

A legitimate tail (prompts, comments, paywall notices, related links) comes after at
least 120 words of body, holds at most a fifth as many words, in short lines (14 words at
most; most body paragraphs of the fixtures have 29 to 88). The misplaced counter had 16 words
before it, seven times as many after, in full paragraphs. The guard sits in that gap
with a margin on each side:

- MIN_WORDS_BEFORE (40, also the shrink warning's short body): the marker is not near the
  top, and the cut leaves a body that is not short;
- the words after the marker are no more than the words before: the cut never takes most
  of the text;
- no line after the marker has PROSE_WORDS (25) words or more: what follows reads like
  links, prompts or short comments, not like the article (a marker in the middle of the
  body). Long reader comments then stay in the body, visible, rather than risk cutting
  the article in silence.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, cached_property
from importlib import resources
from pathlib import Path

from newsum.pipeline.core.errors import NewsumError
from newsum.pipeline.core.record import Record
from newsum.pipeline.core.step import Step

from .normalize import count_words

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DEFAULT_MAX_CHARS = 200
# The section-cut guard (see the module docstring for the measurements behind them).
MIN_WORDS_BEFORE = 40
PROSE_WORDS = 25
_KEY_SPACES = re.compile(r"[ \u00a0\u202f]+")


def match_key(line: str) -> str:
    """The form of a line that rule patterns are written against (see rules.toml)."""
    key = line.replace("\u2019", "'").replace("\u02bc", "'")
    if "\u00a0" in key or "\u202f" in key or "  " in key:
        key = _KEY_SPACES.sub(" ", key)
    return key.strip()


@dataclass(frozen=True)
class Rule:
    name: str
    pattern: re.Pattern[str]
    max_chars: int = DEFAULT_MAX_CHARS


@dataclass(frozen=True)
class Rules:
    """Line rules (drop one line) and section rules (drop from a marker line to the end)."""

    line: tuple[Rule, ...] = ()
    section: tuple[Rule, ...] = ()

    @classmethod
    def load(cls, extra_files: Sequence[str | Path] = ()) -> Rules:
        """The built-in rules, plus the user's files in order; a file may `disable` rules."""
        rules = cls._parse(resources.files(__package__).joinpath("rules.toml").read_text(), "")
        for path in extra_files:
            try:
                text = Path(path).read_text(encoding="utf-8")
            except OSError as exc:
                raise NewsumError(f"cannot read rules file {path}: {exc.strerror}") from None
            rules = rules._merge(cls._parse(text, str(path)), _disabled(text, str(path)))
        return rules

    @staticmethod
    @cache
    def default() -> Rules:
        """The built-in rules, loaded once."""
        return Rules.load()

    def first_line_rule(self, key: str) -> str | None:
        return _first_match(self._line_matchers, key)

    def section_rule(self, key: str) -> str | None:
        return _first_match(self._section_matchers, key)

    @cached_property
    def _line_matchers(self) -> list[_Matcher]:
        return _matchers(self.line)

    @cached_property
    def _section_matchers(self) -> list[_Matcher]:
        return _matchers(self.section)

    def _merge(self, other: Rules, disabled: set[str]) -> Rules:
        keep = [r for r in self.line + self.section if r.name not in disabled]
        unknown = disabled - {r.name for r in self.line + self.section}
        if unknown:
            raise NewsumError(f"rules file disables unknown rules: {', '.join(sorted(unknown))}")
        return Rules(
            line=tuple(r for r in keep if r in self.line) + other.line,
            section=tuple(r for r in keep if r in self.section) + other.section,
        )

    @classmethod
    def _parse(cls, text: str, where: str) -> Rules:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise NewsumError(f"rules file {where} is not valid TOML: {exc}") from None
        return cls(
            line=tuple(_rule(entry, "pattern", where) for entry in data.get("line", [])),
            section=tuple(_rule(entry, "marker", where) for entry in data.get("section", [])),
        )


# (max_chars limit, one alternation of the rules that look at lines that long, those rules)
_Matcher = tuple[int, re.Pattern[str], tuple[Rule, ...]]


def _matchers(rules: tuple[Rule, ...]) -> list[_Matcher]:
    """One regex for each line length a rule allows (`max_chars`), shortest limit first.

    A line is tried with a single regex call, against only the rules that look at lines
    that long (a body paragraph meets few); each rule is a named group, so on a hit the
    group that matched names the first rule in order, as trying them one by one would.
    """
    matchers = []
    for limit in sorted({rule.max_chars for rule in rules}):
        among = tuple(rule for rule in rules if rule.max_chars >= limit)
        alternation = "|".join(f"(?P<_rule{i}>{r.pattern.pattern})" for i, r in enumerate(among))
        matchers.append((limit, re.compile(alternation, re.IGNORECASE), among))
    return matchers


def _first_match(matchers: list[_Matcher], key: str) -> str | None:
    for limit, pattern, among in matchers:
        if len(key) <= limit:
            m = pattern.fullmatch(key)
            # the whole rule's group closes last, so it is `lastgroup`
            return among[int(m.lastgroup[len("_rule") :])].name if m and m.lastgroup else None
    return None


def _rule(entry: dict, key: str, where: str) -> Rule:
    name = entry.get("name")
    if not isinstance(name, str) or not isinstance(entry.get(key), str):
        raise NewsumError(f"rules file {where or 'rules.toml'}: each rule needs `name` and `{key}`")
    try:
        pattern = re.compile(entry[key], re.IGNORECASE)
    except re.error as exc:
        raise NewsumError(f"rules file {where or 'rules.toml'}: rule {name!r}: {exc}") from None
    return Rule(name, pattern, int(entry.get("max_chars", DEFAULT_MAX_CHARS)))


def _disabled(text: str, where: str) -> set[str]:
    disabled = tomllib.loads(text).get("disable", [])
    if not isinstance(disabled, list):
        raise NewsumError(f"rules file {where}: `disable` must be a list of rule names")
    return set(disabled)


def cut_is_safe(words_before: int, words_after: list[int]) -> bool:
    """Whether a section marker may cut: `words_before` is the body's word count above it,
    `words_after` the word count of each line below it (0 for lines a line rule takes)."""
    return (
        words_before >= MIN_WORDS_BEFORE
        and sum(words_after) <= words_before
        and max(words_after, default=0) < PROSE_WORDS
    )


class RemoveBoilerplate(Step):
    """Cut a section tail where it is safe (a marker and all after it), then single lines."""

    name = "boilerplate"

    def __init__(self, rules: Rules) -> None:
        super().__init__()
        self.rules = rules
        self.max_chars = max((r.max_chars for r in rules.line + rules.section), default=0)

    def process(self, record: Record) -> None:
        lines = record.text.split("\n")
        # Rules only look at short lines; most body paragraphs are skipped unread.
        keys = [match_key(line) if len(line) <= self.max_chars else None for line in lines]
        line_rules = [key and self.rules.first_line_rule(key) for key in keys]
        cut = self._safe_cut(lines, keys, line_rules)
        if cut is not None:
            i, rule = cut
            record.remove(rule, "\n".join(lines[i:]))
            lines, line_rules = lines[:i], line_rules[:i]
        kept = []
        for line, rule in zip(lines, line_rules, strict=True):
            if rule:
                record.remove(rule, line)
            else:
                kept.append(line)
        record.text = "\n".join(kept)

    def _safe_cut(
        self, lines: list[str], keys: list[str | None], line_rules: list[str | None]
    ) -> tuple[int, str] | None:
        """The first marker line whose cut is safe, and its rule."""
        words: list[int] | None = None  # counted only when an article has a marker
        for i, key in enumerate(keys):
            rule = key and self.rules.section_rule(key)
            if not rule:
                continue
            if words is None:
                words = [
                    0 if r else count_words(line) for line, r in zip(lines, line_rules, strict=True)
                ]
            if cut_is_safe(sum(words[:i]), words[i + 1 :]):
                return i, rule
        return None

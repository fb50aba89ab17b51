"""Step: remove boilerplate by named rules kept as data (rules.toml), recording each removal."""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, cached_property
from importlib import resources
from pathlib import Path

from ..errors import NewsumError
from ..record import Record
from ..step import Step

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DEFAULT_MAX_CHARS = 200
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

    def matches(self, key: str) -> bool:
        return len(key) <= self.max_chars and self.pattern.fullmatch(key) is not None


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
        return _first_match(self.line, self._any_line, key)

    def section_rule(self, key: str) -> str | None:
        return _first_match(self.section, self._any_section, key)

    # One alternation of all patterns rejects a body line in a single regex call; the
    # rules are only tried one by one (for the name and max_chars) on the rare hit.
    @cached_property
    def _any_line(self) -> re.Pattern[str]:
        return _alternation(self.line)

    @cached_property
    def _any_section(self) -> re.Pattern[str]:
        return _alternation(self.section)

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


def _alternation(rules: tuple[Rule, ...]) -> re.Pattern[str]:
    if not rules:
        return re.compile(r"(?!)")
    return re.compile("|".join(f"(?:{r.pattern.pattern})" for r in rules), re.IGNORECASE)


def _first_match(rules: tuple[Rule, ...], any_rule: re.Pattern[str], key: str) -> str | None:
    if any_rule.fullmatch(key) is None:
        return None
    return next((rule.name for rule in rules if rule.matches(key)), None)


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


class RemoveBoilerplate(Step):
    """Cut section tails first (a marker and all after it), then single boilerplate lines."""

    name = "boilerplate"

    def __init__(self, rules: Rules) -> None:
        super().__init__()
        self.rules = rules
        self.max_chars = max((r.max_chars for r in rules.line + rules.section), default=0)

    def process(self, record: Record) -> None:
        lines = record.text.split("\n")
        # Rules only look at short lines; most body paragraphs are skipped unread.
        keys = [match_key(line) if len(line) <= self.max_chars else None for line in lines]
        # A marker on the first line would empty the article: it is no closing marker.
        for i in range(1, len(lines)):
            rule = keys[i] and self.rules.section_rule(keys[i])
            if rule:
                record.remove(rule, "\n".join(lines[i:]))
                lines, keys = lines[:i], keys[:i]
                break
        kept = []
        for line, key in zip(lines, keys, strict=True):
            rule = key and self.rules.first_line_rule(key)
            if rule:
                record.remove(rule, line)
            else:
                kept.append(line)
        record.text = "\n".join(kept)

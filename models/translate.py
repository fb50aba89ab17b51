"""The translate stage: English for the summary (and optionally the body), sentence-batched."""

from __future__ import annotations

from typing import ClassVar

from newsum.pipeline.core.languages import by_language, language_refusal
from newsum.pipeline.core.record import ERROR, SKIPPED, Record
from newsum.pipeline.core.sentences import split_sentences
from newsum.pipeline.core.step import Step

from .chunking import pack
from .engine import Engine
from .llm import wrong_language

TARGETS = {"summary": "summary_en", "text": "text_en"}
TARGET_LANG = "en"  # the language of the TARGETS fields
# A segment whose translation has under half the source's sentences, or under 40 % of
# its length (English runs about as long as French), was probably cut short.
MIN_SENTENCE_RATIO = 0.5
MIN_LENGTH_RATIO = 0.4


def translate_texts(texts: list[str], engine: Engine, lang: str = "fr") -> list[tuple]:
    """(translation, warning, error) for each text.

    Each paragraph is split into sentences, packed into segments that fit the model,
    translated (all segments of all texts in one engine call) and joined back in order,
    paragraphs kept. Each segment's output is checked against its source: far fewer
    sentences or far less text means the translation looks truncated. `lang` is the
    texts' language: a multilingual model is told it as the source language.
    """
    segments: list[tuple[int, int, str]] = []  # (text, paragraph, segment)
    for t, text in enumerate(texts):
        for p, paragraph in enumerate(text.split("\n")):
            for piece in pack(split_sentences(paragraph, lang), engine):
                segments.append((t, p, piece))
    results = engine.generate([piece for _, _, piece in segments], lang)
    paragraphs: dict[tuple[int, int], list[str]] = {}
    errors: dict[int, str] = {}
    short: dict[int, int] = {}
    cut: dict[int, int] = {}  # segments a chat model's answer limit stopped
    for (t, p, source), result in zip(segments, results, strict=True):
        if result.error:
            errors.setdefault(t, result.error)
            continue
        paragraphs.setdefault((t, p), []).append(result.text)
        if result.truncated:
            cut[t] = cut.get(t, 0) + 1
        elif _looks_truncated(source, result.text, lang):
            short[t] = short.get(t, 0) + 1
    out = []
    for t, text in enumerate(texts):
        if t in errors:
            out.append((None, None, errors[t]))
            continue
        n = text.count("\n") + 1
        joined = "\n".join(" ".join(paragraphs.get((t, p), [])) for p in range(n)).strip()
        total = sum(1 for s in segments if s[0] == t)
        warning = None
        if t in short:
            warning = (
                f"translation may be truncated: {short[t]} of {total} segments came out much "
                "shorter than their source"
            )
        if t in cut:
            warning = f"translation cut at --max-new-tokens in {cut[t]} of {total} segments"
        out.append((joined, warning, None))
    return out


def _looks_truncated(source: str, output: str, lang: str) -> bool:
    src_sentences = len(split_sentences(source, lang))
    out_sentences = len(split_sentences(output, "en"))
    return (
        out_sentences < src_sentences * MIN_SENTENCE_RATIO
        or len(output) < len(source) * MIN_LENGTH_RATIO
    )


class Translate(Step):
    """Adds `summary_en` and/or `text_en`; skips languages the model does not take.

    A record already in English (and taken by `languages`) gets its text copied as is:
    translating English into English could only lose something, and costs a model call.
    """

    name = "translate"
    batch_size: ClassVar[int] = 256

    def __init__(
        self,
        engine: Engine,
        languages: tuple[str, ...],
        fields=("summary",),
        keep_existing: bool = False,
        check: bool = False,
    ) -> None:
        super().__init__()
        unknown = set(fields) - set(TARGETS)
        if unknown:
            raise ValueError(f"cannot translate {', '.join(sorted(unknown))}: use summary, text")
        self.engine = engine
        self.languages = languages
        self.fields = tuple(fields)
        self.keep_existing = keep_existing  # a target the one-call summarizer already wrote
        self.check = check  # warn when an LLM's translation is not English
        self._pending: dict[tuple[int, str], tuple] = {}

    def _refused(self, record: Record) -> str | None:
        return language_refusal(record.lang, self.languages, "the translator")

    def _needs_model(self, record: Record, field: str) -> bool:
        source = getattr(record, field)
        return (
            isinstance(source, str)
            and bool(source)
            and record.lang != TARGET_LANG
            and not self._refused(record)
            and not self._done(record, field)
        )

    def _done(self, record: Record, field: str) -> bool:
        return self.keep_existing and bool(getattr(record, TARGETS[field], None))

    def prepare(self, records: list[Record]) -> None:
        for field in self.fields:
            group = [r for r in records if self._needs_model(r, field)]
            for lang, members in by_language(group).items():
                texts = [getattr(r, field) for r in members]
                for record, result in zip(
                    members, translate_texts(texts, self.engine, lang), strict=True
                ):
                    self._pending[(id(record), field)] = result

    def process(self, record: Record) -> None:
        refused = self._refused(record)
        if refused:
            record.mark(SKIPPED, refused)
            return
        for field in self.fields:
            source = getattr(record, field)
            if not isinstance(source, str) or not source:
                continue  # nothing to translate (e.g. no summary yet)
            if record.lang == TARGET_LANG:
                setattr(record, TARGETS[field], source)
                continue
            if self._done(record, field):
                self._check(record, field)
                continue
            result = self._pending.pop((id(record), field), None)
            if result is None:
                (result,) = translate_texts([source], self.engine, record.lang or "fr")
            translation, warning, error = result
            if error:
                record.mark(ERROR, f"translate {field}: {error}")
                return
            setattr(record, TARGETS[field], translation)
            if warning:
                record.warn("translation-truncated", f"{TARGETS[field]}: {warning}")
            self._check(record, field)

    def _check(self, record: Record, field: str) -> None:
        if self.check:
            wrong = wrong_language(getattr(record, TARGETS[field]), TARGET_LANG)
            if wrong:
                record.warn("translation-language", f"{TARGETS[field]}: {wrong}")

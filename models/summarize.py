"""The summarize stage: a French summary for each article, long ones chunked recursively."""

from __future__ import annotations

from typing import ClassVar

from newsum.pipeline.core.languages import by_language, language_refusal
from newsum.pipeline.core.record import ERROR, SKIPPED, Record
from newsum.pipeline.core.sentences import split_sentences
from newsum.pipeline.core.step import Step

from .chunking import pack
from .engine import Engine
from .extractive import Extractive
from .llm import OneCall, wrong_language

# A summary of summaries must shrink; past this many rounds something is wrong.
MAX_ROUNDS = 8


def summarize_texts(texts: list[str], engine: Engine, lang: str = "fr") -> list[tuple]:
    """(summary, chunks, error, warning) for each text.

    A text that fits the model is summarized as is. A longer one is split at sentence
    boundaries into chunks that fit; each chunk is summarized, the chunk summaries are
    joined, and the joined text is summarized the same way, until one summary remains.
    All texts of a round go to the engine together, so batching spans articles.
    """
    pending = {i: pack(split_sentences(text, lang), engine) for i, text in enumerate(texts)}
    chunks = {i: len(pieces) for i, pieces in pending.items()}
    done: dict[int, tuple] = {i: ("", 0, None, None) for i, p in pending.items() if not p}
    cut: set[int] = set()  # texts with an answer stopped by --max-new-tokens
    pending = {i: p for i, p in pending.items() if p}
    for _ in range(MAX_ROUNDS):
        if not pending:
            break
        flat = [(i, piece) for i, pieces in pending.items() for piece in pieces]
        results = engine.generate([piece for _, piece in flat], lang)
        summaries: dict[int, list[str]] = {}
        for (i, _), result in zip(flat, results, strict=True):
            if result.error:
                done[i] = (None, chunks[i], result.error, None)
            elif i not in done:
                summaries.setdefault(i, []).append(result.text)
                if result.truncated:
                    cut.add(i)
        next_round = {}
        for i, parts in summaries.items():
            if i in done:
                continue
            if len(parts) == 1:
                warning = "the summary was cut at --max-new-tokens" if i in cut else None
                done[i] = (parts[0], chunks[i], None, warning)
                continue
            cut.discard(i)  # the next round summarizes the cut parts again
            joined = " ".join(parts)
            pieces = pack(split_sentences(joined, lang), engine)
            if len(pieces) >= len(pending[i]):
                # Generated text without sentence ends packs badly: cut by tokens instead.
                pieces = pack([joined], engine)
            if len(pieces) >= len(pending[i]):
                # Summaries as long as their chunks would grow the work every round (by
                # the ratio of output to input tokens): each round must shrink, so the
                # work stays within MAX_ROUNDS times the first round's.
                why = f"{len(pending[i])} pieces gave {len(pieces)}; lower --max-new-tokens"
                done[i] = (None, chunks[i], f"chunk summaries do not shrink: {why}", None)
                continue
            next_round[i] = pieces
        pending = next_round
    for i in pending:
        done[i] = (
            None,
            chunks[i],
            f"chunk summaries did not converge in {MAX_ROUNDS} rounds",
            None,
        )
    return [done[i] for i in range(len(texts))]


class Summarize(Step):
    """Adds `summary` (in the article's language) and `chunks`; skips other languages."""

    name = "summarize"
    batch_size: ClassVar[int] = 256  # more records per call: better length sorting

    def __init__(
        self,
        summarizer: Engine | Extractive,
        languages: tuple[str, ...],
        one_call: OneCall | None = None,
        check: bool = False,
    ) -> None:
        super().__init__()
        self.summarizer = summarizer
        self.languages = languages
        self.one_call = one_call  # an LLM asked for summary and summary_en at once
        self.check = check  # warn when an LLM's summary is not in the article's language
        self._pending: dict[int, tuple] = {}
        self._english: dict[int, str] = {}

    def _refused(self, record: Record) -> str | None:
        return language_refusal(record.lang, self.languages, "the summarizer")

    def prepare(self, records: list[Record]) -> None:
        if not isinstance(self.summarizer, Engine):
            return
        for lang, group in by_language([r for r in records if not self._refused(r)]).items():
            if self.one_call is not None:
                both = self.one_call.run([r.text for r in group], lang)
                for record, answer in zip(group, both, strict=True):
                    if answer is not None:
                        self._pending[id(record)] = (answer[0], 1, None, None)
                        self._english[id(record)] = answer[1]
                group = [r for r, answer in zip(group, both, strict=True) if answer is None]
            results = summarize_texts([r.text for r in group], self.summarizer, lang)
            for record, result in zip(group, results, strict=True):
                self._pending[id(record)] = result

    def process(self, record: Record) -> None:
        refused = self._refused(record)
        if refused:
            record.mark(SKIPPED, refused)
            return
        if isinstance(self.summarizer, Extractive):
            record.summary = self.summarizer.summarize(record.text, record.lang or "fr")
            record.chunks = 1
            return
        result = self._pending.pop(id(record), None)
        if result is None:
            (result,) = summarize_texts([record.text], self.summarizer, record.lang or "fr")
        summary, record.chunks, error, warning = result
        english = self._english.pop(id(record), None)
        if error:
            record.mark(ERROR, f"summarize: {error}")
            return
        record.summary = summary
        if warning:
            record.warn("summary-truncated", warning)
        if english is not None:
            record.summary_en = english
        if self.check:
            wrong = wrong_language(summary, record.lang or "fr")
            if wrong:
                record.warn("summary-language", f"summary: {wrong}")

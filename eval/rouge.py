"""French-aware ROUGE on top of rouge-score's scorer (LCS and n-gram code are theirs).

rouge-score's default tokenizer keeps only `[a-z0-9]`: "février" becomes "f", "vrier"
and "été" becomes "t", so French ROUGE computed the usual way is wrong. Three tokenizers:

- `fr` (default for French): NFC, lowercase, tokens are maximal runs of Unicode letters
  and digits (apostrophes, hyphens and punctuation split words: "l'été" -> "l", "été";
  "9,5 %" -> "9", "5"), then the Snowball French stemmer unless `stem=False`.
- `en` (default for English fields such as `summary_en`): rouge-score's own tokenizer
  and Porter stemmer, which is what rouge-score was made for; sentences for rougeLsum
  are split as English.
- `compat`: the same tokenizer and stemmer applied to French text, bit for bit, to
  compare with published numbers computed that way (e.g. OrangeSum).

Scale: `rouge_pairs` keeps rouge-score's own per-pair values (0-1) so they can be
compared with it exactly; system scores (`aggregate_rouge`, `compare_rouge`) are on a
0-100 scale.

Sentences: `rougeLsum` splits on newlines, as rouge-score does. Either pass summaries
with one sentence a line, or set `RougeOptions(split_sentences=True)` to split both
sides with `pipeline.sentences.split_sentences` first (`sentences_per_line`).
Newlines are ordinary word separators for the other metrics, so splitting changes
only `rougeLsum`.

Typical use (the CLI matches ids first and passes aligned lists):

    options = RougeOptions(tokenizer="fr")
    pairs = rouge_pairs(predictions, references, options)    # per-pair, kept for --compare
    report = {"rouge": aggregate_rouge(pairs, options),
              "signatures": {"rouge": rouge_signature(options, len(predictions))}}
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import metadata
from typing import Literal

import numpy as np
import snowballstemmer
from rouge_score import rouge_scorer, tokenizers

from newsum.eval.bootstrap import BootstrapOptions, bootstrap_ci, paired_bootstrap

METRICS: tuple[str, ...] = ("rouge1", "rouge2", "rougeL", "rougeLsum")
TokenizerName = Literal["fr", "en", "compat"]
TOKENIZERS: tuple[str, ...] = ("fr", "en", "compat")

# Maximal runs of Unicode letters and digits: \w minus the underscore. "œ" is a letter
# (not a compatibility ligature), so "œuvre" stays one token.
_WORD = re.compile(r"[^\W_]+")


class FrenchTokenizer(tokenizers.Tokenizer):
    """rouge-score tokenizer for French: NFC, lowercase, letter/digit runs, Snowball stems."""

    def __init__(self, stem: bool = True) -> None:
        self.stem = stem
        if stem:
            stemmer = snowballstemmer.stemmer("french")
            # Summaries repeat words a lot; the pure-Python stemmer is the slow part.
            self._stem = lru_cache(maxsize=200_000)(stemmer.stemWord)

    def tokenize(self, text: str) -> list[str]:
        tokens = _WORD.findall(unicodedata.normalize("NFC", text).lower())
        if self.stem:
            tokens = [self._stem(token) for token in tokens]
        return tokens


@dataclass(frozen=True)
class RougeOptions:
    """Everything that changes a ROUGE number; recorded in `rouge_signature`."""

    tokenizer: TokenizerName = "fr"
    stem: bool = True
    split_sentences: bool = False  # split with pipeline.sentences before rougeLsum
    metrics: tuple[str, ...] = METRICS
    bootstrap: BootstrapOptions = field(default_factory=BootstrapOptions)

    def __post_init__(self) -> None:
        if self.tokenizer not in TOKENIZERS:
            raise ValueError(
                f"unknown ROUGE tokenizer {self.tokenizer!r}: use {', '.join(TOKENIZERS)}"
            )

    @property
    def lang(self) -> str:
        """Language of the scored text, for sentence splitting (`compat` scores French)."""
        return "en" if self.tokenizer == "en" else "fr"


def make_scorer(options: RougeOptions) -> rouge_scorer.RougeScorer:
    """A rouge-score `RougeScorer` with the tokenizer the options ask for."""
    if options.tokenizer in ("en", "compat"):
        # Exactly what `RougeScorer(metrics, use_stemmer=...)` does by default.
        return rouge_scorer.RougeScorer(list(options.metrics), use_stemmer=options.stem)
    return rouge_scorer.RougeScorer(list(options.metrics), tokenizer=FrenchTokenizer(options.stem))


def sentences_per_line(text: str, lang: str = "fr") -> str:
    """Text in `lang` with one sentence a line, the layout rougeLsum expects."""
    # Imported here: only this helper needs the sentence segmenter.
    from newsum.pipeline.core.sentences import split_sentences

    return "\n".join(split_sentences(text, lang))


def rouge_pairs(
    predictions: list[str], references: list[str], options: RougeOptions | None = None
) -> dict[str, np.ndarray]:
    """Per-pair ROUGE: {metric: array (n, 3)} of precision, recall, F on a 0-1 scale.

    `predictions[i]` is scored against `references[i]`; values are rouge-score's own.
    """
    options = options or RougeOptions()
    if len(predictions) != len(references):
        raise ValueError(
            f"{len(predictions)} predictions but {len(references)} references: match ids first"
        )
    scorer = make_scorer(options)
    out = {metric: np.zeros((len(predictions), 3)) for metric in options.metrics}
    for i, (prediction, reference) in enumerate(zip(predictions, references, strict=True)):
        if options.split_sentences:
            prediction = sentences_per_line(prediction, options.lang)
            reference = sentences_per_line(reference, options.lang)
        # rouge-score's argument order is (target, prediction).
        for metric, score in scorer.score(reference, prediction).items():
            out[metric][i] = (score.precision, score.recall, score.fmeasure)
    return out


def aggregate_rouge(
    pairs: dict[str, np.ndarray], options: RougeOptions | None = None
) -> dict[str, dict[str, float]]:
    """System scores, 0-100: mean P, R, F over pairs and a bootstrap CI of the mean F.

    Returns {metric: {"precision", "recall", "fmeasure", "ci_low", "ci_high"}}, the
    value of the report's "rouge" key.
    """
    boot = (options or RougeOptions()).bootstrap
    result = {}
    for metric, values in pairs.items():
        precision, recall, fmeasure = 100 * values.mean(axis=0)
        low, high = bootstrap_ci(100 * values[:, 2], boot.n_resamples, boot.seed, boot.alpha)
        result[metric] = {
            "precision": float(precision),
            "recall": float(recall),
            "fmeasure": float(fmeasure),
            "ci_low": float(low),
            "ci_high": float(high),
        }
    return result


def compare_rouge(
    pairs_a: dict[str, np.ndarray],
    pairs_b: dict[str, np.ndarray],
    options: RougeOptions | None = None,
) -> dict[str, dict[str, float]]:
    """Paired bootstrap of system A against B on the same ids, on F (0-100).

    Returns {metric: {"diff", "p_value", "ci_low", "ci_high"}}, diff = F(A) - F(B);
    see `eval.bootstrap` for the p-value.
    """
    boot = (options or RougeOptions()).bootstrap
    return {
        metric: paired_bootstrap(
            100 * pairs_a[metric][:, 2],
            100 * pairs_b[metric][:, 2],
            boot.n_resamples,
            boot.seed,
            boot.alpha,
        ).as_dict()
        for metric in pairs_a
    }


def rouge_signature(options: RougeOptions, n: int) -> str:
    """Reproducibility string, e.g.
    `rouge:tok=fr|stem=snowball-fr|sent=newline|n=500|boot=1000|seed=12345|ci=95%|
    rouge-score=0.1.2|snowballstemmer=3.1.1`.
    """
    if options.tokenizer in ("en", "compat"):
        stem, libs = "porter", ["rouge-score", "nltk"]  # nltk provides the Porter stemmer
    else:
        stem, libs = "snowball-fr", ["rouge-score", "snowballstemmer"]
        if snowballstemmer.stemmer.__module__ == "Stemmer":  # PyStemmer backend in use
            libs.append("PyStemmer")
    parts = [
        f"tok={options.tokenizer}",
        f"stem={stem if options.stem else 'no'}",
        f"sent={f'split-{options.lang}' if options.split_sentences else 'newline'}",
        f"n={n}",
        options.bootstrap.signature(),
        *(f"{lib}={metadata.version(lib)}" for lib in libs),
    ]
    return "rouge:" + "|".join(parts)

"""BLEU, chrF, TER (eval.translation): identical to calling sacrebleu directly."""

import numpy as np
import pytest
import sacrebleu
from sacrebleu.metrics import BLEU, CHRF, TER

from newsum.eval.bootstrap import BootstrapOptions
from newsum.eval.translation import (
    aggregate_translation,
    segment_stats,
    translation_scores,
)

REFS = [
    "The government announced a rise in fuel prices on Monday.",
    "Unemployment fell to 9.5% in 2023.",
    "The spokesman said he would come.",
    "Summer will be hot in Paris.",
    "The unions are protesting against the reform.",
    "A major work by the painter was sold in February.",
    "Heavy rain caused flooding in the south of France.",
    "The minister resigned after the vote.",
]
GOOD = [
    "The government announced an increase in fuel prices on Monday.",
    "Unemployment dropped to 9.5% in 2023.",
    "The spokesperson said he would come.",
    "The summer will be hot in Paris.",
    "Unions protest against the reform.",
    "A major work of the painter was sold in February.",
    "Heavy rains caused floods in southern France.",
    "The minister resigned after the vote.",
]
BAD = [
    "Monday fuel.",
    "In 2023 something happened.",
    "He came.",
    "Paris is a city.",
    "There is a reform.",
    "Painting.",
    "It rained.",
    "A vote took place.",
]

TABLE = [
    pytest.param(GOOD, REFS, id="good"),
    pytest.param(BAD, REFS, id="bad"),
    pytest.param(REFS, REFS, id="perfect"),
    pytest.param(["", *GOOD[1:]], REFS, id="empty-segment"),
    pytest.param(["L'été sera chaud à Paris."], ["Summer will be hot in Paris."], id="one"),
    pytest.param(["Ça coûte 9,5 € — «cher»"], ["It costs €9.50, “expensive”"], id="unicode"),
]


@pytest.mark.parametrize(("hyps", "refs"), TABLE)
def test_scores_and_signatures_equal_sacrebleu(hyps, refs):
    result = translation_scores(hyps, refs)
    for name, metric, corpus_fn in [
        ("bleu", BLEU(), sacrebleu.corpus_bleu),
        ("chrf", CHRF(), sacrebleu.corpus_chrf),
        ("ter", TER(), sacrebleu.corpus_ter),
    ]:
        expected = metric.corpus_score(hyps, [refs])
        assert result[name]["score"] == expected.score, name
        assert result[name]["score"] == corpus_fn(hyps, [refs]).score, name
        assert result[name]["signature"] == str(metric.get_signature()), name


@pytest.mark.parametrize(("hyps", "refs"), TABLE)
def test_segment_statistics_reaggregate_to_the_corpus_score(hyps, refs):
    # guards the two sacrebleu methods the bootstrap relies on
    for name, entry in segment_stats(hyps, refs).items():
        everything = np.arange(len(hyps))[None, :]
        assert entry.score_rows(everything)[0] == pytest.approx(entry.score, abs=1e-9), name


def test_signatures_are_sacrebleu_defaults():
    result = translation_scores(GOOD, REFS)
    version = sacrebleu.__version__
    assert (
        result["bleu"]["signature"]
        == f"nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:{version}"
    )
    assert result["chrf"]["signature"].startswith("nrefs:1|case:mixed|eff:yes|nc:6|nw:0|")
    assert result["ter"]["signature"].startswith("nrefs:1|case:lc|tok:tercom|")
    assert result["bleu"]["bootstrap"] == "boot=1000|seed=12345|ci=95%"


def test_ci_brackets_the_score_and_is_stable():
    result = translation_scores(GOOD, REFS)
    for name, entry in result.items():
        assert entry["ci_low"] <= entry["score"] <= entry["ci_high"], name
        assert entry["ci_low"] < entry["ci_high"], name
    stats = segment_stats(GOOD, REFS)
    assert aggregate_translation(stats) == aggregate_translation(stats)
    assert aggregate_translation(stats) != aggregate_translation(stats, BootstrapOptions(seed=1))


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="match ids"):
        translation_scores(GOOD, REFS[:-1])
    with pytest.raises(ValueError, match="no segments"):
        translation_scores([], [])

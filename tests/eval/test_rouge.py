"""French-aware ROUGE (eval.rouge): compat equals rouge-score, fr equals hand counts."""

from fractions import Fraction as Fr
from importlib import metadata

import numpy as np
import pytest
import snowballstemmer
from rouge_score import rouge_scorer, tokenize, tokenizers

from newsum.eval.bootstrap import BootstrapOptions
from newsum.eval.rouge import (
    METRICS,
    FrenchTokenizer,
    RougeOptions,
    aggregate_rouge,
    compare_rouge,
    rouge_pairs,
    rouge_signature,
    sentences_per_line,
)

_SNOWBALL = snowballstemmer.stemmer("french")


def stems(*words: str) -> list[str]:
    """Snowball French stems, straight from snowballstemmer (the reference)."""
    return [_SNOWBALL.stemWord(w) for w in words]


# --- the problem: rouge-score's own tokenizer on French --------------------------------


def test_default_rouge_tokenizer_mangles_french():
    assert tokenize.tokenize("février", None) == ["f", "vrier"]
    assert tokenize.tokenize("été", None) == ["t"]
    assert FrenchTokenizer(stem=False).tokenize("février") == ["février"]
    assert FrenchTokenizer(stem=False).tokenize("été") == ["été"]


# --- fr tokenizer -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("l'été", ["l", "été"]),  # elision, ASCII apostrophe
        ("L’été", ["l", "été"]),  # typographic apostrophe, capital
        ("qu'il", ["qu", "il"]),
        ("aujourd'hui", ["aujourd", "hui"]),  # every apostrophe splits, by design
        ("porte-parole", ["porte", "parole"]),
        ("l'œuvre", ["l", "œuvre"]),  # œ is a letter: one token
        ("ŒUVRE", ["œuvre"]),
        ("9,5 %", ["9", "5"]),
        ("en 2023.", ["en", "2023"]),
        ("e\u0301te\u0301", ["été"]),  # NFD input is composed first
        ("ÉTÉ", ["été"]),
        ("«Bonjour», dit-il…", ["bonjour", "dit", "il"]),
        ("mot_clé", ["mot", "clé"]),  # underscore is not a letter
        ("", []),
    ],
)
def test_fr_tokens_without_stemming(text, tokens):
    assert FrenchTokenizer(stem=False).tokenize(text) == tokens


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("L'été sera chaud", ["l", "été", "sera", "chaud"]),
        ("Les œuvres majeures", ["les", "œuvres", "majeures"]),
        ("Le porte-parole viendra", ["le", "porte", "parole", "viendra"]),
        ("Le gouvernement a annoncé", ["le", "gouvernement", "a", "annoncé"]),
    ],
)
def test_fr_tokens_are_snowball_stems(text, words):
    assert FrenchTokenizer().tokenize(text) == stems(*words)


def test_stems_used_in_hand_computed_cases():
    # The hand counts below rely on these stems; if Snowball ever changes them, this
    # test points at the cause.
    assert stems("l", "été", "sera", "chaud", "à", "paris") == [
        "l", "été", "ser", "chaud", "à", "paris",
    ]  # fmt: skip
    assert stems("les", "œuvres", "majeures", "une", "œuvre", "majeure") == [
        "le", "œuvr", "majeur", "une", "œuvr", "majeur",
    ]  # fmt: skip
    assert stems("porte", "parole", "viendra", "février", "née", "chômage", "baisse") == [
        "port", "parol", "viendr", "févri", "né", "chômag", "baiss",
    ]  # fmt: skip


def test_french_tokenizer_is_a_rouge_score_tokenizer():
    assert isinstance(FrenchTokenizer(), tokenizers.Tokenizer)


# --- fr mode: ROUGE against hand-computed values ------------------------------------------


def prf(p: Fr, r: Fr) -> tuple[Fr, Fr, Fr]:
    return p, r, 2 * p * r / (p + r)


# (prediction, reference, {metric: (P, R, F)}), counts worked out by hand on the tokens
FR_CASES = [
    pytest.param(
        # pred: cet été il fer chaud à paris           (7 tokens)
        # ref:  l été ser chaud à paris                (6 tokens)
        # unigrams in common: été chaud à paris = 4; LCS the same 4
        # bigrams: pred 6, ref 5, common (chaud à) (à paris) = 2
        "Cet été, il fera chaud à Paris.",
        "L'été sera chaud à Paris.",
        {
            "rouge1": prf(Fr(4, 7), Fr(4, 6)),  # F = 8/13
            "rouge2": prf(Fr(2, 6), Fr(2, 5)),  # F = 4/11
            "rougeL": prf(Fr(4, 7), Fr(4, 6)),
        },
        id="elision-accents",
    ),
    pytest.param(
        # pred: selon le port parol il viendr          (6 tokens)
        # ref:  le port parol a dit qu il viendr       (8 tokens)
        # unigrams: le port parol il viendr = 5; LCS the same 5
        # bigrams: pred 5, ref 7, common (le port) (port parol) (il viendr) = 3
        "Selon le porte-parole, il viendra.",
        "Le porte-parole a dit qu'il viendra.",
        {
            "rouge1": prf(Fr(5, 6), Fr(5, 8)),  # F = 5/7
            "rouge2": prf(Fr(3, 5), Fr(3, 7)),  # F = 1/2
            "rougeL": prf(Fr(5, 6), Fr(5, 8)),
        },
        id="hyphen-elision",
    ),
    pytest.param(
        # pred: le œuvr majeur ("les" stems to "le"); ref: une œuvr majeur
        # unigrams 2 of 3; bigrams: (œuvr majeur) 1 of 2; LCS 2
        "Les œuvres majeures",
        "Une œuvre majeure",
        {
            "rouge1": prf(Fr(2, 3), Fr(2, 3)),
            "rouge2": prf(Fr(1, 2), Fr(1, 2)),
            "rougeL": prf(Fr(2, 3), Fr(2, 3)),
        },
        id="ligature-oe",
    ),
    pytest.param(
        # pred: chômag 9 5 en 2023                     (5 tokens)
        # ref:  le chômag baiss à 9 5 en 2023          (8 tokens)
        # unigrams 5 (all of pred); LCS chômag 9 5 en 2023 = 5
        # bigrams: pred 4, ref 7, common (9 5) (5 en) (en 2023) = 3
        "Chômage : 9,5 % en 2023.",
        "Le chômage baisse à 9,5 % en 2023.",
        {
            "rouge1": prf(Fr(5, 5), Fr(5, 8)),  # F = 10/13
            "rouge2": prf(Fr(3, 4), Fr(3, 7)),  # F = 6/11
            "rougeL": prf(Fr(5, 5), Fr(5, 8)),
        },
        id="numbers",
    ),
    pytest.param(
        # pred: il a été élu en févri                  (6 tokens)
        # ref:  elle est né en févri                   (5 tokens)
        # unigrams: en févri = 2; bigrams: pred 5, ref 4, common (en févri) = 1
        "Il a été élu en février.",
        "Elle est née en février.",
        {
            "rouge1": prf(Fr(2, 6), Fr(2, 5)),  # F = 4/11
            "rouge2": prf(Fr(1, 5), Fr(1, 4)),  # F = 2/9
            "rougeL": prf(Fr(2, 6), Fr(2, 5)),
        },
        id="fevrier",
    ),
    pytest.param(
        # flat LCS of the two orders: "le gouvern a annonc une hauss" = 6 of 9 tokens;
        # rougeLsum matches sentence by sentence (union LCS): 6 + 3 = 9 of 9
        "Les prix montent.\nLe gouvernement a annoncé une hausse.",
        "Le gouvernement a annoncé une hausse.\nLes prix montent.",
        {
            "rouge1": prf(Fr(1), Fr(1)),
            "rougeL": prf(Fr(6, 9), Fr(6, 9)),
            "rougeLsum": prf(Fr(1), Fr(1)),
        },
        id="rougeLsum-sentence-order",
    ),
    pytest.param(
        "",
        "Le gouvernement a annoncé une hausse.",
        {m: (0, 0, 0) for m in METRICS},
        id="empty-prediction",
    ),
]


@pytest.mark.parametrize(("prediction", "reference", "expected"), FR_CASES)
def test_fr_mode_equals_hand_computed_values(prediction, reference, expected):
    pairs = rouge_pairs([prediction], [reference], RougeOptions(tokenizer="fr"))
    for metric, values in expected.items():
        assert pairs[metric][0] == pytest.approx([float(v) for v in values], rel=1e-12), metric


def test_without_stemming_inflections_do_not_match():
    # une œuvre majeure / les œuvres majeures: no surface token in common
    pairs = rouge_pairs(
        ["Les œuvres majeures"], ["Une œuvre majeure"], RougeOptions(tokenizer="fr", stem=False)
    )
    assert pairs["rouge1"][0].tolist() == [0, 0, 0]


def test_compat_counts_one_french_word_as_two():
    # compat tokens: il a t lu en f vrier / elle est n e en f vrier, so "février" alone
    # makes two common bigrams (en f) (f vrier); the fr tokenizer finds one (en févri)
    prediction, reference = "Il a été élu en février.", "Elle est née en février."
    compat = rouge_pairs([prediction], [reference], RougeOptions(tokenizer="compat"))
    assert compat["rouge2"][0][:2] == pytest.approx([2 / 6, 2 / 6])


# --- compat mode: bit for bit with rouge-score ----------------------------------------------

COMPAT_CASES = [
    ("The quick brown dog jumps on the log.", "The quick brown fox jumps over the lazy dog"),
    ("Police killed the gunman.", "The gunman was shot down by police."),
    ("running runners ran", "the runner runs"),
    ("L'été sera chaud en février.", "Cet été, il fera chaud à Paris."),
    ("Le porte-parole a dit qu'il viendra.", "Selon le porte-parole, il viendra."),
    ("Chômage : 9,5 % en 2023.", "Le chômage baisse à 9,5 % en 2023."),
    ("Une œuvre majeure.", "Les œuvres majeures."),
    ("First sentence here.\nSecond one follows.", "Second one follows.\nFirst sentence."),
    (
        "Le gouvernement a annoncé une hausse.\nLes prix montent.\nLes syndicats protestent.",
        "Les syndicats protestent contre la hausse.\nLe gouvernement a annoncé des prix.",
    ),
    ("", "Empty prediction."),
    ("Prediction only.", ""),
]


@pytest.mark.parametrize("stem", [True, False])
def test_compat_mode_equals_rouge_score_exactly(stem):
    predictions = [p for p, _ in COMPAT_CASES]
    references = [r for _, r in COMPAT_CASES]
    pairs = rouge_pairs(predictions, references, RougeOptions(tokenizer="compat", stem=stem))
    scorer = rouge_scorer.RougeScorer(list(METRICS), use_stemmer=stem)
    for i, (prediction, reference) in enumerate(COMPAT_CASES):
        expected = scorer.score(reference, prediction)  # rouge-score: (target, prediction)
        for metric in METRICS:
            assert tuple(pairs[metric][i]) == tuple(expected[metric]), (i, metric)


def test_compat_rougelsum_differs_from_rougel_on_multi_sentence_text():
    # sanity check on the table above: the newline-split pairs really exercise rougeLsum
    prediction, reference = COMPAT_CASES[7]
    pairs = rouge_pairs([prediction], [reference], RougeOptions(tokenizer="compat"))
    assert pairs["rougeLsum"][0][2] != pairs["rougeL"][0][2]


# --- sentence splitting for rougeLsum -----------------------------------------------------


def test_sentences_per_line():
    text = "M. Dupont a parlé. Les prix montent ! Vraiment ?"
    assert sentences_per_line(text) == "M. Dupont a parlé.\nLes prix montent !\nVraiment ?"


def test_split_sentences_option_changes_only_rougelsum():
    prediction = "Les prix montent. Le gouvernement a annoncé une hausse."
    reference = "Le gouvernement a annoncé une hausse. Les prix montent."
    one_line = rouge_pairs([prediction], [reference], RougeOptions(split_sentences=False))
    split = rouge_pairs([prediction], [reference], RougeOptions(split_sentences=True))
    # on one line rougeLsum is rougeL (6/9); split, it matches sentence by sentence (1)
    assert one_line["rougeLsum"][0] == pytest.approx([6 / 9] * 3)
    assert split["rougeLsum"][0] == pytest.approx([1, 1, 1])
    for metric in ("rouge1", "rouge2", "rougeL"):
        assert (one_line[metric] == split[metric]).all()


# --- aggregation, CIs, comparison, signature -----------------------------------------------


def test_system_score_is_the_mean_of_pairs_on_0_100():
    predictions = [c.values[0] for c in FR_CASES[:4]]
    references = [c.values[1] for c in FR_CASES[:4]]
    report = aggregate_rouge(rouge_pairs(predictions, references))
    assert set(report) == set(METRICS)
    # rouge1 by hand: P = mean(4/7, 5/6, 2/3, 1), R = mean(4/6, 5/8, 2/3, 5/8)
    # F = mean(8/13, 5/7, 2/3, 10/13)
    rouge1 = report["rouge1"]
    assert rouge1["precision"] == pytest.approx(25 * float(Fr(4, 7) + Fr(5, 6) + Fr(2, 3) + 1))
    assert rouge1["recall"] == pytest.approx(25 * float(Fr(4, 6) + Fr(5, 8) + Fr(2, 3) + Fr(5, 8)))
    assert rouge1["fmeasure"] == pytest.approx(
        25 * float(Fr(8, 13) + Fr(5, 7) + Fr(2, 3) + Fr(10, 13))
    )
    for scores in report.values():
        assert set(scores) == {"precision", "recall", "fmeasure", "ci_low", "ci_high"}
        assert all(type(v) is float for v in scores.values())
        assert scores["ci_low"] <= scores["fmeasure"] <= scores["ci_high"]


def test_ci_is_stable_for_a_seed():
    predictions = [c.values[0] for c in FR_CASES]
    references = [c.values[1] for c in FR_CASES]
    pairs = rouge_pairs(predictions, references)
    same = RougeOptions(bootstrap=BootstrapOptions(seed=3))
    other = RougeOptions(bootstrap=BootstrapOptions(seed=4))
    assert aggregate_rouge(pairs, same) == aggregate_rouge(pairs, same)
    assert aggregate_rouge(pairs, same) != aggregate_rouge(pairs, other)


def _systems(n: int = 40) -> tuple[list[str], list[str], list[str]]:
    rng = np.random.default_rng(0)
    words = "le la les un une de des gouvernement prix hausse baisse été février Paris".split()
    references = [" ".join(rng.choice(words, size=12)) for _ in range(n)]
    good = [r.rsplit(" ", 2)[0] for r in references]  # reference minus two words
    bad = [" ".join(rng.choice(words, size=10)) for _ in range(n)]  # unrelated
    return references, good, bad


def test_compare_better_system_is_significant():
    references, good, bad = _systems()
    result = compare_rouge(rouge_pairs(good, references), rouge_pairs(bad, references))
    for metric, comparison in result.items():
        assert comparison["diff"] > 0, metric
        assert comparison["p_value"] < 0.05, metric
        assert comparison["ci_low"] > 0, metric


def test_compare_identical_systems():
    references, good, _ = _systems()
    pairs = rouge_pairs(good, references)
    for comparison in compare_rouge(pairs, pairs).values():
        assert comparison == {"diff": 0.0, "p_value": 1.0, "ci_low": 0.0, "ci_high": 0.0}


def test_signature():
    versions = f"rouge-score={metadata.version('rouge-score')}"
    fr = rouge_signature(RougeOptions(), 500)
    assert fr.startswith("rouge:tok=fr|stem=snowball-fr|sent=newline|n=500|boot=1000|seed=12345")
    assert versions in fr and f"snowballstemmer={metadata.version('snowballstemmer')}" in fr
    assert "|stem=no|" in rouge_signature(RougeOptions(stem=False), 1)
    compat = rouge_signature(RougeOptions(tokenizer="compat", split_sentences=True), 1)
    assert "tok=compat|stem=porter|sent=split-fr|" in compat and "nltk=" in compat


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="match ids"):
        rouge_pairs(["a"], ["a", "b"])
    with pytest.raises(ValueError, match="tokenizer"):
        RougeOptions(tokenizer="de")  # type: ignore[arg-type]

"""Steps 5 and 6: language id and near-duplicate detection."""

import random

import numpy as np
import pytest

from newsum.pipeline.clean.dedup import FlagNearDuplicates, shingle_hashes
from newsum.pipeline.clean.language import DetectLanguage, detect_language
from newsum.pipeline.core.languages import language_refusal
from newsum.pipeline.core.record import Record

WORDS = (
    "le la les un une des gouvernement ville projet maire conseil habitants budget travaux "
    "école route tramway énergie prix hausse baisse année semaine région syndicat accord "
    "plan réforme santé hôpital emploi usine salariés grève transport logement loyer"
).split()


def article(seed: int, n: int = 120) -> str:
    rng = random.Random(seed)
    return " ".join(rng.choice(WORDS) for _ in range(n))


def jaccard(a: str, b: str) -> float:
    def grams(t):
        w = t.casefold().split()
        return {tuple(w[i : i + 3]) for i in range(len(w) - 2)}

    ga, gb = grams(a), grams(b)
    return len(ga & gb) / len(ga | gb)


def test_shingle_hashes_match_the_set_of_word_trigrams():
    text = "a b c a b c d"  # trigrams: abc bca cab abc bcd -> 4 distinct
    assert len(shingle_hashes(text)) == 5
    assert len(set(shingle_hashes(text))) == 4
    assert len(shingle_hashes("Un Deux")) == 1
    assert set(shingle_hashes("A b C")) == set(shingle_hashes("a B c"))
    assert set(shingle_hashes("a b c d")) != set(shingle_hashes("a c b d"))  # order counts


def test_near_duplicates_point_to_the_first_copy():
    base = article(1)
    words = base.split()
    edited = " ".join([*words[:-3], "fin", "du", "texte"])  # last three words changed
    assert jaccard(base, edited) > 0.9
    records = [
        Record("a", text=base),
        Record("b", text=article(2)),
        Record("c", text=edited),
        Record("d", text=base.upper()),
    ]
    out = list(FlagNearDuplicates(0.8)(records))
    assert [r.duplicate_of for r in out] == [None, None, "a", "a"]


def test_threshold_separates_similar_from_different():
    base = article(3, 200)
    words = base.split()
    half = " ".join(words[:100] + article(4, 100).split())  # Jaccard about 1/3
    assert jaccard(base, half) < 0.5
    (_, second) = FlagNearDuplicates(0.8)([Record("a", text=base), Record("b", text=half)])
    assert second.duplicate_of is None
    (_, second) = FlagNearDuplicates(0.2)([Record("a", text=base), Record("b", text=half)])
    assert second.duplicate_of == "a"


def test_dedup_is_deterministic_across_instances():
    texts = [article(i % 7, 80) + f" {i}" for i in range(30)]

    def run():
        return [
            r.duplicate_of
            for r in FlagNearDuplicates(0.8)(Record(str(i), text=t) for i, t in enumerate(texts))
        ]

    first = run()
    assert first == run()
    assert first[7] == "0" and first[0] is None


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Le gouvernement a présenté mercredi un projet de loi sur le logement social.", "fr"),
        ("The government presented a housing bill on Wednesday, officials said.", "en"),
        ("La Comisión Europea presentó el miércoles un proyecto de ley sobre vivienda.", "es"),
        ("Die Bundesregierung hat am Mittwoch einen Gesetzentwurf vorgestellt.", "de"),
    ],
)
def test_detect_language(text, lang):
    code, score = detect_language(text)
    assert code == lang
    assert 0.5 < score <= 1.0


def two_articles():
    return [
        Record("fr", text="Le maire a inauguré la nouvelle ligne de tramway ce matin."),
        Record("en", text="The mayor opened the new tram line this morning in the city."),
    ]


def test_clean_flags_languages_and_model_stages_refuse_others():
    flagged = list(DetectLanguage()(two_articles()))
    assert [r.lang for r in flagged] == ["fr", "en"]
    assert all(r.ok for r in flagged)  # clean keeps every language
    refusals = [language_refusal(r.lang, ("fr",), "the summarizer") for r in flagged]
    assert refusals[0] is None
    assert (
        "'en'" in refusals[1] and "the summarizer" in refusals[1] and "--languages" in refusals[1]
    )
    assert all(language_refusal(r.lang, ("fr", "en")) is None for r in flagged)
    assert language_refusal("de", ("*",)) is None and language_refusal(None, ("fr",)) is None


def test_batch_signatures_equal_datasketch_minhash():
    from datasketch import MinHash

    from newsum.pipeline.clean.dedup import NUM_PERM, minhash_signatures

    permutations = MinHash(num_perm=NUM_PERM, seed=1).permutations
    sets = [shingle_hashes(article(seed, n)) for seed, n in ((1, 120), (2, 5), (3, 400))]
    ours = minhash_signatures(sets, permutations)
    for row, hashes in zip(ours, sets, strict=True):
        reference = MinHash(
            num_perm=NUM_PERM, hashfunc=int, permutations=permutations, scheme="affine32"
        )
        reference.update_batch(hashes.tolist())
        assert np.array_equal(row, reference.hashvalues)


def test_batched_and_one_by_one_dedup_agree():
    texts = [article(i % 9, 60) + (" fin" if i % 2 else "") for i in range(150)]

    def records():
        return [Record(str(i), text=t) for i, t in enumerate(texts)]

    batched = [r.duplicate_of for r in FlagNearDuplicates(0.8)(records())]
    step = FlagNearDuplicates(0.8)
    single = [r.duplicate_of for one in records() for r in step([one])]
    unprepared = FlagNearDuplicates(0.8)
    for record in (manual := records()):
        unprepared.process(record)  # no prepare(): the record-by-record path
    assert batched == single == [r.duplicate_of for r in manual]
    # 9 distinct texts; a copy with " fin" added is a near-duplicate of the first one
    assert batched.count(None) == 9
    assert batched[9] == "0" and batched[18] == "0" and batched[10] == "1"

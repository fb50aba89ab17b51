"""The engine: token-budget batching, input order restored, out-of-memory recovery."""

import pytest

from newsum.models.backend import Decoding
from newsum.models.chunking import pack
from newsum.models.engine import Engine
from newsum.models.summarize import summarize_texts
from newsum.models.translate import translate_texts
from tests.fixtures.fakes import EchoBackend, WordTokenizer


def engine(backend=None, batch_tokens=64, max_batch_size=8, max_input_tokens=64):
    backend = backend or EchoBackend(max_input_tokens=max_input_tokens)
    return Engine(
        backend,
        WordTokenizer(),
        Decoding(max_new_tokens=8),
        max_input_tokens=max_input_tokens,
        batch_tokens=batch_tokens,
        max_batch_size=max_batch_size,
    )


def words(n: int, tag: str) -> str:
    return " ".join(f"{tag}{i}" for i in range(n))


def test_results_come_back_in_input_order():
    texts = [words(n, f"t{n}_") for n in (3, 12, 1, 7, 20, 5)]
    results = engine().generate(texts)
    assert [r.text for r in results] == [" ".join(t.split()[:3]) for t in texts]
    assert all(r.error is None for r in results)


def test_batches_are_sorted_by_length_and_fit_the_budget():
    e = engine(batch_tokens=40, max_batch_size=3)
    texts = [words(n, "w") for n in (2, 15, 9, 4, 9, 30, 1)]
    e.generate(texts)
    calls = e.backend.calls
    assert sum(len(batch) for batch in calls) == len(texts)
    lengths = [len(seq) for batch in calls for seq in batch]
    assert lengths == sorted(lengths, reverse=True)  # longest first, across batches
    for batch in calls:
        assert len(batch) <= 3
        assert len(batch) * max(len(seq) for seq in batch) <= 40 or len(batch) == 1


def fewest_batches(lengths: list[int], budget: int, cap: int) -> int:
    """By dynamic programming over the sorted lengths: the fewest contiguous batches
    within the budget and cap (the reference the engine's even split must match)."""
    lengths = sorted(lengths, reverse=True)
    best = [0] + [len(lengths) + 1] * len(lengths)
    for end in range(1, len(lengths) + 1):
        for start in range(end):
            size = end - start
            if size <= cap and (size * lengths[start] <= budget or size == 1):
                best[end] = min(best[end], best[start] + 1)
    return best[-1]


@pytest.mark.parametrize("seed", range(6))
def test_batches_are_as_few_as_possible_and_even(seed):
    import random

    rng = random.Random(seed)
    lengths = [rng.randint(1, 40) for _ in range(rng.randint(1, 90))]
    e = engine(batch_tokens=200, max_batch_size=16)
    batches = e.batches(list(range(len(lengths))), lengths)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    assert len(batches) == fewest_batches(lengths, 200, 16)
    for batch in batches:
        assert len(batch) <= 16
        assert len(batch) == 1 or len(batch) * lengths[batch[0]] <= 200


def test_a_runt_batch_is_evened_out():
    # 64 equal inputs, room for 56 in a batch: two batches of 32, not 56 and 8.
    e = engine(batch_tokens=56 * 10, max_batch_size=64)
    batches = e.batches(list(range(64)), [10] * 64)
    assert [len(b) for b in batches] == [32, 32]


def test_same_config_same_batches():
    texts = [words(n % 13 + 1, "x") for n in range(40)]
    first, second = engine(), engine()
    first.generate(texts)
    second.generate(texts)
    assert first.backend.calls == second.backend.calls


def test_out_of_memory_splits_the_batch_and_recovers():
    backend = EchoBackend(oom_above=2)
    e = engine(backend, batch_tokens=10_000, max_batch_size=8)
    texts = [words(4, f"a{i}_") for i in range(8)]
    results = e.generate(texts)
    assert [r.text for r in results] == [" ".join(t.split()[:3]) for t in texts]
    sizes = [len(batch) for batch in backend.calls]
    assert sizes[0] == 8 and max(sizes[1:]) <= 4  # 8 -> 4 -> 2 after failures
    assert sizes == [8, 4, 2, 2, 4, 2, 2]  # four batches of two finally ran


def test_an_input_that_never_fits_is_an_error_and_the_rest_go_on():
    tokenizer_probe = WordTokenizer()
    poison = tokenizer_probe(["poison"], add_special_tokens=False)["input_ids"][0][0]
    backend = EchoBackend(oom_on={poison})
    e = Engine(
        backend,
        tokenizer_probe,
        Decoding(),
        max_input_tokens=64,
        batch_tokens=1000,
        max_batch_size=8,
    )
    results = e.generate(["un deux trois quatre", "poison ici", "cinq six sept huit"])
    assert results[0].text == "un deux trois" and results[2].text == "cinq six sept"
    assert results[1].text is None and "out of memory" in results[1].error


def test_too_long_input_is_reported_not_truncated():
    results = engine(max_input_tokens=16).generate([words(40, "z")])
    assert results[0].text is None and "over the model's limit" in results[0].error


def test_pack_keeps_every_sentence_within_the_limit():
    e = engine(max_input_tokens=20)
    sentences = [words(n, f"s{k}_") + "." for k, n in enumerate((5, 9, 3, 14, 2, 40, 6))]
    pieces = pack(sentences, e)
    limit = 20 - 4
    assert all(len(p.split()) <= limit for p in pieces)
    # nothing lost, nothing reordered: the 40-word sentence is the only one cut
    assert " ".join(pieces).split() == " ".join(sentences).split()


@pytest.mark.parametrize("n_words", [10, 200, 12_000])
def test_long_articles_are_summarized_through_chunks(n_words):
    text = " ".join(f"Phrase {i} du texte {i % 7} ici." for i in range(n_words // 6))
    e = engine(max_input_tokens=64, batch_tokens=4096, max_batch_size=64)
    ((summary, chunks, error, _),) = summarize_texts([text], e)
    assert error is None and summary
    expected_chunks = len(pack([s + "." for s in text.split(".") if s.strip()], e))
    assert chunks == expected_chunks
    assert (chunks > 1) == (n_words > 50)


def test_translation_keeps_paragraphs_and_flags_truncation():
    e = engine(EchoBackend(keep=50), max_input_tokens=64)
    text = "Premier paragraphe ici. Encore une phrase.\nSecond paragraphe là."
    ((translation, warning, error),) = translate_texts([text], e)
    assert error is None and warning is None
    assert translation.split("\n") == [
        "Premier paragraphe ici. Encore une phrase.",
        "Second paragraphe là.",
    ]
    short = engine(EchoBackend(keep=1), max_input_tokens=64)
    ((translation, warning, _),) = translate_texts([text], short)
    assert translation.count("\n") == 1
    assert warning and "truncated" in warning

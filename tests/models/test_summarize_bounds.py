"""Chunked summarization stays bounded when summaries are as long as their chunks."""

from __future__ import annotations

import json
import subprocess
import time

import pytest

from newsum.models.backend import Decoding
from newsum.models.engine import Engine
from newsum.models.summarize import MAX_ROUNDS, summarize_texts
from tests.fixtures.fakes import EOS, EchoBackend, WordTokenizer
from tests.fixtures.jobs import NEWSUM

ARTICLE = (
    "Le conseil municipal a voté mardi soir le budget de la ville pour l’année prochaine. "
    "Les travaux du nouveau tramway commenceront en juin et dureront deux ans. "
    "Le maire a promis que les impôts locaux n’augmenteraient pas cette année."
)


class WordyBackend(EchoBackend):
    """A model that always writes more than it reads: each input comes back twice over,
    the way a real model does when --max-new-tokens is over the input size."""

    def generate(self, inputs: list[list[int]], decoding: Decoding) -> list[list[int]]:
        self.calls.append(inputs)
        return [[*[t for t in seq if t != EOS] * 2, EOS] for seq in inputs]


def engine(backend: EchoBackend) -> Engine:
    return Engine(
        backend,
        WordTokenizer(),
        Decoding(max_new_tokens=48),
        max_input_tokens=16,
        batch_tokens=4096,
        max_batch_size=64,
    )


def test_growing_chunk_summaries_end_in_an_error_after_one_round():
    backend = WordyBackend()
    ((summary, chunks, error, _),) = summarize_texts([ARTICLE], engine(backend))
    assert summary is None and chunks > 1
    assert error.startswith("chunk summaries do not shrink")
    # The old code multiplied the pieces by two each round, for MAX_ROUNDS rounds.
    generated = sum(len(call) for call in backend.calls)
    assert generated == chunks
    assert generated <= MAX_ROUNDS * chunks


def test_a_growing_article_does_not_stop_the_others():
    backend = WordyBackend()
    texts = [ARTICLE, "Une phrase courte."]
    (long, short) = summarize_texts(texts, engine(backend))
    assert long[2].startswith("chunk summaries do not shrink")
    assert short == ("Une phrase courte. Une phrase courte.", 1, None, None)


def test_shrinking_chunk_summaries_still_converge():
    backend = EchoBackend(max_input_tokens=16, keep=3)
    ((summary, chunks, error, _),) = summarize_texts([ARTICLE], engine(backend))
    assert error is None and summary and chunks > 1


@pytest.mark.slow
def test_cli_refuses_summaries_longer_than_a_model_input(tiny_models, tmp_path):
    source = tmp_path / "a.jsonl"
    source.write_text(json.dumps({"id": "a", "text": ARTICLE}) + "\n", encoding="utf-8")
    out = tmp_path / "s.jsonl"
    args = ["summarize", str(source), "-o", str(out), "--model", tiny_models["marian"]]
    flags = ["--max-input-tokens", "16", "--min-new-tokens", "48", "--max-new-tokens", "48"]
    start = time.monotonic()
    # The old code ran for minutes here: the timeout turns that into a failure.
    result = subprocess.run([*NEWSUM, *args, *flags], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    assert "--max-new-tokens 48" in result.stderr and "--max-input-tokens 16" in result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()
    assert time.monotonic() - start < 60

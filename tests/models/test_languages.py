"""Multilingual models get the source language through the tokenizer and the target
language as the forced first token."""

import json

import pytest
import sentencepiece as spm
from transformers import AutoTokenizer, M2M100Tokenizer
from transformers.models.mbart50.tokenization_mbart50 import (
    FAIRSEQ_LANGUAGE_CODES as MBART50_CODES,
)
from transformers.models.nllb.tokenization_nllb import FAIRSEQ_LANGUAGE_CODES as NLLB_CODES

from newsum.models.backend import Decoding
from newsum.models.engine import Engine
from newsum.models.languages import MBART50, NLLB, detect
from newsum.models.tiny import build_tiny
from tests.fixtures.fakes import EchoBackend


@pytest.fixture(scope="module")
def mbart_dir(tmp_path_factory):
    return build_tiny(tmp_path_factory.mktemp("languages") / "mbart", "mbart")


def translator(tokenizer):
    """An engine that translates into English with a recording backend."""
    codes = detect(tokenizer)
    assert codes is not None
    backend = EchoBackend(max_input_tokens=512)
    engine = Engine(
        backend,
        tokenizer,
        Decoding(max_new_tokens=4),
        max_input_tokens=512,
        batch_tokens=4096,
        max_batch_size=8,
        codes=codes,
        target_lang="en",
    )
    return engine, backend


def test_mbart_translation_forces_english_and_tags_the_source(mbart_dir):
    tokenizer = AutoTokenizer.from_pretrained(mbart_dir)
    engine, backend = translator(tokenizer)
    assert engine.codes.family == "mbart"
    results = engine.generate(["Le maire a inauguré la ligne."], "fr")
    assert results[0].error is None
    vocab = tokenizer.get_vocab()
    assert backend.decodings[0].forced_first_token == vocab["en_XX"]
    assert vocab["fr_XX"] in backend.calls[0][0]  # the source code is in the input
    unknown = engine.generate(["Texte."], "xx")
    assert unknown[0].text is None and "'xx'" in unknown[0].error


def test_m2m100_tokenizer_takes_the_bare_language_code(mbart_dir, tmp_path):
    """M2M-100's tokenizer wants src_lang "de" (it adds `__de__` itself) and keeps its
    language codes out of get_vocab()."""
    # A fairseq vocabulary over the tiny mBART's SentencePiece model: enough for the
    # M2M-100 tokenizer class, which then adds its 100 language codes.
    sp = spm.SentencePieceProcessor(model_file=str(mbart_dir / "sentencepiece.bpe.model"))
    pieces = [sp.id_to_piece(i) for i in range(3, sp.get_piece_size())]  # after unk, s, /s
    vocab = {p: i for i, p in enumerate(["<s>", "<pad>", "</s>", "<unk>", *pieces])}
    (tmp_path / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    tokenizer = M2M100Tokenizer(
        vocab_file=str(tmp_path / "vocab.json"),
        spm_file=str(mbart_dir / "sentencepiece.bpe.model"),
    )
    engine, backend = translator(tokenizer)
    assert engine.codes.family == "m2m"
    (result,) = engine.generate(["Der Bürgermeister hat die Linie eröffnet."], "de")
    assert result.error is None
    de, en = tokenizer.convert_tokens_to_ids(["__de__", "__en__"])
    assert backend.calls[0][0][0] == de  # M2M-100 puts the source code first
    assert backend.decodings[0].forced_first_token == en


def test_one_pair_models_have_no_codes(tmp_path):
    assert detect(AutoTokenizer.from_pretrained(build_tiny(tmp_path / "m", "marian"))) is None


def test_code_tables_cover_french_and_english():
    for table in (NLLB, MBART50):
        assert {"fr", "en", "de", "es", "it"} <= set(table)


def test_code_tables_name_only_codes_the_models_have():
    # A code the model lacks would turn a language newsum claims to know into an error.
    assert set(NLLB.values()) <= set(NLLB_CODES)
    assert set(MBART50.values()) <= set(MBART50_CODES)

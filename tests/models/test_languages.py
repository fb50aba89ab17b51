"""Multilingual models get the source language through the tokenizer and the target
language as the forced first token."""

from transformers import AutoTokenizer

from models.backend import Decoding
from models.engine import Engine
from models.languages import MBART50, NLLB, detect
from models.tiny import build_tiny

from .fakes import EchoBackend


class RecordingBackend(EchoBackend):
    def generate(self, inputs, decoding):
        self.decodings = [*getattr(self, "decodings", []), decoding]
        return super().generate(inputs, decoding)


def test_mbart_translation_forces_english_and_tags_the_source(tmp_path):
    tokenizer = AutoTokenizer.from_pretrained(build_tiny(tmp_path / "m", "mbart"))
    codes = detect(tokenizer)
    assert codes is not None and codes.family == "mbart"
    backend = RecordingBackend(max_input_tokens=512)
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
    results = engine.generate(["Le maire a inauguré la ligne."], "fr")
    assert results[0].error is None
    vocab = tokenizer.get_vocab()
    assert backend.decodings[0].forced_first_token == vocab["en_XX"]
    assert vocab["fr_XX"] in backend.calls[0][0]  # the source code is in the input
    unknown = engine.generate(["Texte."], "xx")
    assert unknown[0].text is None and "'xx'" in unknown[0].error


def test_one_pair_models_have_no_codes(tmp_path):
    assert detect(AutoTokenizer.from_pretrained(build_tiny(tmp_path / "m", "marian"))) is None


def test_code_tables_cover_french_and_english():
    for table in (NLLB, MBART50):
        assert {"fr", "en", "de", "es", "it"} <= set(table)

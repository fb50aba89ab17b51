"""Multilingual translators are told each record's language, checked on real tiny models.

Tiny mBART and NLLB models (real tokenizers, random weights) translate records in French,
German, Spanish and English. A spy on the torch backend sees the token ids the model gets
and returns: each input must carry the source code of its record's language, each output
must start with the English code. The text is gibberish, so only tokens are checked.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("sentencepiece")

from transformers import AutoTokenizer
from typer.testing import CliRunner

from newsum.models.load import load_model
from newsum.models.options import GenerationOptions
from newsum.models.tiny import build_tiny
from newsum.models.torch_backend import TorchBackend
from newsum.models.translate import Translate
from newsum.pipeline.cli import app
from newsum.pipeline.core.record import ERROR, OK, SKIPPED, Record

ARCHES = ("mbart", "nllb")
SUMMARIES = {
    "fr": "Le maire a inauguré mardi la nouvelle ligne de tramway.",
    "de": "Der Bürgermeister hat am Dienstag die neue Straßenbahnlinie eröffnet.",
    "es": "El alcalde inauguró el martes la nueva línea de tranvía.",
    "en": "The mayor opened the new tram line on Tuesday.",
}
# Written out here rather than taken from models/languages.py, which is under test.
CODES = {
    "mbart": {"fr": "fr_XX", "de": "de_DE", "es": "es_XX", "en": "en_XX"},
    "nllb": {"fr": "fra_Latn", "de": "deu_Latn", "es": "spa_Latn", "en": "eng_Latn"},
}
# Where each tokenizer puts the source code: mBART after `</s>`, NLLB before the text.
SOURCE_AT = {"mbart": -1, "nllb": 0}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("multilingual")
    return {arch: build_tiny(root / arch, arch) for arch in ARCHES}


@pytest.fixture(params=ARCHES)
def arch(request) -> str:
    return request.param


@pytest.fixture
def calls(monkeypatch) -> list[tuple[list[int], list[int], int | None]]:
    """(input ids, output ids, forced first token) of every input the model generates for."""
    seen: list[tuple[list[int], list[int], int | None]] = []
    generate = TorchBackend.generate

    def spy(self, inputs, decoding):
        outputs = generate(self, inputs, decoding)
        for source, output in zip(inputs, outputs, strict=True):
            seen.append((source, output, decoding.forced_first_token))
        return outputs

    monkeypatch.setattr(TorchBackend, "generate", spy)
    return seen


def check_calls(path: Path, arch: str, calls: list, langs: list[str]) -> None:
    """The model got one input per text of `langs`, each carrying its language's code,
    and each output starts with the English code."""
    tok = AutoTokenizer.from_pretrained(path)
    code_ids = {lang: tok.convert_tokens_to_ids(code) for lang, code in CODES[arch].items()}
    assert tok.unk_token_id not in code_ids.values()
    english = code_ids["en"]
    decoder_start = json.loads((path / "config.json").read_text())["decoder_start_token_id"]
    # The text's own tokens identify which record an input came from.
    markers = {tok.eos_token_id, *code_ids.values()}
    by_content = {
        tuple(tok(text, add_special_tokens=False).input_ids): lang
        for lang, text in SUMMARIES.items()
    }
    seen = []
    for source, output, forced in calls:
        lang = by_content[tuple(t for t in source if t not in markers)]
        seen.append(lang)
        assert source[SOURCE_AT[arch]] == code_ids[lang], lang
        assert [t for t in source if t in code_ids.values()] == [code_ids[lang]], lang
        assert forced == english
        # The decoder's start token, then the forced target code, then gibberish.
        assert output[:2] == [decoder_start, english], lang
    assert sorted(seen) == sorted(langs)


def write_records(path: Path, langs) -> Path:
    with path.open("w", encoding="utf-8") as f:
        for lang in langs:
            record = {"id": lang, "lang": lang, "text": SUMMARIES[lang], "summary": SUMMARIES[lang]}
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
    return path


def test_translate_cli_tells_the_model_each_record_language(tiny, arch, calls, tmp_path):
    source = write_records(tmp_path / "in.jsonl", ["fr", "de", "es", "en"])
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(
        app,
        ["translate", str(source), "-o", str(out), "-m", str(tiny[arch]),
         "--languages", "fr,de,es,en", "--device", "cpu", "--max-new-tokens", "6", "-q"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    check_calls(tiny[arch], arch, calls, ["fr", "de", "es"])  # English never reaches it
    records = {r["id"]: r for r in map(json.loads, out.read_text(encoding="utf-8").splitlines())}
    assert {r["status"] for r in records.values()} == {OK}
    for lang in ("fr", "de", "es"):
        assert isinstance(records[lang]["summary_en"], str)
    # Already English: copied as is, not run through the model.
    assert records["en"]["summary_en"] == SUMMARIES["en"]


def test_translate_step_groups_and_tags_languages(tiny, arch, calls):
    options = GenerationOptions(device="cpu", max_new_tokens=6)
    engine = load_model(str(tiny[arch]), options, target_lang="en").engine
    assert engine.codes is not None and engine.codes.family == arch
    langs = ["de", "fr", "en", "es", "de"]  # mixed: the step groups records by language
    records = [
        Record(id=f"{i}", lang=lang, summary=SUMMARIES[lang]) for i, lang in enumerate(langs)
    ]
    done = list(Translate(engine, ("*",))(records))
    assert [r.status for r in done] == [OK] * len(langs)
    check_calls(tiny[arch], arch, calls, ["de", "fr", "es", "de"])
    assert done[2].summary_en == SUMMARIES["en"]  # copied, not translated


def test_a_language_without_a_code_is_an_error_with_the_reason(tiny, arch, calls):
    options = GenerationOptions(device="cpu", max_new_tokens=6)
    engine = load_model(str(tiny[arch]), options, target_lang="en").engine
    # Breton: neither family has a code; Portuguese: mBART-50 has pt_XX, but the tiny
    # mBART, like mBART-25, does not.
    missing = {"br": None, "pt": "pt_XX"} if arch == "mbart" else {"br": None}
    records = [Record(id=lang, lang=lang, summary=SUMMARIES["fr"]) for lang in missing]
    records.append(Record(id="de", lang="de", summary=SUMMARIES["de"]))
    done = {r.id: r for r in Translate(engine, ("*",))(records)}
    for lang, code in missing.items():
        record = done[lang]
        assert record.status == ERROR
        assert record.summary_en is None
        assert f"the {arch} model has no code for language {lang!r}" in record.reason
        if code:
            assert f"{code} is not in its vocabulary" in record.reason
    assert done["de"].status == OK
    check_calls(tiny[arch], arch, calls, ["de"])  # the others never reached the model


def test_languages_option_still_decides_which_records_are_taken(tiny, calls):
    options = GenerationOptions(device="cpu", max_new_tokens=6)
    engine = load_model(str(tiny["nllb"]), options, target_lang="en").engine
    records = [Record(id=lang, lang=lang, summary=SUMMARIES[lang]) for lang in SUMMARIES]
    done = {r.id: r for r in Translate(engine, ("fr",))(records)}
    assert done["fr"].status == OK
    for lang in ("de", "es", "en"):
        assert done[lang].status == SKIPPED
        assert "--languages" in done[lang].reason
        assert done[lang].summary_en is None
    check_calls(tiny["nllb"], "nllb", calls, ["fr"])


def test_a_multilingual_model_takes_every_language_it_has_a_code_for(tiny, tmp_path):
    options = GenerationOptions(device="cpu", max_new_tokens=6)
    assert load_model(str(tiny["nllb"]), options, target_lang="en").resolved.languages == ("*",)
    chosen = GenerationOptions(device="cpu", max_new_tokens=6, languages=("de",))
    assert load_model(str(tiny["nllb"]), chosen, target_lang="en").resolved.languages == ("de",)
    from newsum.models.tiny import build_tiny

    marian = build_tiny(tmp_path / "marian", "marian")
    assert load_model(str(marian), options, target_lang="en").resolved.languages == ("fr",)

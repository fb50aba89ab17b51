"""Tiny random models: offline loading, a real tokenizer, generation, determinism, CTranslate2."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("sentencepiece")

import sentencepiece as spm
import torch
from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

from newsum.models.tiny import CORPUS, build_tiny
from newsum.models.tiny import SEQ2SEQ_ARCHES as ARCHES  # tests/models/test_tiny_causal.py: qwen2

# MarianTokenizer asks for sacremoses, which only matters for >>lang<< target codes.
pytestmark = pytest.mark.filterwarnings("ignore:Recommended. pip install sacremoses")

FRENCH = [
    "Le président de la République s’est rendu à Marseille jeudi après-midi.",
    "« Nous n’abandonnerons pas les agriculteurs », a déclaré la ministre, "
    "évoquant une hausse de 2,5 % des crédits.",
    "L’été dernier, la fréquentation des musées a progressé de 14 % à Paris et à Lyon.",
    "Les élèves ont découvert l’œuvre de Monet au musée d’Orsay.",
]
ACCENTED = "président après-midi déclaré évoquant été fréquentation élèves œuvre".split()
SPM_FILE = {
    "marian": "source.spm",
    "t5": "spiece.model",
    "mbart": "sentencepiece.bpe.model",
    "nllb": "sentencepiece.bpe.model",
}
CLASSES = {
    "marian": ("MarianTokenizer", "MarianMTModel"),
    "t5": ("T5Tokenizer", "T5ForConditionalGeneration"),
    "mbart": ("MBartTokenizer", "MBartForConditionalGeneration"),
    "nllb": ("NllbTokenizer", "M2M100ForConditionalGeneration"),
}


@pytest.fixture(scope="module")
def tiny_dirs(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tiny")
    return {arch: build_tiny(root / arch, arch) for arch in ARCHES}


@pytest.fixture(scope="module", params=ARCHES)
def arch(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def loaded(tiny_dirs, arch):
    tok = AutoTokenizer.from_pretrained(tiny_dirs[arch])
    model = AutoModelForSeq2SeqLM.from_pretrained(tiny_dirs[arch])
    model.eval()
    return tok, model


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- files and loading -----------------------------------------------------------------


def test_folder_holds_safetensors_and_a_real_tokenizer(tiny_dirs, arch):
    d = tiny_dirs[arch]
    names = {p.name for p in d.iterdir()}
    assert "model.safetensors" in names
    assert not [n for n in names if n.endswith((".bin", ".pt", ".pth", ".h5", ".msgpack"))]
    assert {"config.json", "generation_config.json", "tokenizer_config.json"} <= names
    assert SPM_FILE[arch] in names
    meta = json.loads((d / "newsum-tiny.json").read_text(encoding="utf-8"))
    assert meta["arch"] == arch
    assert meta["seed"] == 0
    assert "gibberish" in meta["note"]
    # A trained model (unigram; BPE for NLLB), not a stub: about 1000 pieces learned from
    # the corpus, whole words among them.
    sp = spm.SentencePieceProcessor(model_file=str(d / SPM_FILE[arch]))
    assert 900 <= sp.get_piece_size() <= 1100
    assert "▁investissement" in {sp.id_to_piece(i) for i in range(sp.get_piece_size())}


@pytest.mark.slow
def test_loads_with_auto_classes_offline_in_a_fresh_process(tiny_dirs, tmp_path):
    script = textwrap.dedent(
        """
        import json, sys
        from transformers import AutoModelForSeq2SeqLM, AutoTokenizer
        out = {}
        for arch, path in json.loads(sys.argv[1]).items():
            tok = AutoTokenizer.from_pretrained(path)
            model = AutoModelForSeq2SeqLM.from_pretrained(path)
            out[arch] = [type(tok).__name__, type(model).__name__]
        print(json.dumps(out))
        """
    )
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "HF_HOME": str(tmp_path / "empty-hf-home"),  # nothing cached to fall back on
    }
    dirs = json.dumps({a: str(p) for a, p in tiny_dirs.items()})
    proc = subprocess.run(
        [sys.executable, "-c", script, dirs],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert got == {a: list(c) for a, c in CLASSES.items()}
    assert not (tmp_path / "empty-hf-home" / "hub").exists()


# --- tokenizer -------------------------------------------------------------------------


def test_tokenizer_round_trips_french(loaded):
    tok, _ = loaded
    for text in FRENCH:
        ids = tok(text).input_ids
        assert ids[-1] == tok.eos_token_id or tok.convert_ids_to_tokens(ids[-1]) == "fr_XX"
        assert tok.unk_token_id not in ids
        assert tok.decode(ids, skip_special_tokens=True) == text
        # Subwords, not characters (a character-level split would give ~0.85 per char).
        assert len(ids) < 0.6 * len(text)
    paragraph = CORPUS.read_text(encoding="utf-8").split("\n\n")[0]
    assert len(tok(paragraph).input_ids) < 0.45 * len(paragraph)
    decoded = tok.decode(tok(" ".join(FRENCH)).input_ids, skip_special_tokens=True)
    for word in ACCENTED:
        assert word in decoded


def test_tokenizer_normalizes_whitespace_like_sentencepiece(loaded, arch):
    tok, _ = loaded
    text = "  Le   musée\u00a0 d’Orsay\trouvre   ses portes.  "
    decoded = tok.decode(tok(text).input_ids, skip_special_tokens=True)
    if arch == "nllb":
        # NLLB's tokenizer (the hub's too) collapses trailing spaces to one "▁" piece
        # instead of stripping them; the engine strips its outputs.
        decoded = decoded.removesuffix(" ")
    assert decoded == "Le musée d’Orsay rouvre ses portes."


def test_hugging_face_ids_match_the_sentencepiece_model(tiny_dirs, loaded, arch):
    tok, _ = loaded
    sp = spm.SentencePieceProcessor(model_file=str(tiny_dirs[arch] / SPM_FILE[arch]))
    # The fairseq layout (mBART, NLLB) shifts every spm piece by one (id 0 is <s>, not <unk>).
    offset = 1 if arch in ("mbart", "nllb") else 0
    lines = [line for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]
    for text in FRENCH + lines[:5]:
        hf = tok(text, add_special_tokens=False).input_ids
        assert hf == [i + offset for i in sp.encode(text)]


def test_corpus_is_bundled_french_prose():
    text = CORPUS.read_text(encoding="utf-8")
    paragraphs = [p for p in text.split("\n\n") if p.strip()]
    assert 15 <= len(paragraphs) <= 30
    for mark in ("é", "è", "à", "ç", "œ", "«", "»", "’"):
        assert mark in text


# --- special tokens per family ---------------------------------------------------------


def test_marian_layout_matches_opus_mt(tiny_dirs):
    d = tiny_dirs["marian"]
    vocab = json.loads((d / "vocab.json").read_text(encoding="utf-8"))
    config = json.loads((d / "config.json").read_text(encoding="utf-8"))
    gen = json.loads((d / "generation_config.json").read_text(encoding="utf-8"))
    assert vocab["</s>"] == 0
    assert vocab["<unk>"] == 1
    assert vocab["<pad>"] == max(vocab.values()) == len(vocab) - 1
    assert sorted(vocab.values()) == list(range(len(vocab)))
    assert config["vocab_size"] == config["decoder_vocab_size"] == len(vocab)
    assert config["pad_token_id"] == config["decoder_start_token_id"] == vocab["<pad>"]
    assert config["eos_token_id"] == 0
    assert gen["decoder_start_token_id"] == vocab["<pad>"]
    assert gen["bad_words_ids"] == [[vocab["<pad>"]]]
    assert gen["num_beams"] == 1
    assert config["share_encoder_decoder_embeddings"] is True


def test_t5_and_mbart_special_ids(tiny_dirs):
    t5 = AutoTokenizer.from_pretrained(tiny_dirs["t5"])
    t5_config = json.loads((tiny_dirs["t5"] / "config.json").read_text(encoding="utf-8"))
    assert (t5.pad_token_id, t5.eos_token_id, t5.unk_token_id) == (0, 1, 2)
    assert t5_config["decoder_start_token_id"] == 0
    assert t5.model_max_length == 512

    mb = AutoTokenizer.from_pretrained(tiny_dirs["mbart"])
    mb_config = json.loads((tiny_dirs["mbart"] / "config.json").read_text(encoding="utf-8"))
    assert [mb.bos_token_id, mb.pad_token_id, mb.eos_token_id, mb.unk_token_id] == [0, 1, 2, 3]
    fr, en = mb.convert_tokens_to_ids(["fr_XX", "en_XX"])
    assert fr != mb.unk_token_id and en != mb.unk_token_id
    assert mb.convert_ids_to_tokens(len(mb) - 1) == "<mask>"
    assert mb(FRENCH[0]).input_ids[-2:] == [mb.eos_token_id, fr]
    assert mb_config["decoder_start_token_id"] == fr


def test_nllb_special_ids_and_language_codes(tiny_dirs):
    from transformers.models.nllb.tokenization_nllb import FAIRSEQ_LANGUAGE_CODES

    d = tiny_dirs["nllb"]
    tok = AutoTokenizer.from_pretrained(d)
    config = json.loads((d / "config.json").read_text(encoding="utf-8"))
    gen = json.loads((d / "generation_config.json").read_text(encoding="utf-8"))
    assert [tok.bos_token_id, tok.pad_token_id, tok.eos_token_id, tok.unk_token_id] == [0, 1, 2, 3]
    codes = tok.convert_tokens_to_ids(FAIRSEQ_LANGUAGE_CODES)
    assert tok.unk_token_id not in codes
    assert codes == list(range(codes[0], codes[0] + len(codes)))  # after the pieces, in order
    assert tok.convert_ids_to_tokens(codes[-1] + 1) == "<mask>" == tok.mask_token
    # As NLLB (not legacy): the source code first, `</s>` last; src_lang changes the code.
    fra, deu = tok.convert_tokens_to_ids(["fra_Latn", "deu_Latn"])
    ids = tok(FRENCH[0]).input_ids
    assert (ids[0], ids[-1]) == (fra, tok.eos_token_id)
    tok.src_lang = "deu_Latn"
    assert tok(FRENCH[0]).input_ids == [deu, *ids[1:]]
    # Decoding starts from `</s>`; the target code is forced as the first token.
    assert config["decoder_start_token_id"] == gen["decoder_start_token_id"] == 2
    assert config["tokenizer_class"] == "NllbTokenizer"
    assert config["vocab_size"] == len(tok)


# --- generation ------------------------------------------------------------------------


def test_generate_greedy_batch_with_padding(loaded):
    tok, model = loaded
    batch = tok(FRENCH[:2], return_tensors="pt", padding=True)
    assert (batch.attention_mask == 0).any()  # the two inputs differ in length
    with torch.no_grad():
        out = model.generate(**batch, max_new_tokens=5, num_beams=1, do_sample=False)
    assert out.dtype == torch.long
    assert out.shape[0] == 2
    assert 2 <= out.shape[1] <= 6
    assert (out[:, 0] == model.generation_config.decoder_start_token_id).all()
    assert int(out.max()) < model.config.vocab_size
    texts = tok.batch_decode(out, skip_special_tokens=True)
    assert len(texts) == 2
    assert all(isinstance(t, str) for t in texts)

    # Padding is masked: each row is what the input alone generates.
    for i, text in enumerate(FRENCH[:2]):
        single = tok([text], return_tensors="pt")
        with torch.no_grad():
            alone = model.generate(**single, max_new_tokens=5, num_beams=1, do_sample=False)
        row = out[i][: alone.shape[1]]
        assert row.tolist() == alone[0].tolist()


def test_outputs_depend_on_the_input(loaded):
    tok, model = loaded
    batch = tok(FRENCH, return_tensors="pt", padding=True)
    with torch.no_grad():
        out = model.generate(**batch, max_new_tokens=6, num_beams=1, do_sample=False)
    assert len({tuple(row.tolist()) for row in out}) >= 2


# --- determinism and options -----------------------------------------------------------


def test_same_seed_gives_identical_files(tiny_dirs, arch, tmp_path):
    again = build_tiny(tmp_path / "again", arch, seed=0)
    for path in tiny_dirs[arch].iterdir():
        assert _sha(path) == _sha(again / path.name), path.name
    other = build_tiny(tmp_path / "other", arch, seed=1)
    assert _sha(other / "model.safetensors") != _sha(again / "model.safetensors")
    assert _sha(other / SPM_FILE[arch]) == _sha(again / SPM_FILE[arch])


def test_build_does_not_touch_the_global_rng(tmp_path):
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    build_tiny(tmp_path / "m", "t5", seed=7)
    assert torch.equal(torch.rand(3), expected)


def test_marian_vocab_override_pads_before_pad(tmp_path):
    d = build_tiny(tmp_path / "big", "marian", dims={"vocab_size": 59514})
    tok = AutoTokenizer.from_pretrained(d)
    model = AutoModelForSeq2SeqLM.from_pretrained(d)
    vocab = json.loads((d / "vocab.json").read_text(encoding="utf-8"))
    assert model.config.vocab_size == 59514 == len(vocab) == len(tok)
    assert vocab["<pad>"] == 59513 == model.config.pad_token_id
    assert vocab["</s>"] == 0
    assert "<dummy_0>" in vocab
    gen = torch.Generator().manual_seed(0)
    ids = torch.randint(0, 59514, (4, 500), generator=gen).tolist()
    texts = tok.batch_decode(ids, skip_special_tokens=True)
    assert len(texts) == 4
    assert None not in tok.convert_ids_to_tokens(list(range(59514)))
    # French still encodes to the real pieces, never to the dummies.
    assert max(tok(FRENCH[1]).input_ids[:-1]) < 1000


@pytest.mark.parametrize("arch_name", ["t5", "mbart", "nllb"])
def test_vocab_override_pads_t5_mbart_and_nllb(tmp_path, arch_name):
    d = build_tiny(tmp_path / arch_name, arch_name, dims={"vocab_size": 1500})
    tok = AutoTokenizer.from_pretrained(d)
    model = AutoModelForSeq2SeqLM.from_pretrained(d)
    assert model.config.vocab_size == 1500 == len(tok)
    assert None not in tok.convert_ids_to_tokens(list(range(1500)))
    tok.decode(list(range(1500)))
    assert tok.decode(tok(FRENCH[2]).input_ids, skip_special_tokens=True) == FRENCH[2]


def test_dims_override_config_and_bad_options(tmp_path):
    d = build_tiny(tmp_path / "wide", "marian", dims={"d_model": 32, "encoder_layers": 1})
    config = json.loads((d / "config.json").read_text(encoding="utf-8"))
    assert config["d_model"] == 32
    assert config["encoder_layers"] == 1
    assert config["init_std"] == 0.02  # resized models keep the family's standard init
    with pytest.raises(ValueError, match="unknown tiny architecture"):
        build_tiny(tmp_path / "x", "bart")
    with pytest.raises(ValueError, match="not_a_key"):
        build_tiny(tmp_path / "x", "marian", dims={"not_a_key": 1})
    with pytest.raises(ValueError, match="smaller"):
        build_tiny(tmp_path / "x", "t5", dims={"vocab_size": 10})
    assert not (tmp_path / "x").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_out_dir_rules(tmp_path):
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(FileExistsError):
        build_tiny(foreign, "t5")
    assert (foreign / "notes.txt").read_text(encoding="utf-8") == "keep me"

    target = tmp_path / "rebuilt"
    build_tiny(target, "marian")
    build_tiny(target, "t5")  # an earlier tiny build is replaced, not mixed
    names = {p.name for p in target.iterdir()}
    assert "spiece.model" in names
    assert "vocab.json" not in names
    assert json.loads((target / "newsum-tiny.json").read_text(encoding="utf-8"))["arch"] == "t5"


# --- CTranslate2 -----------------------------------------------------------------------


def _ct2_prefix(arch: str, n: int) -> list[list[str]] | None:
    # mBART starts decoding from the target language code (decoder_start_token_id).
    return [["fr_XX"]] * n if arch == "mbart" else None


@pytest.mark.slow
def test_ctranslate2_int8_conversion_translates(tiny_dirs, loaded, arch, tmp_path):
    ctranslate2 = pytest.importorskip("ctranslate2")
    tok, _ = loaded
    out = tmp_path / "ct2"
    ctranslate2.converters.TransformersConverter(str(tiny_dirs[arch])).convert(
        str(out), quantization="int8"
    )
    vocab = json.loads((out / "shared_vocabulary.json").read_text(encoding="utf-8"))
    if arch == "marian":
        assert "<pad>" not in vocab  # dropped by the converter, as for opus-mt
        assert len(vocab) == len(tok) - 1
    translator = ctranslate2.Translator(str(out), device="cpu")
    tokens = [tok.convert_ids_to_tokens(tok(text).input_ids) for text in FRENCH[:2]]
    results = translator.translate_batch(
        tokens, beam_size=1, max_decoding_length=5, target_prefix=_ct2_prefix(arch, 2)
    )
    assert len(results) == 2
    for result in results:
        hyp = result.hypotheses[0]
        assert 1 <= len(hyp) <= 5
        assert set(hyp) <= set(vocab)
        tok.decode(tok.convert_tokens_to_ids(hyp), skip_special_tokens=True)


@pytest.mark.slow
def test_ctranslate2_float32_matches_transformers_greedy(tiny_dirs, loaded, arch, tmp_path):
    """Exact greedy parity checks the special-token conventions end to end."""
    ctranslate2 = pytest.importorskip("ctranslate2")
    tok, model = loaded
    out = tmp_path / "ct2"
    ctranslate2.converters.TransformersConverter(str(tiny_dirs[arch])).convert(str(out))
    translator = ctranslate2.Translator(str(out), device="cpu")
    steps = 6
    for text in FRENCH[:3]:
        batch = tok([text], return_tensors="pt")
        with torch.no_grad():
            hf = model.generate(
                **batch, max_new_tokens=steps, min_new_tokens=steps, num_beams=1, do_sample=False
            )[0].tolist()
        (result,) = translator.translate_batch(
            [tok.convert_ids_to_tokens(batch.input_ids[0])],
            beam_size=1,
            max_decoding_length=steps,
            min_decoding_length=steps,
            target_prefix=_ct2_prefix(arch, 1),
        )
        ct2 = tok.convert_tokens_to_ids(result.hypotheses[0])
        # hf[0] is the decoder start; its last step is the forced </s> (marian, mbart).
        assert ct2[: steps - 1] == hf[1:steps]

"""The tiny random qwen2 model: a decoder-only chat LLM (byte-level BPE, ChatML), built offline."""

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
pytest.importorskip("tokenizers")

import jinja2
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer
from typer.testing import CliRunner

from newsum.models.tiny import (
    _BASE_DIMS,
    ARCHES,
    CAUSAL_ARCHES,
    CHATML_TEMPLATE,
    CORPUS,
    QWEN25_15B_DIMS,
    SEQ2SEQ_ARCHES,
    build_tiny,
)
from newsum.pipeline.cli import app

FRENCH = [
    "Le président de la République s’est rendu à Marseille jeudi après-midi.",
    "« Nous n’abandonnerons pas les agriculteurs », a déclaré la ministre, "
    "évoquant une hausse de 2,5 % des crédits.",
    "L’été dernier, la fréquentation des musées a progressé de 14 % à Paris et à Lyon.",
    "Les élèves ont découvert l’œuvre de Monet au musée d’Orsay.",
    "Ça, c’est la Fête de la Musique : où ? À Besançon, chez Noël, près du cœur de l’Œuvre.",
]
SPECIALS = {"<|endoftext|>": 1000, "<|im_start|>": 1001, "<|im_end|>": 1002}
THINK = {"<think>": 1003, "</think>": 1004}
MESSAGES = [
    {"role": "system", "content": "Tu résumes des articles en français."},
    {"role": "user", "content": "Résume : le maire a inauguré la ligne de tramway."},
]
CHATML = (
    "<|im_start|>system\nTu résumes des articles en français.<|im_end|>\n"
    "<|im_start|>user\nRésume : le maire a inauguré la ligne de tramway.<|im_end|>\n"
)


@pytest.fixture(scope="module")
def qwen_dir(tiny_models) -> Path:
    return Path(tiny_models["qwen2"])


@pytest.fixture(scope="module")
def loaded(qwen_dir):
    tok = AutoTokenizer.from_pretrained(qwen_dir)
    model = AutoModelForCausalLM.from_pretrained(qwen_dir)
    model.eval()
    return tok, model


def _json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _generate(model, batch, steps: int = 6) -> torch.Tensor:
    with torch.no_grad():
        return model.generate(**batch, max_new_tokens=steps, num_beams=1, do_sample=False)


# --- files and loading -----------------------------------------------------------------


def test_qwen2_is_the_causal_arch():
    assert ARCHES == SEQ2SEQ_ARCHES + CAUSAL_ARCHES
    assert CAUSAL_ARCHES == ("qwen2",)


def test_folder_holds_safetensors_a_bpe_tokenizer_and_a_chat_template(qwen_dir):
    names = {p.name for p in qwen_dir.iterdir()}
    assert {
        "config.json",
        "generation_config.json",
        "model.safetensors",
        "tokenizer.json",
        "tokenizer_config.json",
        "newsum-tiny.json",
    } <= names
    assert not [n for n in names if n.endswith((".bin", ".pt", ".pth", ".h5", ".model", ".spm"))]
    assert "chat_template.jinja" not in names  # the template is in tokenizer_config.json

    meta = _json(qwen_dir / "newsum-tiny.json")
    assert (meta["arch"], meta["seed"], meta["tokenizer_pieces"]) == ("qwen2", 0, 1000)
    assert "gibberish" in meta["note"]

    tok_config = _json(qwen_dir / "tokenizer_config.json")
    assert tok_config["chat_template"] == CHATML_TEMPLATE
    assert tok_config["tokenizer_class"] == "Qwen2Tokenizer"
    assert tok_config["model_max_length"] == 2048
    # A trained byte-level BPE, not a stub: 256 bytes, 744 merges, whole words among them.
    backend = _json(qwen_dir / "tokenizer.json")["model"]
    assert backend["type"] == "BPE"
    assert len(backend["merges"]) == 744
    assert {"Ġinvestissement", "Ġministre", "Ċ"} <= set(backend["vocab"])

    config = _json(qwen_dir / "config.json")
    assert config["architectures"] == ["Qwen2ForCausalLM"]
    assert config["model_type"] == "qwen2"
    expected = {
        "hidden_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "intermediate_size": 128,
        "max_position_embeddings": 2048,
        "tie_word_embeddings": True,
        "vocab_size": 1005,
        "bos_token_id": 1000,
        "eos_token_id": 1002,
    }
    assert {k: config[k] for k in expected} == expected
    assert config.get("pad_token_id") is None  # as Qwen2.5's config
    gen = _json(qwen_dir / "generation_config.json")
    assert gen["eos_token_id"] == [1002, 1000]
    assert (gen["pad_token_id"], gen["bos_token_id"]) == (1000, 1000)
    assert (gen["do_sample"], gen["num_beams"]) == (False, 1)


@pytest.mark.slow
def test_loads_with_auto_classes_offline_in_a_fresh_process(qwen_dir, tmp_path):
    script = textwrap.dedent(
        """
        import json, sys
        from transformers import AutoModelForCausalLM, AutoTokenizer
        tok = AutoTokenizer.from_pretrained(sys.argv[1])
        model = AutoModelForCausalLM.from_pretrained(sys.argv[1])
        text = tok.apply_chat_template(
            [{"role": "user", "content": "Été"}], tokenize=False, add_generation_prompt=True
        )
        print(json.dumps([type(tok).__name__, type(model).__name__, text]))
        """
    )
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "HF_HOME": str(tmp_path / "empty-hf-home"),  # nothing cached to fall back on
    }
    proc = subprocess.run(
        [sys.executable, "-c", script, str(qwen_dir)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert got == [
        "Qwen2Tokenizer",
        "Qwen2ForCausalLM",
        "<|im_start|>user\nÉté<|im_end|>\n<|im_start|>assistant\n",
    ]
    assert not (tmp_path / "empty-hf-home" / "hub").exists()


# --- tokenizer -------------------------------------------------------------------------


def test_special_tokens_follow_qwen(loaded):
    tok, model = loaded
    assert tok.convert_tokens_to_ids(list(SPECIALS)) == list(SPECIALS.values())
    assert tok.convert_tokens_to_ids(list(THINK)) == list(THINK.values())
    assert (tok.eos_token, tok.pad_token) == ("<|im_end|>", "<|endoftext|>")
    assert (tok.eos_token_id, tok.pad_token_id) == (1002, 1000)
    assert tok.bos_token is None and tok.unk_token is None
    assert len(tok) == model.config.vocab_size == 1005
    # No bos or eos is added: the chat template writes every special.
    ids = tok("Bonjour à tous.").input_ids
    assert max(ids) < 1000
    # The specials and the think tags are single tokens in text; <think> is not special
    # (as Qwen3's), so skip_special_tokens drops the ChatML markers but keeps it.
    text = "<|im_start|>assistant\n<think>\n\n</think>\n\nÉté<|im_end|>"
    ids = tok(text).input_ids
    assert [i for i in ids if i >= 1000] == [1001, 1003, 1004, 1002]
    assert tok.decode(ids) == text
    assert tok.decode(ids, skip_special_tokens=True) == "assistant\n<think>\n\n</think>\n\nÉté"


def test_tokenizer_round_trips_french(loaded):
    tok, _ = loaded
    for text in FRENCH:
        ids = tok(text).input_ids
        assert tok.decode(ids) == text
        assert max(ids) < 1000
        # Subwords, not bytes (bytes would give more than one id a character).
        assert len(ids) < 0.65 * len(text)
    paragraph = CORPUS.read_text(encoding="utf-8").split("\n\n")[0]
    assert len(tok(paragraph).input_ids) < 0.4 * len(paragraph)
    joined = " ".join(FRENCH)
    assert tok.decode(tok(joined).input_ids) == joined
    for mark in ("é", "è", "à", "ç", "œ", "Œ", "«", "»", "’", "À", "Ç", "ë"):
        assert tok.decode(tok(mark).input_ids) == mark


def test_byte_level_keeps_whitespace_and_normalizes_nfc(loaded):
    tok, _ = loaded
    text = "  Le   musée\u00a0 d’Orsay\trouvre\nses portes.  "
    assert tok.decode(tok(text).input_ids) == text
    assert tok.decode(tok("e\u0301te\u0301").input_ids) == "été"  # NFC, as Qwen2's


# --- chat template ---------------------------------------------------------------------


def test_chat_template_renders_chatml(loaded):
    tok, _ = loaded
    render = tok.apply_chat_template
    assert render(MESSAGES, tokenize=False) == CHATML
    prompt = render(MESSAGES, tokenize=False, add_generation_prompt=True)
    assert prompt == CHATML + "<|im_start|>assistant\n"
    assert render(MESSAGES, tokenize=False, add_generation_prompt=True, enable_thinking=True) == (
        prompt
    )
    no_think = render(MESSAGES, tokenize=False, add_generation_prompt=True, enable_thinking=False)
    assert no_think == CHATML + "<|im_start|>assistant\n<think>\n\n</think>\n\n"
    history = [*MESSAGES, {"role": "assistant", "content": "Le tram roule."}, MESSAGES[1]]
    assert render(history, tokenize=False) == (
        CHATML
        + "<|im_start|>assistant\nLe tram roule.<|im_end|>\n"
        + "<|im_start|>user\nRésume : le maire a inauguré la ligne de tramway.<|im_end|>\n"
    )
    with pytest.raises(jinja2.TemplateError, match="Only system, user and assistant"):
        render([{"role": "tool", "content": "{}"}], tokenize=False)


def test_chat_template_tokenizes_to_single_special_ids(loaded):
    tok, _ = loaded
    # transformers 5 returns a BatchEncoding unless return_dict=False.
    ids = tok.apply_chat_template(
        MESSAGES, add_generation_prompt=True, enable_thinking=False, return_dict=False
    )
    assert ids[0] == 1001
    assert [i for i in ids if i >= 1000] == [1001, 1002, 1001, 1002, 1001, 1003, 1004]
    assert tok.decode(ids) == CHATML + "<|im_start|>assistant\n<think>\n\n</think>\n\n"


# --- generation ------------------------------------------------------------------------


def test_generate_left_padded_batch_matches_each_prompt_alone(loaded):
    tok, model = loaded
    prompts = [
        tok.apply_chat_template(
            [{"role": "user", "content": text}], tokenize=False, add_generation_prompt=True
        )
        for text in ("Été.", FRENCH[1])
    ]
    tok.padding_side = "left"
    try:
        batch = tok(prompts, return_tensors="pt", padding=True)
    finally:
        tok.padding_side = "right"
    assert (batch.attention_mask[0] == 0).any() and batch.attention_mask[0, -1] == 1
    assert batch.input_ids[0, 0] == tok.pad_token_id
    width = batch.input_ids.shape[1]
    out = _generate(model, batch)
    assert out.shape[0] == 2 and out.shape[1] > width
    new = out[:, width:]
    assert int(new.max()) < model.config.vocab_size
    assert (new[:, 0] != tok.pad_token_id).all()  # each row generated something
    assert new[0].tolist() != new[1].tolist()  # the output depends on the prompt
    assert all(isinstance(t, str) for t in tok.batch_decode(new, skip_special_tokens=True))

    # Left padding is masked and positions skip it: the short prompt batched with the long
    # one generates exactly what it generates alone (greedy).
    for i, prompt in enumerate(prompts):
        single = tok([prompt], return_tensors="pt")
        alone = _generate(model, single)[0, single.input_ids.shape[1] :].tolist()
        row = new[i].tolist()
        assert row[: len(alone)] == alone
        assert set(row[len(alone) :]) <= {tok.pad_token_id}


@pytest.mark.slow
def test_ctranslate2_generator_matches_transformers_greedy(qwen_dir, loaded, tmp_path):
    ctranslate2 = pytest.importorskip("ctranslate2")
    tok, model = loaded
    out = tmp_path / "ct2"
    ctranslate2.converters.TransformersConverter(str(qwen_dir)).convert(str(out))
    generator = ctranslate2.Generator(str(out), device="cpu")
    steps = 6
    for text in FRENCH[:2]:
        prompt = tok.apply_chat_template(
            [{"role": "user", "content": text}], add_generation_prompt=True, return_dict=False
        )
        batch = {
            "input_ids": torch.tensor([prompt]),
            "attention_mask": torch.ones(1, len(prompt), dtype=torch.long),
        }
        with torch.no_grad():
            hf = model.generate(
                **batch, max_new_tokens=steps, min_new_tokens=steps, num_beams=1, do_sample=False
            )[0, len(prompt) :].tolist()
        (result,) = generator.generate_batch(
            [tok.convert_ids_to_tokens(prompt)],
            max_length=steps,
            min_length=steps,
            sampling_topk=1,
            include_prompt_in_result=False,
        )
        assert tok.convert_tokens_to_ids(result.sequences[0]) == hf


# --- options ---------------------------------------------------------------------------


def test_same_seed_gives_identical_files(qwen_dir, tmp_path):
    again = build_tiny(tmp_path / "again", "qwen2", seed=0)
    for path in qwen_dir.iterdir():
        assert _sha(path) == _sha(again / path.name), path.name
    other = build_tiny(tmp_path / "other", "qwen2", seed=1)
    assert _sha(other / "model.safetensors") != _sha(again / "model.safetensors")
    assert _sha(other / "tokenizer.json") == _sha(again / "tokenizer.json")


def test_build_does_not_touch_the_global_rng(tmp_path):
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    build_tiny(tmp_path / "m", "qwen2", seed=7)
    assert torch.equal(torch.rand(3), expected)


def test_vocab_override_pads_after_the_specials(tmp_path):
    d = build_tiny(tmp_path / "padded", "qwen2", dims={"vocab_size": 1500})
    tok = AutoTokenizer.from_pretrained(d)
    model = AutoModelForCausalLM.from_pretrained(d)
    assert model.config.vocab_size == 1500 == len(tok)
    assert tok.convert_tokens_to_ids(list(SPECIALS)) == list(SPECIALS.values())
    tokens = tok.convert_ids_to_tokens(list(range(1500)))
    assert None not in tokens
    assert tokens[1005] == "<dummy_0>" and tokens[-1] == "<dummy_494>"
    tok.decode(list(range(1500)))
    assert tok.decode(tok(FRENCH[2]).input_ids) == FRENCH[2]
    assert max(tok(FRENCH[2]).input_ids) < 1000  # text never encodes to a dummy


def test_dims_override_config_and_bad_options(tmp_path):
    dims = {
        "hidden_size": 32,
        "num_hidden_layers": 1,
        "num_attention_heads": 2,
        "num_key_value_heads": 1,
        "intermediate_size": 48,
    }
    d = build_tiny(tmp_path / "narrow", "qwen2", dims=dims)
    config = _json(d / "config.json")
    assert {k: config[k] for k in dims} == dims
    assert config["initializer_range"] == 0.02  # resized models keep the standard init
    model = AutoModelForCausalLM.from_pretrained(d)
    assert model.lm_head.weight.shape == (1005, 32)
    with pytest.raises(ValueError, match="not_a_key"):
        build_tiny(tmp_path / "x", "qwen2", dims={"not_a_key": 1})
    with pytest.raises(ValueError, match="smaller"):
        build_tiny(tmp_path / "x", "qwen2", dims={"vocab_size": 1004})
    assert not (tmp_path / "x").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_qwen25_dims_give_the_real_models_size():
    import transformers

    config = transformers.Qwen2Config(**{**_BASE_DIMS["qwen2"], **QWEN25_15B_DIMS})
    with torch.device("meta"):
        model = transformers.Qwen2ForCausalLM(config)
    assert model.lm_head.weight is model.model.embed_tokens.weight
    parameters = sum(p.numel() for p in model.parameters())
    assert abs(parameters - 1.5437e9) / 1.5437e9 < 0.001, parameters  # Qwen2.5-1.5B: 1.54 B


# --- CLI -------------------------------------------------------------------------------


def test_cli_builds_a_tiny_qwen2(tmp_path):
    out = tmp_path / "cli-qwen2"
    result = CliRunner().invoke(app, ["models", "build-tiny", str(out), "--arch", "qwen2"])
    assert result.exit_code == 0, result.output
    assert "qwen2" in result.output
    assert _json(out / "newsum-tiny.json")["arch"] == "qwen2"
    tok = AutoTokenizer.from_pretrained(out)
    assert tok.apply_chat_template(MESSAGES, tokenize=False) == CHATML
    model = AutoModelForCausalLM.from_pretrained(out)
    assert type(model).__name__ == "Qwen2ForCausalLM"

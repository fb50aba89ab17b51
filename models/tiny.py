"""Tiny random models for tests and benchmarks, built offline.

`build_tiny` trains a real tokenizer on the bundled French corpus (`models/data/french.txt`):
SentencePiece for the seq2seq families, a byte-level BPE for the causal one. It pairs it with a
randomly initialised Hugging Face model of the requested architecture and saves both in a
folder that `AutoTokenizer.from_pretrained` and `AutoModelForSeq2SeqLM.from_pretrained`
(`AutoModelForCausalLM.from_pretrained` for qwen2) load with `HF_HUB_OFFLINE=1`. The weights
are random, so generated text is gibberish; everything else (special-token ids, file layout,
generation config, chat template) follows the real model family, so loading, batching,
decoding and CTranslate2 conversion run exactly as they would on a hub model.

    marian  like Helsinki-NLP/opus-mt-*: source.spm/target.spm/vocab.json, `</s>`=0,
            `<unk>`=1, `<pad>` = last id = decoder start, shared embeddings.
    t5      like mT5 / T5 v1.1 (csebuetnlp/mT5_multilingual_XLSum): spiece.model +
            tokenizer.json, `<pad>`=0 = decoder start, `</s>`=1, `<unk>`=2, gated-GELU, untied.
    mbart   like facebook/mbart-large-*: fairseq ids `<s>`=0 `<pad>`=1 `</s>`=2 `<unk>`=3,
            then the pieces, the 25 language codes and `<mask>`; source and target `fr_XX`,
            decoder start = target language code.
    nllb    like facebook/nllb-200-*: an M2M-100 model with an NLLB tokenizer (SentencePiece
            BPE, as NLLB's), the same fairseq ids, the 202 NLLB codes (`fra_Latn`,
            `eng_Latn`, ...) and `<mask>`; the source code comes first in the input, the
            decoder starts from `</s>` and the target code is forced as the first token.
    qwen2   like Qwen/Qwen2.5-*-Instruct (decoder-only, `AutoModelForCausalLM`): a byte-level
            BPE trained with Qwen2's pre-tokenizer (1,000 tokens: the 256 bytes and 744
            merges), then `<|endoftext|>` (pad, bos in the configs) = 1000, `<|im_start|>` =
            1001, `<|im_end|>` (the tokenizer's eos) = 1002, and `<think>` = 1003,
            `</think>` = 1004 as plain added tokens (as Qwen3's). A ChatML chat template in the
            style of Qwen3's (`CHATML_TEMPLATE`, in tokenizer_config.json): with
            `enable_thinking=False` the generation prompt ends with an empty think block.
            Generation stops at `<|im_end|>` or `<|endoftext|>`; tied embeddings, GQA.

`dims` overrides config values, e.g. real-size dimensions for benchmarks (`QWEN25_15B_DIMS`
gives a random model the shape of Qwen2.5-1.5B-Instruct: 1.5 billion float32 parameters, about
6.2 GB on disk). A `vocab_size` larger than the trained tokenizer pads the tokenizer with
`<dummy_N>` tokens (before the final `<pad>` for marian, after the specials for qwen2), so
every id below `vocab_size` decodes.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import os
import shutil
import uuid
import warnings
from pathlib import Path
from typing import Any

SEQ2SEQ_ARCHES = ("marian", "t5", "mbart", "nllb")
CAUSAL_ARCHES = ("qwen2",)
ARCHES = SEQ2SEQ_ARCHES + CAUSAL_ARCHES

CORPUS = Path(__file__).parent / "data" / "french.txt"
#: Pieces asked of SentencePiece; the bundled corpus supports about 1,070.
SPM_VOCAB_SIZE = 1000
#: Tokens of the qwen2 byte-level BPE: the 256 byte symbols and 744 merges.
BPE_VOCAB_SIZE = 1000
MARKER = "newsum-tiny.json"
MAX_POSITIONS = 512

# Special-piece layout of each family's SentencePiece model (-1: absent).
_SPM_IDS: dict[str, dict[str, int]] = {
    "marian": {"eos_id": 0, "unk_id": 1, "bos_id": -1, "pad_id": -1},
    "t5": {"pad_id": 0, "eos_id": 1, "unk_id": 2, "bos_id": -1},
    "mbart": {"unk_id": 0, "bos_id": 1, "eos_id": 2, "pad_id": -1},
    "nllb": {"unk_id": 0, "bos_id": 1, "eos_id": 2, "pad_id": -1},
}
# NLLB's SentencePiece model is BPE; the others are unigram models.
_SPM_TYPE = {"nllb": "bpe"}
# Where each family's tokenizer files keep the SentencePiece model (marian: the source side).
_SPM_FILE = {
    "marian": "source.spm",
    "t5": "spiece.model",
    "mbart": "sentencepiece.bpe.model",
    "nllb": "sentencepiece.bpe.model",
}

# Marian, mBART and M2M-100 (NLLB's architecture) are BART-style: the same config keys.
_BART_DIMS: dict[str, Any] = {
    "d_model": 64,
    "encoder_layers": 2,
    "decoder_layers": 2,
    "encoder_attention_heads": 4,
    "decoder_attention_heads": 4,
    "encoder_ffn_dim": 128,
    "decoder_ffn_dim": 128,
    "max_position_embeddings": MAX_POSITIONS,
    "scale_embedding": True,
    "init_std": 0.5,
}
_BASE_DIMS: dict[str, dict[str, Any]] = {
    "marian": {
        **_BART_DIMS,
        "activation_function": "swish",
        "share_encoder_decoder_embeddings": True,
        "tie_word_embeddings": True,
    },
    "t5": {
        "d_model": 64,
        "d_kv": 16,
        "d_ff": 128,
        "num_layers": 2,
        "num_decoder_layers": 2,
        "num_heads": 4,
        "relative_attention_num_buckets": 32,
        "relative_attention_max_distance": 128,
        "feed_forward_proj": "gated-gelu",
        "tie_word_embeddings": False,
        "initializer_factor": 5.0,
    },
    "mbart": _BART_DIMS,
    "nllb": _BART_DIMS,
    # Qwen2.5's layout at toy size: grouped-query attention, tied embeddings, RoPE base 1e6.
    "qwen2": {
        "hidden_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "intermediate_size": 128,
        "max_position_embeddings": 2048,
        "tie_word_embeddings": True,
        "rms_norm_eps": 1e-6,
        "rope_parameters": {"rope_type": "default", "rope_theta": 1000000.0},
        "use_sliding_window": False,
        "initializer_range": 0.5,
    },
}
# The tiny models use a wide weight init so that greedy output differs between inputs (with
# the standard init every input yields the same repeated token). Dimensions that resize the
# model (`d_model` in dims) bring back the family's standard init, as in real checkpoints.
_WIDE_INIT = {
    "marian": "init_std",
    "t5": "initializer_factor",
    "mbart": "init_std",
    "nllb": "init_std",
    "qwen2": "initializer_range",
}
# The config key that resizes each family's model.
_WIDTH_KEY = {"qwen2": "hidden_size"}

# The special ids of fairseq-trained families (mBART, NLLB): <s>, <pad>, </s>.
_FAIRSEQ_IDS = {"bos_token_id": 0, "pad_token_id": 1, "eos_token_id": 2}
_MBART_LANG = "fr_XX"
_NLLB_LANG = "fra_Latn"

# Qwen's specials follow the BPE tokens, in this order (Qwen3 has more between them).
_QWEN_SPECIALS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")
_QWEN_THINK = ("<think>", "</think>")
#: ChatML as Qwen3's template renders it without tools or reasoning_content: each turn is
#: `<|im_start|>role\n...<|im_end|>\n`; `enable_thinking=False` closes an empty think block
#: after the generation prompt.
CHATML_TEMPLATE = """\
{%- for message in messages %}
    {%- if message.role not in ['system', 'user', 'assistant'] %}
        {{- raise_exception('Only system, user and assistant messages are supported.') }}
    {%- endif %}
    {%- if message.content is string %}
        {%- set content = message.content %}
    {%- else %}
        {%- set content = '' %}
    {%- endif %}
    {{- '<|im_start|>' + message.role + '\\n' + content + '<|im_end|>' + '\\n' }}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\\n' }}
    {%- if enable_thinking is defined and enable_thinking is false %}
        {{- '<think>\\n\\n</think>\\n\\n' }}
    {%- endif %}
{%- endif %}
"""
#: `dims` for a random model shaped like Qwen/Qwen2.5-1.5B-Instruct (for benchmarks).
QWEN25_15B_DIMS: dict[str, Any] = {
    "hidden_size": 1536,
    "num_hidden_layers": 28,
    "num_attention_heads": 12,
    "num_key_value_heads": 2,
    "intermediate_size": 8960,
    "vocab_size": 151936,
    "max_position_embeddings": 32768,
    "max_window_layers": 21,
    "tie_word_embeddings": True,
}


def build_tiny(
    out_dir: str | Path,
    arch: str = "marian",
    *,
    seed: int = 0,
    dims: dict | None = None,
) -> Path:
    """Build a tiny random model of `arch` with its tokenizer in `out_dir`; return the folder.

    The build is deterministic: the same `arch`, `seed` and `dims` give byte-identical
    weights. `out_dir` must be missing, empty, or an earlier tiny build (which is replaced).
    """
    if arch not in ARCHES:
        raise ValueError(f"unknown tiny architecture {arch!r}; choose one of {', '.join(ARCHES)}")
    dims = dict(dims or {})
    unknown = set(dims) - _config_keys(arch)
    if unknown:
        raise ValueError(f"unknown {arch} config keys in dims: {', '.join(sorted(unknown))}")
    out = Path(out_dir)
    _check_target(out)
    out.parent.mkdir(parents=True, exist_ok=True)

    work = out.with_name(f".{out.name}.building-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    work.mkdir()
    try:
        if arch in SEQ2SEQ_ARCHES:
            (work / _SPM_FILE[arch]).write_bytes(_train_spm(arch))
        tokenizer, config_kwargs = _BUILDERS[arch](work, dims.get("vocab_size"))
        base = dict(_BASE_DIMS[arch])
        if _WIDTH_KEY.get(arch, "d_model") in dims:
            del base[_WIDE_INIT[arch]]
        model = _make_model(arch, {**base, **config_kwargs, **dims}, seed)
        if arch in CAUSAL_ARCHES:
            tokenizer.model_max_length = model.config.max_position_embeddings
            # The template in tokenizer_config.json, as the hub's Qwen repos keep it.
            tokenizer.save_pretrained(work, save_jinja_files=False)
        else:
            tokenizer.save_pretrained(work)
        model.save_pretrained(work)
        if list(work.glob("*.bin")) or not list(work.glob("*.safetensors")):
            raise RuntimeError(f"expected safetensors weights only in {work}")
        mode = (work / "config.json").stat().st_mode & 0o777  # the umask's, for every file
        for path in work.iterdir():
            path.chmod(mode)
        meta = {
            "arch": arch,
            "seed": seed,
            "dims": dims,
            "vocab_size": model.config.vocab_size,
            "tokenizer_pieces": _bpe_size() if arch in CAUSAL_ARCHES else _spm_size(arch),
            "corpus_sha256": hashlib.sha256(CORPUS.read_bytes()).hexdigest(),
            "note": "random weights: output is gibberish",
        }
        (work / MARKER).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        _replace(work, out)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return out


# --- SentencePiece ---------------------------------------------------------------------


@functools.cache
def _train_spm(arch: str) -> bytes:
    """Serialized SentencePiece unigram model trained on the bundled corpus (deterministic)."""
    import sentencepiece as spm

    lines = [line for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]
    spm.set_random_generator_seed(0)
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines),
        model_writer=model,
        model_type=_SPM_TYPE.get(arch, "unigram"),
        vocab_size=SPM_VOCAB_SIZE,
        hard_vocab_limit=False,
        character_coverage=1.0,
        max_sentence_length=20000,
        num_threads=1,
        minloglevel=2,
        **_SPM_IDS[arch],
    )
    return model.getvalue()


def _spm_size(arch: str) -> int:
    return len(_spm_pieces(arch))


def _spm_pieces(arch: str) -> list[tuple[str, float]]:
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_proto=_train_spm(arch))
    return [(sp.id_to_piece(i), sp.get_score(i)) for i in range(sp.get_piece_size())]


def _spm_charsmap(arch: str) -> bytes:
    """The normalization table (nmt_nfkc) that the tokenizers backend applies like spm."""
    from sentencepiece import sentencepiece_model_pb2  # needs protobuf

    proto = sentencepiece_model_pb2.ModelProto()
    proto.ParseFromString(_train_spm(arch))
    return proto.normalizer_spec.precompiled_charsmap


def _padding(arch: str, size: int, vocab_size: int | None) -> int:
    """How many dummy tokens take the tokenizer from `size` to `vocab_size`."""
    if vocab_size is None:
        return 0
    if vocab_size < size:
        raise ValueError(
            f"vocab_size {vocab_size} is smaller than the {arch} tiny tokenizer ({size} tokens)"
        )
    return vocab_size - size


def _dummies(n: int, score: float) -> list[tuple[str, float]]:
    # Far below every real piece, so encoding never picks them.
    return [(f"<dummy_{i}>", score - 1000.0) for i in range(n)]


# --- byte-level BPE (qwen2) ------------------------------------------------------------


@functools.cache
def _train_bpe() -> tuple[dict[str, int], list[tuple[str, str]]]:
    """(vocab, merges) of a byte-level BPE trained on the corpus as Qwen2's is (deterministic).

    The pre-tokenizer (Qwen2's split regex, then bytes to symbols) and the NFC normalizer are
    those `Qwen2Tokenizer` rebuilds around the vocab and merges when it loads them.
    """
    from tokenizers import Regex, Tokenizer, normalizers, pre_tokenizers, trainers
    from tokenizers.models import BPE
    from transformers.models.qwen2.tokenization_qwen2 import PRETOKENIZE_REGEX

    tok = Tokenizer(BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(PRETOKENIZE_REGEX), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    trainer = trainers.BpeTrainer(
        vocab_size=BPE_VOCAB_SIZE,
        min_frequency=2,
        show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        special_tokens=[],
    )
    # The whole text, newlines included: chat templates put "\n" and "\n\n" everywhere.
    tok.train_from_iterator([CORPUS.read_text(encoding="utf-8")], trainer=trainer)
    model = json.loads(tok.to_str())["model"]
    vocab = dict(sorted(model["vocab"].items(), key=lambda item: item[1]))
    if list(vocab.values()) != list(range(len(vocab))):  # pragma: no cover
        raise RuntimeError("the trained BPE vocabulary is not contiguous")
    return vocab, [tuple(merge) for merge in model["merges"]]


def _bpe_size() -> int:
    return len(_train_bpe()[0])


# --- tokenizers per architecture -------------------------------------------------------


def _marian_tokenizer(work: Path, vocab_size: int | None):
    from transformers import MarianTokenizer

    pieces = [p for p, _ in _spm_pieces("marian")]
    # "</s>"=0 and "<unk>"=1 come from the spm model; "<pad>" must stay the last id, which is
    # what CTranslate2's Marian converter expects (it drops it, like opus-mt's).
    pieces += [p for p, _ in _dummies(_padding("marian", len(pieces) + 1, vocab_size), 0.0)]
    pieces.append("<pad>")
    spm_file = work / _SPM_FILE["marian"]
    shutil.copyfile(spm_file, work / "target.spm")
    vocab_file = work / "vocab.json"
    vocab_file.write_text(
        json.dumps({p: i for i, p in enumerate(pieces)}, ensure_ascii=False), encoding="utf-8"
    )
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*sacremoses")  # only used for >>lang<< codes
        tok = MarianTokenizer(
            source_spm=str(spm_file),
            target_spm=str(work / "target.spm"),
            vocab=str(vocab_file),
            source_lang="fr",
            target_lang="en",
            model_max_length=MAX_POSITIONS,
        )
    pad = len(pieces) - 1
    return tok, {
        "vocab_size": len(pieces),
        "decoder_vocab_size": len(pieces),
        "pad_token_id": pad,
        "eos_token_id": 0,
        "decoder_start_token_id": pad,
        "forced_eos_token_id": 0,
    }


def _t5_tokenizer(work: Path, vocab_size: int | None):
    from transformers import T5Tokenizer

    vocab = _spm_pieces("t5")
    vocab += _dummies(_padding("t5", len(vocab), vocab_size), min(s for _, s in vocab))
    tok = T5Tokenizer(
        vocab=vocab,
        _spm_precompiled_charsmap=_spm_charsmap("t5"),
        extra_ids=0,
        model_max_length=MAX_POSITIONS,
    )
    return tok, {
        "vocab_size": len(vocab),
        "pad_token_id": 0,
        "eos_token_id": 1,
        "decoder_start_token_id": 0,
    }


def _mbart_tokenizer(work: Path, vocab_size: int | None):
    from transformers import MBartTokenizer
    from transformers.models.mbart.tokenization_mbart import FAIRSEQ_LANGUAGE_CODES

    pieces = _spm_pieces("mbart")  # unk=0, <s>=1, </s>=2, then real pieces
    # fairseq layout: the four specials, the pieces shifted by one, language codes, <mask>.
    vocab = [("<s>", 0.0), ("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), *pieces[3:]]
    vocab += [(code, 0.0) for code in FAIRSEQ_LANGUAGE_CODES] + [("<mask>", 0.0)]
    vocab += _dummies(_padding("mbart", len(vocab), vocab_size), min(s for _, s in pieces))
    tok = MBartTokenizer(
        vocab=vocab,
        src_lang=_MBART_LANG,
        tgt_lang=_MBART_LANG,
        model_max_length=MAX_POSITIONS,
    )
    return tok, {
        "vocab_size": len(vocab),
        **_FAIRSEQ_IDS,
        "forced_eos_token_id": 2,
        "decoder_start_token_id": tok.convert_tokens_to_ids(_MBART_LANG),
        # Not read by transformers, but present in the hub's mBART configs and read by
        # CTranslate2's converter (mBART is pre-norm, with embedding and final layer norms).
        "normalize_before": True,
        "normalize_embedding": True,
        "add_final_layer_norm": True,
    }


def _nllb_tokenizer(work: Path, vocab_size: int | None):
    from transformers import NllbTokenizer
    from transformers.models.nllb.tokenization_nllb import FAIRSEQ_LANGUAGE_CODES
    from transformers.tokenization_utils_base import generate_merges

    pieces = [p for p, _ in _spm_pieces("nllb")]  # unk=0, <s>=1, </s>=2, then real pieces
    # fairseq layout, as mBART: the four specials, the pieces shifted by one, the language
    # codes, <mask>, then any padding.
    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}
    for piece in pieces[3:]:
        vocab[piece] = len(vocab)
    # Merges from the learned pieces only (in SentencePiece's order, which is merge
    # priority), so no merge ever builds a language code or a dummy out of text.
    merges = generate_merges({p: i for p, i in vocab.items() if i > 3})
    for token in [*FAIRSEQ_LANGUAGE_CODES, "<mask>"]:
        vocab[token] = len(vocab)
    for dummy, _ in _dummies(_padding("nllb", len(vocab), vocab_size), 0.0):
        vocab[dummy] = len(vocab)
    tok = NllbTokenizer(
        vocab=vocab,
        merges=merges,
        src_lang=_NLLB_LANG,
        tgt_lang=_NLLB_LANG,
        _spm_precompiled_charsmap=_spm_charsmap("nllb"),
        model_max_length=MAX_POSITIONS,
    )
    return tok, {
        "vocab_size": len(vocab),
        **_FAIRSEQ_IDS,
        "decoder_start_token_id": 2,  # NLLB starts from </s>; the target code is forced
        "tokenizer_class": "NllbTokenizer",
    }


def _qwen2_tokenizer(work: Path, vocab_size: int | None):
    from tokenizers import AddedToken
    from transformers import Qwen2Tokenizer

    bpe, merges = _train_bpe()
    # Qwen's layout: the BPE tokens, the specials, then unused ids up to the model's
    # vocab_size (dummies here, so that they decode). Every token is in the BPE vocab, so
    # the ids are contiguous; no merge builds a special or a dummy out of text.
    vocab = dict(bpe)
    for token in (*_QWEN_SPECIALS, *_QWEN_THINK):
        vocab[token] = len(vocab)
    for dummy, _ in _dummies(_padding("qwen2", len(vocab), vocab_size), 0.0):
        vocab[dummy] = len(vocab)
    endoftext, im_start, im_end = _QWEN_SPECIALS
    tok = Qwen2Tokenizer(
        vocab=vocab,
        merges=list(merges),
        unk_token=None,
        bos_token=None,
        eos_token=im_end,
        pad_token=endoftext,
        extra_special_tokens=[im_start, im_end],
        chat_template=CHATML_TEMPLATE,
        clean_up_tokenization_spaces=False,
        split_special_tokens=False,
        errors="replace",
    )
    # As Qwen3's: recognised in text, but not special (skip_special_tokens keeps them).
    tok.add_tokens([AddedToken(t, special=False, normalized=False) for t in _QWEN_THINK])
    ids = tok.convert_tokens_to_ids([*_QWEN_SPECIALS, *_QWEN_THINK])
    if ids != list(range(len(bpe), len(bpe) + len(ids))) or len(tok) != len(vocab):
        raise RuntimeError(f"unexpected qwen2 special ids {ids} / {len(tok)} tokens")
    eot_id, _, im_end_id = ids[:3]
    # As Qwen2.5-Instruct's config.json: bos is <|endoftext|> (the tokenizer adds none), eos
    # <|im_end|>, no pad_token_id (which would zero that token's embedding row).
    return tok, {"vocab_size": len(vocab), "bos_token_id": eot_id, "eos_token_id": im_end_id}


_BUILDERS = {
    "marian": _marian_tokenizer,
    "t5": _t5_tokenizer,
    "mbart": _mbart_tokenizer,
    "nllb": _nllb_tokenizer,
    "qwen2": _qwen2_tokenizer,
}


# --- models ----------------------------------------------------------------------------


def _config_class(arch: str):
    import transformers

    return {
        "marian": transformers.MarianConfig,
        "t5": transformers.T5Config,
        "mbart": transformers.MBartConfig,
        "nllb": transformers.M2M100Config,
        "qwen2": transformers.Qwen2Config,
    }[arch]


def _config_keys(arch: str) -> set[str]:
    cls = _config_class(arch)
    return set(cls().to_dict()) | set(getattr(cls, "attribute_map", {}))


def _make_model(arch: str, config_kwargs: dict[str, Any], seed: int):
    import torch
    import transformers

    if arch == "marian":
        # opus-mt keeps one vocabulary for both sides; the converters rely on it.
        config_kwargs["decoder_vocab_size"] = config_kwargs["vocab_size"]
        config_kwargs["pad_token_id"] = config_kwargs["vocab_size"] - 1
        config_kwargs["decoder_start_token_id"] = config_kwargs["vocab_size"] - 1
    config = _config_class(arch)(**config_kwargs)
    model_class = {
        "marian": transformers.MarianMTModel,
        "t5": transformers.T5ForConditionalGeneration,
        "mbart": transformers.MBartForConditionalGeneration,
        "nllb": transformers.M2M100ForConditionalGeneration,
        "qwen2": transformers.Qwen2ForCausalLM,
    }[arch]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if arch in CAUSAL_ARCHES:
            # transformers' init alone: torch's default init of every Linear, overwritten
            # right after, costs a quarter of the build time at Qwen2.5-1.5B dims.
            from transformers.initialization import no_init_weights

            with no_init_weights():
                model = model_class(config)
            model.init_weights()
        else:
            model = model_class(config)
    model.eval()

    gen = model.generation_config
    if arch in CAUSAL_ARCHES:
        # As Qwen2.5-Instruct's generation_config.json (greedy here): stop at <|im_end|> or
        # <|endoftext|> (the bos id), pad with <|endoftext|>.
        gen.bos_token_id = config.bos_token_id
        gen.eos_token_id = [config.eos_token_id, config.bos_token_id]
        gen.pad_token_id = config.bos_token_id
        gen.num_beams = 1
        gen.do_sample = False
        return model
    gen.decoder_start_token_id = config.decoder_start_token_id
    gen.eos_token_id = config.eos_token_id
    gen.pad_token_id = config.pad_token_id
    gen.forced_eos_token_id = getattr(config, "forced_eos_token_id", None)
    gen.num_beams = 1
    gen.do_sample = False
    if arch == "marian":
        gen.bad_words_ids = [[config.pad_token_id]]  # as opus-mt: never generate <pad>
    return model


# --- output folder ---------------------------------------------------------------------


def _check_target(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"{out} exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).is_file():
        raise FileExistsError(
            f"{out} is not empty and holds no tiny model ({MARKER}); choose an empty folder"
        )


def _replace(work: Path, out: Path) -> None:
    """Move the finished build into place; an earlier tiny build there is removed."""
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.old-{work.name}")
        out.rename(old)
    work.rename(out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)

"""The CTranslate2 backend, and conversion of Hugging Face models to it.

A converted folder holds CTranslate2's model and vocabulary, the tokenizer files of
the source model (the engine tokenizes with them, exactly as with torch), and
`newsum-ct2.json` recording the source model, quantization and input limit.

On CPU the backend runs several replicas of the model (CTranslate2's `inter_threads`;
they share the weights), each on a share of the cores (`intra_threads`): a batch from the
engine goes to CTranslate2 in one call with a `max_batch_size` that cuts it into an equal
number of sub-batches per replica, at most CPU_SUB_BATCH inputs each; CTranslate2 sorts
them by length, runs the sub-batches on its replicas at once and restores the order.
That is the call its documentation recommends, and what the raw arm of
benchmarks/bench_generate.py measures against.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

from newsum.pipeline.core.errors import NewsumError

from .backend import Backend, Decoding, OutOfMemory, plan_threads
from .hub import CT2_MARKER, check_weights, fetch, read_config
from .libraries import quiet_libraries
from .options import GenerationOptions

QUANTIZATIONS = ("int8", "int8_float16", "int8_bfloat16", "float16", "bfloat16", "float32")
_TOKENIZER_FILES = (
    "tokenizer_config.json",
    "special_tokens_map.json",
    "tokenizer.json",
    "generation_config.json",
    "vocab.json",
    "source.spm",
    "target.spm",
    "spiece.model",
    "sentencepiece.bpe.model",
    "sentencepiece.model",
    "added_tokens.json",
)
# On CPU a sub-batch of 16 keeps a core busy with the least padding (bench_generate's
# raw-ct2 sweep on 2 cores: 16 beats 32 by ~15 %, 64 by more).
CPU_SUB_BATCH = 16
_DTYPES = {"auto": "default", "float32": "float32", "bfloat16": "bfloat16", "float16": "float16"}


def convert(
    model: str,
    output: Path,
    quantization: str = "int8",
    revision: str | None = None,
    trust_remote_code: bool = False,
    force: bool = False,
) -> Path:
    """Convert a local or cached Hugging Face seq2seq model for CTranslate2."""
    try:
        import ctranslate2
        from ctranslate2.converters import TransformersConverter
    except ImportError:
        raise NewsumError("converting needs CTranslate2: pip install 'newsum[ct2]'") from None
    if quantization not in QUANTIZATIONS:
        raise NewsumError(f"--quantization must be one of {', '.join(QUANTIZATIONS)}")
    if output.exists() and any(output.iterdir()) and not force:
        raise NewsumError(f"{output} exists and is not empty; pass --force to replace it")
    quiet_libraries()
    source = fetch(model, revision)
    check_weights(source, allow_pickle=False)
    present = [name for name in _TOKENIZER_FILES if (source / name).is_file()]
    try:
        converter = TransformersConverter(
            str(source), copy_files=present, trust_remote_code=trust_remote_code
        )
        converter.convert(str(output), quantization=quantization, force=True)
    except Exception as exc:
        raise NewsumError(f"CTranslate2 cannot convert {model}: {exc}") from None
    hf_config = read_config(source, "config.json")
    marker = {
        "source": model,
        "revision": revision,
        "quantization": quantization,
        "ctranslate2": ctranslate2.__version__,
        "max_input_tokens": hf_config.get("max_position_embeddings"),
        "model_type": hf_config.get("model_type"),
    }
    (output / CT2_MARKER).write_text(json.dumps(marker, indent=2), encoding="utf-8")
    # Tokenizers that resolve their class through config.json find it here.
    shutil.copy(source / "config.json", output / "hf_config.json")
    return output


class CT2Backend(Backend):
    def __init__(self, path: Path, options: GenerationOptions) -> None:
        try:
            import ctranslate2
        except ImportError:
            raise NewsumError(
                "--backend ct2 needs CTranslate2: pip install 'newsum[ct2]'"
            ) from None
        cuda = ctranslate2.get_cuda_device_count() > 0
        if options.device == "cuda" and not cuda:
            raise NewsumError("--device cuda: CTranslate2 sees no CUDA device")
        if options.device == "mps":
            raise NewsumError("CTranslate2 does not run on mps; use --backend torch")
        self.device = "cuda" if options.device in ("auto", "cuda") and cuda else "cpu"
        self.compute_type = _DTYPES[options.dtype]
        self.threads = plan_threads(self.device, options.threads, options.replicas)
        self.translator = ctranslate2.Translator(
            str(path),
            device=self.device,
            compute_type=self.compute_type,
            inter_threads=self.threads.replicas,
            intra_threads=self.threads.per_replica,
        )
        marker = json.loads((path / CT2_MARKER).read_text(encoding="utf-8"))
        self.max_input_tokens = int(marker.get("max_input_tokens") or 0)
        self.source_vocab, self.target_ids = _vocabularies(path)
        self.pad_token_id = -1  # CTranslate2 returns no padding

    def generate(self, inputs: list[list[int]], decoding: Decoding) -> list[list[int]]:
        tokens = [[self.source_vocab[i] for i in ids] for ids in inputs]
        prefix = None
        if decoding.forced_first_token is not None:
            prefix = [[self.source_vocab[decoding.forced_first_token]]] * len(inputs)
        settings = dict(
            beam_size=decoding.num_beams,
            max_decoding_length=decoding.max_new_tokens,
            min_decoding_length=decoding.min_new_tokens,
            length_penalty=decoding.length_penalty,
            no_repeat_ngram_size=decoding.no_repeat_ngram_size,
            max_input_length=0,  # the engine already keeps inputs within the limit
        )
        try:
            results = self.translator.translate_batch(
                tokens,
                target_prefix=prefix,
                max_batch_size=self.sub_batch(len(tokens)),
                **settings,
            )
        except RuntimeError as exc:
            if "out of memory" in str(exc).lower():
                raise OutOfMemory(str(exc)) from exc
            raise
        return [[self.target_ids[t] for t in r.hypotheses[0]] for r in results]

    def sub_batch(self, n: int) -> int:
        """CTranslate2's max_batch_size for a batch of n: the same number of sub-batches
        for every replica, as even as can be, at most CPU_SUB_BATCH each on CPU (0, no
        cut, for one replica on a GPU, where the engine's batch is already the right
        size)."""
        replicas = self.threads.replicas
        if replicas == 1 and self.device != "cpu":
            return 0
        per_replica = math.ceil(n / replicas)
        if self.device == "cpu":
            per_replica = math.ceil(per_replica / math.ceil(per_replica / CPU_SUB_BATCH))
        return per_replica

    def describe(self) -> dict[str, str]:
        return {
            "backend": "ct2",
            "device": self.device,
            "compute_type": self.compute_type,
            **self.threads.describe(),
        }


def _vocabularies(path: Path) -> tuple[list[str], dict[str, int]]:
    """Token strings by id for inputs, and ids by token string for outputs."""

    def load(name: str) -> list[str] | None:
        file = path / name
        return json.loads(file.read_text(encoding="utf-8")) if file.is_file() else None

    shared = load("shared_vocabulary.json")
    source = shared or load("source_vocabulary.json")
    target = shared or load("target_vocabulary.json")
    if source is None or target is None:
        raise NewsumError(f"{path} has no CTranslate2 vocabulary files")
    return source, {token: i for i, token in enumerate(target)}

"""Finding a model's files and checking them before anything loads them.

A MODEL argument is a local folder, or a hub id fetched through the Hugging Face cache.
Safety first: weights are read from safetensors only; a model that ships nothing but
pickled weights (`pytorch_model.bin`) is refused unless the user passes --allow-pickle,
and remote code is never run unless --trust-remote-code. A folder for `--backend ct2`
must be one `newsum models convert` wrote.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from newsum.pipeline.core.errors import NewsumError

from .libraries import first_line
from .options import GenerationOptions

# What a seq2seq model and its tokenizer need; pickled weights only on request.
_FILES = [
    "*.json",
    "*.safetensors",
    "*.model",
    "*.spm",
    "*.txt",
    "*.tiktoken",
    "tokenizer*",
    "vocab*",
    "merges*",
]
_PICKLES = ["*.bin", "*.pt", "*.pth", "*.ckpt"]
# What `newsum models convert` writes beside CTranslate2's model.bin (models/ct2.py).
CT2_MARKER = "newsum-ct2.json"


def find_model(model: str, options: GenerationOptions) -> Path:
    """The local folder of `model`, checked for what `options.backend` loads from it."""
    path = fetch(model, options.revision, options.allow_pickle)
    check_remote_code(path, options.trust_remote_code)
    if options.backend == "ct2":
        if not is_ct2_model(path):
            raise NewsumError(
                f"{model} is not a CTranslate2 model; convert it first with "
                f"`newsum models convert {model} -o DIR` and pass DIR"
            )
    else:
        check_weights(path, options.allow_pickle)
    return path


def fetch(model: str, revision: str | None = None, allow_pickle: bool = False) -> Path:
    """The local folder holding `model` (a path, or a hub id fetched into the HF cache)."""
    path = Path(model).expanduser()
    if path.exists():
        if not (path / "config.json").is_file():
            raise NewsumError(f"{path} has no config.json: it is not a Hugging Face model folder")
        return path
    if model.startswith((".", "/", "~")) or model.count("/") > 1:
        raise NewsumError(f"model folder not found: {model}")
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HFValidationError

    patterns = _FILES + (_PICKLES if allow_pickle else [])
    try:
        # The cache first: no network round trip when the model is already here.
        return Path(snapshot_download(model, revision=revision, allow_patterns=patterns,
                                      local_files_only=True))  # fmt: skip
    except HFValidationError:
        raise NewsumError(f"{model!r} is neither a local folder nor a valid hub id") from None
    except Exception:  # not cached: try the hub below
        pass
    try:
        return Path(snapshot_download(model, revision=revision, allow_patterns=patterns))
    except Exception as exc:
        offline = os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes")
        why = (
            "HF_HUB_OFFLINE is set"
            if offline
            else f"the hub could not be reached ({first_line(exc)})"
        )
        raise NewsumError(
            f"model {model!r}{f' (revision {revision})' if revision else ''} is not in the "
            f"Hugging Face cache and {why}. On a machine with internet access run "
            f"`newsum models download {model}` (it fills the cache, which you can copy to "
            "~/.cache/huggingface here), or pass the path of a local model folder."
        ) from None


def check_weights(path: Path, allow_pickle: bool) -> None:
    """Refuse pickled weights unless asked: loading a pickle can run arbitrary code."""
    if any(path.glob("*.safetensors")):
        return
    pickles = sorted(p.name for pattern in _PICKLES for p in path.glob(pattern))
    if pickles and not allow_pickle:
        raise NewsumError(
            f"{path} has only pickled weights ({', '.join(pickles)}), which can run arbitrary "
            "code when loaded. Convert them to safetensors, or pass --allow-pickle if you "
            "trust their source."
        )
    if not pickles:
        raise NewsumError(f"{path} has no model weights (*.safetensors)")


def is_ct2_model(path: Path) -> bool:
    return (path / "model.bin").is_file() and (path / CT2_MARKER).is_file()


def check_remote_code(path: Path, trust_remote_code: bool) -> None:
    """Refuse a model that ships its own code unless asked: without --trust-remote-code
    transformers would quietly load a built-in class instead, which is not the model its
    authors wrote, and with it the code runs with the user's rights."""
    if trust_remote_code:
        return
    custom = [
        name
        for name in ("config.json", "tokenizer_config.json")
        if "auto_map" in read_config(path, name)
    ]
    if custom:
        raise NewsumError(
            f"{path} ships its own code (auto_map in {' and '.join(custom)}), which runs "
            "with your rights when loaded. Pass --trust-remote-code if you trust its source."
        )


def read_config(path: Path, name: str) -> dict[str, Any]:
    file = path / name
    if not file.is_file():
        return {}
    try:
        return json.loads(file.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise NewsumError(f"cannot read {file}: {exc}") from None

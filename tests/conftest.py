"""Shared fixtures: tiny models built once per test session (marian and t5, torch and
CTranslate2; qwen2, a decoder-only chat model, torch only)."""

from __future__ import annotations

import importlib.abc
import sys
import warnings

import pytest

from newsum.models.tiny import build_tiny

warnings.filterwarnings("ignore", message="Recommended: pip install sacremoses")


class BareNames(importlib.abc.MetaPathFinder):
    """pytest puts the checkout's root on sys.path (for tests.fixtures), where the folders
    pipeline/, models/ and eval/ would import under their bare names, which an installed
    newsum does not have: here importing one fails, as it would for a user."""

    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in ("pipeline", "models", "eval"):
            raise ModuleNotFoundError(f"No module named {name!r} (newsum's is newsum.{name})")
        return None


sys.meta_path.insert(0, BareNames())


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory) -> dict[str, str]:
    """{"marian": dir, "t5": dir, "qwen2": dir, "marian-ct2": dir, "t5-ct2": dir}."""
    root = tmp_path_factory.mktemp("tiny")
    out = {}
    for arch in ("marian", "t5"):
        out[arch] = str(build_tiny(root / arch, arch))
    out["qwen2"] = str(build_tiny(root / "qwen2", "qwen2"))  # decoder-only, chat template
    try:
        from newsum.models.ct2 import convert
    except ImportError:  # pragma: no cover
        return out
    for arch in ("marian", "t5"):
        out[f"{arch}-ct2"] = str(convert(out[arch], root / f"{arch}-ct2", quantization="int8"))
    return out

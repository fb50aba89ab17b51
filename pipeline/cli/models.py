"""`newsum models ...`: list presets, download, convert for CTranslate2, build tiny models."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .app import Debug, Quiet, app, start

models_app = typer.Typer(
    help="List presets, download, convert and build models.", no_args_is_help=True
)
app.add_typer(models_app, name="models")


@models_app.command(name="list")
def list_(quiet: Quiet = False, debug: Debug = False) -> None:
    """Show the presets, the models they use and whether each is in the local cache."""
    start(quiet, debug)
    from newsum.models.options import presets

    for name, entry in presets().items():
        typer.echo(f"{name}: {entry['description']}")
        for role in ("summarizer", "translator"):
            model = entry[role]
            typer.echo(f"  {role:<11} {model or '(none)'}{_cache_note(model)}")


def _cache_note(model: str) -> str:
    from newsum.models.extractive import parse_extractive

    if not model or parse_extractive(model):
        return ""
    from huggingface_hub import try_to_load_from_cache

    cached = isinstance(try_to_load_from_cache(model, "config.json"), str)
    return "  [cached]" if cached else f"  [not cached: newsum models download {model}]"


@models_app.command()
def download(
    model: Annotated[str, typer.Argument(help="Hub id, e.g. Helsinki-NLP/opus-mt-fr-en.")],
    revision: Annotated[str | None, typer.Option(help="Branch, tag or commit.")] = None,
    allow_pickle: Annotated[
        bool, typer.Option("--allow-pickle", help="Also fetch pickled weights.")
    ] = False,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Fetch a model into the Hugging Face cache (safetensors and tokenizer files)."""
    start(quiet, debug)
    from newsum.models.hub import fetch

    path = fetch(model, revision, allow_pickle)
    typer.echo(str(path))


@models_app.command()
def convert(
    model: Annotated[str, typer.Argument(help="Hub id (cached) or local model folder.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder to write.")],
    quantization: Annotated[
        str, typer.Option(help="int8, int8_float16, int8_bfloat16, float16, bfloat16, float32.")
    ] = "int8",
    revision: Annotated[str | None, typer.Option(help="Branch, tag or commit.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace a non-empty folder.")] = False,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Convert a model for CTranslate2 (use it with --backend ct2 --model OUTPUT)."""
    start(quiet, debug)
    from newsum.models.ct2 import convert as convert_model

    path = convert_model(model, output, quantization, revision, force=force)
    if not quiet:
        typer.echo(
            f"wrote {path} ({quantization}); use it with --backend ct2 --model {path}", err=True
        )


@models_app.command(name="build-tiny")
def build_tiny(
    output: Annotated[Path, typer.Argument(help="Folder to write the model to.")],
    arch: Annotated[
        str, typer.Option(help="marian, t5, mbart, nllb (seq2seq) or qwen2 (a chat LLM).")
    ] = "marian",
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same model).")] = 0,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Build a tiny random model with a real tokenizer (SentencePiece; byte-level BPE and
    a chat template for qwen2), for tests.

    Its weights are random: it runs the whole pipeline, and its output is gibberish."""
    start(quiet, debug)
    from newsum.models.libraries import quiet_libraries
    from newsum.models.tiny import ARCHES
    from newsum.models.tiny import build_tiny as build
    from newsum.pipeline.core.errors import NewsumError

    if arch not in ARCHES:
        raise NewsumError(f"--arch must be one of {', '.join(ARCHES)}")
    quiet_libraries()
    try:
        path = build(output, arch, seed=seed)
    except (FileExistsError, ValueError) as exc:
        raise NewsumError(str(exc)) from None
    if not quiet:
        typer.echo(
            f"wrote a tiny random {arch} model to {path}: for tests and benchmarks only, "
            "its output is gibberish",
            err=True,
        )

"""Generation options shared by summarize, translate and run: each defined once here."""

from __future__ import annotations

from typing import Annotated

import typer

_G = "Generation"

Backend = Annotated[
    str, typer.Option(help="torch (transformers) or ct2 (CTranslate2).", rich_help_panel=_G)
]
Device = Annotated[str, typer.Option(help="auto, cpu, cuda or mps.", rich_help_panel=_G)]
Dtype = Annotated[
    str,
    typer.Option(
        help="auto (bfloat16 on GPUs that have it), float32, bfloat16, float16.", rich_help_panel=_G
    ),
]
BatchTokens = Annotated[
    int | None,
    typer.Option(
        min=1,
        help="Token budget of a batch (padded input tokens). [default: 4096 on CPU, 32768 on CUDA]",
        rich_help_panel=_G,
    ),
]
MaxBatchSize = Annotated[
    int, typer.Option(min=1, help="Most inputs in a batch.", rich_help_panel=_G)
]
NumBeams = Annotated[int | None, typer.Option(min=1, help="Beam size.", rich_help_panel=_G)]
MaxNewTokens = Annotated[
    int | None, typer.Option(min=1, help="Most tokens to generate.", rich_help_panel=_G)
]
MinNewTokens = Annotated[
    int | None, typer.Option(min=0, help="Fewest tokens to generate.", rich_help_panel=_G)
]
MaxInputTokens = Annotated[
    int | None,
    typer.Option(
        min=16,
        help="Longest model input; longer texts are chunked. [default: the model's limit]",
        rich_help_panel=_G,
    ),
]
Revision = Annotated[
    str | None, typer.Option(help="Hub revision (branch, tag or commit).", rich_help_panel=_G)
]
AllowPickle = Annotated[
    bool,
    typer.Option(
        "--allow-pickle", help="Allow pickled weights (they can run code).", rich_help_panel=_G
    ),
]
TrustRemoteCode = Annotated[
    bool,
    typer.Option(
        "--trust-remote-code", help="Run the model repository's own code.", rich_help_panel=_G
    ),
]
Languages = Annotated[
    str | None,
    typer.Option(
        help="Source languages to process, comma-separated, or '*'. [default: the model's]",
        rich_help_panel=_G,
    ),
]
Verbose = Annotated[
    bool, typer.Option("--verbose", "-v", help="Print the effective model settings.")
]


def generation_options(params: dict):
    """The GenerationOptions named by a command's parameters (pass it `locals()`)."""
    from dataclasses import fields

    from newsum.models.options import GenerationOptions

    values = {f.name: params[f.name] for f in fields(GenerationOptions) if f.name in params}
    if values.get("languages"):
        values["languages"] = tuple(x.strip() for x in values["languages"].split(",") if x.strip())
    return GenerationOptions(**values)

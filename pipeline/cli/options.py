"""The options the commands share, each declared once: its flags, type and help here, its
default and bounds (`min`, `max`) from the field of the options dataclass it fills.

The options come in groups, one per options dataclass (ReadOptions, CleanOptions,
GenerationOptions, RunOptions), each option named after its field: the flag, the field
and the `--config` key are one name. A command takes whole groups:

    @app.command()
    @takes(READING, CLEANING)
    def clean(inputs: Inputs, output: Output, flags: Flags, quiet: Quiet = False, ...):
        options = flags.build(CleanOptions)

Their flags join the command's own ones in `--help`, each group under its heading, and
the command receives their values as one `Flags` argument.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from copy import copy
from dataclasses import dataclass, fields
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, get_args

import typer

from newsum.models.options import GenerationOptions
from newsum.pipeline.clean import CleanOptions
from newsum.pipeline.core.readers import ReadOptions
from newsum.pipeline.job.options import RunOptions


def comma_list(value: str | tuple[str, ...] | None) -> tuple[str, ...] | None:
    """`summary,text` as ("summary", "text"); a default (a tuple already) as it is."""
    if value is None or isinstance(value, tuple):
        return value
    return tuple(x.strip() for x in value.split(",") if x.strip())


KEYWORD = inspect.Parameter.KEYWORD_ONLY  # what the added parameters are


def flag(kind: Any, *decls: str, help: str, **extra: Any) -> Any:
    """One option: its type, its flags (from its name when none is given) and its help."""
    return Annotated[kind, typer.Option(*decls, help=help, **extra)]


@dataclass(frozen=True)
class Group:
    """The options that fill one options dataclass, by field name, under one heading."""

    options: type
    heading: str
    flags: dict[str, Any]

    def parameters(self) -> list[inspect.Parameter]:
        """The typer parameters: each flag with its field's default and bounds."""
        by_name = {f.name: f for f in fields(self.options)}
        out = []
        for name, declared in self.flags.items():
            field = by_name[name]
            kind, option = get_args(declared)
            option = copy(option)  # the declaration is shared: change a copy
            option.rich_help_panel = self.heading
            option.min = field.metadata.get("min", option.min)
            option.max = field.metadata.get("max", option.max)
            annotation = Annotated[kind, option]
            out.append(
                inspect.Parameter(name, KEYWORD, default=field.default, annotation=annotation)
            )
        return out


@dataclass(frozen=True)
class Flags:
    """The values of a command's grouped options by field name, and which were given."""

    values: dict[str, Any]
    given: frozenset[str]  # the names set on the command line

    def build(self, options: type):
        """An options object from the values of its fields (the others keep their default)."""
        names = {f.name for f in fields(options)}
        return options(**{k: v for k, v in self.values.items() if k in names})

    def on_command_line(self) -> dict[str, Any]:
        """The values given on the command line: what overrides `run --config`."""
        return {k: v for k, v in self.values.items() if k in self.given}


def takes(*groups: Group) -> Callable[[Callable], Callable]:
    """Give a command the options of `groups`; it receives their values as `flags: Flags`."""

    def decorate(command: Callable) -> Callable:
        own = inspect.signature(command, eval_str=True).parameters.values()
        added = [p for group in groups for p in group.parameters()]
        context = inspect.Parameter("ctx", KEYWORD, annotation=typer.Context)

        @wraps(command)
        def run_command(ctx: typer.Context, **values: Any):
            grouped = {p.name: values.pop(p.name) for p in added}
            given = {n for n in grouped if ctx.get_parameter_source(n).name == "COMMANDLINE"}
            return command(**values, flags=Flags(grouped, frozenset(given)))

        parameters = [p.replace(kind=KEYWORD) for p in own if p.name != "flags"]
        run_command.__signature__ = inspect.Signature([*parameters, *added, context])  # type: ignore[attr-defined]
        return run_command

    return decorate


# ---- the groups ----------------------------------------------------------------------------

READING = Group(
    ReadOptions,
    "Reading",
    {
        "text_field": flag(str, help="Input column holding the article text."),
        "id_field": flag(str, help="Input column holding the article id."),
        "title_field": flag(str, help="Input column holding the title."),
        "keep_html": flag(bool, "--keep-html", help="Keep the raw HTML in the `html` field."),
        "limit": flag(
            int | None,
            help="Read only the first N records of each input (of a feed, sitemap or URL "
            "list: its first N links, and only those are fetched).",
        ),
        "sample": flag(
            int | None, help="Read N records of each input at random (see --seed), in order."
        ),
        "seed": flag(int, help="Random seed of --sample."),
        "robots": flag(
            bool, "--robots/--no-robots", help="Web inputs: honour robots.txt (as 'newsum')."
        ),
        "allow_private_hosts": flag(
            bool,
            "--allow-private-hosts",
            help="Web inputs: allow loopback, private and link-local addresses (intranets, "
            "tests); refused by default, as a feed is untrusted input.",
        ),
        "fetch_concurrency": flag(int, help="Web inputs: most requests in flight."),
        "host_delay": flag(
            float, help="Web inputs: seconds between two requests to one host (or its Crawl-delay)."
        ),
        "fetch_timeout": flag(float, help="Web inputs: seconds a request may take."),
        "fetch_retries": flag(
            int, help="Web inputs: retries on 429, 5xx, timeouts and lost connections."
        ),
    },
)

CLEANING = Group(
    CleanOptions,
    "Cleaning",
    {
        "rules_files": flag(
            list[Path], "--rules", help="Extra boilerplate rules (TOML); may be repeated."
        ),
        "keep_boilerplate": flag(
            bool,
            "--keep-boilerplate/--remove-boilerplate",
            help="Do not remove boilerplate (characters are still repaired).",
        ),
        "dedup": flag(bool, "--dedup/--no-dedup", help="Flag near-duplicates (`duplicate_of`)."),
        "dedup_threshold": flag(float, help="Jaccard similarity for a near-duplicate."),
        "max_chars": flag(int, help="Longer texts are skipped with a reason."),
        "strict": flag(
            bool,
            "--strict",
            help="Make a record with warnings (body shrunk by cleaning, or short) an error.",
        ),
    },
)

GENERATION = Group(
    GenerationOptions,
    "Generation",
    {
        "backend": flag(
            str,
            help="torch (transformers; seq2seq models and instruct LLMs), ct2 (CTranslate2) "
            "or openai (an OpenAI-compatible server: vLLM, SGLang, TGI, llama.cpp, Ollama, "
            "`transformers serve`).",
        ),
        "device": flag(str, help="auto, cpu, cuda or mps."),
        "dtype": flag(
            str, help="auto (bfloat16 on GPUs that have it), float32, bfloat16, float16."
        ),
        "batch_tokens": flag(
            int | None,
            help="Token budget of a batch, in padded input tokens (default: 4096 on CPU, "
            "8192 on MPS, 32768 on CUDA; with ct2, times --replicas).",
        ),
        "max_batch_size": flag(int, help="Most inputs in a batch."),
        "threads": flag(
            int | None,
            help="CPU threads for generation, all replicas together (default: "
            "OMP_NUM_THREADS if set, else the cores this process may use: CPU affinity "
            "and cgroup quota).",
        ),
        "replicas": flag(
            int | None,
            help="ct2: model replicas generating in parallel, sharing the weights, the "
            "threads split among them (default: min(threads, 4) on CPU, 1 on GPU).",
        ),
        "num_beams": flag(
            int | None,
            help="Beam size (default: the model's; in `run`, the preset's if it sets one).",
        ),
        "max_new_tokens": flag(int | None, help="Most tokens to generate."),
        "min_new_tokens": flag(int | None, help="Fewest tokens to generate."),
        "max_input_tokens": flag(
            int | None, help="Longest model input; longer texts are chunked (default: the model's)."
        ),
        "revision": flag(str | None, help="Hub revision (branch, tag or commit)."),
        "allow_pickle": flag(
            bool, "--allow-pickle", help="Allow pickled weights (they can run code)."
        ),
        "trust_remote_code": flag(
            bool, "--trust-remote-code", help="Run the model repository's own code."
        ),
        "languages": flag(
            str | None,
            parser=comma_list,
            help="Source languages to process, comma-separated, or '*' (default: the model's).",
        ),
        "prompts": flag(
            str | None,
            help="Instruct LLMs: a prompts file (TOML with [summarize], [translate], [both]) "
            "instead of the packaged one; its hash goes into the cache key and the manifest.",
        ),
        "one_call": flag(
            bool,
            "--one-call",
            help="Instruct LLMs: ask for the summary and its English translation in one "
            "request (JSON); an answer that does not parse falls back to two calls.",
        ),
        "base_url": flag(
            str | None, help="--backend openai: the server's URL, e.g. http://127.0.0.1:8000/v1."
        ),
        "api_key_env": flag(
            str | None,
            help="--backend openai: the environment variable holding the API key (the key "
            "itself is never written anywhere).",
        ),
        "max_concurrency": flag(int, help="--backend openai: most requests in flight."),
        "request_timeout": flag(float, help="--backend openai: seconds a request may take."),
        "retries": flag(
            int,
            help="--backend openai: retries of a request on 429, 5xx, timeouts and lost "
            "connections (exponential backoff with jitter).",
        ),
    },
)

# What `translate` and `run` translate; its default is RunOptions.fields.
Fields = flag(
    str, "--fields", parser=comma_list, help="What to translate, comma-separated: summary, text."
)

RUNNING = Group(
    RunOptions,
    "Run",
    {
        "output": flag(str, "--output", "-o", help="Output folder."),
        "preset": flag(
            str,
            help="default, fast, multilingual, extractive, or auto (default when its models "
            "can be had, else extractive).",
        ),
        "summarizer": flag(str | None, help="Summarizer (overrides the preset)."),
        "translator": flag(str | None, help="Translator (overrides the preset); '' for none."),
        "fields": Fields,
        "reuse_duplicates": flag(
            bool,
            "--reuse-duplicates/--no-reuse-duplicates",
            help="A near-duplicate takes its original's summary and translation (same shard).",
        ),
        "references": flag(str | None, help="References: evaluate the run, reports in OUTDIR."),
        "format": flag(str, help="jsonl, or parquet (written beside the JSONL)."),
        "shard_size": flag(int, help="Records a shard."),
        "shard": flag(str | None, help="I/N: only the I-th (0-based) of N slices, for job arrays."),
        "executor": flag(str, help="local or ray."),
        "ray_address": flag(str | None, help="Ray cluster address (default: a local Ray)."),
    },
)

Verbose = flag(bool, "--verbose", "-v", help="Print the effective model settings.")

"""The end of a job: the final check of its output, errors.jsonl, the evaluation report,
and `newsum merge`, which finishes a job array the same way once all its slices ran.

A run (or a merge) is `complete` only when every shard it owns matches the checksum the
manifest holds for it, and the shards hold as many records as the input: otherwise it is
`unverified`, and the message says what to rerun.
"""

from __future__ import annotations

import json
import shlex
import sys
from collections import Counter
from contextlib import suppress
from pathlib import Path
from typing import Any

from newsum.pipeline.core.errors import NewsumError
from newsum.pipeline.core.layout import (
    CACHE_DIR,
    ERRORS,
    MANIFEST,
    SHARD_DIR,
    read_json,
    shard_name,
)
from newsum.pipeline.core.record import ERROR

from .jobdir import OutDir, atomic_write, owns, verify_shard
from .manifest import Manifest, looks_like_manifest
from .options import RunOptions


class Unverified(NewsumError):
    """The run went to its end, but its output does not hold every record exactly once."""

    exit_code = 1


def finish_run(folder: OutDir, manifest: Manifest, totals: tuple[int, int], options: RunOptions):
    """Check the whole output once more, then mark the run complete (or not).

    `totals`: how many shards and records the input made."""
    shards, records = totals
    selected = folder.selected
    if selected is None:
        folder.prune(shards)
    problems = []
    expected = [shard_name(i) for i in range(shards) if owns(selected, i)]
    for name in expected:
        entry = manifest.shards.get(name)
        problem = (
            "never written" if entry is None else verify_shard(folder, name, entry, options.format)
        )
        if problem:
            problems.append(f"{name}: {problem}")
    written = sum(manifest.shards[name]["records"] for name in expected if name in manifest.shards)
    if selected is None and not problems and written != records:
        problems.append(f"the shards hold {written:,} records, the input {records:,}")
    manifest.data.update(total_shards=shards, total_records=records)
    with suppress(OSError):  # left when other slices of a job array are still running
        (folder / CACHE_DIR).rmdir()
    write_errors(folder)
    if problems:
        manifest.finish("unverified")
        raise Unverified(
            f"the run ended but its output failed the final check: {'; '.join(problems[:10])}. "
            f"Rerun with --resume to redo those shards: {resume_command()}"
        )
    manifest.finish("complete")
    if options.references and not selected:
        manifest.data["report"] = evaluate_run(folder.path, options.references)
        manifest.save()


def resume_command() -> str:
    """This command line, with --resume (and without --overwrite)."""
    argv = ["newsum", *sys.argv[1:]]
    argv = [arg for arg in argv if arg != "--overwrite"]
    if "--resume" not in argv:
        argv.append("--resume")
    return shlex.join(argv)


def write_errors(folder: OutDir) -> None:
    """errors.jsonl from the shards: one line per `error` record, with its stage."""
    lines = []
    for path in sorted((folder / SHARD_DIR).glob("part-*.jsonl")):
        with open(path, encoding="utf-8") as f:
            for line in f:
                record = json.loads(line)
                if record.get("status") == ERROR:
                    reason = record.get("reason", "")
                    lines.append(json.dumps({"id": record["id"], "stage": _stage(reason),
                                             "reason": reason}, ensure_ascii=False))  # fmt: skip
    atomic_write(folder / ERRORS, "".join(line + "\n" for line in lines).encode("utf-8"))


_STAGES = ("check", "normalize", "title", "byline", "boilerplate", "check-body", "strict",
           "lang", "dedup", "summarize", "translate")  # fmt: skip


def _stage(reason: str) -> str:
    head = reason.split(":", 1)[0].split()[0] if reason else ""
    return head if head in _STAGES else "input"  # reader and check reasons have no prefix


def evaluate_run(outdir: Path, references: str) -> list[str]:
    """Score the run's summaries against references: report.json, .md and .html."""
    # Imported here: the scorers take a second to import, and most runs have no references.
    from newsum.eval.evaluate import EvalOptions, evaluate
    from newsum.eval.report import write

    report = evaluate(str(outdir / SHARD_DIR), EvalOptions(references=references))
    paths = [outdir / f"report{suffix}" for suffix in (".json", ".md", ".html")]
    for path in paths:
        write(report, path)
    return [path.name for path in paths]


# ---- merging the slices of a job array -----------------------------------------------------


def merge(outdir: Path, references: str | None = None) -> dict[str, Any]:
    """Join the runs of `--shard I/N` that wrote into `outdir` into one manifest.

    Every slice must have completed the same job, and every shard file must match the
    checksum its slice recorded; a shard that does not is named with the slice to rerun
    with --resume (merge has no models to redo it)."""
    folder = OutDir(outdir)
    if not folder.is_newsum():
        raise NewsumError(f"{outdir} was not written by `newsum run --shard I/N`: nothing to merge")
    with folder.open():
        return _merge(folder, references)


def _merge(folder: OutDir, references: str | None) -> dict[str, Any]:
    outdir = folder.path
    paths = sorted(outdir.glob("manifest-*-of-*.json"))
    parts = _slices(outdir, paths)
    fmt = parts[0]["job"]["format"]
    shards: dict[str, Any] = {}
    bad = []
    for part in parts:
        for name, entry in part["shards"].items():
            problem = verify_shard(folder, name, entry, fmt)
            if problem:
                bad.append(f"{name}: {problem} (rerun slice {part['shard']} with --resume)")
            shards[name] = entry
    total = max(part.get("total_shards", 0) for part in parts)
    absent = [shard_name(i) for i in range(total) if shard_name(i) not in shards]
    if absent:
        bad.append(f"shards missing from every slice: {', '.join(absent[:10])}")
    records = sum(entry["records"] for entry in shards.values())
    expected_records = max(part.get("total_records", 0) for part in parts)
    if not bad and records != expected_records:
        bad.append(f"the shards hold {records:,} records, the input {expected_records:,}")
    if bad:
        raise Unverified(f"cannot merge {outdir}, its shards failed the check: " + "; ".join(bad))
    folder.prune(total)
    merged = dict(parts[0])
    merged.update(
        shard=None,
        shards=shards,
        merged_from=[path.name for path in paths],
        started=min(part["started"] for part in parts),
        model_loads=sum(part.get("model_loads", 0) for part in parts),
        workers=[worker for part in parts for worker in part.get("workers", [])],
    )
    usage = sum((Counter(part.get("usage", {})) for part in parts), Counter())
    if usage:
        merged["usage"] = dict(usage)
    manifest = Manifest(outdir / MANIFEST, merged)
    write_errors(folder)
    manifest.finish("complete")
    manifest.data["ended"] = max(part["ended"] for part in parts)
    if references:
        manifest.data["report"] = evaluate_run(outdir, references)
    manifest.save()
    return manifest.data


def _slices(outdir: Path, paths: list[Path]) -> list[dict[str, Any]]:
    """The manifests of every slice, each complete and of the same job; or why not."""
    if not paths:
        raise NewsumError(f"no manifest-I-of-N.json in {outdir}: nothing to merge")
    parts, problems = [], []
    for path in paths:
        data, problem = read_json(path)
        if problem is None and not (looks_like_manifest(data) and data.get("shard")):
            problem = "not a slice manifest of this version of newsum"
        if problem:
            problems.append(f"{path.name} is {problem} (rerun that slice with --resume)")
        else:
            parts.append(data)
    if problems:
        raise NewsumError(f"cannot merge {outdir}: " + "; ".join(problems))
    count = int(parts[0]["shard"].split("/")[1])
    slices = {part["shard"] for part in parts}
    expected = {f"{i}/{count}" for i in range(count)}
    if slices != expected:
        problems.append(f"slices missing: {', '.join(sorted(expected - slices)) or '-'}")
    if len({part["fingerprint"] for part in parts}) > 1:
        problems.append("the slices ran with different configurations")
    unfinished = [part["shard"] for part in parts if part["status"] != "complete"]
    if unfinished:
        problems.append(f"unfinished: {', '.join(unfinished)} (rerun those with --resume)")
    if problems:
        raise NewsumError(f"cannot merge {outdir}: " + "; ".join(problems))
    return parts

"""`newsum summarize` and `newsum translate` end to end on tiny models, both backends."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from newsum.pipeline.cli import app
from newsum.pipeline.core.sentences import split_sentences

ARTICLES = [
    ("court", "fr", "Le maire a inauguré la ligne. Les habitants sont venus nombreux."),
    (
        "long",
        "fr",
        " ".join(
            f"Le conseil régional a voté le budget numéro {i}, après un débat de trois heures."
            for i in range(30)
        ),
    ),
    ("moyen", "fr", "La récolte de l’année sera faible. Le gel a touché les vignes. " * 4),
    ("anglais", "en", "The mayor opened the new tram line on Tuesday morning."),
    ("vide", "fr", None),
]


def run(*args: str, env: dict | None = None):
    result = CliRunner().invoke(app, list(args), env=env)
    return result


def write_input(path: Path, articles=ARTICLES) -> Path:
    with path.open("w", encoding="utf-8") as f:
        for id_, lang, text in articles:
            record = {"id": id_, "lang": lang, "text": text, "status": "ok"}
            if text is None:
                record.update(status="skipped", reason="empty text", text="")
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
    return path


def read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


BACKENDS = [("marian", "torch"), ("t5", "torch"), ("marian-ct2", "ct2"), ("t5-ct2", "ct2")]


@pytest.mark.parametrize(("model", "backend"), BACKENDS)
def test_summarize_then_translate(tiny_models, tmp_path, model, backend):
    source = write_input(tmp_path / "in.jsonl")
    common = ["--backend", backend, "--max-new-tokens", "12", "--max-input-tokens", "64", "-q"]
    result = run(
        "summarize", str(source), "-o", str(tmp_path / "s.jsonl"), "-m", tiny_models[model], *common
    )
    assert result.exit_code == 0, result.output
    summaries = read(tmp_path / "s.jsonl")
    assert [r["id"] for r in summaries] == [a[0] for a in ARTICLES]  # input order kept
    by_id = {r["id"]: r for r in summaries}
    for id_ in ("court", "long", "moyen"):
        assert by_id[id_]["status"] == "ok" and by_id[id_]["summary"]
    assert by_id["long"]["chunks"] > 1 and by_id["court"]["chunks"] == 1
    assert by_id["anglais"]["status"] == "skipped" and "'en'" in by_id["anglais"]["reason"]
    assert by_id["vide"]["status"] == "skipped" and by_id["vide"]["reason"] == "empty text"

    result = run(
        "translate",
        str(tmp_path / "s.jsonl"),
        "-o",
        str(tmp_path / "t.jsonl"),
        "-m",
        tiny_models[model],
        "--fields",
        "summary,text",
        *common,
    )
    assert result.exit_code == 0, result.output
    translated = {r["id"]: r for r in read(tmp_path / "t.jsonl")}
    for id_ in ("court", "long", "moyen"):
        record = translated[id_]
        assert record["summary_en"] and record["text_en"]
        assert record["summary"] == by_id[id_]["summary"]  # earlier fields untouched
    assert "summary_en" not in translated["anglais"]


def test_batching_does_not_change_outputs(tiny_models, tmp_path):
    """Sorted, padded batches give each article what it gets alone (torch, greedy)."""
    articles = [
        (f"a{i}", "fr", " ".join(f"Une phrase de test numéro {j}." for j in range(i % 5 + 1)))
        for i in range(12)
    ]
    source = write_input(tmp_path / "in.jsonl", articles)
    outs = {}
    for size in ("1", "64"):
        out = tmp_path / f"s{size}.jsonl"
        result = run(
            "summarize",
            str(source),
            "-o",
            str(out),
            "-m",
            tiny_models["marian"],
            "--max-new-tokens",
            "10",
            "--max-batch-size",
            size,
            "-q",
        )
        assert result.exit_code == 0, result.output
        outs[size] = [(r["id"], r["summary"]) for r in read(out)]
    assert outs["1"] == outs["64"]
    assert [i for i, _ in outs["64"]] == [a[0] for a in articles]


@pytest.mark.slow
@pytest.mark.parametrize("model", ["marian", "marian-ct2"])
def test_a_12000_word_article_goes_through_chunks(tiny_models, tmp_path, model):
    sentences = [
        f"Le projet numéro {i} avance selon le calendrier prévu par la ville." for i in range(1100)
    ]
    text = " ".join(sentences)
    assert len(text.split()) >= 12_000
    source = write_input(tmp_path / "in.jsonl", [("tres-long", "fr", text)])
    backend = "ct2" if model.endswith("ct2") else "torch"
    result = run(
        "summarize",
        str(source),
        "-o",
        str(tmp_path / "s.jsonl"),
        "-m",
        tiny_models[model],
        "--backend",
        backend,
        "--max-new-tokens",
        "16",
        "-q",
    )
    assert result.exit_code == 0, result.output
    (record,) = read(tmp_path / "s.jsonl")
    assert record["status"] == "ok" and record["summary"]
    assert record["chunks"] > 10  # ~20k tokens through a 512-token model


def test_lead_3_is_exactly_the_first_three_sentences(tmp_path):
    text = (
        "M. Dupont est arrivé lundi. Il a salué la foule. La séance a duré deux heures.\n"
        "Le vote aura lieu demain. Rien n'est joué."
    )
    source = write_input(tmp_path / "in.jsonl", [("a", "fr", text)])
    result = run("summarize", str(source), "-o", str(tmp_path / "s.jsonl"), "-m", "lead-3", "-q")
    assert result.exit_code == 0, result.output
    (record,) = read(tmp_path / "s.jsonl")
    assert record["summary"] == " ".join(split_sentences(text)[:3])
    assert record["summary"].endswith("La séance a duré deux heures.")


def test_unknown_model_offline_is_a_clear_error(tmp_path):
    source = write_input(tmp_path / "in.jsonl")
    result = run(
        "summarize",
        str(source),
        "-o",
        str(tmp_path / "s.jsonl"),
        "-m",
        "nobody/no-such-model",
        env={"HF_HUB_OFFLINE": "1"},
    )
    assert result.exit_code == 2
    assert "nobody/no-such-model" in result.stderr
    assert "newsum models download nobody/no-such-model" in result.stderr
    assert "Traceback" not in result.output + result.stderr
    assert not (tmp_path / "s.jsonl").exists()


def test_pickle_only_model_is_refused_unless_allowed(tiny_models, tmp_path):
    from transformers import AutoModelForSeq2SeqLM

    folder = tmp_path / "pickled"
    shutil.copytree(tiny_models["marian"], folder)
    (folder / "model.safetensors").unlink()
    model = AutoModelForSeq2SeqLM.from_pretrained(tiny_models["marian"])
    import torch

    torch.save(model.state_dict(), folder / "pytorch_model.bin")
    source = write_input(tmp_path / "in.jsonl")
    args = [
        "summarize",
        str(source),
        "-o",
        str(tmp_path / "s.jsonl"),
        "-m",
        str(folder),
        "--max-new-tokens",
        "5",
        "-q",
    ]
    refused = run(*args)
    assert refused.exit_code == 2
    assert "pickled weights" in refused.stderr and "--allow-pickle" in refused.stderr
    assert not (tmp_path / "s.jsonl").exists()
    allowed = run(*args, "--allow-pickle")
    assert allowed.exit_code == 0, allowed.output
    assert read(tmp_path / "s.jsonl")[0]["summary"]


def test_verbose_prints_the_effective_settings(tiny_models, tmp_path):
    source = write_input(tmp_path / "in.jsonl")
    result = run(
        "summarize",
        str(source),
        "-o",
        str(tmp_path / "s.jsonl"),
        "-m",
        tiny_models["t5"],
        "--num-beams",
        "2",
        "--max-new-tokens",
        "7",
        "-v",
    )
    assert result.exit_code == 0, result.output
    for line in (
        "num_beams: 2",
        "max_new_tokens: 7",
        "backend: torch",
        "device: cpu",
        "max_input_tokens: 512",
    ):
        assert line in result.stderr


def test_model_limit_is_enforced(tiny_models, tmp_path):
    source = write_input(tmp_path / "in.jsonl")
    result = run(
        "summarize",
        str(source),
        "-o",
        str(tmp_path / "s.jsonl"),
        "-m",
        tiny_models["marian"],
        "--max-input-tokens",
        "4096",
    )
    assert result.exit_code == 2 and "limit of 512" in result.stderr


def test_convert_cli_writes_a_ct2_model(tiny_models, tmp_path):
    result = run(
        "models",
        "convert",
        tiny_models["marian"],
        "-o",
        str(tmp_path / "c"),
        "--quantization",
        "int8",
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "c" / "model.bin").is_file()
    marker = json.loads((tmp_path / "c" / "newsum-ct2.json").read_text())
    assert marker["quantization"] == "int8" and marker["max_input_tokens"] == 512
    again = run("models", "convert", tiny_models["marian"], "-o", str(tmp_path / "c"))
    assert again.exit_code == 2 and "--force" in again.stderr

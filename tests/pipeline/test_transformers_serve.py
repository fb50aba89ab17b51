"""`newsum run --backend openai` against a real `transformers serve` (the serving extra:
FastAPI, uvicorn) on 127.0.0.1, serving the tiny random qwen2 chat model on the CPU.

The server is started with the model's folder on its command line (FORCE_MODEL): it loads
it at once and answers only for that model, under exactly the name it was given, so
newsum's --summarizer/--translator is that same path string (and, being a local folder,
newsum counts tokens with its tokenizer). Any other name in a request is a 400 ("Server is
pinned to '<path>'; requested '<name>'").

The model's weights are random: answers are gibberish, and one may clean down to nothing
(that record is then `error`, "the model's answer was empty"). The tests check the
accounting: every record once, ok or error with a reason, usage counted."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.jobs import invoke, shard_lines

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "articles"
EXAMPLE_IDS = {
    "depeche-vendanges-2024",
    "depeche-vendanges-2024-reprise",
    "depeche-velo-paris",
    "festival-avignon",
    "panne-metro-lyon",
}
START_SECONDS = 60  # the tiny model loads in ~10 s on 2 cores
STOP_SECONDS = 10


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def answers(url: str) -> bool:
    """Whether the server answers GET `url` with a 200."""
    import httpx

    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


class Served:
    """A running `transformers serve` and what to call it."""

    def __init__(self, model: str, port: int, log: Path) -> None:
        self.model = model  # the name requests must carry: FORCE_MODEL as given
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}/v1"
        self.log = log

    def tail(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")[-3000:]


@pytest.fixture(scope="module")
def served(tiny_models, tmp_path_factory) -> Iterator[Served]:
    pytest.importorskip("transformers")
    from transformers.utils.import_utils import is_serve_available

    if not is_serve_available():
        pytest.skip(
            "transformers serve needs the serving extra: pip install 'transformers[serving]'"
        )
    model = tiny_models["qwen2"]
    port = free_port()
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    command = [
        sys.executable, "-m", "transformers.cli.transformers", "serve", model,
        "--host", "127.0.0.1", "--port", str(port), "--device", "cpu", "--log-level", "warning",
    ]  # fmt: skip
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "HF_HUB_DISABLE_UPDATE_CHECK": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }
    with log.open("wb") as sink:
        # A session of its own: the server and the model process it spawns stop together.
        proc = subprocess.Popen(
            command, stdout=sink, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    server = Served(model, port, log)
    try:
        deadline = time.monotonic() + START_SECONDS
        while not answers(f"http://127.0.0.1:{port}/health"):
            if proc.poll() is not None:
                pytest.fail(f"transformers serve exited with {proc.returncode}:\n{server.tail()}")
            if time.monotonic() > deadline:
                pytest.fail(
                    f"transformers serve did not answer in {START_SECONDS} s:\n{server.tail()}"
                )
            time.sleep(0.25)
        yield server
    finally:
        stop(proc)


def stop(proc: subprocess.Popen) -> None:
    """SIGTERM the server's process group; SIGKILL what is left of it after STOP_SECONDS
    (the model's process, or a server that did not stop)."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=STOP_SECONDS)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def run(out: Path, server: Served, *extra: str):
    return invoke(
        EXAMPLES, "-o", out,
        "--backend", "openai", "--base-url", server.base_url,
        "--summarizer", server.model, "--translator", server.model,
        "--max-new-tokens", "16", "--retries", "1", "--request-timeout", "60",
        *extra,
    )  # fmt: skip


def checked_records(out: Path) -> dict[str, dict]:
    """The run's records: each input exactly once, ok with its outputs or error with a reason."""
    found = [json.loads(line) for line in shard_lines(out)]
    assert Counter(r["id"] for r in found) == Counter(EXAMPLE_IDS)
    for r in found:
        assert r["status"] in ("ok", "error"), r
        if r["status"] == "ok":
            assert r["summary"] and r["summary_en"] and not r.get("reason"), r
        else:
            assert r.get("reason"), r
    return {r["id"]: r for r in found}


def manifest(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text(encoding="utf-8"))


def test_models_lists_the_forced_model_under_its_name(served):
    import httpx

    listed = httpx.get(f"{served.base_url}/models", timeout=10).json()["data"]
    assert [entry["id"] for entry in listed] == [served.model]
    # Any other name is refused: newsum must send the path exactly as the server got it.
    body = {"model": Path(served.model).name, "messages": [{"role": "user", "content": "Bonjour"}]}
    refused = httpx.post(f"{served.base_url}/chat/completions", json=body, timeout=30)
    assert refused.status_code == 400 and "pinned" in refused.text, refused.text


def test_run_against_transformers_serve(served, tmp_path):
    out = tmp_path / "out"
    result = run(out, served)
    assert result.exit_code == 0, result.output + served.tail()
    found = checked_records(out)
    ok = [r for r in found.values() if r["status"] == "ok"]
    assert ok, {r["id"]: r.get("reason") for r in found.values()}
    assert all(r["summary"].strip() for r in ok)
    for r in found.values():
        if r["status"] == "error":  # a gibberish answer that cleaned down to nothing
            assert "answer was empty" in r["reason"], r["reason"]

    m = manifest(out)
    assert m["status"] == "complete"
    assert sum(m["counts"][k] for k in ("ok", "skipped", "error")) == len(EXAMPLE_IDS)
    usage = m["usage"]
    assert usage["requests"] > 0 and usage["failures"] == 0, usage
    assert usage["prompt_tokens"] > 0 and usage["completion_tokens"] > 0, usage
    for stage in ("summarizer", "translator"):
        info = m["models"][stage]
        assert info["backend"] == "openai", info
        assert info["id"] == served.model and info["base_url"] == served.base_url
        assert info["settings"]["max_new_tokens"] == 16
        # The folder's tokenizer counted the tokens: its context, not the server fallback.
        assert info["settings"]["max_input_tokens"] <= 2048


def test_one_call_against_transformers_serve(served, tmp_path):
    out = tmp_path / "out"
    result = run(out, served, "--one-call")
    assert result.exit_code == 0, result.output + served.tail()
    checked_records(out)
    m = manifest(out)
    assert m["status"] == "complete"
    usage = m["usage"]
    # Random tokens are not the JSON object asked for: every one-call answer falls back to
    # the two-call way, which then asks its own requests.
    assert usage["one_call"] > 0, usage
    assert usage["one_call_fallbacks"] == usage["one_call"], usage
    assert usage["requests"] > usage["one_call"], usage
    assert m["models"]["summarizer"]["one_call"] is True


def test_the_server_renders_the_prompt_newsum_counted(served):
    """Reasoning off on the server as in-process: the prompt the server tokenizes is the
    one newsum counted (the local folder's chat template, ending in an empty think block)."""
    from newsum.models.options import GenerationOptions
    from newsum.models.stages import summarizer

    options = GenerationOptions(
        backend="openai", base_url=served.base_url, max_new_tokens=4, retries=1
    )
    engine = summarizer(served.model, options).engine
    text = "Le maire a inauguré jeudi la nouvelle ligne de tramway."
    before = engine.client.usage()["prompt_tokens"]
    (result,) = engine.generate([text])
    assert result.text or "answer was empty" in (result.error or ""), result
    sent = engine.client.usage()["prompt_tokens"] - before
    assert sent == len(engine.encode([text])[0])

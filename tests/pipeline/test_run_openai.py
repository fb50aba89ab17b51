"""`newsum run --backend openai` end to end against real HTTP servers on 127.0.0.1 (a
scripted OpenAI-compatible server, tests/fixtures/chat_server.py; no mocks): answers
cleaned, usage counted, transient failures retried, lasting ones a record's error, the API
key kept out of everything written or printed, the one-call mode and its fallback, the
translation's language checked, kill -9 then --resume, and a server that is not there.

Every run ends with each input record in the shards exactly once."""

from __future__ import annotations

import hashlib
import json
import socket
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import pytest

from tests.fixtures.chat_server import (
    ENGLISH,
    ONE_CALL_ENGLISH,
    SERVED,
    ChatServer,
    Servers,
    first_sentence,
    hang,
    hang_up,
    reply,
    send,
)
from tests.fixtures.jobs import NEWSUM, invoke, kill_9_when, shard_lines, shards_done, write_jsonl

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "articles"
PROMPTS = ROOT / "models" / "prompts.toml"
EXAMPLE_IDS = {
    "depeche-vendanges-2024",
    "depeche-vendanges-2024-reprise",  # a near-duplicate of the first: reuses its outputs
    "depeche-velo-paris",
    "festival-avignon",
    "panne-metro-lyon",
}
DUPLICATE = "depeche-vendanges-2024-reprise"
ORIGINALS = len(EXAMPLE_IDS) - 1  # the articles the server is asked about
# In one article only (panne-metro-lyon), and not in its first sentence: only that
# article's summarize request carries it.
WORD, WORD_ID = "Sytral", "panne-metro-lyon"
SECRET = "sk-newsum-TEST-5ecr3t-7a1c9e0b4d"
FAST = ["--retries", "1"]  # failures end after two attempts and at most 0.5 s of backoff


@pytest.fixture
def chat_server() -> Iterator[Servers]:
    servers = Servers()
    try:
        yield servers
    finally:
        servers.close()


def openai(server: ChatServer | str, *extra: str) -> list[str]:
    url = server if isinstance(server, str) else server.base_url
    return ["--backend", "openai", "--base-url", url,
            "--summarizer", SERVED, "--translator", SERVED, *extra]  # fmt: skip


def records(out: Path) -> list[dict]:
    return [json.loads(line) for line in shard_lines(out)]


def by_id(out: Path, ids: set[str] = EXAMPLE_IDS) -> dict[str, dict]:
    """The records of a run, checked to hold every input exactly once."""
    found = records(out)
    counts = Counter(r["id"] for r in found)
    assert counts == Counter(ids), f"records per id: {dict(counts)}"
    for r in found:
        assert r["status"] in ("ok", "error", "skipped")
        if r["status"] == "ok":
            assert r["summary"] and r["summary_en"] and not r.get("reason"), r
        else:
            assert r.get("reason"), r
    return {r["id"]: r for r in found}


def manifest(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text(encoding="utf-8"))


def errors(out: Path) -> list[dict]:
    text = (out / "errors.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def codes(record: dict) -> set[str]:
    return {w["code"] for w in record.get("warnings") or []}


def tally(result) -> str:
    return result.stderr


def assert_one_failed(out: Path, result, *needles: str) -> dict:
    """WORD_ID ended `error` with a reason holding every needle; the others are ok."""
    assert result.exit_code == 0, result.output
    found = by_id(out)
    bad = found.pop(WORD_ID)
    assert bad["status"] == "error", bad
    assert bad["reason"].startswith("summarize: "), bad["reason"]
    for needle in needles:
        assert needle in bad["reason"], bad["reason"]
    assert not bad.get("summary") and not bad.get("summary_en")
    assert {r["status"] for r in found.values()} == {"ok"}
    assert [e["id"] for e in errors(out)] == [WORD_ID]
    assert errors(out)[0]["reason"] == bad["reason"]
    assert "4 ok, 0 skipped, 1 error" in tally(result)
    assert manifest(out)["status"] == "complete"
    assert manifest(out)["counts"]["error"] == 1
    return bad


# ---- 1. the happy path ---------------------------------------------------------------------


def test_answers_are_cleaned_usage_counted_and_resume_asks_nothing(tmp_path, chat_server):
    server = chat_server()
    out = tmp_path / "out"
    result = invoke(EXAMPLES, "-o", out, *openai(server))
    assert result.exit_code == 0, result.output
    assert "5 ok, 0 skipped, 0 error" in tally(result)
    found = by_id(out)
    assert {r["status"] for r in found.values()} == {"ok"}
    for rid, r in found.items():
        # The preamble and the « » the server put around the sentence are gone.
        assert r["summary"] == first_sentence(r["text"]), r["summary"]
        assert "Voici" not in r["summary"] and "«" not in r["summary"][:2]
        assert r["summary_en"] == ENGLISH  # "Here is the translation:" removed
        assert ("reused" in codes(r)) == (rid == DUPLICATE)
    assert found[DUPLICATE]["summary"] == found["depeche-vendanges-2024"]["summary"]

    # One summary and one translation per article, none for the reused near-duplicate.
    assert server.kinds() == {"summarize": ORIGINALS, "translate": ORIGINALS}
    # (The article's sentences, as packed for the model: joined by spaces.)
    asked = [r.text for r in server.requests if r.kind == "summarize"]
    expected = [" ".join(found[i]["text"].split()) for i in EXAMPLE_IDS - {DUPLICATE}]
    assert sorted(asked) == sorted(expected)
    assert {r.body["model"] for r in server.requests} == {SERVED}
    assert all(r.body["stream"] is False and r.auth is None for r in server.requests)

    m = manifest(out)
    assert m["status"] == "complete" and m["counts"]["ok"] == 5
    assert m["usage"] == {
        "requests": 2 * ORIGINALS,
        "retries": 0,
        "failures": 0,
        "prompt_tokens": server.usage.prompt_tokens,
        "completion_tokens": server.usage.completion_tokens,
    }
    sha = hashlib.sha256(PROMPTS.read_bytes()).hexdigest()
    for stage in ("summarizer", "translator"):
        info = m["models"][stage]
        assert info["prompts"]["source"] == "builtin"
        assert sha.startswith(info["prompts"]["sha256"]) and len(info["prompts"]["sha256"]) >= 16
        assert info["base_url"] == server.base_url and info["backend"] == "openai"
    assert errors(out) == []

    before = shard_lines(out)
    again = invoke(EXAMPLES, "-o", out, *openai(server), "--resume")
    assert again.exit_code == 0, again.output
    assert server.count() == 2 * ORIGINALS  # nothing asked again
    assert shard_lines(out) == before
    by_id(out)


def test_resume_records_the_usage_of_the_resumed_run_only(tmp_path, chat_server):
    """A --resume of a complete run asks the server nothing, so its manifest's usage is
    that of no request: the counters are those of one run, not of the process (the
    client is not shared with the earlier run in the same process)."""
    server = chat_server()
    out = tmp_path / "out"
    assert invoke(EXAMPLES, "-o", out, *openai(server), "-q").exit_code == 0
    first = manifest(out)["usage"]
    assert first["requests"] == 2 * ORIGINALS
    assert invoke(EXAMPLES, "-o", out, *openai(server), "--resume", "-q").exit_code == 0
    assert server.count() == 2 * ORIGINALS
    usage = manifest(out).get("usage", {})
    assert usage.get("requests", 0) == 0 and usage.get("prompt_tokens", 0) == 0, usage
    assert len(manifest(out)["resumed"]) == 1
    assert invoke(EXAMPLES, "-o", out, *openai(server), "--overwrite", "-q").exit_code == 0
    assert manifest(out)["usage"] == first


# ---- 2. rate limited -----------------------------------------------------------------------


def test_429_then_200_for_every_request_ends_ok_with_retries_counted(tmp_path, chat_server):
    def limited(handler, request):
        if request.attempt == 0:
            send(handler, 429, {"error": {"message": "slow down"}}, {"Retry-After": "0"})
            return None
        return False  # the scripted answer

    server = chat_server(limited)
    out = tmp_path / "out"
    start = time.monotonic()
    result = invoke(EXAMPLES, "-o", out, *openai(server))
    assert result.exit_code == 0, result.output
    assert time.monotonic() - start < 30  # Retry-After: 0, not the backoff
    found = by_id(out)
    assert {r["status"] for r in found.values()} == {"ok"}
    assert server.kinds() == {"summarize": 2 * ORIGINALS, "translate": 2 * ORIGINALS}
    usage = manifest(out)["usage"]
    assert usage["retries"] == 2 * ORIGINALS > 0
    assert usage["requests"] == 4 * ORIGINALS and usage["failures"] == 0


# ---- 3-6. a lasting failure on one article is that record's error ---------------------------


def test_500_forever_on_one_article_is_its_error_only(tmp_path, chat_server):
    def broken(handler, request):
        if request.has(WORD):
            send(handler, 500, {"error": {"message": "CUDA out of memory"}})
            return None
        return False

    server = chat_server(broken)
    out = tmp_path / "out"
    result = invoke(EXAMPLES, "-o", out, *openai(server, *FAST))
    assert_one_failed(out, result, "HTTP 500", "CUDA out of memory", "2 attempts")
    assert errors(out)[0]["stage"] == "summarize", errors(out)
    assert sum(1 for r in server.requests if r.has(WORD)) == 2  # --retries 1
    usage = manifest(out)["usage"]
    assert (usage["failures"], usage["retries"]) == (1, 1)
    assert "Traceback" not in result.output


def test_a_server_hanging_on_one_article_times_out(tmp_path, chat_server):
    def stuck(handler, request):
        if request.has(WORD):
            hang(handler)
            return None
        return False

    server = chat_server(stuck)
    out = tmp_path / "out"
    start = time.monotonic()
    result = invoke(EXAMPLES, "-o", out, *openai(server, "--request-timeout", "0.5", *FAST))
    elapsed = time.monotonic() - start
    assert_one_failed(out, result, "timeout")
    assert sum(1 for r in server.requests if r.has(WORD)) == 2
    assert elapsed < 20, elapsed  # two attempts of 0.5 s, not HANG_SECONDS each


def test_a_connection_closed_without_answer_on_one_article(tmp_path, chat_server):
    def rude(handler, request):
        if request.has(WORD):
            hang_up(handler)
            return None
        return False

    server = chat_server(rude)
    out = tmp_path / "out"
    result = invoke(EXAMPLES, "-o", out, *openai(server, *FAST))
    assert_one_failed(out, result, "connection error")
    assert sum(1 for r in server.requests if r.has(WORD)) == 2


def test_a_malformed_body_on_one_article(tmp_path, chat_server):
    def garbled(handler, request):
        if request.has(WORD):
            send(handler, 200, b'{"choices": [{"message": {"cont')
            return None
        return False

    server = chat_server(garbled)
    out = tmp_path / "out"
    result = invoke(EXAMPLES, "-o", out, *openai(server, *FAST))
    assert_one_failed(out, result, "malformed")


def test_a_failed_translation_is_the_records_error(tmp_path, chat_server):
    """The translate stage's failure: the summary was made, the translation was not
    (the Lyon article's first sentence, its summary here, names the métro)."""

    def no_translation(handler, request):
        if request.kind == "translate" and "métro" in request.text:
            send(handler, 503, {"error": {"message": "overloaded"}})
            return None
        return False

    server = chat_server(no_translation)
    out = tmp_path / "out"
    result = invoke(EXAMPLES, "-o", out, *openai(server, *FAST))
    assert result.exit_code == 0, result.output
    found = by_id(out)
    bad = found.pop(WORD_ID)
    assert bad["status"] == "error" and "translate" in bad["reason"], bad
    assert "HTTP 503" in bad["reason"] and "overloaded" in bad["reason"]
    assert {r["status"] for r in found.values()} == {"ok"}
    assert [e["id"] for e in errors(out)] == [WORD_ID]


def test_the_near_duplicate_of_a_failed_article_is_accounted_for(tmp_path, chat_server):
    """The original of a near-duplicate fails: the duplicate has no outputs to reuse, and
    still ends once in the shards, with its own status and reason."""

    def broken(handler, request):
        if request.kind == "summarize" and request.has("Bourgogne"):
            send(handler, 500, {"error": {"message": "boom"}})
            return None
        return False

    server = chat_server(broken)
    out = tmp_path / "out"
    result = invoke(EXAMPLES, "-o", out, *openai(server, *FAST))
    assert result.exit_code == 0, result.output
    found = by_id(out)
    for rid in ("depeche-vendanges-2024", DUPLICATE):
        assert found[rid]["status"] == "error" and "HTTP 500" in found[rid]["reason"], found[rid]
    assert {found[i]["status"] for i in EXAMPLE_IDS - {"depeche-vendanges-2024", DUPLICATE}} == {
        "ok"
    }
    assert sorted(e["id"] for e in errors(out)) == sorted(["depeche-vendanges-2024", DUPLICATE])


def test_an_empty_or_preamble_only_answer_is_an_error_not_an_empty_summary(tmp_path, chat_server):
    def blank(handler, request):
        if request.kind != "summarize":
            return False
        if request.has(WORD):
            reply(handler, request, "")
        elif request.has("Avignon"):
            reply(handler, request, "Voici un résumé de l'article :")  # nothing after it
        else:
            return False
        return None

    server = chat_server(blank)
    out = tmp_path / "out"
    result = invoke(EXAMPLES, "-o", out, *openai(server))
    assert result.exit_code == 0, result.output
    found = by_id(out)
    for rid in (WORD_ID, "festival-avignon"):
        assert found[rid]["status"] == "error", found[rid]
        assert "empty" in found[rid]["reason"] and not found[rid].get("summary")
    assert "3 ok, 0 skipped, 2 error" in tally(result)


def test_a_summary_cut_at_max_tokens_is_not_silently_ok(tmp_path, chat_server):
    cut = "Les quatre lignes du métro lyonnais sont restées à l'arrêt mardi matin, de"

    def truncated(handler, request):
        if request.kind == "summarize" and request.has(WORD):
            max_tokens = request.body["max_tokens"]
            answer = {
                "id": "chatcmpl-cut",
                "object": "chat.completion",
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": cut},
                        "finish_reason": "length",
                    }
                ],
                "usage": {"prompt_tokens": 400, "completion_tokens": max_tokens},
            }
            send(handler, 200, answer)
            return None
        return False

    server = chat_server(truncated)
    out = tmp_path / "out"
    result = invoke(EXAMPLES, "-o", out, *openai(server))
    assert result.exit_code == 0, result.output
    record = by_id(out)[WORD_ID]
    flagged = record["status"] == "error" or any(
        "truncat" in w["message"] or "length" in w["message"] or "truncat" in w["code"]
        for w in record.get("warnings") or []
    )
    assert flagged, record


def test_max_concurrency_bounds_the_requests_in_flight(tmp_path, chat_server):
    source = write_jsonl(tmp_path / "in.jsonl", dispatches(12))
    server = chat_server(delay=0.1)
    out = tmp_path / "out"
    args = openai(server, "--max-concurrency", "3")
    result = invoke(source, "-o", out, *args, "--no-dedup", "-q")
    assert result.exit_code == 0, result.output
    assert {r["status"] for r in by_id(out, {f"d{i:03d}" for i in range(12)}).values()} == {"ok"}
    assert server.count() == 24
    assert 2 <= server.peak <= 3, server.peak  # in parallel, never past the bound


# ---- 7. the API key ------------------------------------------------------------------------


def assert_secret_nowhere(out: Path, *texts: str) -> None:
    written = [p for p in out.rglob("*") if p.is_file()]
    assert written
    for path in written:
        assert SECRET.encode() not in path.read_bytes(), path
    for text in texts:
        assert SECRET not in text


def test_the_api_key_is_sent_and_written_nowhere(tmp_path, chat_server, monkeypatch):
    monkeypatch.setenv("NEWSUM_TEST_KEY", SECRET)
    server = chat_server(key=SECRET)
    out = tmp_path / "out"
    result = invoke(EXAMPLES, "-o", out, *openai(server, "--api-key-env", "NEWSUM_TEST_KEY"), "-v")
    assert result.exit_code == 0, result.output
    assert {r["status"] for r in by_id(out).values()} == {"ok"}
    assert {r.auth for r in server.requests} == {f"Bearer {SECRET}"}
    assert set(server.gets) == {f"Bearer {SECRET}"}
    assert_secret_nowhere(out, result.output, result.stdout, result.stderr)


def test_a_refused_api_key_is_each_records_error_and_never_shown(
    tmp_path, chat_server, monkeypatch
):
    monkeypatch.setenv("NEWSUM_TEST_KEY", SECRET)
    # The server wants another key; its 401 quotes the key it was given, as OpenAI's does.
    server = chat_server(key="sk-the-right-one")
    out = tmp_path / "out"
    args = openai(server, "--api-key-env", "NEWSUM_TEST_KEY", *FAST)
    result = invoke(EXAMPLES, "-o", out, *args, "-v")
    assert result.exit_code == 1, result.output  # no record came out ok
    found = by_id(out)
    for r in found.values():
        assert r["status"] == "error" and "401" in r["reason"], r
    # A 401 is not retried. The near-duplicate is asked too: its original has no outputs
    # to reuse.
    assert server.count() == server.count("summarize") == len(EXAMPLE_IDS)
    assert "0 ok, 0 skipped, 5 error" in tally(result)
    assert len(errors(out)) == 5
    assert_secret_nowhere(out, result.output, result.stdout, result.stderr)


def test_a_refused_key_at_load_time_is_a_clear_error_without_the_key(
    tmp_path, chat_server, monkeypatch
):
    monkeypatch.setenv("NEWSUM_TEST_KEY", SECRET)
    server = chat_server(key="sk-the-right-one", guard_models=True)
    out = tmp_path / "out"
    result = invoke(EXAMPLES, "-o", out, *openai(server, "--api-key-env", "NEWSUM_TEST_KEY"))
    assert result.exit_code == 2, result.output
    assert "401" in result.stderr and "API key" in result.stderr
    assert server.base_url in result.stderr
    assert SECRET not in result.output and "Traceback" not in result.output
    assert server.count() == 0 and not out.exists()


# A gateway's refusal that quotes the key after 180 characters of text: the error
# snippet (models/server.py SNIPPET_CHARS = 200) cuts the key in two.
_PREFIX = (
    "Authentication failed: the API key given with this request is not valid for this "
    "deployment. Check the key, its project and its organisation."
)
LONG_REFUSAL = (_PREFIX + " Key received: ").rjust(180, "-") + "{key}"  # the key at 180


def _pieces(secret: str, size: int = 12) -> list[str]:
    return [secret[i : i + size] for i in range(len(secret) - size + 1)]


def test_a_key_cut_by_the_error_snippet_is_still_redacted(tmp_path, chat_server, monkeypatch):
    monkeypatch.setenv("NEWSUM_TEST_KEY", SECRET)
    assert LONG_REFUSAL.index("{key}") == 180 and len(SECRET) > 20  # 20 characters shown
    server = chat_server(key="sk-the-right-one", refusal=LONG_REFUSAL)
    out = tmp_path / "out"
    result = invoke(EXAMPLES, "-o", out, *openai(server, "--api-key-env", "NEWSUM_TEST_KEY"))
    assert result.exit_code == 1, result.output
    assert all("401" in r["reason"] for r in by_id(out).values())
    written = b"".join(p.read_bytes() for p in out.rglob("*") if p.is_file()).decode()
    for piece in _pieces(SECRET):
        assert piece not in written and piece not in result.output, piece


def test_a_key_cut_by_the_load_time_error_is_still_redacted(tmp_path, chat_server, monkeypatch):
    monkeypatch.setenv("NEWSUM_TEST_KEY", SECRET)
    server = chat_server(key="sk-the-right-one", refusal=LONG_REFUSAL, guard_models=True)
    out = tmp_path / "out"
    result = invoke(EXAMPLES, "-o", out, *openai(server, "--api-key-env", "NEWSUM_TEST_KEY"))
    assert result.exit_code == 2 and "401" in result.stderr, result.output
    for piece in _pieces(SECRET):
        assert piece not in result.output, piece


@pytest.mark.parametrize("ending", ["\n", "\r\n"], ids=["lf", "crlf"])
def test_a_key_read_with_its_line_break_is_never_shown(tmp_path, chat_server, monkeypatch, ending):
    monkeypatch.setenv("NEWSUM_TEST_KEY", SECRET + ending)
    server = chat_server(key=SECRET, guard_models=True)
    out = tmp_path / "out"
    result = invoke(EXAMPLES, "-o", out, *openai(server, "--api-key-env", "NEWSUM_TEST_KEY"))
    for piece in _pieces(SECRET):
        assert piece not in result.output, result.output
    if out.exists():
        written = b"".join(p.read_bytes() for p in out.rglob("*") if p.is_file()).decode()
        assert all(piece not in written for piece in _pieces(SECRET))


def test_a_key_that_is_not_ascii_is_a_clear_error(tmp_path, chat_server, monkeypatch):
    monkeypatch.setenv("NEWSUM_TEST_KEY", "clé-" + SECRET)
    server = chat_server()
    out = tmp_path / "out"
    result = invoke(EXAMPLES, "-o", out, *openai(server, "--api-key-env", "NEWSUM_TEST_KEY"))
    assert result.exit_code == 2, result.output
    assert "bug in newsum" not in result.stderr, result.stderr
    assert "NEWSUM_TEST_KEY" in result.stderr or "API key" in result.stderr
    assert SECRET not in result.output and not out.exists()


def test_a_missing_api_key_variable_fails_before_writing(tmp_path, chat_server, monkeypatch):
    monkeypatch.delenv("NEWSUM_TEST_KEY", raising=False)
    server = chat_server()
    out = tmp_path / "out"
    result = invoke(EXAMPLES, "-o", out, *openai(server, "--api-key-env", "NEWSUM_TEST_KEY"))
    assert result.exit_code not in (0, None) and result.exit_code != 1, result.output
    assert "NEWSUM_TEST_KEY" in result.stderr and "not set" in result.stderr
    assert "Traceback" not in result.output
    assert not out.exists()
    assert server.count() == 0


# ---- 8. one call for both ------------------------------------------------------------------


def test_one_call_takes_both_outputs_from_the_json_answer(tmp_path, chat_server):
    server = chat_server()
    out = tmp_path / "out"
    result = invoke(EXAMPLES, "-o", out, *openai(server, "--one-call"))
    assert result.exit_code == 0, result.output
    found = by_id(out)
    for r in found.values():
        assert r["status"] == "ok"
        assert r["summary"] == first_sentence(r["text"])
        assert r["summary_en"] == ONE_CALL_ENGLISH
    assert server.kinds() == {"both": ORIGINALS}  # no summarize, no translate request
    usage = manifest(out)["usage"]
    assert usage["one_call"] == ORIGINALS and usage["one_call_fallbacks"] == 0
    assert usage["requests"] == ORIGINALS


def test_one_call_falls_back_to_two_calls_when_the_answer_is_not_json(tmp_path, chat_server):
    def prose(handler, request):
        if request.kind == "both":
            reply(handler, request, "Bien sûr ! L'article parle de l'actualité du jour en France.")
            return None
        return False

    server = chat_server(prose)
    out = tmp_path / "out"
    result = invoke(EXAMPLES, "-o", out, *openai(server, "--one-call"))
    assert result.exit_code == 0, result.output
    found = by_id(out)
    for r in found.values():
        assert r["status"] == "ok"
        assert r["summary"] == first_sentence(r["text"])
        assert r["summary_en"] == ENGLISH  # from a translate request
    assert server.kinds() == {"both": ORIGINALS, "summarize": ORIGINALS, "translate": ORIGINALS}
    usage = manifest(out)["usage"]
    assert usage["one_call"] == ORIGINALS and usage["one_call_fallbacks"] == ORIGINALS
    assert usage["requests"] == 3 * ORIGINALS


# ---- 9. the translation's language ---------------------------------------------------------


def test_a_translation_in_french_is_kept_with_a_warning(tmp_path, chat_server):
    french = "Le ministre a annoncé mardi de nouvelles mesures pour les agriculteurs du pays."

    def stays_french(handler, request):
        if request.kind == "translate":
            reply(handler, request, french)
            return None
        return False

    server = chat_server(stays_french)
    out = tmp_path / "out"
    result = invoke(EXAMPLES, "-o", out, *openai(server))
    assert result.exit_code == 0, result.output
    found = by_id(out)
    for r in found.values():
        assert r["status"] == "ok" and r["summary_en"] == french
        assert "translation-language" in codes(r), r.get("warnings")
    assert "5 ok, 0 skipped, 0 error (5 with warnings)" in tally(result)
    assert manifest(out)["counts"]["warnings"] == 5


def test_a_summary_in_english_is_kept_with_a_warning(tmp_path, chat_server):
    english = "The city council voted on the new budget on Tuesday after a long debate."

    def drifts(handler, request):
        if request.kind == "summarize":
            reply(handler, request, english)
            return None
        return False

    server = chat_server(drifts)
    out = tmp_path / "out"
    result = invoke(EXAMPLES, "-o", out, *openai(server))
    assert result.exit_code == 0, result.output
    for r in by_id(out).values():
        assert r["status"] == "ok" and r["summary"] == english
        assert "summary-language" in codes(r), r.get("warnings")
    assert "(5 with warnings)" in tally(result)


# ---- 10. kill -9, then --resume ------------------------------------------------------------

CITIES = ["Lille", "Nantes", "Rennes", "Brest", "Dijon", "Metz", "Nancy", "Reims", "Caen", "Tours",
          "Angers", "Nîmes", "Pau", "Bayonne", "Grenoble", "Annecy", "Valence", "Troyes", "Amiens",
          "Rouen", "Limoges", "Poitiers", "Orléans", "Besançon", "Mulhouse", "Colmar", "Perpignan",
          "Toulon", "Ajaccio", "Bastia"]  # fmt: skip
TOPICS = ["la rénovation des écoles", "un nouveau tramway", "la piscine municipale",
          "les pistes cyclables", "la médiathèque", "le marché couvert"]  # fmt: skip


def dispatches(n: int) -> list[dict]:
    rows = []
    for i in range(n):
        city, topic = CITIES[i % len(CITIES)], TOPICS[i % len(TOPICS)]
        text = (
            f"Le conseil municipal de {city} a voté mardi un budget de {i + 3} millions "
            f"d'euros pour {topic}. Les travaux commenceront au printemps {2025 + i % 3} "
            f"et dureront {i % 5 + 2} ans, selon le maire. L'opposition dénonce un projet "
            f"trop coûteux pour les {1000 * (i + 7)} habitants du quartier concerné."
        )
        rows.append({"id": f"d{i:03d}", "title": f"{city} : le budget voté", "text": text})
    return rows


@pytest.mark.slow
def test_kill_9_then_resume_reuses_the_finished_work(tmp_path, chat_server):
    n, size = 30, 3
    source = write_jsonl(tmp_path / "in.jsonl", dispatches(n))
    ids = {f"d{i:03d}" for i in range(n)}
    server = chat_server(delay=0.3)
    args = [*openai(server, "--max-concurrency", "2"), "--shard-size", str(size), "--no-dedup"]

    # An uninterrupted run, without the delay, to compare with.
    server.delay = 0.0
    reference = tmp_path / "reference"
    assert invoke(source, "-o", reference, *args, "-q").exit_code == 0
    assert server.count() == 2 * n  # no near-duplicates: every article asked for
    assert {r["status"] for r in by_id(reference, ids).values()} == {"ok"}

    server.delay = 0.3
    out = tmp_path / "out"
    command = [*NEWSUM, "run", str(source), "-o", str(out), *args, "-q"]
    start = server.count()
    kill_9_when(command, lambda: shards_done(out) >= 3, timeout=60)
    done = shards_done(out)
    killed_after = server.count() - start
    assert 3 <= done < n // size, done  # killed mid-run
    assert manifest(out)["status"] != "complete"

    server.delay = 0.0
    before = server.count()
    result = invoke(source, "-o", out, *args, "--resume", "-q")
    assert result.exit_code == 0, result.output
    resumed = server.count() - before
    # The finished shards (and any model batch saved since) are not asked for again.
    assert resumed <= 2 * (n - done * size), (resumed, done)
    assert resumed < 2 * n and killed_after + resumed >= 2 * n
    assert shard_lines(out) == shard_lines(reference)
    assert {r["status"] for r in by_id(out, ids).values()} == {"ok"}
    assert manifest(out)["status"] == "complete"
    assert manifest(out)["usage"]["requests"] == resumed  # the resumed run's own requests


# ---- 11. no server -------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_server_that_is_down_fails_fast_naming_the_url(tmp_path):
    url = f"http://127.0.0.1:{free_port()}/v1"
    out = tmp_path / "out"
    start = time.monotonic()
    result = invoke(EXAMPLES, "-o", out, *openai(url))
    assert time.monotonic() - start < 30
    assert result.exit_code not in (0, 1), result.output
    assert url in result.stderr and "cannot reach" in result.stderr
    assert "Traceback" not in result.output
    assert not (out / "shards").exists() or not list((out / "shards").iterdir())


@pytest.mark.slow
def test_a_server_that_is_down_fails_fast_in_a_real_process(tmp_path):
    url = f"http://127.0.0.1:{free_port()}/v1"
    out = tmp_path / "out"
    start = time.monotonic()
    done = subprocess.run(
        [*NEWSUM, "run", str(EXAMPLES), "-o", str(out), *openai(url)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert time.monotonic() - start < 60
    assert done.returncode == 2, done.stderr
    assert url in done.stderr and "Traceback" not in done.stderr


# ---- the prompts in the evaluation's signature ----------------------------------------------


def test_the_report_signature_names_the_prompts_by_content(tmp_path, chat_server):
    """Scores of an LLM run are reproducible only with its prompts: the evaluation
    signature carries the prompts file's hash, and another file gives another hash."""
    from newsum.models.prompts import load_prompts

    server = chat_server()
    references = str(ROOT / "examples" / "references.jsonl")
    out = tmp_path / "out"
    result = invoke(EXAMPLES, "-o", out, *openai(server), "--references", references)
    assert result.exit_code == 0, result.output
    builtin = load_prompts().describe()["sha256"]
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert f"prompts=sha256:{builtin}" in report["signature"]

    edited = tmp_path / "prompts.toml"
    packaged = resources.files("newsum.models").joinpath("prompts.toml").read_text("utf-8")
    edited.write_text(packaged + "\n# edited\n", encoding="utf-8")
    other = tmp_path / "other"
    args = [*openai(server), "--prompts", str(edited), "--references", references]
    assert invoke(EXAMPLES, "-o", other, *args).exit_code == 0
    signature = json.loads((other / "report.json").read_text(encoding="utf-8"))["signature"]
    assert f"prompts=sha256:{load_prompts(edited).describe()['sha256']}" in signature
    assert builtin not in signature

"""Instruct LLMs as summarizer and translator: the prompt around each text, the answer
cleaned, and the same engine interface for a model in-process or behind a server.

The engine (models/engine.py) batches, chunks and retries without knowing it talks to a
chat model: `ChatTokenizer` is the tokenizer it sees. It turns a text into the ids of the
whole chat prompt (system turn, instructions, the text as delimited data) and generated
ids back into a clean answer (reasoning blocks, preambles, quotes and Markdown removed,
models/hygiene.py). Its `overhead` (the prompt's own tokens) tells chunking how much of
a model input the text may take.

`ServerEngine` is the engine for `--backend openai`: the same prompts sent as chat
requests to an OpenAI-compatible server (models/server.py), with the server's tokenizer
when newsum can load it locally, else a conservative estimate, for chunking.
"""

from __future__ import annotations

import threading
from typing import Any

from newsum.pipeline.core.languages import detect_language

from .backend import Decoding
from .engine import Engine, Result, answer
from .hygiene import clean_output, parse_both
from .prompts import Prompt, chat_ids, chat_text, messages
from .server import ChatClient

# Under this many characters, language identification is a guess: no warning.
MIN_CHECKED_CHARS = 40


class ChatTokenizer:
    """A chat model's tokenizer as the engine uses it: texts in, prompt ids out; ids in,
    clean answers out. `clean=False` keeps answers raw (the one-call mode parses JSON)."""

    def __init__(self, tokenizer: Any, prompt: Prompt, name: str = "", clean: bool = True):
        self.tokenizer = tokenizer
        self.prompt = prompt
        self.name = name
        self.clean = clean
        self.model_max_length = getattr(tokenizer, "model_max_length", 0)
        self.overhead = len(self._prompt_ids("")) - len(self._text_ids(""))

    def __call__(self, texts: list[str], add_special_tokens: bool = True) -> dict[str, list]:
        if add_special_tokens:
            return {"input_ids": [self._prompt_ids(text) for text in texts]}
        return {"input_ids": [self._text_ids(text) for text in texts]}

    def _prompt_ids(self, text: str) -> list[int]:
        return chat_ids(self.tokenizer, messages(self.prompt, text), self.name or None)

    def _text_ids(self, text: str) -> list[int]:
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    def decode(self, ids: list[int], skip_special_tokens: bool = True) -> str:
        return self.tokenizer.decode(ids, skip_special_tokens=skip_special_tokens)

    def batch_decode(self, outputs: list[list[int]], skip_special_tokens: bool = True) -> list:
        texts = self.tokenizer.batch_decode(outputs, skip_special_tokens=skip_special_tokens)
        return [clean_output(t) for t in texts] if self.clean else texts

    def render(self, text: str) -> str:
        """The prompt for `text` as the model sees it (for --verbose and the tests)."""
        return chat_text(self.tokenizer, messages(self.prompt, text), self.name or None)


class EstimatingTokenizer:
    """Token counts where the served model's tokenizer is not at hand: one "token" per
    CHARS characters. Llama 3 and Qwen2 tokenizers make about 4 characters a token of
    French news, so this overestimates and chunks stay inside the context. Ids encode
    their characters, so a cut piece decodes back to its exact text."""

    CHARS = 3
    model_max_length = 0

    def __call__(self, texts: list[str], add_special_tokens: bool = True) -> dict[str, list]:
        return {"input_ids": [self.encode(text) for text in texts]}

    def encode(self, text: str) -> list[int]:
        step = self.CHARS
        return [_pack(text[i : i + step]) for i in range(0, len(text), step)]

    def decode(self, ids: list[int], skip_special_tokens: bool = True) -> str:
        return "".join(_unpack(i) for i in ids)


def _pack(chars: str) -> int:
    value = 0
    for c in reversed(chars):
        value = (value << 21) | ord(c)  # every code point fits in 21 bits
    return value


def _unpack(value: int) -> str:
    out = []
    while value:
        out.append(chr(value & 0x1FFFFF))
        value >>= 21
    return "".join(out)


class ServerEngine(Engine):
    """An engine whose model is behind an OpenAI-compatible server: each text is one chat
    request, at most `--max-concurrency` at a time (the server does the batching). The
    token budget only cuts a shard into units of work; the server sees no padding."""

    def __init__(
        self,
        client: ChatClient,
        model: str,
        prompt: Prompt,
        decoding: Decoding,
        *,
        tokenizer: Any,
        max_input_tokens: int,
        batch_tokens: int,
        max_batch_size: int,
        overhead: int,
        clean: bool = True,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(
            _NoBackend(),
            tokenizer,
            decoding,
            max_input_tokens=max_input_tokens,
            batch_tokens=batch_tokens,
            max_batch_size=max_batch_size,
        )
        self.client = client
        self.model = model
        self.prompt = prompt
        self.clean = clean
        self.overhead = overhead
        self.extra = extra or {}  # more request fields (the chat template's arguments)
        self.decoder_only = True

    def generate(self, texts: list[str], lang: str | None = None) -> list[Result]:
        results: list[Result | None] = [None] * len(texts)
        todo = []
        for i, seq in enumerate(self.encode(texts, special=False)):
            if len(seq) + self.overhead > self.max_input_tokens:
                results[i] = Result(
                    None,
                    f"input of about {len(seq) + self.overhead} tokens is over the limit of "
                    f"{self.max_input_tokens}",
                )
            else:
                todo.append(i)
        payloads = [self._payload(texts[i]) for i in todo]
        for i, reply in zip(todo, self.client.complete(payloads), strict=True):
            if reply.error is not None:
                results[i] = Result(None, reply.error)
                continue
            text = clean_output(reply.text or "") if self.clean else (reply.text or "")
            cut = reply.finish_reason == "length"
            results[i] = answer(text, reply.completion_tokens, chat=True, truncated=cut)
        return results  # type: ignore[return-value]

    def _payload(self, text: str) -> dict[str, Any]:
        decoding = self.decoding
        payload: dict[str, Any] = {
            "model": self.model,
            "messages": messages(self.prompt, text),
            "max_tokens": decoding.max_new_tokens,
            "temperature": 0.0,
        }
        if decoding.min_new_tokens:
            payload["min_tokens"] = decoding.min_new_tokens  # vLLM's extension; others ignore it
        return {**payload, **self.extra}


def prompt_overhead(tokenizer: Any, prompt: Prompt) -> int:
    """The tokens a prompt adds to a text: counted through the chat template when the
    served model's tokenizer is at hand, else estimated with a margin for the role
    markers of a template newsum cannot see."""
    if isinstance(tokenizer, ChatTokenizer):
        return tokenizer.overhead
    words = prompt.system + prompt.user.replace("{text}", "")
    return len(tokenizer([words], add_special_tokens=False)["input_ids"][0]) + 16


class _NoBackend:
    """A server engine has no local model; this keeps the Engine's attributes defined."""

    device = "server"
    max_input_tokens = 0
    pad_token_id = -1
    decoder_only = True

    def generate(self, inputs, decoding):  # pragma: no cover - never called
        raise NotImplementedError


# ---- one call for both ---------------------------------------------------------------------


class OneCall:
    """The one-call mode: one request per article asks for its French summary and the
    summary's English translation as JSON. An article that does not fit one model input,
    or whose answer does not parse, gets None: it goes the two-call way."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._lock = threading.Lock()
        self.calls = 0
        self.fallbacks = 0

    def run(self, texts: list[str], lang: str) -> list[tuple[str, str] | None]:
        engine = self.engine
        out: list[tuple[str, str] | None] = [None] * len(texts)
        lengths = [len(ids) for ids in engine.encode(texts)]
        fitting = [i for i, n in enumerate(lengths) if n <= engine.max_input_tokens]
        results = engine.generate([texts[i] for i in fitting], lang) if fitting else []
        for i, result in zip(fitting, results, strict=True):
            out[i] = parse_both(result.text) if result.text else None
        with self._lock:
            self.calls += len(fitting)
            self.fallbacks += sum(1 for x in out if x is None)
        return out

    def usage(self) -> dict[str, int]:
        return {"one_call": self.calls, "one_call_fallbacks": self.fallbacks}


# ---- the answer's language ------------------------------------------------------------------


def wrong_language(text: str, expected: str) -> str | None:
    """Why `text` does not look like language `expected`, or None when it does (or is
    too short to tell)."""
    if not expected or len(text) < MIN_CHECKED_CHARS:
        return None
    found, score = detect_language(text)
    if found == expected:
        return None
    return f"the answer looks {found!r} (score {score}), not {expected!r}"

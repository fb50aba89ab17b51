"""A client for OpenAI-compatible chat-completions servers (vLLM, SGLang, TGI, llama.cpp,
Ollama, `transformers serve`): requests in parallel, bounded retries, one Reply each.

The policy, so that a batch job neither stalls nor dies on one bad request:

- At most `max_concurrency` requests in flight per client (one shared thread pool, and as
  many pooled connections), whatever the number of threads calling `complete`.
- Every attempt has `timeout` seconds for each phase (connect, send, each read; a
  non-streaming answer arrives in one piece, so in practice for the whole answer).
- Transient failures are retried up to `retries` times: HTTP 429, 500, 502, 503 and 504,
  a connection refused, reset or closed without an answer, a timeout, and a 200 whose
  body is not JSON (a truncated or garbled body; a proxy's error page). Between attempts
  the client sleeps a full-jitter exponential backoff, `uniform(0, backoff * 2**n)`, or the
  server's `Retry-After` (seconds or an HTTP date) when given, both capped at
  `max_backoff`. So a request ends after at most `retries + 1` attempts and
  `retries * max_backoff` seconds of sleep.
- Not retried: other 4xx (the request itself is wrong: asking again gets the same answer),
  and a well-formed JSON answer without `choices[0].message.content` (the server answered
  on purpose, e.g. a reasoning model that spent `max_tokens` thinking; another attempt
  would cost a full generation for the same result).
- A failed request never raises: its Reply carries the reason for the record. Only
  `models()`, called at load time, raises NewsumError, to fail before a batch starts.
- The API key is sent in `Authorization: Bearer` and nowhere else: it is kept out of the
  settings' repr, and any error or log text is scrubbed of it in case a server echoes it.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx

from newsum.pipeline.core.errors import NewsumError
from newsum.pipeline.core.retry import backoff_delay, describe, retry_after

log = logging.getLogger("newsum")

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# The connection failed, not the request: refused, reset, closed without answer.
_CONNECTION_ERRORS = (httpx.NetworkError, httpx.RemoteProtocolError)
SNIPPET_CHARS = 200
# Any run of text starting with the key's first characters counts as the key.
KEY_LEAD_CHARS = 6
_REDACTED = "[redacted]"


@dataclass(frozen=True)
class ServerSettings:
    """Where the server is and how hard to try. `base_url` is the prefix that
    `/chat/completions` and `/models` are appended to, as the openai SDK's base_url
    (usually ending in /v1); a trailing slash is dropped."""

    base_url: str
    api_key: str | None = field(default=None, repr=False)
    max_concurrency: int = 8
    timeout: float = 120.0
    retries: int = 5
    backoff: float = 0.5
    max_backoff: float = 30.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "base_url", self.base_url.rstrip("/"))
        if not self.base_url.startswith(("http://", "https://")):
            raise NewsumError(
                f"the server URL must start with http:// or https://: {self.base_url}"
            )
        if self.max_concurrency < 1 or self.retries < 0 or self.timeout <= 0:
            raise NewsumError("server settings: max_concurrency >= 1, retries >= 0, timeout > 0")
        if self.backoff < 0 or self.max_backoff < 0:
            raise NewsumError("server settings: backoff and max_backoff must be >= 0")


@dataclass
class Reply:
    text: str | None  # the first choice's message content, as sent ("" is a success)
    error: str | None = None  # why it failed, for the record's reason
    prompt_tokens: int = 0
    completion_tokens: int = 0
    retries: int = 0
    finish_reason: str | None = None


class _Failure(Exception):
    """One attempt failed; `transient` says whether another attempt may succeed."""

    def __init__(self, reason: str, transient: bool, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason, self.transient, self.retry_after = reason, transient, retry_after


class ChatClient:
    def __init__(self, settings: ServerSettings) -> None:
        self.settings = settings
        headers = {"Authorization": f"Bearer {settings.api_key}"} if settings.api_key else {}
        n = settings.max_concurrency
        self._http = httpx.Client(
            headers=headers,
            timeout=httpx.Timeout(settings.timeout),
            limits=httpx.Limits(max_connections=n, max_keepalive_connections=n),
        )
        self._pool = ThreadPoolExecutor(max_workers=n, thread_name_prefix="newsum-server")
        self._lock = threading.Lock()
        self._stats = dict.fromkeys(
            ("requests", "retries", "failures", "prompt_tokens", "completion_tokens"), 0
        )

    def complete(self, payloads: list[dict[str, Any]]) -> list[Reply]:
        """One Reply per payload (the JSON body of POST /chat/completions), in input order.
        The answer is read whole, so `stream` is always sent as false."""
        return list(self._pool.map(self._one, payloads))

    def models(self) -> list[dict[str, Any]]:
        """The server's model list (GET /models, its "data"); NewsumError when the server
        cannot be reached or does not answer like an OpenAI-compatible one."""
        url = f"{self.settings.base_url}/models"
        try:
            response = self._http.get(url)
        except httpx.HTTPError as exc:
            raise self._error(
                f"cannot reach the model server at {url} ({describe(exc)}): is it running, "
                "and does the base URL end where /chat/completions goes (often .../v1)?"
            ) from None
        status = response.status_code
        if not response.is_success:
            hint = " (check the API key)" if status in (401, 403) else ""
            raise self._error(f"{url} answered HTTP {status}{hint}: {_server_message(response)}")
        try:
            data = response.json()["data"]
        except (ValueError, KeyError, TypeError):
            data = None
        if not (isinstance(data, list) and all(isinstance(m, dict) for m in data)):
            raise self._error(
                f"{url} did not answer an OpenAI-compatible model list: {_server_message(response)}"
            )
        return data

    def usage(self) -> dict[str, int]:
        """Attempts sent, retries, requests that finally failed, and tokens, so far."""
        with self._lock:
            return dict(self._stats)

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self._http.close()

    def __enter__(self) -> ChatClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- one request ----------------------------------------------------------------------

    def _one(self, payload: dict[str, Any]) -> Reply:
        body = {**payload, "stream": False}
        attempt = 0
        while True:
            self._count(requests=1)
            try:
                reply = self._attempt(body)
            except _Failure as failure:
                reason = self._redact(failure.reason)
                if not failure.transient or attempt >= self.settings.retries:
                    self._count(failures=1)
                    if attempt:
                        reason += f" (after {attempt + 1} attempts)"
                    return Reply(None, error=reason, retries=attempt)
                delay = backoff_delay(
                    attempt, failure.retry_after, self.settings.backoff, self.settings.max_backoff
                )
                attempt += 1
                self._count(retries=1)
                log.debug("model server: %s; retry %d in %.2f s", reason, attempt, delay)
                time.sleep(delay)
                continue
            reply.retries = attempt
            self._count(
                prompt_tokens=reply.prompt_tokens, completion_tokens=reply.completion_tokens
            )
            return reply

    def _attempt(self, body: dict[str, Any]) -> Reply:
        """One POST: the Reply, or _Failure."""
        try:
            response = self._http.post(f"{self.settings.base_url}/chat/completions", json=body)
        except httpx.TimeoutException as exc:
            raise _Failure(
                f"timeout after {self.settings.timeout:g} s ({describe(exc)})", True
            ) from None
        except _CONNECTION_ERRORS as exc:
            raise _Failure(f"connection error ({describe(exc)})", True) from None
        except httpx.HTTPError as exc:  # a bad URL scheme, a local protocol error: not transient
            raise _Failure(f"request error ({describe(exc)})", False) from None
        status = response.status_code
        if not response.is_success:
            reason = f"HTTP {status}: {_server_message(response)}"
            raise _Failure(
                reason, status in RETRY_STATUSES, retry_after(response.headers.get("retry-after"))
            )
        return _parse(response)

    def _count(self, **amounts: int) -> None:
        with self._lock:
            for key, amount in amounts.items():
                self._stats[key] += amount

    def _error(self, message: str) -> NewsumError:
        return NewsumError(self._redact(message))

    def _redact(self, text: str) -> str:
        """The text without the key, nor any piece of it: an error message cut short, or a
        header's repr, can hold its first characters only."""
        key = self.settings.api_key
        if not key:
            return text
        text = text.replace(key, _REDACTED)
        lead = key[:KEY_LEAD_CHARS]
        return re.sub(re.escape(lead) + r"\S*", _REDACTED, text) if len(lead) >= 4 else text


def _parse(response: httpx.Response) -> Reply:
    """A 200's body as a Reply; _Failure when it is not a chat completion."""
    try:
        data = response.json()
    except ValueError:  # not JSON, or not UTF-8: truncated or garbled, maybe transient
        raise _Failure(f"malformed response (not JSON): {_snippet(response.text)}", True) from None
    try:
        choice = data["choices"][0]
        text = choice["message"]["content"]
    except (KeyError, IndexError, TypeError):
        text = None
    if not isinstance(text, str):
        reason = f"malformed response (no choices[0].message.content): {_snippet(response.text)}"
        raise _Failure(reason, False)
    usage = data.get("usage")
    usage = usage if isinstance(usage, dict) else {}
    finish = choice.get("finish_reason")
    return Reply(
        text,
        prompt_tokens=_int(usage.get("prompt_tokens")),
        completion_tokens=_int(usage.get("completion_tokens")),
        finish_reason=None if finish is None else str(finish),
    )


def _server_message(response: httpx.Response) -> str:
    """The server's own words: error.message (OpenAI, vLLM), message or detail, else the body."""
    try:
        data = json.loads(response.text)
    except ValueError:
        return _snippet(response.text)
    if isinstance(data, dict):
        error = data.get("error")
        message = error.get("message") if isinstance(error, dict) else error
        message = message or data.get("message") or data.get("detail")
        if isinstance(message, str) and message:
            return _snippet(message)
    return _snippet(response.text)


def _snippet(text: str) -> str:
    text = " ".join(text.split())
    if not text:
        return "(empty body)"
    return text if len(text) <= SNIPPET_CHARS else text[:SNIPPET_CHARS] + "…"


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0

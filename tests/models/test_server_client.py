"""The chat-completions client against real HTTP servers on 127.0.0.1 (no mocks): order,
bounded concurrency, retries and their limits, timeouts, malformed answers, the API key
kept out of every text, and the model list checked at load time."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from newsum.models.server import ChatClient, ServerSettings
from newsum.pipeline.core.errors import NewsumError

KEY = "sk-test-5ecr3t-k3y-0123456789"
HANG_SECONDS = 2.0  # the longest any handler waits; teardown wakes it sooner


class Server(ThreadingHTTPServer):
    """Records what it was sent and how many handlers ran at once; `respond(handler,
    attempt, body)` answers the attempt-th POST (counted from 0)."""

    daemon_threads = True

    def __init__(self, respond: Callable) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.respond = respond
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.posts: list[dict] = []
        self.auth: list[str | None] = []
        self.active = self.peak = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def handle_error(self, request, client_address) -> None:
        pass  # a client that gave up (timeout) leaves a broken pipe: expected here


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real servers
    server: Server

    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        s = self.server
        with s.lock:
            attempt = len(s.posts)
            s.posts.append(body)
            s.auth.append(self.headers.get("Authorization"))
            s.active += 1
            s.peak = max(s.peak, s.active)
        try:
            s.respond(self, attempt, body)
        finally:
            with s.lock:
                s.active -= 1

    def do_GET(self) -> None:
        self.server.respond(self, -1, None)


def send(handler, status: int, payload, headers: dict[str, str] | None = None) -> None:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(body)))
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(body)


def completion(text: str, prompt_tokens: int = 7, completion_tokens: int = 3) -> dict:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 0,
        "model": "m",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def echo(handler, attempt, body) -> None:
    send(handler, 200, completion("echo:" + body["messages"][0]["content"]))


def payload(text: str = "bonjour") -> dict:
    return {"model": "m", "messages": [{"role": "user", "content": text}], "max_tokens": 8}


@pytest.fixture
def serve() -> Iterator[Callable[[Callable], Server]]:
    servers: list[tuple[Server, threading.Thread]] = []

    def start(respond: Callable) -> Server:
        server = Server(respond)
        thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
        thread.start()
        servers.append((server, thread))
        return server

    yield start
    for server, thread in servers:
        server.stop.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def connect() -> Iterator[Callable[..., ChatClient]]:
    clients: list[ChatClient] = []

    def make(base_url: str, **options) -> ChatClient:
        options = {"timeout": 2.0, "retries": 3, "backoff": 0.01, "max_backoff": 0.05, **options}
        client = ChatClient(ServerSettings(base_url, **options))
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def free_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_texts_come_back_in_order_with_bounded_concurrency(serve, connect):
    def slow_echo(handler, attempt, body):
        handler.server.stop.wait(0.05)  # long enough for requests to overlap
        echo(handler, attempt, body)

    server = serve(slow_echo)
    client = connect(server.base_url + "/", max_concurrency=4)
    texts = [f"article {i}" for i in range(20)]
    replies = client.complete([payload(t) for t in texts])
    assert [r.text for r in replies] == [f"echo:{t}" for t in texts]
    assert all(r.error is None and r.retries == 0 for r in replies)
    assert {(r.prompt_tokens, r.completion_tokens, r.finish_reason) for r in replies} == {
        (7, 3, "stop")
    }
    assert 2 <= server.peak <= 4
    assert all(body["stream"] is False and body["max_tokens"] == 8 for body in server.posts)
    assert client.usage() == {
        "requests": 20,
        "retries": 0,
        "failures": 0,
        "prompt_tokens": 140,
        "completion_tokens": 60,
    }
    assert client.complete([]) == []


def test_429_with_retry_after_is_retried(serve, connect):
    def limited(handler, attempt, body):
        if attempt < 2:
            send(handler, 429, {"error": {"message": "slow down"}}, {"Retry-After": "0"})
        else:
            echo(handler, attempt, body)

    server = serve(limited)
    client = connect(server.base_url, backoff=5.0, max_backoff=5.0)  # Retry-After: 0 wins
    start = time.monotonic()
    [reply] = client.complete([payload()])
    assert time.monotonic() - start < 2.0
    assert (reply.text, reply.error, reply.retries) == ("echo:bonjour", None, 2)
    assert len(server.posts) == 3
    assert client.usage() == {
        "requests": 3,
        "retries": 2,
        "failures": 0,
        "prompt_tokens": 7,
        "completion_tokens": 3,
    }


def test_500_then_success(serve, connect):
    def flaky(handler, attempt, body):
        if attempt == 0:
            send(handler, 500, b"Internal Server Error")
        else:
            echo(handler, attempt, body)

    server = serve(flaky)
    [reply] = connect(server.base_url).complete([payload()])
    assert (reply.text, reply.error, reply.retries) == ("echo:bonjour", None, 1)
    assert len(server.posts) == 2


def test_503_forever_fails_after_every_attempt(serve, connect):
    server = serve(lambda h, a, b: send(h, 503, {"error": {"message": "model is loading"}}))
    client = connect(server.base_url, retries=3)
    [reply] = client.complete([payload()])
    assert reply.text is None
    assert "503" in reply.error and "model is loading" in reply.error
    assert "4 attempts" in reply.error
    assert reply.retries == 3
    assert len(server.posts) == 4
    usage = client.usage()
    assert (usage["requests"], usage["retries"], usage["failures"]) == (4, 3, 1)


def test_a_hanging_server_times_out_in_bounded_time(serve, connect):
    def hang(handler, attempt, body):
        handler.server.stop.wait(HANG_SECONDS)

    server = serve(hang)
    client = connect(server.base_url, timeout=0.5, retries=1)
    start = time.monotonic()
    replies = client.complete([payload("a"), payload("b")])
    elapsed = time.monotonic() - start
    assert len(replies) == 2
    for reply in replies:
        assert reply.text is None and "timeout" in reply.error and reply.retries == 1
    assert len(server.posts) == 4
    assert elapsed < 1.0 + 1.0  # two attempts of 0.5 s each, in parallel, plus slack


def test_a_connection_closed_without_answer_is_retried(serve, connect):
    def hang_up_once(handler, attempt, body):
        if attempt == 0:
            handler.close_connection = True  # no status line at all
        else:
            echo(handler, attempt, body)

    server = serve(hang_up_once)
    [reply] = connect(server.base_url).complete([payload()])
    assert (reply.text, reply.retries) == ("echo:bonjour", 1)

    def hang_up(handler, attempt, body):
        handler.close_connection = True

    server = serve(hang_up)
    [reply] = connect(server.base_url, retries=2).complete([payload()])
    assert reply.text is None and "connection error" in reply.error and reply.retries == 2
    assert len(server.posts) == 3


def test_connection_refused_is_an_error_reply(connect):
    client = connect(f"http://127.0.0.1:{free_port()}/v1", retries=1)
    replies = client.complete([payload("a"), payload("b")])
    assert [r.text for r in replies] == [None, None]
    assert all("connection error" in r.error and r.retries == 1 for r in replies)
    assert client.usage()["failures"] == 2


def test_malformed_answers_are_errors(serve, connect):
    server = serve(lambda h, a, b: send(h, 200, b'{"choices": [{"message": {"cont'))
    [reply] = connect(server.base_url, retries=2).complete([payload()])
    assert reply.text is None and "malformed" in reply.error and "not JSON" in reply.error
    assert len(server.posts) == 3  # a truncated body may be transient: retried

    server = serve(lambda h, a, b: send(h, 200, {"object": "chat.completion", "choices": []}))
    [reply] = connect(server.base_url, retries=2).complete([payload()])
    assert reply.text is None and "malformed" in reply.error and reply.retries == 0
    assert len(server.posts) == 1  # a deliberate answer: asking again gets the same

    null = completion("x")
    null["choices"][0]["message"]["content"] = None
    server = serve(lambda h, a, b: send(h, 200, null))
    [reply] = connect(server.base_url).complete([payload()])
    assert reply.text is None and "malformed" in reply.error


def test_an_empty_content_is_a_success(serve, connect):
    server = serve(lambda h, a, b: send(h, 200, completion("")))
    [reply] = connect(server.base_url).complete([payload()])
    assert (reply.text, reply.error) == ("", None)


def test_401_is_not_retried_and_the_key_is_never_shown(serve, connect, caplog, monkeypatch):
    def refuse(handler, attempt, body):
        message = {"error": {"message": f"Incorrect API key provided: {KEY}"}}
        if attempt == 0:  # a transient failure first, so that the retry is logged
            send(handler, 503, message)
        else:  # the later POST, and GET /models
            send(handler, 401, message)

    caplog.set_level(logging.DEBUG)  # every logger: newsum's, httpx's and httpcore's
    # The CLI's logging setup (run by other tests in this process) stops newsum's logger
    # from propagating to the root, where caplog listens.
    monkeypatch.setattr(logging.getLogger("newsum"), "propagate", True)
    caplog.set_level(logging.DEBUG, logger="newsum")
    server = serve(refuse)
    client = connect(server.base_url, api_key=KEY, retries=3)
    [reply] = client.complete([payload()])
    assert reply.text is None and "401" in reply.error and "Incorrect API key" in reply.error
    assert len(server.posts) == 2 and reply.retries == 1  # the 503 was retried, not the 401
    assert "retry 1" in caplog.text
    with pytest.raises(NewsumError, match="401") as raised:
        client.models()
    assert "API key" in str(raised.value)
    texts = [reply.error, repr(reply), repr(client.settings), str(raised.value), caplog.text]
    assert all(KEY not in text for text in texts)


def test_the_authorization_header_carries_the_key_only_when_set(serve, connect):
    server = serve(echo)
    connect(server.base_url, api_key=KEY).complete([payload()])
    connect(server.base_url).complete([payload()])
    assert server.auth == [f"Bearer {KEY}", None]


def test_models_lists_the_served_models(serve, connect):
    def models(handler, attempt, body):
        if handler.path == "/v1/models":
            send(handler, 200, {"object": "list", "data": [{"id": "qwen", "object": "model"}]})
        else:
            send(handler, 404, {"error": {"message": f"no route {handler.path}"}})

    server = serve(models)
    assert connect(server.base_url).models() == [{"id": "qwen", "object": "model"}]
    with pytest.raises(NewsumError, match="404"):
        connect(server.base_url.removesuffix("/v1")).models()


def test_models_fails_clearly_when_nothing_answers_like_a_server(serve, connect):
    url = f"http://127.0.0.1:{free_port()}/v1"
    with pytest.raises(NewsumError, match=f"cannot reach the model server at {url}/models"):
        connect(url).models()
    server = serve(lambda h, a, b: send(h, 200, b"<html>hello</html>"))
    with pytest.raises(NewsumError, match="did not answer an OpenAI-compatible model list"):
        connect(server.base_url).models()


def test_settings_are_checked():
    assert ServerSettings("http://h:1/v1/").base_url == "http://h:1/v1"
    assert KEY not in repr(ServerSettings("http://h:1/v1", api_key=KEY))
    with pytest.raises(NewsumError, match="http"):
        ServerSettings("localhost:8000/v1")
    with pytest.raises(NewsumError):
        ServerSettings("http://h:1/v1", max_concurrency=0)

"""Splitting text into model-sized pieces at sentence boundaries, losing nothing."""

from __future__ import annotations

from .engine import Engine

# Room for the special tokens a tokenizer adds around an input (</s>, language codes).
SPECIAL_TOKENS_MARGIN = 4


def pack(sentences: list[str], engine: Engine, limit: int | None = None) -> list[str]:
    """Consecutive sentences joined into pieces of at most `limit` tokens each.

    A sentence longer than the limit on its own is cut at token boundaries (the one
    place a sentence is split), so no text is ever dropped or truncated.
    """
    # A chat model's prompt takes `overhead` tokens of every input.
    limit = (limit or engine.max_input_tokens) - SPECIAL_TOKENS_MARGIN - engine.overhead
    if limit < 8:
        raise ValueError(f"max input tokens too small to chunk: {limit + SPECIAL_TOKENS_MARGIN}")
    pieces: list[str] = []
    current: list[str] = []
    used = 0
    for sentence, ids in zip(sentences, engine.encode(sentences, special=False), strict=True):
        if len(ids) > limit:
            if current:
                pieces.append(" ".join(current))
                current, used = [], 0
            pieces.extend(_cut(ids, limit, engine))
            continue
        # +1 for the space that joins two sentences, which may become a token of its own.
        cost = len(ids) + (1 if current else 0)
        if current and used + cost > limit:
            pieces.append(" ".join(current))
            current, used, cost = [], 0, len(ids)
        current.append(sentence)
        used += cost
    if current:
        pieces.append(" ".join(current))
    return pieces


def _cut(ids: list[int], limit: int, engine: Engine) -> list[str]:
    # Decoding a window and encoding it again can shift a few tokens: leave slack.
    step = max(8, limit - 8)
    return [
        engine.tokenizer.decode(ids[i : i + step], skip_special_tokens=True).strip()
        for i in range(0, len(ids), step)
    ]

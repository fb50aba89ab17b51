"""A word-level tokenizer and a scripted backend, to test the engine without weights."""

from __future__ import annotations

from newsum.models.backend import Backend, Decoding, OutOfMemory

EOS = 1


class WordTokenizer:
    """Each whitespace-separated word is one token; ids are assigned on first sight."""

    def __init__(self) -> None:
        self.words = ["<pad>", "</s>"]
        self.ids = {w: i for i, w in enumerate(self.words)}

    def _id(self, word: str) -> int:
        if word not in self.ids:
            self.ids[word] = len(self.words)
            self.words.append(word)
        return self.ids[word]

    def __call__(self, texts, add_special_tokens=True):
        ids = [[self._id(w) for w in text.split()] for text in texts]
        return {"input_ids": [[*seq, EOS] if add_special_tokens else seq for seq in ids]}

    def decode(self, ids, skip_special_tokens=True):
        return " ".join(self.words[i] for i in ids if not (skip_special_tokens and i < 2))

    def batch_decode(self, batch, skip_special_tokens=True):
        return [self.decode(ids, skip_special_tokens) for ids in batch]


class EchoBackend(Backend):
    """Returns the first `keep` tokens of each input; can run out of memory on big batches."""

    def __init__(self, max_input_tokens=64, keep=3, oom_above=None, oom_on=()):
        self.max_input_tokens = max_input_tokens
        self.pad_token_id = 0
        self.keep = keep
        self.oom_above = oom_above  # batches larger than this raise OutOfMemory
        self.oom_on = set(oom_on)  # token ids whose presence always raises
        self.calls: list[list[list[int]]] = []

    def generate(self, inputs: list[list[int]], decoding: Decoding) -> list[list[int]]:
        self.calls.append(inputs)
        if self.oom_above is not None and len(inputs) > self.oom_above:
            raise OutOfMemory("fake: batch too large")
        if any(t in self.oom_on for seq in inputs for t in seq):
            raise OutOfMemory("fake: poisoned input")
        return [[*[t for t in seq if t != EOS][: self.keep], EOS] for seq in inputs]

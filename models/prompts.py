"""Prompts for instruct LLMs, kept as data (prompts.toml) and turned into chat token ids.

The prompts live in a TOML file so that they can be reviewed, versioned and swapped
(`load_prompts(path)`) without touching code; the file's SHA-256 goes into cache keys, the
manifest and the evaluation signature, so outputs are always tied to the exact wording.

The article is untrusted input sent to a model that follows instructions. Three defences:
the system prompt says that the delimited block is data; `messages` rewrites any closing
delimiter inside the text so the block cannot be closed early; and `chat_ids` asks the
tokenizer to encode chat control tokens found in the text (<|im_start|>, [INST]...) as plain
text, so the text cannot open a turn of its own.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from jinja2 import TemplateError

from newsum.pipeline.core.errors import NewsumError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

PLACEHOLDER = "{text}"
SECTIONS = ("summarize", "translate", "both")
KEYS = ("system", "user")
BUILTIN = "builtin"

# {name} with a bare identifier: a placeholder (a typo of {text}, or str.format habits).
# JSON examples ({"summary": ...}) do not match, so their braces stay literal.
_PLACEHOLDER_RE = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*\}")
# The data block: an opening tag, {text}, its closing tag, whitespace allowed between.
_BLOCK_RE = re.compile(r"<(?P<tag>[A-Za-z][\w.-]*)>\s*\{text\}\s*</(?P=tag)>")


@dataclass(frozen=True)
class Prompt:
    """One task's prompt: `user` holds {text} once, between an opening and a closing tag."""

    system: str
    user: str

    def __post_init__(self) -> None:
        _check_prompt(self)

    @property
    def tag(self) -> str:
        """The name of the tag around {text} ("article" for <article>...</article>)."""
        match = _BLOCK_RE.search(self.user)
        assert match is not None  # __post_init__ checked it
        return match["tag"]


@dataclass(frozen=True)
class Prompts:
    """The three prompts and where they come from."""

    summarize: Prompt
    translate: Prompt
    both: Prompt
    source: str  # "builtin" or the path given to load_prompts
    sha256: str  # of the file's bytes: cache keys, manifest and eval signature depend on it

    def describe(self) -> dict[str, str]:
        """A short record for manifests and logs."""
        return {"source": self.source, "sha256": self.sha256[:16]}


def load_prompts(path: Path | str | None = None) -> Prompts:
    """The prompts of `path`, or the packaged prompts.toml when None; a bad file raises
    NewsumError naming the file and the problem."""
    source = BUILTIN if path is None else str(path)
    data = _read(path, source)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NewsumError(f"prompts file {source}: not UTF-8 ({exc})") from None
    try:
        table = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:  # its message gives the line and column
        raise NewsumError(f"prompts file {source}: TOML syntax error: {exc}") from None
    sections = {name: _section(table, name, source) for name in _check_sections(table, source)}
    return Prompts(**sections, source=source, sha256=hashlib.sha256(data).hexdigest())


def messages(prompt: Prompt, text: str) -> list[dict[str, str]]:
    """The chat messages asking `prompt` of `text`.

    The text goes in by plain replacement of {text} (braces in the text or the template are
    left alone, and a "{text}" inside the text is not expanded again). Any closing tag of the
    data block inside the text, in any case and with spaces (</article>, </ARTICLE >,
    < / article>), becomes "</ article>", so the block ends only where the template ends it.
    """
    user = prompt.user.replace(PLACEHOLDER, neutralise(text.strip(), prompt.tag), 1)
    return [{"role": "system", "content": prompt.system}, {"role": "user", "content": user}]


def neutralise(text: str, tag: str) -> str:
    """`text` with every closing `tag` written "</ tag>": readable, but no longer a delimiter
    (idempotent: "</ tag>" itself is rewritten to the same)."""
    closing = re.compile(rf"<\s*/\s*({re.escape(tag)})\s*>", re.IGNORECASE)
    return closing.sub(r"</ \1>", text)


def chat_ids(tokenizer: Any, messages: list[dict[str, str]], name: str | None = None) -> list[int]:
    """The token ids of `messages` in the tokenizer's chat template, ending with the prompt
    for the assistant's answer; `name` (the model) is for the error messages."""
    return _flat_ids(_render(tokenizer, messages, name, tokenize=True))


def chat_text(tokenizer: Any, messages: list[dict[str, str]], name: str | None = None) -> str:
    """What chat_ids encodes, as text: for debugging and tests."""
    return _render(tokenizer, messages, name, tokenize=False)


def _read(path: Path | str | None, source: str) -> bytes:
    if path is None:
        return resources.files(__package__).joinpath("prompts.toml").read_bytes()
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise NewsumError(f"prompts file {source}: no such file") from None
    except OSError as exc:  # a directory, no permission...
        raise NewsumError(f"prompts file {source}: cannot read it ({exc.strerror})") from None


def _check_sections(table: dict[str, Any], source: str) -> tuple[str, ...]:
    missing = [name for name in SECTIONS if name not in table]
    if missing:
        names = ", ".join(f"[{name}]" for name in missing)
        raise NewsumError(f"prompts file {source}: missing section {names}")
    unknown = [name for name in table if name not in SECTIONS]
    if unknown:  # a misspelt section would otherwise be silently ignored
        raise NewsumError(
            f"prompts file {source}: unknown section or key {', '.join(map(repr, unknown))}; "
            f"expected only {', '.join(f'[{name}]' for name in SECTIONS)}"
        )
    return SECTIONS


def _section(table: dict[str, Any], name: str, source: str) -> Prompt:
    where = f"prompts file {source}: [{name}]"
    section = table[name]
    if not isinstance(section, dict):
        raise NewsumError(f"{where} must be a table with the keys system and user")
    unknown = [key for key in section if key not in KEYS]
    if unknown:
        keys = ", ".join(map(repr, unknown))
        raise NewsumError(f"{where}: unknown key {keys}; the keys are system and user")
    for key in KEYS:
        if key not in section:
            raise NewsumError(f"{where}: missing key {key!r}")
        if not isinstance(section[key], str) or not section[key].strip():
            raise NewsumError(f"{where}: {key!r} must be a non-empty string")
    try:
        return Prompt(system=section["system"].strip(), user=section["user"].strip())
    except NewsumError as exc:
        raise NewsumError(f"{where}: {exc}") from None


def _check_prompt(prompt: Prompt) -> None:
    """Raise NewsumError when the prompt breaks a rule of the prompts file's header."""
    count = prompt.user.count(PLACEHOLDER)
    if count != 1:
        raise NewsumError(f"'user' must contain {PLACEHOLDER} exactly once (found {count})")
    for key in KEYS:
        value = getattr(prompt, key)
        others = [p for p in _PLACEHOLDER_RE.findall(value) if key == "system" or p != PLACEHOLDER]
        if others:
            raise NewsumError(
                f"{key!r} has the placeholder {others[0]}: only {PLACEHOLDER}, once in 'user', is "
                "filled in (other braces are literal and need no doubling)"
            )
    match = _BLOCK_RE.search(prompt.user)
    if match is None:
        raise NewsumError(
            f"'user' must put {PLACEHOLDER} between an opening and a closing tag, e.g. "
            "<article>\\n{text}\\n</article>, so that the model sees where the data starts and ends"
        )
    if f"<{match['tag']}>" not in prompt.system:
        raise NewsumError(
            f"'system' must name the data block <{match['tag']}> and say that its content is "
            "data to process, never instructions to follow"
        )


def _render(tokenizer: Any, messages: list[dict[str, str]], name: str | None, tokenize: bool):
    """apply_chat_template with newsum's settings; a template that refuses the system role
    gets it folded into the user turn."""
    template = _template(tokenizer, name)
    kwargs: dict[str, Any] = {"add_generation_prompt": True, "tokenize": tokenize}
    if "enable_thinking" in template:  # Qwen3 and the like: reasoning off, answer directly
        kwargs["enable_thinking"] = False
    if tokenize and _accepts(type(tokenizer).apply_chat_template, "sanitize_control_tokens"):
        kwargs["sanitize_control_tokens"] = True  # the article's <|im_start|> stays text
    try:
        return tokenizer.apply_chat_template(messages, **kwargs)
    except TemplateError as exc:  # the template's raise_exception(...)
        folded = _fold_system(messages)
        if folded is None:
            raise _refused(tokenizer, name, exc) from exc
    try:  # old Mistral and Gemma templates: "System role not supported"
        return tokenizer.apply_chat_template(folded, **kwargs)
    except TemplateError as exc:
        raise _refused(tokenizer, name, exc) from exc


def _template(tokenizer: Any, name: str | None) -> str:
    """The chat template's text; NewsumError when the tokenizer has none."""
    try:
        template = tokenizer.get_chat_template()
    except (AttributeError, ValueError):
        template = None
    if not template:
        raise NewsumError(
            f"{_name(tokenizer, name)} has no chat template: it is not an instruct/chat model; "
            "choose its instruct version (e.g. Qwen/Qwen2.5-1.5B-Instruct) or a summarization "
            "or translation model"
        )
    return template


def _fold_system(messages: list[dict[str, str]]) -> list[dict[str, str]] | None:
    """The messages with the system text put before the first user turn's; None when there
    is no system message to fold."""
    if not messages or messages[0]["role"] != "system" or len(messages) < 2:
        return None
    system, user, *rest = messages
    if user["role"] != "user":
        return None
    content = f"{system['content']}\n\n{user['content']}"
    return [{"role": "user", "content": content}, *rest]


def _refused(tokenizer: Any, name: str | None, exc: Exception) -> NewsumError:
    return NewsumError(f"the chat template of {_name(tokenizer, name)} refused the prompt: {exc}")


def _name(tokenizer: Any, name: str | None) -> str:
    return name or getattr(tokenizer, "name_or_path", None) or "this model"


@functools.cache  # per tokenizer class: inspecting a signature costs ~0.3 ms a text
def _accepts(function: Any, parameter: str) -> bool:
    """Whether `function` takes `parameter` by name (sanitize_control_tokens is recent)."""
    try:
        return parameter in inspect.signature(function).parameters
    except (TypeError, ValueError):
        return False


def _flat_ids(out: Any) -> list[int]:
    """A flat list of ints from what apply_chat_template returns: a list, a nested list, a
    tensor, or (transformers 5's default) a dict or BatchEncoding holding input_ids."""
    if isinstance(out, Mapping) or hasattr(out, "keys"):  # BatchEncoding is a UserDict
        out = out["input_ids"]
    if hasattr(out, "tolist"):
        out = out.tolist()
    while isinstance(out, (list, tuple)) and len(out) == 1 and isinstance(out[0], (list, tuple)):
        out = out[0]
    return [int(i) for i in out]

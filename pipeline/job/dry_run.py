"""`newsum run --dry-run`: what a run would read and with which models, and an estimate
of the work, with nothing written and no model loaded.

Local inputs are read (not cleaned) to count their articles and characters. A feed, a
sitemap or a URL list is fetched for its links only (no article page, and no fetch cache
written); a page's size is unknown until it is fetched, so the token estimate covers the
inputs that could be read.
"""

from __future__ import annotations

from typing import Any

from newsum.models.options import preset
from newsum.pipeline.core.readers import read_sources, resolve
from newsum.pipeline.core.web import WEB_KINDS, Web, links

from .options import RunOptions

# A rough count for the estimate: French news makes about 4 characters a token in the
# usual subword vocabularies (SentencePiece of mT5, BPE of OPUS-MT and of Qwen).
CHARS_PER_TOKEN = 4


def dry_run(options: RunOptions) -> dict[str, Any]:
    sources = resolve(options.inputs)
    web = Web(options.read)  # no cache folder: a dry run writes nothing
    inputs = []
    articles = characters = unfetched = 0
    try:
        for source in sources:
            entry: dict[str, Any] = {"input": source.where(), "kind": source.kind}
            if source.kind in WEB_KINDS:
                found = links(source, options.read, web)
                entry["links"] = len(found)
                articles += len(found)
                unfetched += len(found)
            else:
                count = size = 0
                for record in read_sources([source], options.read, unique_ids=False, web=web):
                    count += 1
                    size += len(record.text) if isinstance(record.text, str) else 0
                entry.update(articles=count, characters=size)
                articles += count
                characters += size
            inputs.append(entry)
    finally:
        web.close()
    return {
        "inputs": inputs,
        "models": model_names(options),
        "articles": articles,
        "input_tokens_estimate": characters // CHARS_PER_TOKEN,
        "pages_to_fetch": unfetched,
        "fetch": web.stats().get("fetch", {}),
    }


def model_names(options: RunOptions) -> dict[str, Any]:
    """The summarizer and translator the run would load (the preset resolved by name;
    `auto` is decided at run time by what the cache holds)."""
    chosen = preset(options.preset if options.preset != "auto" else "default")
    generation = options.generation
    return {
        "preset": options.preset,
        "summarizer": options.summarizer or chosen["summarizer"],
        "translator": chosen["translator"] if options.translator is None else options.translator,
        "backend": generation.backend if generation else "torch",
    }

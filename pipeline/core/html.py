"""An HTML page's article: its main text and metadata, with trafilatura.

Used by every input that holds pages: .html files, fetched URLs, feed items and WARC
records.
"""

from __future__ import annotations

from .record import ERROR, Record


def extract_html(record: Record, keep_html: bool = False) -> Record:
    """Main text and metadata of `record.html`, with trafilatura (comments left out).

    The standfirst (chapô) is part of the article: when trafilatura leaves it out of the
    main text (sites put it above the article's container) but reads it as the page's
    description, and the page shows that description, it is the body's first paragraph."""
    import trafilatura

    try:
        doc = trafilatura.bare_extraction(
            record.html,
            with_metadata=True,
            include_comments=False,
            include_tables=False,
            # Extensive search reads a footer's "© Le Journal 2024" as the date 2024-01-01;
            # <time>, meta tags and the URL still give the real one.
            date_extraction_params={"extensive_search": False},
        )
    except Exception as exc:  # trafilatura raises many types on broken markup
        doc, error = None, f"{type(exc).__name__}: {exc}"
    else:
        error = "no main text found in the HTML"
    if doc is None or not doc.text:
        record.mark(ERROR, f"html: {error}")
        return record
    record.text = doc.text
    for name, value in (
        ("title", doc.title),
        ("author", doc.author),
        ("date", doc.date),
        ("url", doc.url),
        ("source", doc.sitename or doc.hostname),
    ):
        if value and not getattr(record, name):
            setattr(record, name, value)
    standfirst = _standfirst(doc.description, doc.text, record.html)
    if standfirst:
        lines = doc.text.split("\n")
        # After a title line that trafilatura kept, as the page shows it.
        at = 1 if record.title and _words(lines[0]) == _words(record.title) else 0
        record.text = "\n".join([*lines[:at], standfirst, *lines[at:]])
    if not keep_html:
        record.html = None
    return record


def _words(text: str) -> str:
    return " ".join(text.split())


def _standfirst(description: str | None, text: str, html: str) -> str | None:
    """The page's description when it is a standfirst missing from the extracted text.

    Only when the page shows it: a description that is only in the page's <head> (a
    search-engine blurb, a summary written for social networks) is not article text."""
    description = _words(description or "")
    # A description cut short ("…") is a copy of the text's start, not a paragraph.
    if not description or description.rstrip(".…") in _words(text):
        return None
    return description if description in _visible_text(html) else None


def _visible_text(html: str) -> str:
    """The text a reader of the page sees (scripts, styles and the <head> left out)."""
    import lxml.html

    if html.lstrip().startswith("<?xml"):  # lxml refuses a str that declares an encoding
        html = html.split("?>", 1)[-1]
    try:
        tree = lxml.html.document_fromstring(html)
    except (ValueError, lxml.etree.ParserError):  # no markup at all
        return ""
    for element in tree.xpath("//head|//script|//style|//noscript|//template"):
        element.drop_tree()
    return _words(tree.text_content())

"""HTML pages keep their standfirst (chapô), the lead paragraph above the article body."""

from __future__ import annotations

from pathlib import Path

from newsum.pipeline.clean import CleanOptions, clean
from newsum.pipeline.core.readers import extract_html, read_inputs
from newsum.pipeline.core.record import OK, Record

TITLE = "Assurance-chômage : le gouvernement prépare un nouveau durcissement des règles"
CHAPO = (
    "Le premier ministre doit présenter jeudi aux partenaires sociaux une lettre de cadrage "
    "qui réduirait la durée d’indemnisation des demandeurs d’emploi."
)
PARAGRAPHS = (
    "Le gouvernement n’en a pas fini avec l’assurance-chômage. Selon nos informations, le "
    "premier ministre doit transmettre jeudi aux syndicats une lettre de cadrage.",
    "« Le travail doit toujours payer davantage que l’inactivité », a répété mercredi soir le "
    "ministre du travail sur France 2, sans confirmer les chiffres.",
    "Les syndicats ont immédiatement dénoncé « une provocation ». La CGT appelle à une journée "
    "de mobilisation le 2 avril, et la CFDT réserve sa réponse.",
)


def page(description: str | None, heading: str, body: str = "") -> str:
    """A page in the layout of a national daily: title and standfirst above the article."""
    meta = f'<meta name="description" content="{description}">' if description else ""
    paragraphs = "".join(f"<p>{p}</p>" for p in PARAGRAPHS)
    return f"""<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8">
<title>{TITLE}</title>{meta}
<script type="application/ld+json">{{"description": "{CHAPO}"}}</script></head>
<body><header><a href="/">Le Quotidien</a> <a>S’abonner</a></header>
<main><section class="article__heading"><h1>{TITLE}</h1>{heading}</section>
<article class="article__content">{body}{paragraphs}</article></main>
<footer>© Le Quotidien</footer></body></html>"""


def extract(html: str) -> Record:
    return extract_html(Record(id="p", html=html))


def test_the_standfirst_above_the_article_is_the_first_paragraph(tmp_path: Path) -> None:
    path = tmp_path / "chomage.html"
    path.write_text(page(CHAPO, f'<p class="article__desc">{CHAPO}</p>'), encoding="utf-8")

    [record] = read_inputs([str(path)])
    [cleaned] = clean([record], CleanOptions(dedup=False))

    assert record.text.split("\n")[0] == CHAPO
    assert record.text.count(CHAPO) == 1
    assert cleaned.status == OK
    assert cleaned.text.split("\n") == [CHAPO, *PARAGRAPHS]


def test_a_description_the_page_does_not_show_is_not_article_text() -> None:
    # A meta description (and the same text in JSON-LD) is not shown to the reader.
    record = extract(page(CHAPO, ""))
    assert CHAPO not in record.text
    assert record.text.split("\n") == list(PARAGRAPHS)


def test_a_standfirst_already_in_the_text_is_not_repeated() -> None:
    inside = extract(page(CHAPO, "", body=f'<p class="chapo">{CHAPO}</p>'))
    assert inside.text.count(CHAPO) == 1
    # A description that is the start of the first paragraph, cut short.
    cut = PARAGRAPHS[0][:80] + "…"
    shown = f"<p>{cut}</p>"
    record = extract(page(cut, shown))
    assert cut.rstrip("…") not in record.text.split("\n")
    assert record.text.split("\n") == list(PARAGRAPHS)


def test_the_standfirst_goes_after_a_title_the_text_starts_with() -> None:
    # The heading inside the article, the standfirst above it (the title comes first on
    # the page, as in the copied text).
    html = page(CHAPO, f"<p>{CHAPO}</p>", body=f"<h1>{TITLE}</h1>").replace(
        f"<h1>{TITLE}</h1>", "", 1
    )
    record = extract(html)
    assert record.text.split("\n") == [TITLE, CHAPO, *PARAGRAPHS]


REPRO = Path(__file__).parents[1] / "fixtures" / "repro"


def test_the_national_daily_keeps_the_standfirst_its_copied_text_has() -> None:
    html = REPRO / "national-daily-unemployment.html"
    standfirst = (REPRO / "national-daily-unemployment.txt").read_text().split("\n")[1]

    [record] = read_inputs([str(html)])

    assert record.text.split("\n")[0] == standfirst
    assert record.text.count(standfirst) == 1

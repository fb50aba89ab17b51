"""The cleaning stage on articles in the styles of real French news sites.

In the spirit of trafilatura's test suite: each fixture in tests/fixtures/sites/ comes
with snippets that must stay in the cleaned text (one from every body paragraph) and
snippets that must go, each with the rule that must have taken it out. The fixtures are
written for these tests (invented news, real site furniture).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from newsum.pipeline.clean import CleanOptions, clean
from newsum.pipeline.clean.boilerplate import Rules
from newsum.pipeline.clean.normalize import fix_text
from newsum.pipeline.core.errors import NewsumError
from newsum.pipeline.core.readers import read_inputs
from newsum.pipeline.core.record import ERROR, OK, SKIPPED, Record

FIXTURES = Path(__file__).parents[1] / "fixtures"
SITES = FIXTURES / "sites"
REPRO = FIXTURES / "repro"
SAMPLE = Path(__file__).parents[2].parent / "shared" / "samples" / "whatsapp-outage-2014.txt"

# Rules the cleaner may name in `removed`: the rule files' own, and the metadata steps.
BUILTIN_RULES = {r.name for r in Rules.load().line + Rules.load().section}
RULE_NAMES = BUILTIN_RULES | {"title", "kicker", "byline"}

NO_DEDUP = CleanOptions(dedup=False)


def clean_paths(*paths: Path | str, options: CleanOptions = NO_DEDUP) -> list[Record]:
    return list(clean(read_inputs([str(p) for p in paths]), options))


def clean_one(path: Path | str, options: CleanOptions = NO_DEDUP) -> Record:
    records = clean_paths(path, options=options)
    assert len(records) == 1
    return records[0]


def clean_text(text: str, options: CleanOptions = NO_DEDUP) -> Record:
    return next(clean([Record(id="t", text=text)], options))


def removed_by(record: Record, snippet: str) -> list[str]:
    """The rules of the removed spans that hold `snippet`."""
    return [entry["rule"] for entry in record.removed if snippet in entry["text"]]


def assert_removed_well_formed(record: Record) -> None:
    """Each removal says which rule took what, and what it took is really gone."""
    kept = set(record.text.split("\n"))
    for entry in record.removed:
        assert set(entry) == {"rule", "text"}, entry
        assert entry["rule"] in RULE_NAMES, entry
        assert entry["text"].strip(), entry
        assert kept.isdisjoint(entry["text"].split("\n")), entry


def assert_nothing_lost(raw: str, record: Record) -> None:
    """Kept lines plus removed lines are the (normalised) input lines, no more, no less.

    The one line allowed to be in neither is the title, when the reader took it from the
    first line of a .txt file.
    """
    expected = Counter(fix_text(raw).split("\n"))
    got = Counter(record.text.split("\n"))
    for entry in record.removed:
        got.update(entry["text"].split("\n"))
    assert got - expected == Counter(), "lines that were not in the input"
    assert expected - got in (Counter(), Counter([record.title])), "lines silently dropped"


# ---- one table of site styles ---------------------------------------------------------


@dataclass(frozen=True)
class Site:
    fixture: str
    keep: tuple[str, ...]  # at least one snippet from every body paragraph
    drop: dict[str, str]  # boilerplate snippet -> the rule that must have removed it
    title: str
    author: str | None = None
    date: str | None = None
    lang: str = "fr"
    gone: tuple[str, ...] = ()  # left out by the HTML extractor, before cleaning
    extra: dict[str, str] = field(default_factory=dict)  # other fields: name -> value
    folder: str = "sites"  # under tests/fixtures/

    @property
    def path(self) -> Path:
        return FIXTURES / self.folder / self.fixture


SITE_CASES = [
    Site(
        "forum_tech.txt",
        keep=(
            "bouclé un tour de table de 210 millions d'euros",
            "l'effectif doit passer de 45 à 150 personnes",
            # a reader prompt inside a quoted sentence is body text
            "« Et vous ? », a-t-il lancé aux développeurs",
            "Reste à convaincre les grands comptes.",
        ),
        drop={
            "La start-up lyonnaise promet de publier les poids": "title",
            "Le , par Anthony Ferrand": "byline",
            "Source : communiqué de presse de Calcéa": "source",
            "Et vous ?\nQue pensez-vous de cette levée de fonds ?": "reader-prompts-tail",
            "Voir aussi :": "reader-prompts-tail",
            "Le marché européen de l'IA générative devrait tripler": "reader-prompts-tail",
            "Une erreur dans cette actualité ? Signalez-nous-la !": "reader-prompts-tail",
        },
        title="Calcéa lève 210 millions d'euros pour ses modèles de langue ouverts",
        author="Anthony Ferrand",
    ),
    Site(
        "quotidien_abonnes.txt",
        keep=(
            # the standfirst (chapô) is text, not a title: it is not repeated
            "Le texte, examiné à partir de mardi, divise jusque dans la majorité.",
            "Le gouvernement pensait avoir fait le plus dur.",
            "« Nous ne voterons pas un texte qui fragilise les seniors",
            "Par ailleurs, le ministère du travail fait valoir",
            "Source de tensions depuis l'automne, le calendrier",
        ),
        drop={
            "Par Jean Martin": "byline",
            "Publié le 14 mars 2024 à 10h05, modifié le 14 mars 2024 à 18h42": "byline",
            "Temps de lecture : 4 min": "reading-time",
            "Article réservé aux abonnés": "subscriber-only",
            "Lire aussi : Assurance-chômage : ce que la réforme change": "read-also",
            "Lire aussi | Les syndicats appellent à une journée de mobilisation": "read-also",
            "Il vous reste 64 % de cet article à lire.": "paywall-tail",
            "Déjà abonné ? Connectez-vous": "paywall-tail",
            "Découvrir les offres multicomptes": "paywall-tail",
        },
        title=(
            "Assurance-chômage : au Sénat, la réforme suspendue à un compromis de dernière minute"
        ),
        author="Jean Martin",
        date="2024-03-14T10:05",
    ),
    Site(
        "regional_copie.txt",
        keep=(
            "Les Nantais devront patienter.",
            "En cause, la découverte de réseaux souterrains",
            "Le surcoût est estimé à 14 millions d'euros",
            "Pour limiter la gêne, la métropole promet",
        ),
        drop={
            "Le 3 juin 2024 à 18h12, par Sophie Le Gall": "byline",
            "Mis à jour le 4 juin 2024 à 07h30": "published-modified",
            "Lecture : 3 min": "reading-time",
            "Partager : Facebook X E-mail": "share",
            "Photo : Franck Dubray": "photo-credit",
            "Publicité": "ads",
            "À lire aussi : Nantes. Les travaux du tramway": "read-also",
            "Suivez-nous sur Instagram et WhatsApp": "follow-us",
            "Sur le même sujet": "related-tail",
            "La gare routière déménage quai de la Fosse": "related-tail",
            "© Gazette de l'Estuaire": "related-tail",
        },
        title="Nantes. Le tramway de l'île de Nantes ne circulera pas avant l'été 2026",
        author="Sophie Le Gall",
        date="2024-06-03T18:12",
    ),
    Site(
        "magazine_culture.txt",
        keep=(
            # "Publié en 1998, ..." starts like a date line and is body text
            "Publié en 1998, le roman « Les Heures claires »",
            "On y retrouve Clémence, l'héroïne du premier livre",
            "« Et vous ? Qu'auriez-vous fait à sa place ? »",
            "La newsletter de l'éditeur, envoyée à 30 000 libraires",
            "Vasseur, elle, dit ne pas lire les critiques.",
        ),
        drop={
            "Temps de lecture : 5 min": "reading-time",
            "Publié le 21 août 2024 à 9h00": "byline",
            "Photo : Julien Mignot": "photo-credit",
            "Newsletter Culture": "subscribe",
            "Inscrivez-vous à notre newsletter Culture": "subscribe",
            "Cet article vous a plu ? Partagez-le !": "share",
            "Commentaires (2)": "comments-section",
            "J'ai adoré le premier, vivement la suite !": "comments-section",
            "Toujours aussi surcoté à mon avis.": "comments-section",
        },
        title="Avec « Les Heures claires », Anne Vasseur revient au roman qui l'a révélée",
        date="2024-08-21T09:00",
    ),
    Site(
        # UTF-8 read as Windows-1252 and saved again: "rÃ©colte", "lâ€™annÃ©e"
        "mojibake_cp1252.txt",
        keep=(
            "la récolte de l’année devrait avoisiner 4,1 millions d’hectolitres",
            "« On n’avait jamais traité autant, douze passages",
            "rassure les œnologues",
            "« C’est une année de vigneron, pas une année de chimiste »",
            "tombés sous les 1 000 euros le tonneau",
        ),
        drop={
            "Par Céline Dufresne": "byline",
            "Publié le 2 octobre 2023 à 7h15": "byline",
            "À lire aussi : Mildiou : les vignerons bio face à un dilemme": "read-also",
            "Partager : Facebook Twitter E-mail": "share",
        },
        title="Vendanges 2023 : dans le Bordelais, une récolte maigre mais prometteuse",
        author="Céline Dufresne",
        date="2023-10-02T07:15",
    ),
    Site(
        "english_wire.txt",
        keep=(
            "Europe's largest port handled a record 14.8 million containers",
            "throughput rose 3.2% from 2022",
            '"Congestion is the price of reliability right now," de Vries said',
            "Analysts cautioned that the gains might prove temporary.",
        ),
        drop={"Source: Port of Rotterdam Authority": "source"},
        title="Port of Rotterdam reports record container volumes despite Red Sea disruption",
        lang="en",
    ),
    Site(
        "regional_page.html",
        keep=(
            "les rideaux métalliques du port de commerce de Brest",
            "« On a eu jusqu'à quarante centimètres d'eau dans la réserve",
            "recense déjà plus de 230 entreprises sinistrées",
            "Par ailleurs, la municipalité a annoncé le report",
        ),
        # inside the article body, so the extractor keeps them: the cleaner's job
        drop={
            "À lire aussi : Ciarán : le bilan s'alourdit dans le Finistère": "read-also",
            "Suivez toute l'actualité de Brest sur notre application.": "follow-us",
        },
        gone=(
            "Nous et nos partenaires utilisons des cookies",
            "Tout accepter",
            "Paramétrer les cookies",
            "Quimper",
            "Je m'abonne",
            "Partager sur Facebook",
            "Copier le lien",
            "3 commentaires",
            "Courage aux commerçants",
            "Sur le même sujet",
            "les écoles de Brest rouvrent lundi",
            "Mentions légales",
            "© 2023 La Gazette du Ponant",
            "Photo : Maëlle Quéré",
        ),
        title="Tempête Ciarán : à Brest, les commerçants du port font leurs comptes",
        author="Maëlle Quéré",
        date="2023-11-04",
        extra={
            "source": "La Gazette du Ponant",
            "url": "https://www.gazette-ponant.example/brest/tempete-commercants-port-comptes",
        },
    ),
]


# ---- the pages of the issue "Content is never lost in silence" ----------------------------
#
# Three pages in the layouts of a free daily, a national daily with a paywall and a regional
# daily, each as HTML and as the text a reader copies from it (tests/fixtures/repro/). The
# free daily's comment counter under the standfirst ("0 commentaire") used to cut its whole
# body as a comments section; the others left toolbars, captions, paywall notices and
# related links, and took a kicker for the title.

FREE_DAILY_BODY = (
    # the standfirst, then every paragraph the "0 commentaire" cut used to take
    "Le conducteur, âgé de 24 ans, roulait avec un permis probatoire.",
    "Il pensait sans doute que la route était à lui.",
    "a indiqué la gendarmerie de la Drôme sur sa page Facebook.",
    "Titulaire d’un permis probatoire depuis huit mois",
    "Il sera convoqué devant le tribunal de police de Valence.",
    "Depuis le début de l’année, 14 personnes sont mortes sur les routes de la Drôme",
)
FREE_DAILY_TITLE = "Drôme : Un automobiliste flashé à 215 km/h sur l’A7 près de Valence"
NATIONAL_DAILY_STANDFIRST = (
    "Le premier ministre doit présenter jeudi aux partenaires sociaux une lettre de cadrage"
)
NATIONAL_DAILY_BODY = (
    "Le gouvernement n’en a pas fini avec l’assurance-chômage.",
    "d’économiser près de 3,6 milliards d’euros par an à partir de 2026.",
    "« Le travail doit toujours payer davantage que l’inactivité »",
    "« Une provocation »",  # an intertitle
    "Les syndicats ont immédiatement dénoncé « une provocation ».",
    "La CGT appelle à une journée de mobilisation le 2 avril.",
    "Du côté patronal, le Medef salue « une réforme nécessaire »",
    "Le taux de chômage s’est établi à 7,5 % au quatrième trimestre 2023",
)
NATIONAL_DAILY_TITLE = (
    "Assurance-chômage : le gouvernement prépare un nouveau durcissement des règles"
)
REGIONAL_DAILY_BODY = (
    "Un violent incendie s’est déclaré mardi 1er octobre vers 21 h",  # the standfirst
    "Il était environ 21 h, mardi 1er octobre 2024",
    "À l’arrivée des pompiers, le toit de l’entrepôt était déjà en grande partie effondré.",
    "Près de 80 sapeurs-pompiers d’Ille-et-Vilaine ont été mobilisés toute la nuit.",
    "Des riverains invités à fermer leurs fenêtres",  # an intertitle
    "Par précaution, la préfecture a demandé aux habitants",
    "Source d’inquiétude pour les 120 salariés du site",  # "Source" starts a sentence here
    "Une enquête a été ouverte pour déterminer l’origine du sinistre.",
)
REGIONAL_DAILY_TITLE = "Rennes. Un incendie ravage un entrepôt de la zone de la Janais"

REPRO_CASES = [
    Site(
        "free-daily-roadsafety.txt",
        folder="repro",
        keep=FREE_DAILY_BODY,
        drop={
            # the reader took the kicker for the title; the headline under it is the title
            "SECURITE ROUTIERE": "kicker",
            "20 Minutes avec agence": "agency-credit",
            "Publié le 12/02/24 à 10h47 — Mis à jour le 12/02/24 à 11h05": "byline",
            "PARTAGE": "share",
            "0 commentaire": "comments",  # a counter under the standfirst: no section cut
            "Illustration d'un contrôle de gendarmerie. — F. Scheiber / 20 Minutes": (
                "photo-caption"
            ),
            "Sur le même sujet": "related-tail",
            "Isère : Un chauffard flashé à 200 km/h avec son enfant à bord": "related-tail",
            "Sécurité routière : Le nombre de morts en baisse en janvier": "related-tail",
        },
        title=FREE_DAILY_TITLE,
        date="2024-02-12T10:47",  # a two-digit year, day first
    ),
    Site(
        "free-daily-roadsafety.html",
        folder="repro",
        keep=FREE_DAILY_BODY,
        drop={"SECURITE ROUTIERE": "kicker", "0 commentaire": "comments"},
        gone=(
            "20 Minutes avec agence",
            "Publié le",
            "PARTAGE",
            "Illustration d'un contrôle",
            "Sur le même sujet",
            "Isère : Un chauffard",
            "Tous les sujets",
            "Fil info",
            "© Copyright 20 Minutes",
        ),
        title=FREE_DAILY_TITLE,
        date="2024-02-12",
        extra={"source": "20 Minutes"},
    ),
    Site(
        "national-daily-unemployment.txt",
        folder="repro",
        keep=(NATIONAL_DAILY_STANDFIRST, *NATIONAL_DAILY_BODY),
        drop={
            "Article réservé aux abonnés": "subscriber-only",
            "Par Hélène Jacquemin et Thomas Lerouge": "byline",
            "Publié le 14 mars 2024 à 05h45, modifié le 14 mars 2024 à 11h02": "byline",
            "Temps de Lecture 4 min.": "reading-time",
            # toolbar lines the page repeats: boilerplate, not subtitles
            "Offrir cet article": "article-tools",
            "Ajouter à vos sélections": "article-tools",
            "Réutiliser ce contenu": "article-tools",
            "Partager": "share",
            "Le premier ministre à l’Hôtel de Matignon, à Paris, le 12 mars 2024. LUDOVIC MARIN"
            " / AFP": "photo-caption",
            "Lire aussi | Article réservé à nos abonnés": "read-also",
            "Lire aussi le décryptage | Chômage : pourquoi le taux remonte": "read-also",
            "Il vous reste 61.42% de cet article à lire.": "paywall-tail",  # decimals
            "Déjà abonné ? Se connecter": "paywall-tail",
            "Contribuer": "paywall-tail",
            "Lecture du Monde en cours sur un autre appareil.": "paywall-tail",
            "Vous pouvez lire Le Monde sur un seul appareil à la fois": "paywall-tail",
            "Découvrir les offres multicomptes": "paywall-tail",
        },
        title=NATIONAL_DAILY_TITLE,
        author="Hélène Jacquemin et Thomas Lerouge",
        date="2024-03-14T05:45",
    ),
    Site(
        "national-daily-unemployment.html",
        folder="repro",
        # the standfirst: test_national_daily_html_keeps_its_standfirst
        keep=NATIONAL_DAILY_BODY,
        drop={
            "Lire aussi | Article réservé à nos abonnés": "read-also",
            "Lire aussi le décryptage | Chômage : pourquoi le taux remonte": "read-also",
            "Il vous reste 61.42% de cet article à lire.": "paywall-tail",
            "Déjà abonné ? Se connecter": "paywall-tail",
        },
        gone=(
            "Article réservé aux abonnés",
            "Par Hélène Jacquemin",
            "Temps de Lecture",
            "Offrir cet article",
            "LUDOVIC MARIN / AFP",
            "Lecture du Monde en cours",
            "Découvrir les offres multicomptes",
            "Services Le Monde",
            "Mots croisés",
            "Tous droits réservés",
        ),
        title=NATIONAL_DAILY_TITLE,
        author="Hélène Jacquemin; Thomas Lerouge",
        date="2024-03-14",
        extra={"source": "Le Monde.fr"},
    ),
    Site(
        "regional-daily-fire.txt",
        folder="repro",
        keep=REGIONAL_DAILY_BODY,
        drop={
            # the author on the date line, after the site's name
            "Ouest-France Yann Le Berre. Publié le 02/10/2024 à 18h12": "byline",
            "Écouter": "audio-player",
            "Partager cet article": "share",
            "Facebook": "share",
            "Whatsapp": "share",
            "Copier le lien": "share",
            "Une épaisse fumée noire était visible depuis la rocade mardi soir. | OUEST-FRANCE": (
                "photo-caption"
            ),
            "Photo : Ouest-France / Yann Le Berre": "photo-credit",
            "Cet article vous a été offert par un abonné.": "subscriber-only",
            "Votre avis compte": "reader-prompt",
            "Réagir": "comments",
            "Les plus lus": "related-tail",
            "Rennes. Les travaux du métro perturbent la circulation": "related-tail",
            "Ouest-France vous recommande": "related-tail",
            "Chartres-de-Bretagne. Le marché de Noël revient": "related-tail",
        },
        title=REGIONAL_DAILY_TITLE,
        author="Yann Le Berre",
        date="2024-10-02T18:12",
    ),
    Site(
        "regional-daily-fire.html",
        folder="repro",
        keep=REGIONAL_DAILY_BODY,
        drop={},
        gone=(
            "Ouest-France Yann Le Berre",
            "Écouter",
            "Partager cet article",
            "Une épaisse fumée noire",
            "Photo : Ouest-France",
            "offert par un abonné",
            "Votre avis compte",
            "Réagir",
            "Les plus lus",
            "Accueil › Bretagne",
            "Gérer mes cookies",
        ),
        title=REGIONAL_DAILY_TITLE,
        date="2024-10-02",
        extra={"source": "Ouest-France.fr"},
    ),
]


@pytest.mark.parametrize("case", SITE_CASES + REPRO_CASES, ids=lambda c: c.fixture)
def test_site_fixture(case: Site) -> None:
    path = case.path
    record = clean_one(path)

    assert (record.status, record.reason) == (OK, None)
    assert record.warnings == []  # whole articles: nothing that looks like a lost body
    for snippet in case.keep:
        assert snippet in record.text, f"body text lost: {snippet!r}"
    for snippet, rule in case.drop.items():
        assert snippet not in record.text, f"boilerplate kept: {snippet!r}"
        assert rule in removed_by(record, snippet), (snippet, record.removed)
    for snippet in case.gone:
        assert snippet not in record.text
    assert_removed_well_formed(record)

    # the title is kept once, as the title, never in the body
    assert record.title == case.title
    assert case.title not in record.text
    assert (record.author, record.date, record.lang) == (case.author, case.date, case.lang)
    assert record.lang_score is not None and record.lang_score > 0.9
    for name, value in case.extra.items():
        assert getattr(record, name) == value
    assert record.html is None  # not asked for with --keep-html

    if path.suffix == ".txt":
        assert_nothing_lost(path.read_text(encoding="utf-8"), record)


def test_comment_counter_under_the_standfirst_cuts_nothing() -> None:
    """The free daily's "0 commentaire" is no comments section: the body stays, whole."""
    for path in (REPRO / "free-daily-roadsafety.txt", REPRO / "free-daily-roadsafety.html"):
        record = clean_one(path)
        paragraphs = record.text.split("\n")
        assert len(paragraphs) == 4, record.text  # the standfirst and three paragraphs
        assert len(record.text.split()) > 100
        assert "comments-section" not in {e["rule"] for e in record.removed}
        assert removed_by(record, "0 commentaire") == ["comments"]


def test_national_daily_html_keeps_its_standfirst() -> None:
    """Depends on pipeline/readers.py keeping the standfirst trafilatura finds (the
    `article__desc` paragraph); the cleaner must then leave it in the body."""
    record = clean_one(REPRO / "national-daily-unemployment.html")
    assert record.text.startswith(NATIONAL_DAILY_STANDFIRST)


@pytest.mark.parametrize("name", ["free-daily-roadsafety", "regional-daily-fire"])
def test_repro_txt_and_html_give_the_same_body(name: str) -> None:
    """The copied text cleans to what the HTML extractor keeps."""
    from_txt, from_html = clean_one(REPRO / f"{name}.txt"), clean_one(REPRO / f"{name}.html")
    assert from_txt.text == from_html.text
    assert from_txt.title == from_html.title


def test_site_fixtures_cleaned_together_keep_order_and_ids() -> None:
    paths = [case.path for case in SITE_CASES]
    records = clean_paths(*paths, options=CleanOptions())
    assert [r.id for r in records] == [p.stem for p in paths]
    assert all(r.ok and r.duplicate_of is None for r in records)


# ---- mojibake ----------------------------------------------------------------------------


def test_mojibake_fixture_is_really_garbled_and_comes_out_repaired() -> None:
    raw = (SITES / "mojibake_cp1252.txt").read_text(encoding="utf-8")
    assert "rÃ©colte" in raw and "lâ€™annÃ©e" in raw  # the fixture is what it claims
    record = clean_one(SITES / "mojibake_cp1252.txt")
    for word in ("récolte", "l’année", "œnologues", "À la fin de septembre", "près de 12 %"):
        assert word in record.text
    for field_value in (record.text, record.title, record.author):
        assert "Ã" not in field_value and "â€" not in field_value


@pytest.mark.parametrize("encoding", ["cp1252", "latin-1"])
@pytest.mark.parametrize("fixture", ["quotidien_abonnes.txt", "forum_tech.txt"])
def test_mojibake_cleans_like_the_original(tmp_path: Path, fixture: str, encoding: str) -> None:
    """UTF-8 mis-decoded as cp1252 or Latin-1 gives the same record as the original."""
    original = (SITES / fixture).read_text(encoding="utf-8")
    garbled = original.encode("utf-8").decode(encoding)
    assert garbled != original
    path = tmp_path / fixture
    path.write_text(garbled, encoding="utf-8")

    want, got = clean_one(SITES / fixture), clean_one(path)
    assert got.ok
    for name in ("text", "title", "author", "date", "lang", "removed"):
        assert getattr(got, name) == getattr(want, name), name


def test_legacy_cp1252_file_is_decoded(tmp_path: Path) -> None:
    """A file saved in Windows-1252 (not UTF-8) reads as the same article."""
    original = (SITES / "regional_copie.txt").read_text(encoding="utf-8")
    path = tmp_path / "regional_copie.txt"
    path.write_bytes(original.encode("cp1252"))
    got, want = clean_one(path), clean_one(SITES / "regional_copie.txt")
    assert (got.text, got.title, got.removed) == (want.text, want.title, want.removed)


# ---- JSONL: good and bad records -------------------------------------------------------

# (id, status, snippets the reason must hold), one per record, in file order. Line 5 is
# blank: no record; line numbers in reasons are the file's physical lines.
JSONL_EXPECTED = [
    ("afp-brevet", OK, ()),
    ("depeches-2", ERROR, ("line 2", "invalid JSON")),
    ("sans-texte", ERROR, ("line 3", "'text'")),
    ("texte-nombre", ERROR, ("line 4", "int")),
    ("texte-vide", SKIPPED, ("empty",)),
    ("depeches-7", SKIPPED, ("empty",)),
    ("depeches-8", ERROR, ("line 8", "object")),
    ("depeches-9", OK, ()),
    ("promo-only", SKIPPED, ("boilerplate",)),
    ("texte-liste", ERROR, ("line 11", "list")),
]


@pytest.fixture(scope="module")
def jsonl_records() -> list[Record]:
    return clean_paths(SITES / "depeches.jsonl")


def test_jsonl_one_record_per_article_line_in_order(jsonl_records: list[Record]) -> None:
    assert [r.id for r in jsonl_records] == [e[0] for e in JSONL_EXPECTED]


@pytest.mark.parametrize(
    ("index", "expected"), list(enumerate(JSONL_EXPECTED)), ids=lambda x: str(x)
)
def test_jsonl_record_status_and_reason(
    jsonl_records: list[Record], index: int, expected: tuple
) -> None:
    record_id, status, reason_parts = expected
    record = jsonl_records[index]
    assert (record.id, record.status) == (record_id, status)
    if status == OK:
        assert record.reason is None
    else:
        assert record.reason, "a skipped or error record must say why"
        for part in reason_parts:
            assert part in record.reason


def test_jsonl_bad_records_keep_what_the_input_held(jsonl_records: list[Record]) -> None:
    by_id = {r.id: r for r in jsonl_records}
    assert by_id["texte-nombre"].text == 42
    assert by_id["texte-liste"].text == ["un", "paragraphe"]
    assert by_id["sans-texte"].title == "Une dépêche sans corps"
    assert by_id["texte-vide"].text == ""


def test_jsonl_good_records_are_cleaned(jsonl_records: list[Record]) -> None:
    by_id = {r.id: r for r in jsonl_records}

    brevet = by_id["afp-brevet"]
    assert brevet.title == "Brevet des collèges : le taux de réussite recule légèrement"
    assert brevet.title not in brevet.text  # the title repeated in the text leaves it
    for snippet in ("s'établit à 85,6 %", "89,4 % des candidates", "épreuve de sciences"):
        assert snippet in brevet.text
    assert removed_by(brevet, "Lire aussi : Réforme du collège") == ["read-also"]
    assert removed_by(brevet, "Partager sur Facebook") == ["share"]
    assert brevet.url == "https://depeches.example/education/brevet-2024"
    assert brevet.extra == {"rubrique": "éducation"}  # unknown fields pass through
    assert brevet.lang == "fr"

    appel = by_id["depeches-9"]
    assert appel.author == "Claire Bonnet"
    assert "La cour d'appel de Douai a confirmé" in appel.text
    assert "pourvoi en cassation" in appel.text
    assert removed_by(appel, "Source : AFP") == ["source"]
    assert removed_by(appel, "Le , par Claire Bonnet") == ["byline"]
    for record in (brevet, appel):
        assert_removed_well_formed(record)

    promo = by_id["promo-only"]
    assert promo.text == ""
    assert sorted(e["rule"] for e in promo.removed) == ["read-also", "share", "subscribe"]


def test_jsonl_record_lines_are_as_stated() -> None:
    """The fixture itself: the line numbers the table relies on."""
    lines = (SITES / "depeches.jsonl").read_text(encoding="utf-8").split("\n")
    assert lines[4] == ""
    assert json.loads(lines[3]) == {"id": "texte-nombre", "text": 42}
    with pytest.raises(json.JSONDecodeError):
        json.loads(lines[1])


# ---- the real sample -------------------------------------------------------------------


@pytest.mark.skipif(not SAMPLE.exists(), reason="../shared/samples is not there")
def test_whatsapp_sample() -> None:
    record = clean_one(SAMPLE)
    title = "WhatsApp essuie une panne au niveau mondial trois jours après son rachat"

    assert record.ok
    assert record.title == title and title not in record.text
    paragraphs = record.text.split("\n")
    assert len(paragraphs) == 4
    for snippet, paragraph in zip(
        ("22 février 2014", "problèmes de serveur", "victime de son succès", "450 millions"),
        paragraphs,
        strict=True,
    ):
        assert snippet in paragraph
    for snippet in ("70 %", "Zuckerberg", "un million de nouveaux utilisateurs"):
        assert snippet in record.text
    for line in (
        "Source : Twitter WhatsApp",
        "Et vous ?",
        "Qu'en pensez-vous ?",
        "L'application mobile victime de son propre succès ?",
        "Le , par Stéphane le calme",
        "Une erreur dans cette actualité ? Signalez-nous-la !",
    ):
        assert line not in record.text
        assert removed_by(record, line), line
    assert record.lang == "fr"
    assert_removed_well_formed(record)
    assert_nothing_lost(SAMPLE.read_text(encoding="utf-8"), record)


# ---- false positives: body text that looks like boilerplate --------------------------

BEFORE = (
    "Le conseil municipal s'est réuni jeudi soir pour examiner le budget primitif de "
    "l'année, marqué par une hausse sensible des dépenses d'énergie et de personnel."
)
AFTER = (
    "Le vote définitif du budget est prévu le mois prochain, après une dernière réunion "
    "de la commission des finances et une consultation des habitants."
)

MUST_KEEP = {
    "cnil-fine": "La CNIL a infligé une amende de 40 millions d'euros à l'éditeur, à qui "
    "elle reproche de ne pas permettre de refuser les cookies aussi simplement que de les "
    "accepter.",
    "cookies-sentence": "Refuser les cookies doit être aussi simple que de les accepter, "
    "rappelle la CNIL.",
    "cookie-banner-quoted": "Sur la page d'accueil, un bandeau affichait : « Nous utilisons "
    "des cookies pour améliorer votre expérience. »",
    "accepter-les-choix": "Accepter les choix de la majorité n'est pas dans son tempérament.",
    "par-ailleurs": "Par ailleurs, la préfecture a prolongé l'arrêté jusqu'à dimanche.",
    "source-de-tensions": "Source de tensions, le projet de contournement divise la majorité "
    "depuis 2019.",
    "publie-en": "Publié en 1998, le roman a été traduit dans dix-sept langues.",
    "publie-le-sentence": "Publié le 3 mai 1998 chez Gallimard, le roman s'est vendu à "
    "400 000 exemplaires.",
    "mis-a-jour-sentence": "Mis à jour le 2 janvier, le fichier compte désormais 12 000 noms.",
    "et-vous-quoted": "« Et vous ? » demande-t-elle au ministre.",
    "et-vous-question": "Et vous, que feriez-vous si votre commune fermait son école ?",
    "newsletters-plural": "Newsletters, podcasts, vidéos : la rédaction a multiplié les "
    "formats depuis 2020.",
    "newsletter-debate": "Newsletter payante ou gratuite : le débat agite les médias locaux.",
    "newsletter-mairie": "La newsletter de la mairie compte désormais 12 000 abonnés.",
    "voir-plus-loin": "Voir plus loin que le prochain scrutin : c'est ce que réclament les "
    "maires ruraux.",
    "lire-plus": "Lire plus de livres, c'est l'objectif du plan lecture lancé par la ministre.",
    "lire-aussi-sentence": "Lire aussi les pages du rapport consacrées au logement, conseille "
    "l'économiste.",
    "pour-aller-plus-loin": "Pour aller plus loin, la commune envisage de racheter le terrain.",
    "commenter": "Commenter la décision ne l'intéresse pas : « Je m'en tiens aux faits », dit-il.",
    "reagir": "Réagir vite est la priorité des pompiers, explique le colonel.",
    "reactions-intertitle": "Les réactions",
    "video-sentence": "Vidéo : la scène, filmée par un passant, a été vue 2 millions de fois.",
    "image-sentence": "Image : c'est tout ce qui compte pour les candidats, selon le politologue.",
    "se-connecter": "Se connecter au réseau reste impossible dans une partie de la vallée.",
    "inscrivez-vous-listes": "Inscrivez-vous sur les listes électorales avant le 3 mai, "
    "rappelle la mairie.",
    "abonnez-vous-chant": "Abonnez-vous, abonnez-vous ! scandait la foule aux abords du stade.",
    "copyright-headline": "Copyright et droit d'auteur : la directive européenne entre en vigueur.",
    "partager-sur-reseaux": "Partager sur les réseaux sociaux des images de l'accident est "
    "passible d'amende.",
    "temps-de-lecture-sentence": "Temps de lecture : 10 minutes par jour, c'est l'objectif "
    "fixé aux élèves.",
    "menu-cantine": "Menu unique à la cantine : les parents d'élèves protestent.",
    "votre-avis": "Votre avis compte, répète le maire dans chaque réunion publique.",
    "publicite-mensongere": "Publicité mensongère : l'enseigne condamnée à 200 000 euros.",
    "par-la-suite": "Par la suite, il a démissionné de son mandat de conseiller régional.",
    "contribuer": "Contribuer au débat public est un droit, rappelle la présidente.",
    "enregistrer": "Enregistrer un album à 70 ans, elle en rêvait depuis longtemps.",
    "ecouter": "Écouter les habitants avant de décider : c'est la méthode du nouveau maire.",
    "sondage-result": "Résultats du sondage : 54 % des Français jugent la réforme injuste.",
    "agency-sentence": "Il travaille avec l'AFP.",
    "dash-in-sentence": "Le verdict est tombé mardi soir — COUPABLE.",
    "score-after-dash": "Le score final — 3-0 — a surpris les supporters du club.",
    "device-sentence": "La lecture des données sur un autre appareil est interdite par la loi.",
    "recommande-sentence": "Le médecin vous recommande de boire beaucoup d'eau.",
    "lire-aussi-words": "Lire aussi les pages du rapport : elles éclairent le débat.",
}


@pytest.mark.parametrize("paragraph", MUST_KEEP.values(), ids=MUST_KEEP.keys())
def test_body_text_that_looks_like_boilerplate_is_kept(paragraph: str) -> None:
    record = clean_text("\n".join([BEFORE, paragraph, AFTER]))
    assert record.ok
    assert record.text.split("\n") == [BEFORE, paragraph, AFTER]
    assert record.removed == []
    assert record.author is None and record.date is None


# ---- and boilerplate, one rule at a time -----------------------------------------------

MUST_DROP = [
    ("Donnez votre avis !", "reader-prompt"),
    ("Et vous, qu'en pensez-vous ?", "reader-prompt"),
    ("Une erreur dans cet article ? Signalez-la", "report-error"),
    ("Lire aussi : Le budget de la ville en cinq chiffres", "read-also"),
    ("Lire aussi Le budget de la ville en cinq chiffres", "read-also"),
    ("À lire également", "read-also"),
    ("Voir plus", "read-also"),
    ("Partager sur Facebook", "share"),
    ("Partager cet article : Facebook Twitter", "share"),
    ("Facebook Twitter E-mail Imprimer", "share"),
    ("Abonnez-vous à notre newsletter", "subscribe"),
    ("S'abonner", "subscribe"),
    ("Newsletter : recevez chaque matin l'essentiel de l'actualité", "subscribe"),
    ("Réservé aux abonnés", "subscriber-only"),
    ("Nous utilisons des cookies pour mesurer l'audience de ce site.", "cookies"),
    ("Accepter les cookies", "cookies"),
    ("Continuer sans accepter", "cookies"),
    ("Gérer mes choix", "cookies"),
    ("Suivez-nous sur Facebook", "follow-us"),
    ("Réagir", "comments"),
    ("Voir les commentaires", "comments"),
    ("Contenu sponsorisé", "ads"),
    ("Mis à jour le 14/03/2024 à 12h30", "published-modified"),
    ("Actualisé le 15 mars 2024 à 8h, modifié le 16 mars à 9h", "published-modified"),
    ("Mis à jour il y a 12 min", "published-modified"),
    ("4 min de lecture", "reading-time"),
    ("Sources : Insee, Dares", "source"),
    ("© 2024 La Gazette du Ponant", "copyright"),
    ("Copyright 2024 La Gazette du Ponant", "copyright"),
    ("Photo : J.-M. Dupont / AFP", "photo-credit"),
    ("Crédit photo : Shutterstock", "photo-credit"),
    ("Accueil › Bretagne › Brest", "navigation"),
    ("Retour en haut", "navigation"),
    # the pages of tests/fixtures/repro/ and their kind
    ("Lire aussi le décryptage | Chômage : pourquoi le taux remonte", "read-also"),
    ("Offrir cet article", "article-tools"),
    ("Ajouter à vos sélections", "article-tools"),
    ("Réutiliser ce contenu", "article-tools"),
    ("Sauvegarder", "article-tools"),
    ("Contribuer", "article-tools"),
    ("Écouter", "audio-player"),
    ("Écouter cet article (4 min)", "audio-player"),
    ("Lecture du Monde en cours sur un autre appareil.", "device-limit"),
    ("Vous pouvez lire Le Monde sur un seul appareil à la fois", "device-limit"),
    ("Découvrir les offres multicomptes", "subscribe"),
    ("Cet article vous a été offert par un abonné.", "subscriber-only"),
    ("Votre avis compte", "reader-prompt"),
    ("Participez à notre sondage !", "reader-poll"),
    ("Voir les résultats", "reader-poll"),
    ("128 votes", "reader-poll"),
    ("20 Minutes avec agence", "agency-credit"),
    ("(avec AFP)", "agency-credit"),
    ("Le Monde avec AFP et Reuters", "agency-credit"),
    ("Illustration d'un contrôle de gendarmerie. — F. Scheiber / 20 Minutes", "photo-caption"),
    ("Le premier ministre à Matignon, le 12 mars 2024. LUDOVIC MARIN / AFP", "photo-caption"),
    ("Une épaisse fumée noire était visible mardi soir. | OUEST-FRANCE", "photo-caption"),
]


@pytest.mark.parametrize(("line", "rule"), MUST_DROP, ids=[r + ":" + line for line, r in MUST_DROP])
def test_boilerplate_line_is_dropped_by_its_rule(line: str, rule: str) -> None:
    record = clean_text("\n".join([BEFORE, line, AFTER]))
    assert record.text.split("\n") == [BEFORE, AFTER]
    assert record.removed == [{"rule": rule, "text": line}]


MUST_CUT = [
    ("Et vous ?", "reader-prompts-tail"),
    ("3 commentaires", "comments-section"),
    ("Réactions (12)", "comments-section"),
    ("Il vous reste 72 % de l'article à lire", "paywall-tail"),
    ("Il vous reste 61.42% de cet article à lire.", "paywall-tail"),
    ("La suite est réservée aux abonnés.", "paywall-tail"),
    ("Les plus lus", "related-tail"),
    ("Ouest-France vous recommande", "related-tail"),
]


@pytest.mark.parametrize(("marker", "rule"), MUST_CUT, ids=[r for _, r in MUST_CUT])
def test_section_marker_cuts_to_the_end(marker: str, rule: str) -> None:
    tail = [marker, "Un texte qui suit la marque et part avec elle, quel qu'il soit."]
    record = clean_text("\n".join([BEFORE, AFTER, *tail]))
    assert record.text.split("\n") == [BEFORE, AFTER]
    assert record.removed == [{"rule": rule, "text": "\n".join(tail)}]


def test_section_marker_on_the_first_line_does_not_empty_the_article() -> None:
    record = clean_text("\n".join(["Sur le même sujet", BEFORE, AFTER]))
    assert record.ok
    assert record.text.split("\n") == [BEFORE, AFTER]
    # no section cut: only the line rule took the marker line
    assert record.removed == [{"rule": "read-also", "text": "Sur le même sujet"}]


def test_no_builtin_rule_matches_an_empty_line() -> None:
    rules = Rules.load()
    assert rules.first_line_rule("") is None
    assert rules.section_rule("") is None


# ---- rule files ------------------------------------------------------------------------

PROMO_LINE = "Écoutez la chronique sur notre antenne à 7 h"
ARTICLE = "\n".join([BEFORE, PROMO_LINE, "Source : AFP", "Lire aussi : Le budget", AFTER])


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_user_rules_file_adds_a_rule(tmp_path: Path) -> None:
    rules = write(
        tmp_path,
        "site.toml",
        """
[[line]]
name = "radio-promo"
pattern = '''écoutez .* sur notre antenne.*'''

[[section]]
name = "partner-tail"
marker = '''en partenariat avec la gazette'''
""",
    )
    before = clean_text(ARTICLE)
    assert PROMO_LINE in before.text  # not a built-in rule

    options = CleanOptions(rules_files=(rules,), dedup=False)
    after = clean_text(ARTICLE + "\nEn partenariat avec La Gazette\nUn encart.", options)
    assert after.text.split("\n") == [BEFORE, AFTER]
    assert {"rule": "radio-promo", "text": PROMO_LINE} in after.removed
    assert {"rule": "partner-tail", "text": "En partenariat avec La Gazette\nUn encart."} in (
        after.removed
    )
    # the built-in rules still apply
    assert removed_by(after, "Source : AFP") == ["source"]
    assert removed_by(after, "Lire aussi : Le budget") == ["read-also"]


def test_user_rules_file_disables_a_builtin_rule(tmp_path: Path) -> None:
    rules = write(tmp_path, "keep-sources.toml", 'disable = ["source"]\n')
    record = clean_text(ARTICLE, CleanOptions(rules_files=(rules,), dedup=False))
    assert "Source : AFP" in record.text.split("\n")
    assert removed_by(record, "Source : AFP") == []
    assert removed_by(record, "Lire aussi : Le budget") == ["read-also"]  # others stay on


def test_disabled_rules_compose_across_files(tmp_path: Path) -> None:
    first = write(tmp_path, "a.toml", 'disable = ["source"]\n')
    second = write(tmp_path, "b.toml", 'disable = ["read-also"]\n')
    record = clean_text(ARTICLE, CleanOptions(rules_files=(first, second), dedup=False))
    assert record.text.split("\n") == [
        BEFORE,
        PROMO_LINE,
        "Source : AFP",
        "Lire aussi : Le budget",
        AFTER,
    ]
    assert record.removed == []


@pytest.mark.parametrize(
    ("content", "message_parts"),
    [
        ("[[line]\nname = 'x'\n", ("not valid TOML",)),
        ("[[line]]\nname = \"broken\"\npattern = '''(unclosed'''\n", ("'broken'",)),
        ('[[line]]\nname = "no-pattern"\n', ("name", "pattern")),
        ("[[section]]\nname = \"no-marker\"\npattern = 'x'\n", ("marker",)),
        ('disable = ["no-such-rule"]\n', ("no-such-rule",)),
        ('disable = "source"\n', ("disable",)),
    ],
    ids=["toml", "regex", "no-pattern", "no-marker", "unknown-disable", "disable-not-list"],
)
def test_bad_rules_file_is_a_clear_error(
    tmp_path: Path, content: str, message_parts: tuple[str, ...]
) -> None:
    path = write(tmp_path, "bad.toml", content)
    with pytest.raises(NewsumError) as info:
        list(clean([Record(id="t", text=ARTICLE)], CleanOptions(rules_files=(path,))))
    message = str(info.value)
    for part in message_parts:
        assert part in message
    if "disable" not in content:
        assert str(path) in message  # says which file


def test_missing_rules_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "absent.toml"
    with pytest.raises(NewsumError, match=r"absent\.toml"):
        list(clean([], CleanOptions(rules_files=(path,))))


def test_keep_boilerplate_keeps_the_lines() -> None:
    path = SITES / "quotidien_abonnes.txt"
    kept = clean_one(path, CleanOptions(keep_boilerplate=True, dedup=False))
    lines = kept.text.split("\n")
    for line in (
        "Temps de lecture : 4 min",
        "Article réservé aux abonnés",
        "Lire aussi | Les syndicats appellent à une journée de mobilisation le 28 mars",
        "Il vous reste 64 % de cet article à lire. La suite est réservée aux abonnés.",
        "Déjà abonné ? Connectez-vous",
    ):
        assert line in lines
    # title and byline still become metadata; no boilerplate rule ran
    assert {e["rule"] for e in kept.removed} <= {"title", "byline"}
    assert (kept.title, kept.author, kept.date) == (
        clean_one(path).title,
        "Jean Martin",
        "2024-03-14T10:05",
    )
    assert kept.title not in kept.text
    assert_nothing_lost(path.read_text(encoding="utf-8"), kept)


# ---- regressions: a breadcrumb above the title, an author after the date ----


def test_breadcrumb_first_line_is_not_the_title(tmp_path: Path) -> None:
    text = (SITES / "regional_copie.txt").read_text(encoding="utf-8")
    path = write(tmp_path, "breadcrumb.txt", "Accueil › Pays de la Loire › Nantes\n" + text)
    record = clean_one(path)
    assert record.title == SITE_CASES[2].title
    assert record.title not in record.text


def test_author_after_publication_date() -> None:
    record = clean_text("\n".join(["Publié le 14 mars 2024 à 10h05 par Jean Martin", BEFORE]))
    assert (record.author, record.date) == ("Jean Martin", "2024-03-14T10:05")

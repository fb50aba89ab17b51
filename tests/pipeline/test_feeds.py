"""Feeds and sitemaps parsed from bytes: RSS 2.0, RSS 1.0/RDF, Atom, sitemaps, Google News
sitemaps, sitemap indexes, gzip, and the hostile ones (XXE, billion laughs, gzip bombs)."""

from __future__ import annotations

import functools
import gzip
import logging
import time
import zlib
from pathlib import Path

import pytest

from newsum.pipeline.core import feeds
from newsum.pipeline.core.feeds import (
    MAX_SITEMAP_BYTES,
    FeedError,
    Item,
    iso_date,
    kind_of,
    parse_feed,
    parse_sitemap,
    parse_url_list,
)

RSS_URL = "https://www.ouest-france.fr/rss/une"
RSS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"
     xmlns:atom="http://www.w3.org/2005/Atom"
     xmlns:content="http://purl.org/rss/1.0/modules/content/">
  <channel>
    <title>Ouest-France - Toute l'actualité</title>
    <link>https://www.ouest-france.fr/</link>
    <description>Les dernières informations</description>
    <language>fr</language>
    <atom:link href="https://www.ouest-france.fr/rss/une" rel="self" type="application/rss+xml"/>
    <image>
      <title>Logo Ouest-France</title>
      <url>https://www.ouest-france.fr/logo.png</url>
      <link>https://www.ouest-france.fr/</link>
    </image>
    <item>
      <title><![CDATA[Réforme des retraites : les syndicats appellent à manifester jeudi]]></title>
      <link>https://www.ouest-france.fr/politique/reforme-des-retraites-123.html</link>
      <description><![CDATA[<p>Les syndicats ont appelé <strong>mardi</strong> à une
        nouvelle journée de mobilisation.</p><p>Le gouvernement maintient son calendrier.</p>
        <script>track()</script><img src="https://img.ouest-france.fr/1.jpg" alt=""/>
      ]]></description>
      <dc:creator>Jean Dupont</dc:creator>
      <dc:creator>Marie Le Goff</dc:creator>
      <pubDate>Tue, 12 Mar 2024 18:12:00 +0200</pubDate>
      <guid isPermaLink="false">of-123</guid>
      <content:encoded><![CDATA[<p>Le texte entier de l'article.</p>]]></content:encoded>
    </item>
    <item>
      <title>Brest : un nouveau tramway en 2025</title>
      <link>/bretagne/brest/tramway-456.html</link>
      <description>Le chantier commence au printemps &amp; durera deux ans.</description>
      <author>redaction@ouest-france.fr (Sophie Martin)</author>
      <pubDate>Wed, 13 Mar 2024 07:30:00 GMT</pubDate>
    </item>
    <item>
      <title>Météo : des orages attendus dans l'Ouest</title>
      <guid>https://www.ouest-france.fr/meteo/orages-789.html</guid>
      <pubDate>Wed, 13 Mar 2024 09:00:00 +0100</pubDate>
    </item>
    <item>
      <title>Un article sans lien</title>
      <description>Il ne peut pas être téléchargé.</description>
      <guid isPermaLink="false">of-000</guid>
    </item>
    <item>
      <title>Réforme des retraites (doublon)</title>
      <link>https://www.ouest-france.fr/politique/reforme-des-retraites-123.html</link>
    </item>
    <item>
      <title>Caf&eacute;s et cr&ecirc;peries&nbsp;: le palmar&egrave;s</title>
      <link> https://www.ouest-france.fr/gastronomie/creperies-321.html </link>
      <pubDate>mer., 13 mars 2024 10:00:00</pubDate>
    </item>
  </channel>
</rss>
""".encode()

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://www.lemonde.fr/actualite/">
  <title type="text">Le Monde.fr - Actualit\xc3\xa9s</title>
  <link rel="self" href="https://www.lemonde.fr/rss/une.xml"/>
  <link rel="alternate" href="https://www.lemonde.fr/"/>
  <id>urn:uuid:60a76c80-d399-11d9-b93C-0003939e0af6</id>
  <updated>2024-03-12T18:30:00Z</updated>
  <author><name>La r\xc3\xa9daction du Monde</name></author>
  <entry>
    <title type="html">Les &lt;em&gt;JO de Paris&lt;/em&gt; : J-100</title>
    <link rel="self" href="https://api.lemonde.fr/entries/1"/>
    <link rel="enclosure" type="image/jpeg" href="https://img.lemonde.fr/jo.jpg"/>
    <link rel="alternate" type="text/html" href="sport/article/2024/03/12/jo-paris.html"/>
    <id>tag:lemonde.fr,2024:jo-paris</id>
    <published>2024-03-12T16:05:00+01:00</published>
    <updated>2024-03-12T18:00:00.123456789Z</updated>
    <author><name>Cl\xc3\xa9ment Guillou</name></author>
    <summary type="html">&lt;p&gt;Plus que cent jours
      avant la c\xc3\xa9r\xc3\xa9monie.&lt;/p&gt;</summary>
  </entry>
  <entry xml:base="https://www.lemonde.fr/economie/">
    <title>Inflation : les prix ralentissent en f\xc3\xa9vrier</title>
    <link href="article/2024/03/12/inflation.html"/>
    <id>tag:lemonde.fr,2024:inflation</id>
    <updated>2024-03-12T10:00:00Z</updated>
    <summary type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>L'Insee publie
      ses chiffres.</p><p>La baisse se confirme.</p></div></summary>
  </entry>
  <entry>
    <title>Une entr\xc3\xa9e sans page</title>
    <link rel="related" href="https://www.lemonde.fr/autre.html"/>
    <id>tag:lemonde.fr,2024:none</id>
    <updated>2024-03-12T09:00:00Z</updated>
  </entry>
</feed>
"""

RDF = b"""<?xml version="1.0" encoding="ISO-8859-1"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
         xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel rdf:about="https://www.liberation.fr/rss">
    <title>Lib\xe9ration</title>
    <link>https://www.liberation.fr/</link>
    <items><rdf:Seq><rdf:li rdf:resource="https://www.liberation.fr/a1.html"/></rdf:Seq></items>
  </channel>
  <item rdf:about="https://www.liberation.fr/societe/a1.html">
    <title>Le Conseil d'\xc9tat suspend un arr\xeat\xe9</title>
    <link>https://www.liberation.fr/societe/a1.html</link>
    <description>La d\xe9cision est tomb\xe9e lundi.</description>
    <dc:creator>Lib\xe9ration</dc:creator>
    <dc:date>2024-03-11T20:15:00+01:00</dc:date>
  </item>
  <item rdf:about="https://www.liberation.fr/culture/a2.html">
    <title>C\xe9sar 2024 : le palmar\xe8s</title>
    <dc:date>2024-02-23</dc:date>
  </item>
</rdf:RDF>
"""

SITEMAP = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:image="http://www.google.com/schemas/sitemap-image/1.1">
  <url>
    <loc>https://www.francebleu.fr/infos/societe/greve-sncf-1234</loc>
    <lastmod>2024-03-12T18:12+01:00</lastmod>
    <changefreq>hourly</changefreq>
    <image:image><image:loc>https://www.francebleu.fr/img/1.jpg</image:loc></image:image>
  </url>
  <url><loc>https://www.francebleu.fr/infos/meteo/orages-5678</loc><lastmod>2024-03-11</lastmod></url>
  <url><loc>/infos/sport/rugby-91011</loc></url>
  <url><loc>mailto:redaction@francebleu.fr</loc></url>
  <url><loc>https://www.francebleu.fr/infos/societe/greve-sncf-1234</loc></url>
  <url><lastmod>2024-03-10</lastmod></url>
</urlset>
"""

NEWS_SITEMAP = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
  <url>
    <loc>https://www.lefigaro.fr/politique/remaniement-20240312</loc>
    <lastmod>2024-03-12T19:00:00+01:00</lastmod>
    <news:news>
      <news:publication>
        <news:name>Le Figaro</news:name>
        <news:language>fr</news:language>
      </news:publication>
      <news:publication_date>2024-03-12T17:45:00+01:00</news:publication_date>
      <news:title>Remaniement : les noms des nouveaux ministres d\xc3\xa9voil\xc3\xa9s</news:title>
    </news:news>
  </url>
  <url>
    <loc>https://www.lefigaro.fr/sciences/eclipse-20240312</loc>
    <lastmod>2024-03-12T08:00:00Z</lastmod>
  </url>
</urlset>
"""

SITEMAP_INDEX = b"""<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <sitemap><loc>https://www.lefigaro.fr/sitemap_news.xml</loc><lastmod>2024-03-12</lastmod></sitemap>
  <sitemap><loc>/sitemaps/2024-03.xml.gz</loc></sitemap>
  <sitemap><loc>https://www.lefigaro.fr/sitemap_news.xml</loc></sitemap>
</sitemapindex>
"""

HTML = b"""<!DOCTYPE html>
<html lang="fr"><head><meta charset="utf-8"><title>Accueil</title></head>
<body><p>Bienvenue</p></body></html>
"""

XHTML = b"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN"
  "http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">
<html xmlns="http://www.w3.org/1999/xhtml"><head><title>Accueil</title></head>
<body><p>Bienvenue</p></body></html>
"""


@functools.cache
def passwd_line() -> str:
    """The first line of /etc/passwd, which no parse may ever show ("root:x:0:0" here)."""
    path = Path("/etc/passwd")
    lines = path.read_text().splitlines() if path.exists() else []
    return lines[0] if lines else "root:x:0:0:"


# ---------------------------------------------------------------------------- RSS 2.0


def test_rss_items_in_order_with_metadata():
    items, title = parse_feed(RSS, RSS_URL)
    assert title == "Ouest-France - Toute l'actualité"
    assert [item.link for item in items] == [
        "https://www.ouest-france.fr/politique/reforme-des-retraites-123.html",
        "https://www.ouest-france.fr/bretagne/brest/tramway-456.html",  # relative
        "https://www.ouest-france.fr/meteo/orages-789.html",  # from the permalink guid
        "https://www.ouest-france.fr/gastronomie/creperies-321.html",  # whitespace trimmed
    ]
    first, second, third, fourth = items
    assert first == Item(
        link="https://www.ouest-france.fr/politique/reforme-des-retraites-123.html",
        title="Réforme des retraites : les syndicats appellent à manifester jeudi",
        date="2024-03-12T18:12:00+02:00",
        author="Jean Dupont, Marie Le Goff",
        summary=(
            "Les syndicats ont appelé mardi à une nouvelle journée de mobilisation.\n"
            "Le gouvernement maintient son calendrier."
        ),
        feed_title="Ouest-France - Toute l'actualité",
    )
    assert second.date == "2024-03-13T07:30:00+00:00"  # GMT
    assert second.author == "Sophie Martin"  # "e-mail (name)"
    assert second.summary == "Le chantier commence au printemps & durera deux ans."
    assert third.date == "2024-03-13T09:00:00+01:00"
    assert third.summary is None and third.author is None
    # HTML entities that XML does not define; a date that does not parse stays as given.
    assert fourth.title == "Cafés et crêperies\u00a0: le palmarès"
    assert fourth.date == "mer., 13 mars 2024 10:00:00"


def test_rss_items_without_link_are_skipped_and_counted(caplog):
    with caplog.at_level(logging.DEBUG, logger="newsum"):
        items, _ = parse_feed(RSS, RSS_URL)
    assert "Un article sans lien" not in [item.title for item in items]
    assert "Réforme des retraites (doublon)" not in [item.title for item in items]
    assert "1 items without an http(s) link skipped" in caplog.text
    assert "1 repeated links skipped" in caplog.text


def test_rss_channel_xml_base_and_atom_link_fallback():
    body = b"""<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom">
      <channel xml:base="https://www.sudouest.fr/gironde/"><title>Sud Ouest</title>
        <item><title>A</title><link>bordeaux/tram.html</link></item>
        <item><title>B</title><atom:link rel="alternate" href="/landes/plage.html"/></item>
        <item><title>C</title><link>javascript:alert(1)</link></item>
      </channel></rss>"""
    items, _ = parse_feed(body, "https://www.sudouest.fr/rss.xml")
    assert [item.link for item in items] == [
        "https://www.sudouest.fr/gironde/bordeaux/tram.html",
        "https://www.sudouest.fr/landes/plage.html",
    ]


def test_relative_links_without_a_base_are_skipped():
    body = b"<rss><channel><item><link>/a.html</link></item></channel></rss>"
    assert parse_feed(body, "") == ([], None)


def test_latin1_feed_and_whitespace_before_the_declaration():
    body = (
        b"\n\n  <?xml version='1.0' encoding='ISO-8859-1'?>"
        b"<rss><channel><title>L'\xc9quipe</title><item><title>Le XV de France s'impose"
        b" \xe0 Cardiff</title><link>https://www.lequipe.fr/rugby/1.html</link></item>"
        b"</channel></rss>"
    )
    items, title = parse_feed(body, "https://www.lequipe.fr/rss")
    assert title == "L'Équipe"
    assert items[0].title == "Le XV de France s'impose à Cardiff"
    assert items[0].feed_title == "L'Équipe"


def test_raw_xhtml_in_a_description_becomes_text():
    body = b"""<rss><channel><item><link>https://ex.fr/a</link>
      <description><p>Premier <b>paragraphe</b>.</p><p>Second &amp; dernier.</p></description>
      </item></channel></rss>"""
    (item,), _ = parse_feed(body, "https://ex.fr/")
    assert item.summary == "Premier paragraphe.\nSecond & dernier."


# ---------------------------------------------------------------------------- Atom


def test_atom_entries_links_dates_authors():
    items, title = parse_feed(ATOM, "https://www.lemonde.fr/rss/une.xml")
    assert title == "Le Monde.fr - Actualités"
    assert [item.link for item in items] == [
        "https://www.lemonde.fr/actualite/sport/article/2024/03/12/jo-paris.html",
        "https://www.lemonde.fr/economie/article/2024/03/12/inflation.html",
    ]  # the entry with only rel="related" is skipped
    jo, inflation = items
    assert jo.title == "Les JO de Paris : J-100"
    assert jo.date == "2024-03-12T16:05:00+01:00"  # published before updated
    assert jo.author == "Clément Guillou"
    assert jo.summary == "Plus que cent jours avant la cérémonie."
    assert jo.feed_title == "Le Monde.fr - Actualités"
    assert inflation.date == "2024-03-12T10:00:00+00:00"
    assert inflation.author == "La rédaction du Monde"  # the feed's author
    assert inflation.summary == "L'Insee publie ses chiffres.\nLa baisse se confirme."


def test_atom_alternate_link_html_first_and_default_rel():
    body = b"""<feed xmlns="http://www.w3.org/2005/Atom"><title>T</title>
      <entry><title>A</title>
        <link rel="alternate" type="application/pdf" href="https://ex.fr/a.pdf"/>
        <link rel="alternate" type="text/html" href="https://ex.fr/a.html"/></entry>
      <entry><title>B</title><link href="https://ex.fr/b.html"/></entry>
      <entry><title>C</title><link rel="self" href="https://ex.fr/c.atom"/>
        <link rel="enclosure" href="https://ex.fr/c.mp3"/></entry>
    </feed>"""
    items, _ = parse_feed(body, "https://ex.fr/feed")
    assert [item.link for item in items] == ["https://ex.fr/a.html", "https://ex.fr/b.html"]


# ---------------------------------------------------------------------------- RDF


def test_rss1_rdf_feed():
    items, title = parse_feed(RDF, "https://www.liberation.fr/rss")
    assert title == "Libération"
    assert items == [
        Item(
            link="https://www.liberation.fr/societe/a1.html",
            title="Le Conseil d'État suspend un arrêté",
            date="2024-03-11T20:15:00+01:00",
            author="Libération",
            summary="La décision est tombée lundi.",
            feed_title="Libération",
        ),
        Item(  # no <link>: rdf:about
            link="https://www.liberation.fr/culture/a2.html",
            title="César 2024 : le palmarès",
            date="2024-02-23",
            feed_title="Libération",
        ),
    ]


# ---------------------------------------------------------------------------- sitemaps


def test_sitemap_urls_with_lastmod():
    items, children = parse_sitemap(SITEMAP, "https://www.francebleu.fr/sitemap.xml")
    assert children == []
    assert items == [
        Item(
            link="https://www.francebleu.fr/infos/societe/greve-sncf-1234",
            date="2024-03-12T18:12:00+01:00",
        ),
        Item(link="https://www.francebleu.fr/infos/meteo/orages-5678", date="2024-03-11"),
        Item(link="https://www.francebleu.fr/infos/sport/rugby-91011"),
    ]  # mailto:, the repeated URL and the <url> without <loc> are skipped


def test_google_news_sitemap():
    items, children = parse_sitemap(NEWS_SITEMAP, "https://www.lefigaro.fr/sitemap_news.xml")
    assert children == []
    assert items == [
        Item(
            link="https://www.lefigaro.fr/politique/remaniement-20240312",
            title="Remaniement : les noms des nouveaux ministres dévoilés",
            date="2024-03-12T17:45:00+01:00",  # publication_date before lastmod
            feed_title="Le Figaro",
        ),
        Item(
            link="https://www.lefigaro.fr/sciences/eclipse-20240312",
            date="2024-03-12T08:00:00+00:00",
        ),
    ]


def test_sitemap_index_gives_child_sitemaps():
    items, children = parse_sitemap(SITEMAP_INDEX, "https://www.lefigaro.fr/sitemap.xml")
    assert items == []
    assert children == [
        "https://www.lefigaro.fr/sitemap_news.xml",
        "https://www.lefigaro.fr/sitemaps/2024-03.xml.gz",
    ]


def test_gzipped_sitemap_one_or_several_members():
    url = "https://www.francebleu.fr/sitemap.xml.gz"
    expected = parse_sitemap(SITEMAP, url)
    assert parse_sitemap(gzip.compress(SITEMAP), url) == expected
    half = len(SITEMAP) // 2
    members = gzip.compress(SITEMAP[:half]) + gzip.compress(SITEMAP[half:])
    assert parse_sitemap(members, url) == expected
    assert kind_of(members) == "sitemap"


def test_truncated_gzip_is_an_error():
    with pytest.raises(FeedError, match="truncated gzip"):
        parse_sitemap(gzip.compress(SITEMAP)[:-20], "https://ex.fr/s.xml.gz")


def test_sitemap_without_namespace_and_old_google_namespace():
    for namespace in (b"", b' xmlns="http://www.google.com/schemas/sitemap/0.84"'):
        body = b"<urlset" + namespace + b"><url><loc>https://ex.fr/a</loc></url></urlset>"
        assert parse_sitemap(body, "") == ([Item(link="https://ex.fr/a")], [])


def test_wrong_parser_for_the_document():
    with pytest.raises(FeedError, match="parse_sitemap"):
        parse_feed(SITEMAP, "https://ex.fr/")
    with pytest.raises(FeedError, match="parse_feed"):
        parse_sitemap(RSS, "https://ex.fr/")
    with pytest.raises(FeedError, match=r"root element is <html> \(an HTML page\?\)"):
        parse_feed(XHTML, "https://ex.fr/")


# ---------------------------------------------------------------------------- kind_of


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (RSS, "rss"),
        (ATOM, "atom"),
        (RDF, "rdf"),
        (SITEMAP, "sitemap"),
        (NEWS_SITEMAP, "sitemap"),
        (SITEMAP_INDEX, "sitemapindex"),
        (gzip.compress(SITEMAP, mtime=0), "sitemap"),
        (gzip.compress(RSS, mtime=0), "rss"),
        (b"\xef\xbb\xbf\r\n  " + RSS, "rss"),  # BOM, whitespace, then the declaration
        (
            b"<!-- g\xc3\xa9n\xc3\xa9r\xc3\xa9 -->\n<?xml-stylesheet href='a.xsl'?>" + ATOM[38:],
            "atom",
        ),
        ('<?xml version="1.0" encoding="UTF-16"?><rss/>'.encode("utf-16"), "rss"),
        (HTML, None),
        (XHTML, None),
        (b"https://ex.fr/a\nhttps://ex.fr/b\n", None),
        (b'{"items": []}', None),
        (b"", None),
        (b"   ", None),
        (b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", None),
        (gzip.compress(b"just text", mtime=0), None),
        (b"\x1f\x8b\x08\x00garbage", None),
    ],
)
def test_kind_of(body, kind):
    assert kind_of(body) == kind


def test_kind_of_content_type_is_only_a_hint():
    assert kind_of(RSS, "text/html; charset=utf-8") == "rss"  # mislabelled: the body wins
    assert kind_of(RSS, "application/octet-stream") == "rss"
    assert kind_of(RSS, "image/png") is None


def test_kind_of_reads_only_the_head():
    body = RSS.replace(b"</rss>", b"") + b"<item>" * 100_000  # truncated, huge: the root says
    assert kind_of(body) == "rss"


# ---------------------------------------------------------------------------- malformed


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<rss><channel><title>A</titl></channel></rss>", "mismatch"),
        (b"<rss><channel><item>", "Premature end"),
        (b"", "empty document"),
        (b"pas du XML", "malformed XML"),
        (b"<rss><channel><title>A &undefined; B</title></channel></rss>", "not defined"),
        (b"<rss><channel><title>A & B</title></channel></rss>", "malformed XML"),
    ],
)
def test_malformed_feed_raises(body, message):
    with pytest.raises(FeedError, match=message):
        parse_feed(body, "https://ex.fr/rss")
    assert issubclass(FeedError, ValueError)


def test_malformed_sitemap_raises():
    with pytest.raises(FeedError, match="malformed XML"):
        parse_sitemap(b"<urlset><url><loc>https://ex.fr/a</loc></url>", "https://ex.fr/")


# ---------------------------------------------------------------------------- hostile


XXE = b"""<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<rss><channel><title>&xxe;</title>
  <item><title>&xxe;</title><link>https://ex.fr/a</link><description>&xxe;</description></item>
</channel></rss>"""

XXE_PARAMETER = b"""<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY % dtd SYSTEM "file:///etc/passwd"> %dtd;]>
<rss><channel><title>T</title><item><link>https://ex.fr/a</link></item></channel></rss>"""

XXE_EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE urlset SYSTEM "file:///etc/passwd">
<urlset><url><loc>https://ex.fr/a</loc></url></urlset>"""


def billion_laughs(root: bytes = b"rss") -> bytes:
    entities = b'<!ENTITY lol0 "lol">' + b"".join(
        b'<!ENTITY lol%d "%s">' % (n, b"&lol%d;" % (n - 1) * 10) for n in range(1, 10)
    )
    return b"<?xml version='1.0'?><!DOCTYPE %s [%s]><%s>&lol9;</%s>" % (
        root,
        entities,
        root,
        root,
    )


@pytest.mark.parametrize("body", [XXE, XXE_PARAMETER], ids=["general", "parameter"])
def test_xxe_is_refused(body):
    with pytest.raises(FeedError, match="declares entities") as caught:
        parse_feed(body, "https://ex.fr/rss")
    assert passwd_line() not in str(caught.value)
    with pytest.raises(FeedError):
        parse_sitemap(body.replace(b"rss", b"urlset"), "https://ex.fr/")


def test_an_external_dtd_is_never_read():
    items, children = parse_sitemap(XXE_EXTERNAL_DTD, "https://ex.fr/")
    assert items == [Item(link="https://ex.fr/a")] and children == []
    assert passwd_line() not in repr(items)
    assert kind_of(XXE_EXTERNAL_DTD) == "sitemap"


@pytest.mark.parametrize("root", [b"rss", b"urlset", b"feed"])
def test_billion_laughs_is_refused_fast(root):
    start = time.perf_counter()
    with pytest.raises(FeedError):
        parse_feed(billion_laughs(root), "https://ex.fr/")
    with pytest.raises(FeedError):
        parse_sitemap(billion_laughs(root), "https://ex.fr/")
    assert kind_of(billion_laughs(root)) in (None, "rss", "sitemap", "atom")
    assert time.perf_counter() - start < 2


@functools.cache
def zeros_gzip(megabytes: int) -> bytes:
    packer = zlib.compressobj(1, zlib.DEFLATED, 31)
    block = b"\0" * (1 << 20)
    return b"".join(packer.compress(block) for _ in range(megabytes)) + packer.flush()


def test_gzip_bomb_stops_at_the_bound():
    bomb = zeros_gzip(MAX_SITEMAP_BYTES // (1 << 20) + 10)  # 60 MiB of zeros, 60 kB packed
    assert len(bomb) < 1 << 20
    start = time.perf_counter()
    with pytest.raises(FeedError, match="MAX_SITEMAP_BYTES"):
        parse_sitemap(bomb, "https://ex.fr/sitemap.xml.gz")
    with pytest.raises(FeedError, match="MAX_SITEMAP_BYTES"):
        parse_feed(bomb, "https://ex.fr/rss.gz")
    assert kind_of(bomb) is None  # reads SNIFF_BYTES of it, no more
    assert time.perf_counter() - start < 3


def test_byte_bounds_can_be_lowered(monkeypatch):
    with pytest.raises(FeedError, match="over 1,000 bytes once decompressed"):
        parse_sitemap(gzip.compress(SITEMAP + b" " * 1000), "", max_bytes=1000)
    with pytest.raises(FeedError, match="over 1,000 bytes"):
        parse_feed(RSS, "", max_bytes=1000)
    monkeypatch.setattr(feeds, "MAX_SITEMAP_BYTES", 1000)
    with pytest.raises(FeedError, match="over 1,000 bytes"):
        parse_sitemap(SITEMAP + b" " * 1000, "")


def test_item_count_is_bounded(monkeypatch, caplog):
    urls = b"".join(b"<url><loc>https://ex.fr/%d</loc></url>" % n for n in range(10))
    body = b"<urlset>" + urls + b"</urlset>"
    items, _ = parse_sitemap(body, "https://ex.fr/", max_items=3)
    assert [item.link for item in items] == [
        "https://ex.fr/0",
        "https://ex.fr/1",
        "https://ex.fr/2",
    ]
    monkeypatch.setattr(feeds, "MAX_ITEMS", 2)
    with caplog.at_level(logging.WARNING, logger="newsum"):
        items, _ = parse_feed(RSS, RSS_URL)
    assert len(items) == 2
    assert "only the first 2 items are read" in caplog.text


def test_a_long_sitemap_streams():
    urls = b"".join(
        b"<url><loc>https://www.ouest-france.fr/a/%d.html</loc><lastmod>2024-03-12</lastmod></url>"
        % n
        for n in range(5_000)
    )
    body = b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">' + urls + b"</urlset>"
    items, _ = parse_sitemap(gzip.compress(body), "https://www.ouest-france.fr/sitemap.xml.gz")
    assert len(items) == 5_000
    assert items[-1] == Item(link="https://www.ouest-france.fr/a/4999.html", date="2024-03-12")


# ---------------------------------------------------------------------------- dates


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("Tue, 12 Mar 2024 18:12:00 +0200", "2024-03-12T18:12:00+02:00"),
        ("Tue, 12 Mar 2024 18:12:00 GMT", "2024-03-12T18:12:00+00:00"),
        ("12 Mar 2024 18:12 +0100", "2024-03-12T18:12:00+01:00"),
        ("2024-03-12T18:12:00Z", "2024-03-12T18:12:00+00:00"),
        ("2024-03-12T18:12:00.5+01:00", "2024-03-12T18:12:00.500000+01:00"),
        ("2024-03-12T18:12+01:00", "2024-03-12T18:12:00+01:00"),
        ("2024-03-12T18:12:00", "2024-03-12T18:12:00"),
        ("2024-03-12", "2024-03-12"),
        ("2024-03", "2024-03"),
        ("  2024-03-12\n", "2024-03-12"),
        ("mardi 12 mars 2024", "mardi 12 mars 2024"),
        ("2024-02-30", "2024-02-30"),
        ("", None),
        (None, None),
    ],
)
def test_iso_date(given, expected):
    assert iso_date(given) == expected


# ---------------------------------------------------------------------------- URL lists


def test_parse_url_list():
    text = (
        "\ufeff# Articles à lire\n"
        "https://www.lemonde.fr/a.html\n"
        "\n"
        "   https://www.ouest-france.fr/b.html   \n"
        "  # commenté : https://ex.fr/no\n"
        "https://www.lemonde.fr/a.html\n"
        "https://www.lefigaro.fr/c.html#commentaires\r\n"
        "pas une URL\n"
    )
    assert parse_url_list(text) == [
        "https://www.lemonde.fr/a.html",
        "https://www.ouest-france.fr/b.html",
        "https://www.lefigaro.fr/c.html#commentaires",
        "pas une URL",
    ]
    assert parse_url_list("") == []


def test_atom_03_and_xml_base_on_the_link():
    body = b"""<feed version="0.3" xmlns="http://purl.org/atom/ns#">
      <title>Le Parisien</title>
      <entry><title>Paris : la Seine baignable</title>
        <link rel="alternate" type="text/html" xml:base="https://www.leparisien.fr/paris/"
              href="seine-2024.php"/>
        <issued>2024-03-12T08:00:00+01:00</issued>
        <author><name>Le Parisien</name></author>
        <summary type="text/html">&lt;b&gt;La maire&lt;/b&gt; promet une baignade.</summary>
      </entry></feed>"""
    assert kind_of(body) == "atom"
    assert parse_feed(body, "https://www.leparisien.fr/atom.xml") == (
        [
            Item(
                link="https://www.leparisien.fr/paris/seine-2024.php",
                title="Paris : la Seine baignable",
                date="2024-03-12T08:00:00+01:00",
                author="Le Parisien",
                summary="La maire promet une baignade.",
                feed_title="Le Parisien",
            )
        ],
        "Le Parisien",
    )

"""French sentence segmentation (used by chunking and lead-N)."""

import pytest

from newsum.pipeline.core.sentences import split_sentences


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        (
            "M. Dupont est arrivé lundi. Il a dit « bonjour ! » puis il est parti.",
            ["M. Dupont est arrivé lundi.", "Il a dit « bonjour ! » puis il est parti."],
        ),
        (
            "Mme Durand et MM. Martin et Petit ont signé. Le Dr Lévy était absent.",
            ["Mme Durand et MM. Martin et Petit ont signé.", "Le Dr Lévy était absent."],
        ),
        (
            "Selon J. Martin, le projet avance. Les travaux ont commencé.",
            ["Selon J. Martin, le projet avance.", "Les travaux ont commencé."],
        ),
        (
            "Né en 52 av. J.-C., il régna longtemps. Sa mort reste un mystère.",
            ["Né en 52 av. J.-C., il régna longtemps.", "Sa mort reste un mystère."],
        ),
        (
            "Le PIB a progressé de 1,5 % en 2023. C'est mieux que prévu ! Vraiment ? Oui.",
            [
                "Le PIB a progressé de 1,5 % en 2023.",
                "C'est mieux que prévu !",
                "Vraiment ?",
                "Oui.",
            ],
        ),
        (
            "Il a dit : « Je pars. » Puis il est sorti.",
            ["Il a dit : « Je pars. »", "Puis il est sorti."],
        ),
        # paragraphs are sentence boundaries even without final punctuation
        (
            "Un titre sans point\nLe corps commence ici.",
            ["Un titre sans point", "Le corps commence ici."],
        ),
        ("", []),
    ],
)
def test_split_sentences(text, sentences):
    assert split_sentences(text) == sentences


def test_no_text_is_lost():
    text = "Premier. M. Durand, av. J.-C., n° 3. Deuxième ! Troisième ?\nQuatrième…"
    assert "".join(split_sentences(text)).replace(" ", "") == text.replace(" ", "").replace(
        "\n", ""
    )

"""Language codes of multilingual translation models (NLLB-200, mBART-50, M2M-100).

Such a model is told the source language through its tokenizer (`src_lang`) and the
target language by forcing the first generated token. newsum detects the scheme from
the tokenizer's vocabulary, so any model of these families works without settings.
"""

from __future__ import annotations

from dataclasses import dataclass

# ISO 639-1 -> the model family's code, for the languages of European and world news.
NLLB = {
    "fr": "fra_Latn", "en": "eng_Latn", "de": "deu_Latn", "es": "spa_Latn", "it": "ita_Latn",
    "pt": "por_Latn", "nl": "nld_Latn", "ca": "cat_Latn", "eu": "eus_Latn",
    "ar": "arb_Arab", "ru": "rus_Cyrl", "uk": "ukr_Cyrl", "pl": "pol_Latn", "ro": "ron_Latn",
    "tr": "tur_Latn", "el": "ell_Grek", "sv": "swe_Latn", "da": "dan_Latn", "fi": "fin_Latn",
    "cs": "ces_Latn", "hu": "hun_Latn", "zh": "zho_Hans", "ja": "jpn_Jpan", "ko": "kor_Hang",
    "vi": "vie_Latn", "hi": "hin_Deva", "fa": "pes_Arab", "he": "heb_Hebr", "sw": "swh_Latn",
}  # fmt: skip
MBART50 = {
    "fr": "fr_XX", "en": "en_XX", "de": "de_DE", "es": "es_XX", "it": "it_IT", "pt": "pt_XX",
    "nl": "nl_XX", "ar": "ar_AR", "ru": "ru_RU", "uk": "uk_UA", "pl": "pl_PL", "ro": "ro_RO",
    "tr": "tr_TR", "sv": "sv_SE", "fi": "fi_FI", "cs": "cs_CZ", "zh": "zh_CN", "ja": "ja_XX",
    "ko": "ko_KR", "vi": "vi_VN", "hi": "hi_IN", "fa": "fa_IR", "he": "he_IL",
}  # fmt: skip
# Every code above is one its family's tokenizer has (NLLB-200 has no Breton, mBART-50 no
# Greek): a language missing here gets a clear error instead of a code the model lacks.


@dataclass(frozen=True)
class LanguageCodes:
    family: str
    codes: dict[str, str]

    def code(self, lang: str) -> str | None:
        """The token that names `lang` in the model's vocabulary (None: no known code)."""
        if self.family == "m2m":
            return f"__{lang}__"
        return self.codes.get(lang)

    def src_lang(self, lang: str) -> str | None:
        """What the tokenizer's `src_lang` takes: M2M-100's wants the ISO code ("de") and
        adds the underscores itself; NLLB's and mBART's want the code token."""
        return lang if self.family == "m2m" else self.code(lang)


def token_id(tokenizer, token: str | None) -> int | None:
    """The id of `token`, or None when the tokenizer does not know it.

    Asked through convert_tokens_to_ids, not get_vocab(): M2M-100's tokenizer keeps its
    language codes outside its vocabulary dict, and NLLB's dict has 256k entries."""
    if token is None:
        return None
    found = tokenizer.convert_tokens_to_ids(token)
    return None if found is None or found == tokenizer.unk_token_id else found


def detect(tokenizer) -> LanguageCodes | None:
    """The code scheme of a multilingual tokenizer, or None for a one-pair model."""
    if token_id(tokenizer, "eng_Latn") is not None:
        return LanguageCodes("nllb", NLLB)
    if token_id(tokenizer, "en_XX") is not None:
        return LanguageCodes("mbart", MBART50)
    if token_id(tokenizer, "__en__") is not None:
        return LanguageCodes("m2m", {})
    return None

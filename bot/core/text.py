"""Language detection, sentence splitting and text normalisation for French and English."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from bot.models import Lang

LANGS: tuple[Lang, ...] = ("fr", "en")
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u00a0": " ", "\u202f": " "})


@lru_cache(maxsize=1)
def _identifier():
    # Restricted to the two languages the bot speaks: far more reliable on short questions.
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    ident = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    ident.set_languages(list(LANGS))
    return ident


def detect_lang(text: str, default: Lang = "fr", min_confidence: float = 0.75) -> Lang:
    """The language of `text` ("fr" or "en"), or `default` when the text is too short to tell."""
    letters = re.sub(r"[^A-Za-zÀ-ÿ' ]", " ", text)
    if len(letters.split()) < 2:
        return default
    lang, prob = _identifier().classify(text)
    return lang if prob >= min_confidence else default


def clean(text: str) -> str:
    """Typographic apostrophes and non-breaking spaces made plain (offsets are preserved)."""
    return text.translate(_APOSTROPHES)


def fold(text: str) -> str:
    """Lowercase without accents, for comparisons that should ignore them."""
    text = unicodedata.normalize("NFKD", clean(text).lower())
    return "".join(c for c in text if not unicodedata.combining(c))


@lru_cache(maxsize=2)
def _segmenter(lang: Lang):
    import pysbd

    return pysbd.Segmenter(language=lang, clean=False, char_span=True)


def sentence_spans(text: str, lang: Lang) -> list[tuple[int, int]]:
    """Character spans of the sentences of `text`, whitespace trimmed."""
    spans: list[tuple[int, int]] = []
    pos = 0
    for seg in _segmenter(lang).segment(text):
        # pysbd's spans can drift on repeated sentences: find each sentence from where the last ended.
        raw = seg.sent
        start = text.find(raw, pos)
        if start < 0:
            start = max(pos, seg.start)
        end = start + len(raw)
        pos = end
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if end > start:
            spans.append((start, end))
    return spans


def paragraph_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the non-empty lines/paragraphs of `text` (one or more newlines separate them)."""
    return [(m.start(), m.end()) for m in re.finditer(r"[^\n]*\S[^\n]*", text)]

"""Word translations between English and French from the FreeDict dictionaries (dictd format).

The bundled embedding model is English-only, so an English question finds French passages mostly
through words both share (names, figures). Adding the dictionary translations of the question's
words to the lexical query is classic dictionary-based cross-language retrieval: it needs no model
download, works for any article, and degrades to nothing when the dictionaries are not installed
(Debian packages dict-freedict-eng-fra and dict-freedict-fra-eng, installed by ./dev).
"""

from __future__ import annotations

import gzip
import logging
import os
import re
from functools import lru_cache
from pathlib import Path

from bot.core.text import fold
from bot.models import Lang

log = logging.getLogger(__name__)

DICT_DIRS = [Path(p) for p in os.environ.get("NEWSBOT_DICT_DIRS", "/usr/share/dictd").split(os.pathsep)]
_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
MAX_PER_WORD = 3


def _b64(s: str) -> int:
    n = 0
    for c in s:
        n = n * 64 + _B64.index(c)
    return n


def _read_dictd(name: str) -> dict[str, list[str]]:
    """headword -> translations (first of each sense first) from a dictd .index/.dict.dz pair."""
    for folder in DICT_DIRS:
        index, data = folder / f"{name}.index", folder / f"{name}.dict.dz"
        if index.exists() and data.exists():
            break
    else:
        return {}
    body = gzip.open(data).read()
    out: dict[str, list[str]] = {}
    for line in index.read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) != 3 or parts[0].startswith("00database") or " " in parts[0]:
            continue
        entry = body[_b64(parts[1]) : _b64(parts[1]) + _b64(parts[2])].decode("utf-8", "replace")
        firsts: list[str] = []
        rest: list[str] = []
        for sense in entry.splitlines()[1:]:
            sense = re.sub(r"^\s*\d+\.\s*", "", sense).strip()
            words = [w.strip() for w in sense.split(",") if w.strip() and "/" not in w]
            if words:
                firsts.append(words[0])
                rest.extend(words[1:])
        translations = [w for w in firsts + rest if " " not in w]
        if translations:
            out.setdefault(parts[0].lower(), []).extend(translations)
    return out


@lru_cache(maxsize=1)
def _tables() -> dict[tuple[str, str], dict[str, list[str]]]:
    en_fr = _read_dictd("freedict-eng-fra")
    fr_en = _read_dictd("freedict-fra-eng")
    if not en_fr and not fr_en:
        log.warning(
            "FreeDict dictionaries not found in %s: English-French retrieval will be weaker", DICT_DIRS
        )
    # Each direction is completed by the other one read backwards.
    for src, table in ((fr_en, en_fr), (en_fr, fr_en)):
        for word, translations in src.items():
            for t in translations[:2]:
                table.setdefault(t.lower(), [])
                if word not in table[t.lower()]:
                    table[t.lower()].append(word)
    return {
        ("en", "fr"): {fold(k): v for k, v in en_fr.items()},
        ("fr", "en"): {fold(k): v for k, v in fr_en.items()},
    }


def _lemmas(word: str, lang: Lang) -> list[str]:
    """The word and the forms a dictionary is likely to list it under (plural/inflection removed)."""
    forms = [word]
    if lang == "en":
        for suffix, repl in (
            ("ies", "y"),
            ("es", ""),
            ("s", ""),
            ("ied", "y"),
            ("ed", ""),
            ("ed", "e"),
            ("ing", ""),
            ("ing", "e"),
        ):
            if word.endswith(suffix) and len(word) - len(suffix) >= 3:
                forms.append(word[: -len(suffix)] + repl)
    else:
        for suffix, repl in (
            ("aux", "al"),
            ("es", ""),
            ("s", ""),
            ("x", ""),
            ("e", ""),
            ("ee", "e"),
            ("ees", "e"),
        ):
            if word.endswith(suffix) and len(word) - len(suffix) >= 3:
                forms.append(word[: -len(suffix)] + repl)
    return forms


def translate_word(word: str, src: Lang, dst: Lang) -> list[str]:
    """Up to MAX_PER_WORD translations of one word from `src` to `dst` (empty when unknown)."""
    if src == dst:
        return []
    table = _tables()[(src, dst)]
    for form in _lemmas(fold(word), src):
        if form in table:
            return table[form][:MAX_PER_WORD]
    return []

"""Machine translation of passages between French and English with Apertium, when indexing.

The bundled embedding model is English-only, so an English question meets a French passage
badly in both the dense and the lexical index. Translating every passage into the other language
once, when it is indexed, lets the question meet the passage in its own language: the English
translation is embedded beside the original and the translated words are indexed for BM25. Debian
ships Apertium with English-Spanish and French-Spanish pairs but no direct English-French pair, so
the translation pivots through Spanish; the quality is rough but keeps the content words, which is
what retrieval needs. Questions are translated when asked by `live_translate`, which reuses the
modes defined here. Without Apertium (or with NEWSBOT_TRANSLATE=off) nothing is translated.
"""

from __future__ import annotations

import html
import logging
import re
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

from bot.models import Lang

log = logging.getLogger(__name__)

MODES_DIR = Path("/usr/share/apertium/modes")
# Apertium modes chained for each direction (through Spanish).
PIVOTS: dict[tuple[str, str], tuple[str, ...]] = {
    ("fr", "en"): ("fr-es", "spa-eng"),
    ("en", "fr"): ("eng-spa", "es-fr"),
}
CHUNK = 400  # items per Apertium call: bounds memory and the cost of one failure
TIMEOUT_S = 600


@lru_cache(maxsize=4)
def available(src: Lang, dst: Lang) -> bool:
    """Whether Apertium and the modes for this direction are installed."""
    modes = PIVOTS.get((src, dst))
    return (
        bool(modes)
        and shutil.which("apertium") is not None
        and all((MODES_DIR / f"{m}.mode").exists() for m in modes)
    )


def _run_chain(modes: tuple[str, ...], data: bytes) -> bytes:
    # Each hop reads the previous one's HTML: tags pass through Apertium untouched, which keeps
    # the items apart and in order.
    procs: list[subprocess.Popen] = []
    stdin = subprocess.PIPE
    for mode in modes:
        p = subprocess.Popen(
            ["apertium", "-u", "-f", "html", mode],
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        if procs:
            procs[-1].stdout.close()  # the next process owns the pipe now
        procs.append(p)
        stdin = p.stdout
    first, last = procs[0], procs[-1]
    try:
        first.stdin.write(data)
        first.stdin.close()
        out = last.stdout.read()
        for p in procs:
            p.wait(timeout=TIMEOUT_S)
    except Exception:
        for p in procs:
            p.kill()
        raise
    if any(p.returncode for p in procs):
        raise RuntimeError(f"apertium exited with {[p.returncode for p in procs]}")
    return out


_ITEM = re.compile(r"<p>(.*?)</p>", re.DOTALL)


def translate(texts: list[str], src: Lang, dst: Lang) -> list[str] | None:
    """Translate each text from `src` to `dst`; None when it cannot be done (no Apertium, an error)."""
    if src == dst:
        return list(texts)
    if not texts:
        return []
    if not available(src, dst):
        return None
    out: list[str] = []
    for start in range(0, len(texts), CHUNK):
        chunk = texts[start : start + CHUNK]
        doc = "\n".join(f"<p>{html.escape(' '.join(t.split()), quote=False)}</p>" for t in chunk)
        try:
            result = _run_chain(PIVOTS[(src, dst)], doc.encode("utf-8")).decode("utf-8", "replace")
        except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
            log.warning("Translation %s->%s failed (%s): indexing without it", src, dst, exc)
            return None
        items = [html.unescape(m.group(1)).strip() for m in _ITEM.finditer(result)]
        if len(items) != len(chunk):
            log.warning(
                "Translation %s->%s returned %d items for %d: indexing without it",
                src,
                dst,
                len(items),
                len(chunk),
            )
            return None
        out.extend(items)
    return out

"""Machine translation of passages between French and English with Apertium, at index time.

The bundled embedding model is English-only, so an English question meets a French passage
badly in both the dense and the lexical index. Translating every passage into the other language
once, when it is indexed, lets the question meet the passage in its own language: the English
translation is embedded beside the original and the translated words are indexed for BM25. Debian
ships Apertium with English-Spanish and French-Spanish pairs but no direct English-French pair, so
the translation pivots through Spanish; the quality is rough but keeps the content words, which is
what retrieval needs. A French question is also translated into English when it is asked (the
model understands English far better), through pipelines kept running so that it costs milliseconds
(`LiveTranslator`). Without Apertium (or with NEWSBOT_TRANSLATE=off) nothing is translated.
"""

from __future__ import annotations

import atexit
import html
import logging
import os
import re
import selectors
import shutil
import signal
import subprocess
import threading
import time
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


# Characters the Apertium stream format reserves.
_RESERVED = set("\\^$[]{}/@<>*#+~")
# What ends one block of text in the stream format (a sentence end and an empty superblank).
_BLOCK_END = ".[][\n]"
QUESTION_TIMEOUT_S = 2.0
# After this many failures in a row a direction is given up for the life of the process.
MAX_FAILURES = 3


def _escape(text: str) -> str:
    # Reserved characters are dropped rather than escaped: some stages still misread them, and
    # retrieval needs the words, not the punctuation.
    return " ".join("".join(" " if c in _RESERVED else c for c in text).split())


def _unescape(text: str) -> str:
    text = text.removesuffix(_BLOCK_END).replace("[]", "")
    text = re.sub(r"<[^<>\s]*>", " ", text)  # tags of words a stage could not generate
    return " ".join(re.sub(r"\\(.)", r"\1", text).split())


class LiveTranslator:
    """Translates short texts (questions) through Apertium pipelines kept running in null-flush
    mode: about 5 ms a question instead of 300 ms for starting the twenty processes of a chain."""

    def __init__(self, timeout: float = QUESTION_TIMEOUT_S) -> None:
        self.timeout = timeout
        self._procs: dict[tuple[str, str], subprocess.Popen] = {}
        self._failures: dict[tuple[str, str], int] = {}
        self._locks = {pair: threading.Lock() for pair in PIVOTS}

    def translate(self, text: str, src: Lang, dst: Lang) -> str | None:
        """`text` in `dst`, or None when it cannot be done now (no Apertium, a failure, a timeout)."""
        pair = (src, dst)
        if src == dst or pair not in PIVOTS or not available(src, dst) or not text.strip():
            return None
        with self._locks[pair]:
            if self._failures.get(pair, 0) >= MAX_FAILURES:
                return None
            try:
                out = self._ask(pair, _escape(text))
            except (OSError, ValueError, TimeoutError, subprocess.SubprocessError) as exc:
                self._failures[pair] = self._failures.get(pair, 0) + 1
                log.warning("Question translation %s->%s failed (%s); answering without it", src, dst, exc)
                self._stop(pair)
                return None
            self._failures[pair] = 0
            return _unescape(out) or None

    def _ask(self, pair: tuple[str, str], escaped: str) -> str:
        proc = self._procs.get(pair)
        if proc is None or proc.poll() is not None:
            proc = self._procs[pair] = self._start(pair)
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(escaped.encode("utf-8") + _BLOCK_END.encode() + b"\0")
        proc.stdin.flush()
        # Read up to the null byte that ends this block, within the timeout.
        buf = b""
        deadline = time.monotonic() + self.timeout
        with selectors.DefaultSelector() as sel:
            sel.register(proc.stdout, selectors.EVENT_READ)
            while not buf.endswith(b"\0"):
                left = deadline - time.monotonic()
                if left <= 0 or not sel.select(left):
                    raise TimeoutError(f"no answer from apertium within {self.timeout} s")
                chunk = os.read(proc.stdout.fileno(), 65536)
                if not chunk:
                    raise OSError("apertium stopped")
                buf += chunk
        return buf[:-1].decode("utf-8", "replace")

    def _start(self, pair: tuple[str, str]) -> subprocess.Popen:
        # `apertium-wblank-mode -z` writes a mode's pipeline with every stage in null-flush mode;
        # the two hops through Spanish are chained in one shell.
        stages = []
        for mode in PIVOTS[pair]:
            out = subprocess.run(
                ["apertium-wblank-mode", "-z", str(MODES_DIR / f"{mode}.mode")],
                capture_output=True,
                text=True,
                timeout=10,
                check=True,
            )
            stages.append(out.stdout.strip())
        # $1 = "-n": no marks on unknown words; $2: the tagger's default options.
        return subprocess.Popen(
            ["bash", "-c", " | ".join(stages), "apertium-chain", "-n", ""],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # one process group: close() stops every stage at once
        )

    def _stop(self, pair: tuple[str, str]) -> None:
        proc = self._procs.pop(pair, None)
        if proc is None:
            return
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        proc.wait()

    def close(self) -> None:
        """Stop the running pipelines (they start again on the next call)."""
        for pair, lock in self._locks.items():
            with lock:
                self._stop(pair)


_live: LiveTranslator | None = None
_live_lock = threading.Lock()


def live_translator() -> LiveTranslator:
    """The process's one LiveTranslator (its pipelines are shared by every pipeline object)."""
    global _live
    with _live_lock:
        if _live is None:
            _live = LiveTranslator()
            atexit.register(_live.close)
        return _live

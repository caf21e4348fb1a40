"""Question translation with Apertium pipelines kept running, so that a question costs milliseconds.

Starting Apertium's two pivot chains (about 25 processes loading their dictionaries) costs 0.3 to
0.5 s; a question cannot pay that. Each direction's chain is started once and kept running in
null-flush mode (`apertium-wblank-mode -z`): a block of text ended by a NUL byte comes back,
translated, ended by a NUL byte. A chain that fails or stalls is killed; after repeated failures the
direction rests for a while and the bot answers without translation meanwhile.
"""

from __future__ import annotations

import atexit
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

from bot.core.translate.apertium import MODES_DIR, PIVOTS, available
from bot.models import Lang

log = logging.getLogger(__name__)

# Characters the Apertium stream format reserves: a backslash makes them plain text.
_RESERVED = set("\\^$[]{}/@<>*#+~")
# Control characters (NUL above all: it ends a block) never reach the stream.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# What ends one block of text in the stream format (a sentence end and an empty superblank).
_BLOCK_END = ".[][\n]"
# The longest a question waits for its translation (or for the lock another question holds).
QUESTION_TIMEOUT_S = 2.0
# The longest `start` waits for a chain's ~25 processes to start, load dictionaries and answer.
START_TIMEOUT_S = 15.0
# After this many failures in a row a direction rests for REST_S before it is tried again.
MAX_FAILURES = 3
REST_S = 300.0


@lru_cache(maxsize=4)
def live_available(src: Lang, dst: Lang) -> bool:
    """Whether questions can be translated: Apertium's modes, and the tool writing null-flush chains."""
    return available(src, dst) and shutil.which("apertium-wblank-mode") is not None


def _escape(text: str) -> str:
    # Lone surrogates (possible in JSON input) cannot be encoded: they become "?".
    text = text.encode("utf-8", "replace").decode("utf-8")
    text = " ".join(_CONTROL.sub(" ", text).split())
    return "".join("\\" + c if c in _RESERVED else c for c in text)


def _unescape(text: str) -> str:
    """Apertium's output as plain text: escapes undone, tags of words it could not generate dropped."""
    text = text.removesuffix(_BLOCK_END)
    out: list[str] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
            continue
        if c == "<":
            end = text.find(">", i)
            inner = text[i + 1 : end] if end != -1 else ""
            if inner and "<" not in inner and not any(ch.isspace() for ch in inner):
                out.append(" ")
                i = end + 1
                continue
        if text.startswith("[]", i):
            i += 2
            continue
        out.append(c)
        i += 1
    return " ".join("".join(out).split())


class LiveTranslator:
    """Translates short texts (questions) through Apertium chains kept running, one per direction.

    `start` brings a chain up (blocking, up to `start_timeout`); `translate` never does: a question
    that finds no running chain asks for one in the background and goes without translation, so no
    question waits more than `timeout`.
    """

    def __init__(self, timeout: float = QUESTION_TIMEOUT_S, start_timeout: float = START_TIMEOUT_S) -> None:
        self.timeout = timeout
        self.start_timeout = start_timeout
        self._procs: dict[tuple[str, str], subprocess.Popen] = {}
        self._failures: dict[tuple[str, str], int] = {}
        self._resting_until: dict[tuple[str, str], float] = {}
        self._starting: set[tuple[str, str]] = set()
        self._locks = {pair: threading.Lock() for pair in PIVOTS}

    def start(self, src: Lang, dst: Lang) -> bool:
        """Bring the chain for this direction up and check it answers; whether it is ready."""
        pair = (src, dst)
        if pair not in PIVOTS or not live_available(src, dst):
            return False
        lock = self._locks[pair]
        if not lock.acquire(timeout=self.start_timeout):
            return False
        try:
            if self._running(pair):
                return True
            if time.monotonic() < self._resting_until.get(pair, 0.0):
                return False
            try:
                self._procs[pair] = self._start(pair)
                self._ask(pair, "Bonjour" if src == "fr" else "Hello", self.start_timeout)
            except (OSError, ValueError, TimeoutError, subprocess.SubprocessError) as exc:
                self._failed(pair, exc)
                return False
            return True
        finally:
            self._starting.discard(pair)
            lock.release()

    def translate(self, text: str, src: Lang, dst: Lang) -> str | None:
        """`text` in `dst`, or None when it cannot be done now (no Apertium, a failure, a timeout)."""
        pair = (src, dst)
        if src == dst or pair not in PIVOTS or not text.strip() or not live_available(src, dst):
            return None
        lock = self._locks[pair]
        # A question never waits long behind another one (or behind a start): it goes without.
        if not lock.acquire(timeout=self.timeout):
            return None
        try:
            if not self._running(pair):
                self._start_in_background(pair)
                return None
            try:
                out = self._ask(pair, _escape(text), self.timeout)
            except (OSError, TimeoutError, subprocess.SubprocessError) as exc:
                self._failed(pair, exc)
                return None
            self._failures[pair] = 0
            return _unescape(out) or None
        finally:
            lock.release()

    def _running(self, pair: tuple[str, str]) -> bool:
        proc = self._procs.get(pair)
        return proc is not None and proc.poll() is None

    def _start_in_background(self, pair: tuple[str, str]) -> None:
        # Called with the lock held: at most one start per direction at a time, none while resting.
        if pair in self._starting or time.monotonic() < self._resting_until.get(pair, 0.0):
            return
        self._starting.add(pair)
        threading.Thread(
            target=self.start, args=pair, name=f"apertium-{pair[0]}-{pair[1]}", daemon=True
        ).start()

    def _failed(self, pair: tuple[str, str], exc: Exception) -> None:
        """Stop a failed chain; after MAX_FAILURES in a row the direction rests for REST_S."""
        self._stop(pair)
        failures = self._failures[pair] = self._failures.get(pair, 0) + 1
        if failures >= MAX_FAILURES:
            self._failures[pair] = 0
            self._resting_until[pair] = time.monotonic() + REST_S
            log.warning(
                "Question translation %s->%s failed %d times (%s); off for %.0f s",
                *pair,
                failures,
                exc,
                REST_S,
            )
        else:
            log.warning("Question translation %s->%s failed (%s); answering without it", *pair, exc)

    def _ask(self, pair: tuple[str, str], escaped: str, timeout: float) -> str:
        proc = self._procs[pair]
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(escaped.encode("utf-8") + _BLOCK_END.encode() + b"\0")
        proc.stdin.flush()
        # Read up to the NUL byte that ends this block, within the timeout.
        buf = b""
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as sel:
            sel.register(proc.stdout, selectors.EVENT_READ)
            while not buf.endswith(b"\0"):
                left = deadline - time.monotonic()
                if left <= 0 or not sel.select(left):
                    raise TimeoutError(f"no answer from apertium within {timeout} s")
                chunk = os.read(proc.stdout.fileno(), 65536)
                if not chunk:
                    raise OSError("apertium stopped")
                buf += chunk
        if buf.count(b"\0") != 1:
            # More than one block came back: the chain is out of step with its questions.
            raise OSError("apertium answered more blocks than it was sent")
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
            if not out.stdout.strip():
                raise OSError(f"apertium-wblank-mode wrote no pipeline for {mode}")
            stages.append(out.stdout.strip())
        # $1 = "-n": no marks on unknown words; $2: the tagger's default options.
        return subprocess.Popen(
            ["bash", "-c", " | ".join(stages), "apertium-chain", "-n", ""],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # one process group: stopping it stops every stage at once
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
        """Stop the running chains (`start` brings them up again)."""
        for pair, lock in self._locks.items():
            # At exit a start may still hold the lock: do not wait for it, stop what is there.
            locked = lock.acquire(timeout=self.timeout)
            try:
                self._stop(pair)
            finally:
                if locked:
                    lock.release()


_live: LiveTranslator | None = None
_live_lock = threading.Lock()


def live_translator() -> LiveTranslator:
    """The process's one LiveTranslator (its chains are shared by every pipeline object)."""
    global _live
    with _live_lock:
        if _live is None:
            _live = LiveTranslator()
            atexit.register(_live.close)
        return _live

"""Question translation through Apertium chains kept running (core/live_translate.LiveTranslator)."""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from bot.core.translate import live as lt
from bot.core.translate.live import LiveTranslator, live_available

needs_apertium = pytest.mark.skipif(
    not live_available("fr", "en"),
    reason="Apertium, its fr-es/spa-eng pairs or apertium-wblank-mode are missing",
)


@pytest.fixture
def translator():
    t = LiveTranslator()
    if live_available("fr", "en"):
        assert t.start("fr", "en")
    yield t
    t.close()


def fresh(text: str) -> str | None:
    """What a translator that has seen nothing else makes of `text`."""
    t = LiveTranslator()
    try:
        assert t.start("fr", "en")
        return t.translate(text, "fr", "en")
    finally:
        t.close()


@needs_apertium
def test_a_question_never_starts_a_chain_itself_it_asks_for_one_in_the_background():
    t = LiveTranslator()
    try:
        began = time.monotonic()
        assert t.translate("Combien de gigawatts ?", "fr", "en") is None
        assert time.monotonic() - began < t.timeout
        deadline = time.monotonic() + t.start_timeout
        while not t._running(("fr", "en")):
            assert time.monotonic() < deadline, "the background start did not bring the chain up"
            time.sleep(0.05)
        assert t.translate("Combien de gigawatts ?", "fr", "en") == fresh("Combien de gigawatts ?")
    finally:
        t.close()


@needs_apertium
def test_a_french_question_comes_back_in_english(translator):
    out = translator.translate("Qui sera l'un des premiers clients du rack d'AMD ?", "fr", "en")
    assert out is not None
    words = set(out.lower().replace("?", " ").split())
    assert {"first", "clients", "amd"} <= words, out
    # Kept running: a second question reuses the same processes.
    proc = translator._procs[("fr", "en")]
    assert translator.translate("Combien de gigawatts ?", "fr", "en")
    assert translator._procs[("fr", "en")] is proc


@needs_apertium
def test_reserved_characters_survive_and_the_stream_stays_in_step(translator):
    out = translator.translate("C++ et C# coûtent 3 $ [note] a/b", "fr", "en")
    assert out is not None and "C++" in out and "C#" in out and "$" in out and "[note]" in out
    # The next answer is the next question's, not a leftover of the previous one.
    assert translator.translate("Combien de gigawatts ?", "fr", "en") == fresh("Combien de gigawatts ?")


@needs_apertium
def test_a_nul_byte_or_control_characters_cannot_desynchronise_the_chain(translator):
    # A NUL ends a block in the stream: inside a question it would make Apertium answer twice, and
    # every later question would get the previous one's translation.
    out = translator.translate("Bonjour\x00 le monde\x07\r\n !", "fr", "en")
    assert out is not None and "\x00" not in out
    # A lone surrogate (possible in JSON input) is the question's problem, not the chain's.
    assert translator.translate("Combien\ud800 de gigawatts ?", "fr", "en")
    assert translator._failures.get(("fr", "en"), 0) == 0
    expected = fresh("Combien de gigawatts ?")
    assert expected
    for _ in range(3):
        assert translator.translate("Combien de gigawatts ?", "fr", "en") == expected


def test_nothing_to_translate_gives_none(translator):
    assert translator.translate("   ", "fr", "en") is None
    assert translator.translate("Hello", "en", "en") is None


class _Silent(LiveTranslator):
    """A chain that reads its input and never answers, as a hung Apertium would."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.started = 0

    def _start(self, pair):
        self.started += 1
        return subprocess.Popen(
            ["sleep", "30"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, start_new_session=True
        )


def test_a_hung_chain_is_stopped_and_rests_after_repeated_failures(monkeypatch):
    monkeypatch.setattr(lt, "live_available", lambda src, dst: True)
    t = _Silent(timeout=0.2, start_timeout=0.2)
    try:
        for _ in range(lt.MAX_FAILURES):
            assert t.start("fr", "en") is False
            assert ("fr", "en") not in t._procs, "the hung chain is killed, not left running"
        assert t.started == lt.MAX_FAILURES
        # Resting: no attempt, neither by start nor by a question...
        assert t.start("fr", "en") is False and t.translate("Une question ?", "fr", "en") is None
        assert t.started == lt.MAX_FAILURES
        # ...until the rest is over: then it is tried again.
        t._resting_until[("fr", "en")] = time.monotonic() - 1
        assert t.start("fr", "en") is False
        assert t.started == lt.MAX_FAILURES + 1
    finally:
        t.close()


def test_no_question_waits_for_a_slow_start_longer_than_its_own_timeout(monkeypatch):
    monkeypatch.setattr(lt, "live_available", lambda src, dst: True)
    t = _Silent(timeout=0.2, start_timeout=3.0)
    try:
        for _ in range(3):
            began = time.monotonic()
            assert t.translate("Une question ?", "fr", "en") is None
            # The first asks for a start in the background; the others find it holding the lock.
            assert time.monotonic() - began < 1.0
        deadline = time.monotonic() + 2
        while t.started == 0:
            assert time.monotonic() < deadline, "no start was asked for"
            time.sleep(0.02)
        assert t.started == 1, "one start at a time"
    finally:
        t.close()


def test_a_missing_chain_writer_is_a_clean_failure(monkeypatch):
    monkeypatch.setattr(lt, "live_available", lambda src, dst: True)

    def missing(*args, **kwargs):
        raise FileNotFoundError("apertium-wblank-mode")

    monkeypatch.setattr(lt.subprocess, "run", missing)
    t = LiveTranslator()
    assert t.start("fr", "en") is False
    assert t.translate("Une question ?", "fr", "en") is None
    assert not t._procs


def test_without_apertium_wblank_mode_questions_are_not_translated(monkeypatch):
    lt.live_available.cache_clear()
    monkeypatch.setattr(lt.shutil, "which", lambda name: None)
    try:
        assert live_available("fr", "en") is False
        assert LiveTranslator().translate("Une question ?", "fr", "en") is None
    finally:
        lt.live_available.cache_clear()


@needs_apertium
def test_close_stops_every_stage_and_start_brings_the_chain_back(translator):
    assert translator.translate("Bonjour", "fr", "en")
    proc = translator._procs[("fr", "en")]
    translator.close()
    assert proc.poll() is not None and not translator._procs
    # Every stage of the chain was in the process group, and none is left.
    deadline = time.monotonic() + 5
    while True:
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            break
        assert time.monotonic() < deadline, "a stage of the Apertium chain is still running"
        time.sleep(0.05)
    assert translator.start("fr", "en")
    assert translator.translate("Bonjour", "fr", "en") == fresh("Bonjour")

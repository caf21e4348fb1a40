"""Question translation through Apertium pipelines kept running (core/translate.LiveTranslator)."""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from bot.core import translate as tr
from bot.core.translate import LiveTranslator, available

needs_apertium = pytest.mark.skipif(
    not available("fr", "en"), reason="Apertium and its fr-es/spa-eng pairs are not installed"
)


@pytest.fixture
def translator():
    t = LiveTranslator()
    yield t
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
def test_reserved_characters_and_line_breaks_do_not_break_the_stream(translator):
    out = translator.translate("Prix : 3 $ [note] a/b \\ ^x^ {y} @z <b> #1 ~\nfin", "fr", "en")
    assert out is not None and "<" not in out and "\n" not in out
    # The stream is still in step: the next answer is the next question's, not a leftover.
    assert translator.translate("Bonjour", "fr", "en") == "Greeting"


def test_nothing_to_translate_gives_none(translator):
    assert translator.translate("   ", "fr", "en") is None
    assert translator.translate("Hello", "en", "en") is None


class _Silent(LiveTranslator):
    """A chain that reads its input and never answers, as a hung Apertium would."""

    started = 0

    def _start(self, pair):
        type(self).started += 1
        return subprocess.Popen(
            ["sleep", "30"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, start_new_session=True
        )


def test_a_hung_pipeline_times_out_is_stopped_and_given_up_after_repeated_failures(monkeypatch):
    monkeypatch.setattr(tr, "available", lambda src, dst: True)
    t = _Silent(timeout=0.2)
    try:
        for _ in range(tr.MAX_FAILURES):
            assert t.translate("Une question ?", "fr", "en") is None
            assert ("fr", "en") not in t._procs, "the hung chain is killed, not left running"
        assert _Silent.started == tr.MAX_FAILURES
        # Given up: no more attempts (each would cost the timeout).
        assert t.translate("Une question ?", "fr", "en") is None
        assert _Silent.started == tr.MAX_FAILURES
    finally:
        t.close()


@needs_apertium
def test_close_stops_every_stage_and_the_next_call_starts_again(translator):
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
    assert translator.translate("Bonjour", "fr", "en") == "Greeting"

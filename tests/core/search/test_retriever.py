"""Query reading in the retriever: the words that count for BM25."""

from __future__ import annotations

from bot.core.search.retriever import TRANSLATION_WEIGHT, Query


def test_a_translated_question_adds_its_new_words_at_a_lower_weight():
    question = "Qui sera l'un des premiers clients du rack d'AMD ?"
    plain = Query(question, "fr").concepts()
    translated = Query(
        question, "fr", translation="Who will be one of the first customers of the AMD rack?"
    ).concepts()
    own = {c.word: c.weight for c in plain}
    assert {c.word: c.weight for c in translated[: len(plain)]} == own
    added = {c.word: c.weight for c in translated[len(plain) :]}
    # New words only ("rack", "amd" are the question's own already), each at the lower weight.
    assert {"first", "customers"} <= set(added) and not set(added) & set(own)
    assert set(added.values()) == {TRANSLATION_WEIGHT}

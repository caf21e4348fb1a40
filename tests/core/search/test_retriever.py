"""The fusion and the question's forms: how dense and lexical scores combine, how follow-ups search."""

from __future__ import annotations

import numpy as np

from bot.core.search.question import analyse
from bot.core.search.retriever import fuse
from bot.models import Answer, Conversation


def test_fusion_scales_each_signal_over_the_candidates():
    dense = {0: 0.80, 1: 0.90, 2: 0.85}
    lexical = np.array([4.0, 0.0, 2.0, 0.0], dtype=np.float32)
    fused = fuse(dense, lexical, weight=0.3)
    # Dense min-max over the candidates (0.80 -> 0, 0.90 -> 1), BM25 as a share of the best.
    assert fused[0] == 0.3 * 1.0
    assert fused[1] == 0.7 * 1.0
    assert abs(fused[2] - (0.7 * 0.5 + 0.3 * 0.5)) < 1e-9
    assert 3 not in fused  # neither signal proposed it


def test_a_passage_only_bm25_finds_is_a_candidate_at_the_lowest_cosine():
    fused = fuse({0: 0.9, 1: 0.7}, np.array([0.0, 0.0, 5.0], dtype=np.float32), weight=0.3)
    assert fused[2] == 0.3  # lowest cosine scales to 0, best BM25 to 1
    assert fused[0] == 0.7


def test_equal_scores_do_not_divide_by_zero():
    fused = fuse({0: 0.8, 1: 0.8}, np.zeros(2, dtype=np.float32))
    assert fused == {0: 0.0, 1: 0.0}


def test_a_first_question_is_searched_alone():
    q = analyse("Combien de gigawatts AMD fournira-t-il ?")
    assert q.lang == "fr" and q.previous is None
    assert [text for text, _ in q.forms] == [q.text]
    # Stemmed in both languages, so that a figure or a name meets passages of either.
    assert "gigawatt" in q.terms and "amd" in q.terms


def test_in_a_conversation_the_previous_question_joins_the_search():
    conv = Conversation()
    conv.add("Quel contrat Oracle a-t-il signé avec OpenAI ?", Answer("q", "a", (), False, "fr"))
    q = analyse("Sur combien d'années ?", conv)
    (alone, own), (joined, both) = q.forms
    assert alone == "Sur combien d'années ?" and own == q.terms
    assert joined == "Quel contrat Oracle a-t-il signé avec OpenAI ? Sur combien d'années ?"
    assert "oracl" in both and set(own) <= set(both)


def test_a_short_follow_up_takes_the_conversations_language():
    conv = Conversation()
    conv.add("What stake can OpenAI take in AMD?", Answer("q", "a", (), False, "en"))
    assert analyse("Et 2027 ?", conv).lang == "en"

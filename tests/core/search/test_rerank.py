"""The late-interaction re-reading: rare question words weigh more, the passage that holds the
question's words reads closer, and the re-reading is added to the fused score as one scaled signal."""

from __future__ import annotations

import numpy as np
import pytest

from bot.core.index.embedder import TokenVectors
from bot.core.index.tokens import TokenIndex
from bot.core.search.rerank import late_interaction, token_weights
from bot.core.search.retriever import rescore


def tokens(ids: list[int], dim: int = 8) -> TokenVectors:
    """Token vectors where token id j is the unit vector along axis j (ids below `dim`)."""
    return TokenVectors(np.array(ids, dtype=np.int32), np.eye(dim, dtype=np.float16)[ids])


# Three passages: token 0 (the article's subject) is in all three, token 1 in one, token 2 in one.
CORPUS = TokenIndex.from_texts([tokens([0, 3]), tokens([0, 1]), tokens([0, 2, 4])])


def test_a_word_in_every_passage_weighs_nothing_and_a_rare_one_most():
    w = token_weights(np.array([0, 1, 7, 99], dtype=np.int32), CORPUS)
    assert w[0] == pytest.approx(0.0, abs=0.2) and w[0] < w[1]
    assert w[1] < w[2] == w[3]  # a token no passage holds (7, or past the table: 99) is the rarest


def test_the_passage_holding_the_rare_question_word_reads_closest():
    # "subject + attribute 1": every passage matches the subject, only passage 1 the attribute.
    scores = late_interaction(tokens([0, 1]), [0, 1, 2], CORPUS)
    assert int(np.argmax(scores)) == 1
    assert scores[1] == pytest.approx(1.0, abs=1e-3)


def test_a_question_without_tokens_reads_nothing():
    assert late_interaction(tokens([]), [0, 1], CORPUS).tolist() == [0.0, 0.0]


def test_rescore_adds_the_re_reading_scaled_over_the_passages():
    assert rescore([0.9, 0.8, 0.7], np.array([0.60, 0.90, 0.75]), weight=0.5) == pytest.approx([0.9, 1.3, 0.95])
    # All equal: the re-reading tells the passages nothing and leaves the order as it was.
    assert rescore([0.9, 0.8], np.array([0.7, 0.7]), weight=0.5) == [0.9, 0.8]
    assert rescore([], np.array([])) == []

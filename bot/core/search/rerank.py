"""Late interaction: the best few paragraphs re-read token by token before one is cited.

A passage vector is one average of its tokens, so a passage about the right subject (the entity in
the question) outranks the one that holds the attribute asked ("Patron de Mistral ?": the lead
about Mistral, not the sentence naming its chief). Re-reading compares each token of the question
with every token of the passage (ColBERT's MaxSim, on the same model's token vectors) and weights
each question token by its rarity in the corpus (inverse document frequency), so that the rare
words of the question count more than the names every passage of the article repeats.
`sentence_transformers.util.similarity.maxsim` computes the unweighted sum; the weighting is why
it is written here.
"""

from __future__ import annotations

import numpy as np

from bot.core.index.embedder import TokenVectors
from bot.core.index.tokens import TokenIndex

# How many of the best paragraphs are re-read, and the share of the re-reading in their final score
# (scaled to [0, 1] over them and added to the fused score, itself in [0, 1]: retriever.rescore). Chosen offline on dev2,
# dev and benchmarks/heldout together and checked on the held-out questions over 23 articles
# (2026-12-03): 5 to 10 paragraphs and weights 0.5 to 0.6 ranked alike on all four; re-reading alone
# (a large weight) lost on the 23 articles, and without the rarity weights dev2 fell. In the
# pipeline, hit@1 went 0.77 -> 0.81 on dev2, 0.70 -> 0.83 on dev, 0.74 -> 0.74 on heldout (hit@3
# 0.90 -> 0.92) and 0.72 -> 0.74 on the 23 articles (README, Answer quality).
DEPTH = 10
WEIGHT = 0.5


def token_weights(ids: np.ndarray, tokens: TokenIndex) -> np.ndarray:
    """Inverse document frequency of each question token over the passages (0 for the commonest)."""
    df = tokens.document_frequency
    counts = np.where(ids < len(df), df[np.minimum(ids, len(df) - 1)], 0)
    return np.maximum(np.log((len(tokens) + 1) / (counts + 0.5)), 0.0)


def late_interaction(question: TokenVectors, rows: list[int], tokens: TokenIndex) -> np.ndarray:
    """For each passage row, the weighted mean over the question's tokens of their best cosine
    to a token of the passage (0 for a passage or a question without tokens)."""
    import torch

    weights = token_weights(question.ids, tokens)
    out = np.zeros(len(rows), dtype=np.float64)
    if not len(question.ids) or weights.sum() <= 0:
        return out
    # In torch, not numpy: numpy's BLAS threads and torch's would then compete for the same two
    # cores, and the next question's encoding took 2-6 times as long (dev2's questions: p50 17 ->
    # 43 ms, p95 20 -> 125 ms).
    q = torch.from_numpy(question.vectors.astype(np.float32))
    w = torch.from_numpy(weights.astype(np.float32))
    for i, row in enumerate(rows):
        p = tokens.row(row).vectors  # float32 already
        if len(p):
            best = (q @ torch.from_numpy(p).T).max(dim=1).values
            out[i] = float((best * w).sum() / w.sum())
    return out


"""The token vectors of every passage, kept for the late-interaction re-ranking (search/rerank.py).

Three arrays in the generation folder: every passage's token ids and unit vectors end to end, and
the offsets where each passage starts. The vectors are stored as int8 (each component, within
[-1, 1] in a unit vector, times 127): a passage's tokens take a quarter of float32's room (about
27 KB a passage), and against float16 the first citation stayed the same for 205 of the 206
questions of dev2, dev, heldout and the 23-article corpus, every score the same. How many passages
hold a token (its document frequency) is counted once, from the ids.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

import numpy as np

from bot.core.index.embedder import TokenVectors

FILES = ("token_ids.npy", "token_vectors.npy", "token_offsets.npy")
SCALE = 127.0  # int8 steps per unit


def quantise(vectors: np.ndarray) -> np.ndarray:
    """Unit vectors to int8 (rounded, each component times SCALE)."""
    return np.clip(np.rint(np.asarray(vectors, dtype=np.float32) * SCALE), -127, 127).astype(np.int8)


class TokenIndex:
    """Token ids and vectors of passages by row; read-only once built or loaded."""

    def __init__(self, ids: np.ndarray, vectors: np.ndarray, offsets: np.ndarray) -> None:
        self.ids = ids
        self.vectors = vectors
        self.offsets = offsets

    @classmethod
    def from_texts(cls, tokens: list[TokenVectors]) -> TokenIndex:
        """Join the token vectors of each passage, in row order (float vectors are quantised; int8
        ones, from `stored_row` or `quantise`, are kept as they are)."""
        lengths = [len(t.ids) for t in tokens]
        offsets = np.zeros(len(tokens) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        if not tokens:
            return cls(np.zeros(0, np.int32), np.zeros((0, 0), np.int8), offsets)
        # The token vectors' own width: a projection layer can make it differ from the sentence vectors'.
        ids = np.concatenate([t.ids for t in tokens]).astype(np.int32)
        vectors = np.concatenate([t.vectors if t.vectors.dtype == np.int8 else quantise(t.vectors) for t in tokens])
        return cls(ids, vectors, offsets)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def row(self, row: int) -> TokenVectors:
        """The token ids and vectors (float32, back from int8) of passage `row`."""
        stored = self.stored_row(row)
        return TokenVectors(stored.ids, stored.vectors.astype(np.float32) / SCALE)

    def stored_row(self, row: int) -> TokenVectors:
        """The token ids and int8 vectors of passage `row` as stored (views, no copy)."""
        a, b = int(self.offsets[row]), int(self.offsets[row + 1])
        return TokenVectors(self.ids[a:b], self.vectors[a:b])

    @cached_property
    def document_frequency(self) -> np.ndarray:
        """For each token id, how many passages hold it (ids past the end of the array: none)."""
        if not len(self.ids):
            return np.zeros(1, dtype=np.int64)
        width = int(self.ids.max()) + 1
        rows = np.repeat(np.arange(len(self), dtype=np.int64), np.diff(self.offsets))
        # One (passage, token) pair counted once, however often the passage repeats the token.
        pairs = np.unique(rows * width + np.asarray(self.ids, dtype=np.int64))
        return np.bincount(pairs % width, minlength=width)

    def save(self, folder: Path) -> None:
        """Write the three arrays into a generation folder."""
        for name, array in zip(FILES, (self.ids, self.vectors, self.offsets), strict=True):
            np.save(folder / name, array, allow_pickle=False)

    @classmethod
    def load(cls, folder: Path, passages: int, mmap: bool = False) -> TokenIndex:
        """Read the arrays of a generation folder; ValueError when they do not fit its passages."""
        ids, vectors, offsets = (
            np.load(folder / name, allow_pickle=False, mmap_mode="r" if mmap else None) for name in FILES
        )
        if (
            ids.ndim != 1
            or vectors.ndim != 2
            or vectors.dtype != np.int8
            or len(vectors) != len(ids)
            or offsets.shape != (passages + 1,)
            or int(offsets[0]) != 0
            or int(offsets[-1]) != len(ids)
            or bool(np.any(np.diff(offsets) < 0))
            or (len(ids) and int(ids.min()) < 0)
        ):
            raise ValueError("the token vectors do not match the passages")
        return cls(ids, vectors, offsets)

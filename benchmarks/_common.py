"""Shared helpers for the benchmark scripts (not a benchmark itself).

Every script is run from the repository root as `.venv/bin/python benchmarks/NAME.py`; this module
puts the repository root on sys.path, caps the CPU threads (the machine is shared), and provides
timing, percentiles, memory readings and a throw-away index built from `corpus/`.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

THREADS = int(os.environ.get("BENCH_THREADS", "2"))
# Before torch/numpy/faiss are imported, so that their thread pools start at this size.
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, str(THREADS))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TQDM_DISABLE", "1")

BUNDLED_CORPUS = ROOT / "corpus"
DEV_CORPUS = ROOT.parent / "shared" / "eval" / "dev" / "corpus"


def limit_threads(n: int = THREADS) -> None:
    """Cap torch and FAISS at `n` threads (imports them)."""
    try:
        import torch

        torch.set_num_threads(n)
    except ImportError:
        pass
    try:
        import faiss

        faiss.omp_set_num_threads(n)
    except ImportError:
        pass


def quiet_logs() -> None:
    """Silence progress bars and INFO chatter of the libraries (benchmarks print their own output)."""
    import logging

    # No handler is installed: only warnings and errors reach stderr (logging's last resort).
    for name in ("sentence_transformers", "transformers", "bm25s", "faiss", "filelock", "bot", "discord"):
        logging.getLogger(name).setLevel(logging.WARNING)
    try:
        from transformers.utils import logging as tlog

        tlog.disable_progress_bar()
        tlog.set_verbosity_error()
    except Exception:
        pass


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100), linear interpolation (numpy's default)."""
    if not values:
        return float("nan")
    xs = sorted(values)
    if len(xs) == 1:
        return xs[0]
    pos = (len(xs) - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def summary(values_ms: list[float]) -> dict[str, float]:
    """p50, p95, mean, max of a list of milliseconds."""
    return {
        "n": len(values_ms),
        "p50": percentile(values_ms, 50),
        "p95": percentile(values_ms, 95),
        "mean": statistics.fmean(values_ms) if values_ms else float("nan"),
        "max": max(values_ms) if values_ms else float("nan"),
    }


def fmt_ms(x: float) -> str:
    return f"{x:8.2f} ms"


def rss_mb() -> float:
    """Resident memory of this process (VmRSS), in MiB."""
    return _status_kb("VmRSS") / 1024


def peak_rss_mb() -> float:
    """Peak resident memory of this process (VmHWM), in MiB."""
    return _status_kb("VmHWM") / 1024


def memory_status() -> dict[str, int]:
    """VmRSS, RssAnon, RssFile and VmHWM of this process, in whole MiB."""
    out = {}
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            key = line.split(":")[0]
            if key in ("VmRSS", "RssAnon", "RssFile", "VmHWM"):
                out[key] = int(line.split()[1]) // 1024
    return out


def _status_kb(field: str) -> int:
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


@contextmanager
def timer():
    """`with timer() as t: ...` then `t()` is the elapsed seconds."""
    start = time.perf_counter()
    end: list[float] = []
    yield lambda: (end[0] if end else time.perf_counter()) - start
    end.append(time.perf_counter())


def machine_line() -> str:
    """Date, cores, CPU, Python and library versions, for the top of every report."""
    cpu = "?"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    versions = []
    for mod in ("torch", "faiss", "sentence_transformers", "numpy"):
        m = sys.modules.get(mod)
        if m is not None:
            versions.append(f"{mod} {getattr(m, '__version__', '?')}")
    mem = _meminfo_gib()
    return (
        f"{datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')} | {os.cpu_count()} cores ({cpu}), "
        f"{mem} | threads={THREADS} | Python {platform.python_version()} | " + ", ".join(versions)
    )


def _meminfo_gib() -> str:
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return f"{int(line.split()[1]) / 1024 / 1024:.0f} GiB RAM"
    except OSError:
        pass
    return "? RAM"


def header(title: str) -> None:
    print(f"== {title} ==")
    print(machine_line())


def verdict(ok: bool) -> str:
    return "MET" if ok else "NOT MET"


def make_tempdir(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=f"newsbot-bench-{prefix}-"))


def retrieval_settings(corpus_dir: Path, index_dir: Path, **overrides):
    """RetrievalSettings that ignore the developer's .env and NEWSBOT_* variables."""
    for name in list(os.environ):
        if name.startswith("NEWSBOT_"):
            del os.environ[name]
    from bot.config import RetrievalSettings

    return RetrievalSettings(
        _env_file=None,
        corpus_dir=corpus_dir,
        index_dir=index_dir,
        feedback_file=index_dir.parent / "feedback.jsonl",
        **overrides,
    )


def bench_channel(env):
    """A #general channel in a new simcord guild, and a factory of new members (each a new user, so
    that no call meets another's cooldown)."""
    guild = env.create_guild("Bench")
    channel = guild.create_text_channel("general")
    users = iter(range(10**9))

    def member():
        return guild.add_member(env.create_user(f"user{next(users)}"))

    return channel, member


def discord_settings(retrieval, **discord):
    """Settings for a bot driven through simcord: the pipeline's retrieval settings, no .env, and a
    token-shaped placeholder (simcord never sends it anywhere); `discord` overrides DiscordSettings."""
    from pydantic import SecretStr

    from bot.config import DiscordSettings, IngestSettings, Settings

    return Settings(
        _env_file=None,
        retrieval=retrieval,
        ingest=IngestSettings(_env_file=None),
        discord=DiscordSettings(_env_file=None, token=SecretStr("MTIz.NDU2.benchmark-placeholder"), **discord),
    )


def warmed_pipeline(corpus_dir: Path, workdir: Path, embedder=None, **overrides):
    """A Pipeline over `corpus_dir` with its index built in `workdir/index` and warmed up."""
    from bot.core.pipeline import Pipeline

    settings = retrieval_settings(corpus_dir, workdir / "index", **overrides)
    pipeline = Pipeline(settings, embedder=embedder)
    pipeline.warm_up()
    return pipeline


def random_embedder(model_name: str):
    """An Embedder stand-in returning random unit vectors of the bundled model's size, without loading
    any model: to build big indexes quickly when only their size matters (memory, BM25/fusion time)."""
    import numpy as np

    from bot.core.index.embedder import Embedder

    class RandomEmbedder(Embedder):
        def load(self) -> None:
            pass

        @property
        def dimension(self) -> int:
            return 384

        def _vectors(self, texts):
            rng = np.random.default_rng(len(texts))
            v = rng.standard_normal((len(texts), 384)).astype(np.float32)
            return v / np.linalg.norm(v, axis=1, keepdims=True)

        def _encode(self, texts, progress=False):
            return self._vectors(texts)

        def encode_passages(self, texts, progress=False):
            return self._vectors(texts)

        def encode_queries(self, texts):
            return self._vectors(texts)

        def _tokens(self, texts):
            # About as many token vectors as the real model gives (e5: ~1.6 pieces per word), so that
            # the index files the re-ranking reads have their real size.
            from bot.core.index.embedder import TokenVectors

            rng = np.random.default_rng(len(texts))
            out = []
            for t in texts:
                n = max(1, int(1.6 * len(t.split())))
                v = rng.standard_normal((n, 384)).astype(np.float32)
                v /= np.linalg.norm(v, axis=1, keepdims=True)
                out.append(TokenVectors(rng.integers(4, 250_000, n).astype(np.int32), v.astype(np.float16)))
            return out

        def encode_passages_with_tokens(self, texts, progress=False):
            return self._vectors(texts), self._tokens(texts)

        def encode_queries_with_tokens(self, texts):
            return self._vectors(texts), self._tokens(texts)

    return RandomEmbedder(model_name)


def build_with_random_vectors(corpus_dir: Path, workdir: Path, model: str | None = None):
    """Index `corpus_dir` into `workdir/index` through Pipeline.update_index with random vectors
    (machine translation off when the setting exists), for `model` (default: the project's); returns
    the UpdateReport and the settings."""
    from bot.config import RetrievalSettings
    from bot.core.pipeline import Pipeline

    overrides = {"translate": "off"} if "translate" in RetrievalSettings.model_fields else {}
    if model:
        overrides["model"] = model
    settings = retrieval_settings(corpus_dir, workdir / "index", **overrides)
    return Pipeline(settings, embedder=random_embedder(settings.model)).update_index(rebuild=True), settings


# ~30 varied questions about the bundled article (corpus/openai-amd.md, French), in French and
# English: direct facts, paraphrases, cross-language, figures, and a few out-of-scope ones that
# should make the bot abstain. Short and long, so that the query encoder sees varied lengths.
QUESTIONS: list[str] = [
    "Combien de gigawatts ?",
    "Quels GPU seront installés dans les futurs centres de données d'OpenAI ?",
    "À combien de gigawatts s'élèvera la capacité promise par AMD ?",
    "Combien de gigawatts seront livrés lors de la première phase ?",
    "Sur combien d'actions porte l'option d'achat d'OpenAI ?",
    "Quelle entreprise a annoncé un plan d'investissement de 100 milliards de dollars ?",
    "Quels sont les fabricants cités dans la tournée de Sam Altman ?",
    "Que pense Lisa Su de la coopération avec OpenAI ?",
    "Qu'est-ce qui devient la clé de la compétitivité selon l'article ?",
    "Quand commence la livraison du premier gigawatt ?",
    "Comment se fera le règlement de l'investissement ?",
    "Qui dirige OpenAI ?",
    "Pourquoi Sam Altman voyage-t-il en Asie et au Moyen-Orient ?",
    "Combien de revenus ce contrat pourrait-il générer pour AMD ?",
    "Quel client des fabricants pourrait être mécontent ?",
    "What is the total capacity planned under the OpenAI and AMD agreement?",
    "In which half of which year do AMD deliveries start?",
    "How large a stake could OpenAI eventually take in AMD?",
    "Who said the partnership brings together the best of AMD and OpenAI?",
    "How much compute capacity is tied to Nvidia's plan?",
    "Which products is OpenAI known for?",
    "Which GPUs will AMD supply?",
    "How will the investment be paid for?",
    "Which companies does Sam Altman want to increase production?",
    "Is the AMD deal stopping OpenAI's other partnerships?",
    "Quel temps fera-t-il demain à Lyon ?",
    "Write me a poem about autumn.",
    "Quel est le meilleur restaurant de Paris ?",
    "What did the European Central Bank decide about interest rates this week?",
    "OpenAI AMD MI450 6 GW 160 millions d'actions paliers de performance second semestre 2026",
]


# -- a generated corpus ------------------------------------------------------------------------


def source_sentences() -> dict[str, list[str]]:
    """Sentences of the bundled corpus and of the dev evaluation corpus (when present), per language."""
    import re

    from bot.core.ingest.corpus import load_corpus

    pools: dict[str, list[str]] = {"fr": [], "en": []}
    for folder in (BUNDLED_CORPUS, DEV_CORPUS):
        if not folder.is_dir():
            continue
        articles, _ = load_corpus(folder)
        for a in articles:
            for para in a.text.split("\n"):
                # A simple splitter is enough here: the pipeline re-splits with its own rules.
                for s in re.split(r"(?<=[.!?»])\s+(?=[A-ZÀ-Ý«])", para.strip()):
                    if len(s) >= 40:
                        pools[a.lang].append(s)
    return pools


def generate_corpus(folder: Path, n_articles: int, seed: int = 7) -> list[Path]:
    """Write `n_articles` Markdown articles made of recombined corpus sentences, with distinct titles
    and numbers, about the size of the bundled article (8-14 sentences in 3-6 paragraphs)."""
    import random
    import re

    rng = random.Random(seed)
    pools = source_sentences()
    langs = [lang for lang in ("fr", "en") if pools[lang]]
    folder.mkdir(parents=True, exist_ok=True)
    number = re.compile(r"\d+(?:[.,]\d+)?")
    paths = []
    for i in range(n_articles):
        lang = "fr" if (len(langs) == 1 or rng.random() < 0.65) and "fr" in langs else langs[-1]
        pool = pools[lang]
        sentences = rng.sample(pool, k=min(len(pool), rng.randint(8, 14)))
        # Distinct figures in every article, so that no two passages are the same text.
        sentences = [number.sub(lambda m: str(rng.randint(2, 9999)), s) for s in sentences]
        paragraphs, j = [], 0
        while j < len(sentences):
            step = rng.randint(1, 3)
            paragraphs.append(" ".join(sentences[j : j + step]))
            j += step
        topic = " ".join(sentences[0].split()[:6]).rstrip(",.:;")
        title = f"{'Dépêche' if lang == 'fr' else 'Dispatch'} {i:05d} : {topic}"
        body = "\n\n".join(paragraphs)
        path = folder / f"gen-{i:05d}.md"
        front = f'---\ntitle: "{title.replace(chr(34), "")}"\nlang: {lang}\n---\n\n'
        path.write_text(front + body + "\n", encoding="utf-8")
        paths.append(path)
    return paths

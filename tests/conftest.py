"""Shared fixtures: one embedding model per session, a writable test corpus copy, settings, pipelines.

Tests run on the repository's own articles and questions (tests/fixtures/: five short articles
written for the tests, in French and English, and questions about them), so that a bare clone runs
them all. Only the quality tests on the development evaluation sets, which live outside the
repository in `shared/` beside it (`../shared`), need it; they are skipped with a clear reason when
it is absent.
"""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
FIXTURES = REPO_ROOT / "tests" / "fixtures"
FIXTURE_CORPUS = FIXTURES / "corpus"
FIXTURE_QUESTIONS = FIXTURES / "questions.jsonl"
SHARED_DIR = REPO_ROOT.parent / "shared"
EVAL_DIR = SHARED_DIR / "eval"
DEV_SET = EVAL_DIR / "dev"
DEV_CORPUS = DEV_SET / "corpus"


def require_dev_set() -> None:
    """Skip the calling test when the shared dev set is not beside the repository."""
    if not DEV_CORPUS.is_dir() or not any(DEV_CORPUS.glob("*.md")):
        pytest.skip(f"the shared dev evaluation set is absent (looked for {DEV_CORPUS})")


def copy_dev_corpus(dest: Path) -> Path:
    """Copy the test corpus's articles (tests/fixtures/corpus) into `dest` (created), writable."""
    dest.mkdir(parents=True, exist_ok=True)
    for src in sorted(FIXTURE_CORPUS.glob("*.md")):
        target = dest / src.name
        shutil.copyfile(src, target)  # copies the bytes only, not the read-only mode
        target.chmod(target.stat().st_mode | stat.S_IWUSR | stat.S_IRUSR)
    return dest


def clear_newsbot_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Remove NEWSBOT_* variables a developer may have set, so that they cannot change a test."""
    for name in list(os.environ):
        if name.startswith(("NEWSBOT_", "DISCORD_")):
            monkeypatch.delenv(name, raising=False)


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    """No NEWSBOT_/DISCORD_ variable from the developer's shell, and a cwd without .env (settings tests)."""
    for name in list(os.environ):
        if name.startswith(("NEWSBOT_", "DISCORD_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="session")
def shared_eval_dir() -> Path:
    """shared/eval beside the repository (skips the test when absent)."""
    require_dev_set()
    return EVAL_DIR


@pytest.fixture(scope="session")
def dev_questions() -> Path:
    """The questions about the test corpus (tests/fixtures/questions.jsonl, the evaluation's format)."""
    return FIXTURE_QUESTIONS


@pytest.fixture(scope="session")
def copy_corpus() -> Callable[[Path], Path]:
    """The function copying the test corpus into a folder (for module-scoped fixtures)."""
    return copy_dev_corpus


@pytest.fixture(scope="session")
def embedder():
    """The bundled model, loaded once for the whole session (loading costs seconds)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from bot.core.index.embedder import Embedder

    e = Embedder()
    e.load()
    return e


@pytest.fixture
def dev_corpus(tmp_path: Path) -> Path:
    """A writable copy of the test corpus in tmp_path/"corpus"."""
    return copy_dev_corpus(tmp_path / "corpus")


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., object]:
    """Factory: RetrievalSettings over the test corpus copy and tmp_path/"index", with overrides.

    `settings()` uses the test corpus copy; `settings(corpus_dir=..., index_dir=..., citations=...)`
    overrides any field. Environment variables and `.env` files are ignored.
    """
    from bot.config import RetrievalSettings

    clear_newsbot_env(monkeypatch)

    def make(**overrides):
        if "corpus_dir" not in overrides:
            corpus = tmp_path / "corpus"
            # Reuse the copy made by `dev_corpus` (a test may have edited it); copy only the first time.
            overrides["corpus_dir"] = corpus if corpus.is_dir() else copy_dev_corpus(corpus)
        overrides.setdefault("index_dir", tmp_path / "index")
        return RetrievalSettings(_env_file=None, **overrides)

    return make


@pytest.fixture
def pipeline(settings, embedder) -> Callable[..., object]:
    """Factory: a Pipeline (not yet warmed up) over `settings(**overrides)`, sharing the session model."""
    from bot.core.pipeline import Pipeline

    def make(s=None, **overrides):
        return Pipeline(s if s is not None else settings(**overrides), embedder=embedder)

    return make


@pytest.fixture
def use_session_embedder(monkeypatch: pytest.MonkeyPatch, embedder) -> None:
    """Make code that builds its own Embedder (the CLI) get the session's loaded one instead."""
    import bot.core.index.embedder
    import bot.core.pipeline

    def shared(*args, **kwargs):
        return embedder

    monkeypatch.setattr(bot.core.index.embedder, "Embedder", shared)
    monkeypatch.setattr(bot.core.pipeline, "Embedder", shared)


@pytest.fixture(scope="session")
def dev_index_template(tmp_path_factory: pytest.TempPathFactory, embedder) -> Path:
    """The test corpus and its index, built once per session; tests get copies (`indexed_settings`)."""
    from bot.config import RetrievalSettings
    from bot.core.index.build import build_index

    root = tmp_path_factory.mktemp("dev-index-template")
    corpus = copy_dev_corpus(root / "corpus")
    build_index(RetrievalSettings(_env_file=None, corpus_dir=corpus, index_dir=root / "index"), embedder)
    return root


@pytest.fixture
def indexed_settings(settings, dev_index_template: Path, tmp_path: Path):
    """Settings over a writable test corpus copy whose index is already built (a copy of the session's)."""
    corpus = tmp_path / "corpus"
    if not corpus.exists():
        copy_dev_corpus(corpus)
    shutil.copytree(dev_index_template / "index", tmp_path / "index")
    return settings(corpus_dir=corpus, index_dir=tmp_path / "index")
